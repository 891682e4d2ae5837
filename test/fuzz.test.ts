// Property-based fuzzing of every parser of user files: the CSV loader, the IDX loaders, the JSON
// model parser and the safetensors parser. Whatever the bytes, each either returns something valid
// (checked against the invariants the trainer relies on) or throws an InputError whose message is
// one line naming the file: never another exception type, never a hang.
//
// Seeded (fc.assert(..., { seed: 42 })) so that a failure in CI reproduces locally; runs are few and
// small so the whole file stays well under 20 s on two cores.
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadCsv, type CsvOptions } from '../src/data/csv.js';
import type { Dataset } from '../src/data/dataset.js';
import { loadIdxDataset, parseIdxImages, parseIdxLabels } from '../src/data/idx.js';
import { loadDataset } from '../src/data/load.js';
import type { Normalization } from '../src/data/normalize.js';
import { InputError } from '../src/errors.js';
import { HIDDEN_ACTIVATIONS, LOSS_KINDS } from '../src/math/kernels.js';
import { parseModel, serializeModel, type ModelContents } from '../src/model/json-file.js';
import { layerViews, parameterLayout, type NetworkShape } from '../src/model/layout.js';
import { Model } from '../src/model/model.js';
import { parseSafetensors, serializeSafetensors } from '../src/model/safetensors.js';
import { tempDir } from './helpers/files.js';

const SEED = 42;
const NUM_RUNS = 200;
/** Per run, for the async (file-reading) properties; a synchronous hang trips ava's timeout. */
const RUN_TIMEOUT_MS = 2_000;
const PARAMS = { seed: SEED, numRuns: NUM_RUNS, timeout: RUN_TIMEOUT_MS } as const;

// ---------- invariants ----------

class Broken extends Error {
  override readonly name = 'Broken';
}

function invariant(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Broken(what);
}

/** Counts of each outcome, logged so that a generator that only ever produces errors shows up. */
class Tally {
  valid = 0;
  refused = 0;
  private readonly reasons = new Map<string, number>();
  refuse(error: InputError): void {
    this.refused++;
    // The message without the path, numbers and quoted text: its kind.
    const kind = error.message.replace(/^\S*?:(\d+:)*\s*/, '').replace(/"[^"]*"|\d+(\.\d+)?/g, '_').slice(0, 50);
    this.reasons.set(kind, (this.reasons.get(kind) ?? 0) + 1);
  }
  toString(): string {
    const top = [...this.reasons].sort((a, b) => b[1] - a[1]).slice(0, 4);
    return `${this.valid} valid, ${this.refused} refused with an InputError, ${this.reasons.size} kinds (most often: ${top.map(([k, n]) => `${n}× ${k}`).join('; ')})`;
  }
  /**
   * Fails unless the generator reached both sides: at least `valid` inputs accepted (a generator
   * whose every input is refused tests only the first check of the parser) and at least `kinds`
   * different refusals (one that always fails the same way tests one check). The minimums sit at
   * about half of what seed 42 gives, so that small generator changes pass and a broken one does not.
   */
  expect(t: ExecutionContext, minimum: { valid: number; kinds: number }): void {
    t.log(String(this));
    t.is(this.valid + this.refused, NUM_RUNS, 'every run was counted');
    t.true(this.valid >= minimum.valid, `only ${this.valid} of ${NUM_RUNS} inputs were accepted (at least ${minimum.valid} expected)`);
    t.true(this.reasons.size >= minimum.kinds, `only ${this.reasons.size} kinds of refusal (at least ${minimum.kinds} expected)`);
  }
}

/** The only acceptable failure: an InputError, on one line, naming the file (one of `sources`). */
function expectInputError(error: unknown, sources: string | string[]): void {
  if (!(error instanceof InputError)) {
    const e = error as Error;
    throw new Broken(`expected an InputError, got ${e?.name}: ${e?.message}\n${e?.stack ?? ''}`);
  }
  invariant(!/[\r\n]/.test(error.message), `message spans several lines: ${JSON.stringify(error.message)}`);
  const names = typeof sources === 'string' ? [sources] : sources;
  invariant(
    names.some((name) => error.message.includes(name)),
    `message does not name ${names.join(' or ')}: ${JSON.stringify(error.message)}`,
  );
}

/** Runs `parse`, and checks its result with `check` or its error with expectInputError. */
async function outcome<T>(sources: string | string[], parse: () => Promise<T>, check: (value: T) => void, tally?: Tally): Promise<void> {
  let value: T;
  try {
    value = await parse();
  } catch (error) {
    expectInputError(error, sources);
    tally?.refuse(error as InputError);
    return;
  }
  check(value);
  if (tally) tally.valid++;
}

function outcomeSync<T>(sources: string | string[], parse: () => T, check: (value: T) => void, tally?: Tally): void {
  let value: T;
  try {
    value = parse();
  } catch (error) {
    expectInputError(error, sources);
    tally?.refuse(error as InputError);
    return;
  }
  check(value);
  if (tally) tally.valid++;
}

function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false;
  return true;
}

function checkDataset(d: Dataset, options: { allowUnlabelled?: boolean | undefined; features?: number | undefined; classNames?: readonly string[] | undefined }): void {
  invariant(Number.isInteger(d.rows) && d.rows >= 1, `rows ${d.rows}`);
  invariant(Number.isInteger(d.features) && d.features >= 1, `features ${d.features}`);
  invariant(d.x instanceof Float32Array && d.x.length === d.rows * d.features, `x.length ${d.x.length} ≠ ${d.rows} × ${d.features}`);
  invariant(allFinite(d.x), 'a feature is not finite');
  if (options.features !== undefined) invariant(d.features === options.features, `features ${d.features}, asked for ${options.features}`);
  const targets = d.targets;
  if (targets.kind === 'none') {
    invariant(options.allowUnlabelled === true, 'unlabelled dataset where labels are required');
  } else if (targets.kind === 'values') {
    invariant(targets.values.length === d.rows && allFinite(targets.values), 'regression targets: wrong length or not finite');
  } else {
    invariant(targets.index.length === d.rows, `class index length ${targets.index.length} ≠ rows ${d.rows}`);
    invariant(new Set(targets.names).size === targets.names.length, 'duplicate class names');
    for (const i of targets.index) invariant(Number.isInteger(i) && i >= 0 && i < targets.names.length, `class index ${i} outside ${targets.names.length} names`);
    if (options.classNames) invariant(JSON.stringify(targets.names) === JSON.stringify(options.classNames), 'class names differ from the known ones');
  }
}

function checkModel(m: ModelContents, { distinctLabels = true } = {}): void {
  const { sizes } = m.shape;
  invariant(sizes.length >= 2 && sizes.every((s) => Number.isInteger(s) && s >= 1), `sizes ${JSON.stringify(sizes)}`);
  invariant(HIDDEN_ACTIVATIONS.includes(m.shape.activation) && LOSS_KINDS.includes(m.shape.loss), 'activation or loss');
  invariant(m.parameters instanceof Float32Array && m.parameters.length === parameterLayout(m.shape).length, 'parameter count');
  invariant(allFinite(m.parameters), 'a parameter is not finite');
  const outputs = sizes[sizes.length - 1]!;
  if (m.labels === null) invariant(m.shape.loss === 'mse', 'classification model without labels');
  else invariant(m.labels.length === (outputs === 1 ? 2 : outputs) && m.labels.every((l) => typeof l === 'string'), 'labels do not fit the outputs');
  if (m.labels && distinctLabels) invariant(new Set(m.labels).size === m.labels.length, 'duplicate labels');
  if (m.normalization) {
    const { offset, scale, kind } = m.normalization;
    invariant(kind === 'minmax' || kind === 'standard', `normalization kind ${kind}`);
    invariant(offset.length === sizes[0] && scale.length === sizes[0] && allFinite(offset) && allFinite(scale), 'normalization vectors');
  }
  // And the trainer's own class accepts it.
  new Model(m.shape, m.parameters, m.labels, m.normalization);
}

// ---------- generators ----------

/** `arbitrary` a quarter of the time, else undefined. */
function rarely<T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });
}

/** Byte-level damage: overwrite, insert, delete, truncate. */
type ByteEdit = { op: 'set' | 'insert' | 'delete' | 'truncate'; at: number; byte: number };
const byteEdits = fc.array(
  fc.record({ op: fc.constantFrom('set', 'insert', 'delete', 'truncate'), at: fc.nat(), byte: fc.constantFrom(0, 0xff, 0x0a, 0x7b, 0x22, 0x20, 0x30, 0x80, 1, 0x7f) }) as fc.Arbitrary<ByteEdit>,
  { minLength: 1, maxLength: 4 },
);

function applyByteEdits(bytes: Uint8Array, edits: ByteEdit[]): Uint8Array {
  let out = Array.from(bytes);
  for (const { op, at, byte } of edits) {
    const i = at % (out.length + 1);
    if (op === 'set' && i < out.length) out[i] = byte;
    else if (op === 'insert') out.splice(i, 0, byte);
    else if (op === 'delete') out.splice(i, 1);
    else if (op === 'truncate') out = out.slice(0, i);
  }
  return Uint8Array.from(out);
}

/** Text-level damage, for JSON. */
type CharEdit = { op: 'insert' | 'delete' | 'replace' | 'truncate'; at: number; char: string };
const charEdits = fc.array(
  fc.record({
    op: fc.constantFrom('insert', 'delete', 'replace', 'truncate'),
    at: fc.nat(),
    char: fc.constantFrom('\n', '\r', '{', '}', '[', ']', ',', '"', ':', '0', '-', '.', 'e', '9', '\\', ' ', 'x', 'n', '\u0000', '\u2028', 'é'),
  }) as fc.Arbitrary<CharEdit>,
  { minLength: 1, maxLength: 4 },
);

function applyCharEdits(text: string, edits: CharEdit[]): string {
  let out = text;
  for (const { op, at, char } of edits) {
    const i = at % (out.length + 1);
    if (op === 'insert') out = out.slice(0, i) + char + out.slice(i);
    else if (op === 'delete') out = out.slice(0, i) + out.slice(i + 1);
    else if (op === 'replace') out = out.slice(0, i) + char + out.slice(i + 1);
    else out = out.slice(0, i);
  }
  return out;
}

/** Structural damage to a parsed JSON value: replace, delete or add at one of its nodes. */
type JsonEdit = { node: number; op: 'replace' | 'delete' | 'add'; key: string; value: unknown };
const awkwardKeys = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'extra', 'format', 'weight', 'length', '0'), fc.string({ maxLength: 4 }));
const awkwardValues = fc.oneof(
  fc.constantFrom(0, -1, 1.5, 1e39, -1e39, 2 ** 31, 2 ** 53, 1 << 20, (1 << 20) + 1, null, true, '', 'NaN', 'relu', 'sigmoid', 'gradpool-model', 'bce', 'mse', [], {}, [1], ['x']),
  fc.jsonValue({ maxDepth: 2 }),
);
const jsonEdits = fc.array(fc.record({ node: fc.nat(), op: fc.constantFrom('replace', 'delete', 'add'), key: awkwardKeys, value: awkwardValues }) as fc.Arbitrary<JsonEdit>, {
  minLength: 1,
  maxLength: 3,
});

function applyJsonEdits(root: unknown, edits: JsonEdit[]): unknown {
  const copy = JSON.parse(JSON.stringify(root)) as unknown;
  for (const edit of edits) {
    // Every container, with the key that leads to each of its children.
    const slots: [Record<string, unknown> | unknown[], string | number][] = [];
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach((child, i) => (slots.push([value, i]), walk(child)));
      else if (typeof value === 'object' && value !== null) for (const [k, child] of Object.entries(value)) slots.push([value as Record<string, unknown>, k]), walk(child);
    };
    walk(copy);
    const slot = slots[edit.node % Math.max(1, slots.length)];
    if (!slot) continue;
    const [container, key] = slot;
    if (edit.op === 'replace') (container as Record<string | number, unknown>)[key] = edit.value;
    else if (edit.op === 'delete') Array.isArray(container) ? container.splice(key as number, 1) : delete container[key as string];
    // defineProperty: an own "__proto__" key, as JSON.parse would create, not a prototype change.
    else if (Array.isArray(container)) container.push(edit.value);
    else Object.defineProperty(container, edit.key, { value: edit.value, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/** A valid network shape with its labels and normalization, small. */
interface ModelSpec {
  shape: NetworkShape;
  labels: string[] | null;
  normalization: Normalization | null;
  parameters: Float32Array;
}

const modelSpecs: fc.Arbitrary<ModelSpec> = fc
  .record({
    sizes: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 4 }),
    activation: fc.constantFrom(...HIDDEN_ACTIVATIONS),
    loss: fc.constantFrom(...LOSS_KINDS),
    normalize: fc.constantFrom('none', 'minmax', 'standard'),
    wave: fc.double({ min: 0.1, max: 10, noNaN: true }),
    labelText: fc.array(fc.string({ maxLength: 3, unit: 'grapheme' }), { minLength: 8, maxLength: 8 }),
  })
  .map(({ sizes, activation, loss, normalize, wave, labelText }) => {
    if (loss === 'bce') sizes[sizes.length - 1] = 1;
    if (loss === 'cross-entropy') sizes[sizes.length - 1] = Math.max(2, sizes[sizes.length - 1]!);
    const shape: NetworkShape = { sizes, activation, loss };
    const outputs = sizes[sizes.length - 1]!;
    const count = outputs === 1 ? 2 : outputs;
    const labels = loss === 'mse' ? null : Array.from({ length: count }, (_, i) => `${labelText[i] ?? ''}#${i}`);
    const inputs = sizes[0]!;
    const normalization: Normalization | null =
      normalize === 'none' ? null : { kind: normalize, offset: Float32Array.from({ length: inputs }, (_, i) => i - 1), scale: Float32Array.from({ length: inputs }, (_, i) => 1 / (i + 1)) };
    const layout = parameterLayout(shape);
    const parameters = new Float32Array(layout.length);
    let k = 0;
    for (const views of layerViews(layout, parameters)) for (const values of [views.w, views.b]) values.forEach((_, i) => (values[i] = Math.fround(Math.sin(++k * wave))));
    return { shape, labels, normalization, parameters };
  });

function specViews(spec: ModelSpec) {
  return layerViews(parameterLayout(spec.shape), spec.parameters);
}

// ---------- CSV ----------

const csvCell = fc.oneof(
  { weight: 10, arbitrary: fc.double({ min: -1e30, max: 1e30, noNaN: true }).map(String) },
  { weight: 2, arbitrary: fc.double().map(String) },
  { weight: 6, arbitrary: fc.integer({ min: -1000, max: 1000 }).map(String) },
  { weight: 3, arbitrary: fc.constantFrom('x', 'y', 'z') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('', ' ', 'NaN', 'Infinity', '-Infinity', '1e39', '-3.5e38', '3.4e38', '1e-50', '0x1f', '1_0', '"', '""', '"1"', '"a,b"', '"x\ny"', '"\r\n"', 'a"b', '""""', ',', '\t', '#', 'é', '日本', '🙂', '\uFEFF', '\u0000', '\u2028', 'label'),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 4, unit: 'grapheme' }) },
);

const csvText = fc
  .record({
    width: fc.oneof({ weight: 1, arbitrary: fc.constant(1) }, { weight: 4, arbitrary: fc.integer({ min: 2, max: 4 }) }),
    cells: fc.array(csvCell, { minLength: 0, maxLength: 24, size: 'medium' }),
    ragged: rarely(fc.nat()),
    newline: fc.constantFrom('\n', '\r\n', '\r'),
    bom: fc.boolean(),
    trailing: fc.boolean(),
  })
  .map(({ width, cells, ragged, newline, bom, trailing }) => {
    const rows: string[][] = [];
    for (let i = 0; i < cells.length; i += width) rows.push(cells.slice(i, i + width));
    // Usually rectangular (so the cells themselves get parsed), sometimes one row short of a cell.
    if (ragged !== undefined && rows.length > 0) rows[ragged % rows.length]!.pop();
    return (bom ? '\uFEFF' : '') + rows.map((r) => r.join(',')).join(newline) + (trailing ? newline : '');
  });

/** A feature cell that is nearly always a number, sometimes one at or beyond float32's range. */
const featureCell = fc.oneof(
  { weight: 12, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }).map(String) },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('1e39', '-1e39', '3.4028235e38', '3.4028236e38', '-3.5e38', '1e-46', '0x10', ' 7 ', '"8"') },
);

/** Mostly valid CSV: a header, numeric features and a label from a small set, then (half the time) damage. */
const nearlyValidCsv = fc
  .record({
    features: fc.integer({ min: 1, max: 3 }),
    rows: fc.array(fc.tuple(fc.array(featureCell, { minLength: 3, maxLength: 3 }), fc.constantFrom('x', 'y', 'z', '1', '2.5', '1e39', '"x, y"')), { minLength: 1, maxLength: 6 }),
    edits: fc.option(charEdits, { nil: undefined, freq: 3 }),
  })
  .map(({ features, rows, edits }) => {
    const header = [...Array.from({ length: features }, (_, i) => `f${i}`), 'label'].join(',');
    const text = [header, ...rows.map(([values, label]) => [...values.slice(0, features), label].join(','))].join('\n') + '\n';
    return edits ? applyCharEdits(text, edits) : text;
  });

/** Mostly the defaults (so that valid files load), sometimes a label column, known classes or a feature count. */
const csvOptions: fc.Arbitrary<CsvOptions> = fc.record({
  labels: fc.oneof({ weight: 3, arbitrary: fc.constant('classes' as const) }, { weight: 1, arbitrary: fc.constant('values' as const) }),
  labelColumn: rarely(fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constantFrom('label', 'f0', '1', 'nope', ''))),
  classNames: rarely(fc.constantFrom(['x', 'y'], ['x', 'y', 'z'], ['1'])),
  features: rarely(fc.integer({ min: 1, max: 4 })),
  allowUnlabelled: fc.boolean(),
});

async function csvProperty(input: fc.Arbitrary<string | Uint8Array>, options = csvOptions): Promise<Tally> {
  const dir = await tempDir();
  const tally = new Tally();
  let n = 0;
  await fc.assert(
    fc.asyncProperty(input, options, async (content, options) => {
      const file = join(dir, `run-${n++}.csv`);
      await writeFile(file, content);
      await outcome(file, () => loadCsv(file, options), (d) => checkDataset(d, options.labels === 'classes' ? options : { ...options, classNames: undefined }), tally);
    }),
    PARAMS,
  );
  return tally;
}

test('fuzz: CSV loader on random CSV-ish text', async (t) => {
  (await csvProperty(csvText)).expect(t, { valid: 2, kinds: 6 });
});

test('fuzz: CSV loader on damaged valid CSV', async (t) => {
  (await csvProperty(nearlyValidCsv, fc.oneof(fc.constant<CsvOptions>({ labels: 'classes' }), csvOptions))).expect(t, { valid: 20, kinds: 6 });
});

test('fuzz: CSV loader on random bytes', async (t) => {
  // Random bytes are almost never a CSV with a numeric feature column: refusals only, of several kinds.
  (await csvProperty(fc.uint8Array({ maxLength: 200 }))).expect(t, { valid: 0, kinds: 3 });
});

/** A CSV written from known numbers and labels, in the spellings people and programs write. */
const csvTable = fc.record({
  rows: fc.array(
    fc.tuple(
      fc.array(fc.oneof(fc.double({ min: -1e30, max: 1e30, noNaN: true }), fc.float({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: -1e6, max: 1e6 })), { minLength: 3, maxLength: 3 }),
      fc.constantFrom('cat', 'dog', 'emu', '"a, b"', '7'),
    ),
    { minLength: 1, maxLength: 8 },
  ),
  spelling: fc.constantFrom('plain', 'exponential', 'padded'),
  newline: fc.constantFrom('\n', '\r\n'),
});

test('fuzz: CSV loader reads back every number and label it was given', async (t) => {
  const dir = await tempDir();
  let n = 0;
  await fc.assert(
    fc.asyncProperty(csvTable, async ({ rows, spelling, newline }) => {
      const spell = (v: number): string => (spelling === 'exponential' ? v.toExponential() : spelling === 'padded' ? ` ${String(v)} ` : String(v));
      const file = join(dir, `table-${n++}.csv`);
      await writeFile(file, ['a,b,c,label', ...rows.map(([values, label]) => [...values.map(spell), label].join(','))].join(newline) + newline);
      // Named numeric: inference would set aside a column that is the same in every row (a round trip keeps it).
      const d = await loadCsv(file, { labels: 'classes', numeric: ['a', 'b', 'c'], delimiter: ',', header: 'yes' });
      invariant(d.rows === rows.length && d.features === 3, `read ${d.rows} × ${d.features}, wrote ${rows.length} × 3`);
      rows.forEach(([values], r) => values.forEach((v, k) => invariant(Object.is(d.x[r * 3 + k], Math.fround(v)) || (v === 0 && d.x[r * 3 + k] === 0), `row ${r} column ${k}: wrote ${v}, read ${d.x[r * 3 + k]}`)));
      invariant(d.targets.kind === 'classes', 'class labels');
      const names = d.targets.kind === 'classes' ? d.targets : null;
      rows.forEach(([, label], r) => invariant(names!.names[names!.index[r]!] === label.replace(/^"(.*)"$/, '$1'), `row ${r}: label ${label} read as ${names!.names[names!.index[r]!]}`));
    }),
    PARAMS,
  );
  t.pass();
});

// ---------- IDX ----------

function idxBytes(magic: number, dims: number[], body: Uint8Array): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, body]);
}

/** A valid images file and a matching labels file, small. */
const idxPair = fc
  .record({ count: fc.integer({ min: 1, max: 5 }), rows: fc.integer({ min: 1, max: 3 }), cols: fc.integer({ min: 1, max: 3 }), seed: fc.nat(255) })
  .map(({ count, rows, cols, seed }) => ({
    images: idxBytes(0x803, [count, rows, cols], Uint8Array.from({ length: count * rows * cols }, (_, i) => (i * 31 + seed) % 256)),
    labels: idxBytes(0x801, [count], Uint8Array.from({ length: count }, (_, i) => (i * 7 + seed) % 10)),
  }));

/** Header fields overwritten with awkward u32 values. */
const headerEdits = fc.array(fc.record({ field: fc.integer({ min: 0, max: 3 }), value: fc.constantFrom(0, 1, 2, 3, 0x801, 0x803, 0x802, 0xffffffff, 0x80000000, 65536) }), { maxLength: 1 });

function applyHeaderEdits(bytes: Uint8Array, edits: { field: number; value: number }[]): Uint8Array {
  const out = Uint8Array.from(bytes);
  const view = new DataView(out.buffer);
  for (const { field, value } of edits) if (4 * field + 4 <= out.length) view.setUint32(4 * field, value);
  return out;
}

function checkImages(images: { count: number; rows: number; cols: number; pixels: Float32Array }): void {
  invariant(images.count >= 1 && images.rows >= 1 && images.cols >= 1, 'zero dimension');
  invariant(images.pixels.length === images.count * images.rows * images.cols, 'pixel count');
  for (const p of images.pixels) invariant(p >= 0 && p <= 1, `pixel ${p} outside [0, 1]`);
}

/** Damage to one file: awkward header fields and/or byte edits, or (a third of the time) none. */
const idxDamage = fc.option(fc.tuple(headerEdits, fc.option(byteEdits, { nil: undefined, freq: 2 })), { nil: undefined, freq: 3 });

const damagedIdx = fc.record({ pair: idxPair, images: idxDamage, labels: idxDamage }).map(({ pair, images, labels }) => {
  const damage = (bytes: Uint8Array, how: [{ field: number; value: number }[], ByteEdit[] | undefined] | undefined) => {
    if (!how) return bytes;
    const edited = applyHeaderEdits(bytes, how[0]);
    return how[1] ? applyByteEdits(edited, how[1]) : edited;
  };
  return { images: damage(pair.images, images), labels: damage(pair.labels, labels) };
});

test('fuzz: IDX parsers on random bytes', (t) => {
  const tally = new Tally();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (random, asImages) => {
      // Give the random bytes a fair chance to get past the magic number (on a copy: fast-check replays its values).
      const bytes = Uint8Array.from(random);
      if (bytes.length >= 4 && bytes[0]! % 2 === 0) bytes.set([0, 0, 8, asImages ? 3 : 1]);
      if (asImages) outcomeSync('rnd', () => parseIdxImages(bytes, 'rnd'), checkImages, tally);
      else outcomeSync('rnd', () => parseIdxLabels(bytes, 'rnd'), (labels) => invariant(labels.length >= 1, 'no labels'), tally);
    }),
    PARAMS,
  );
  // Random headers almost never match their body's length: refusals only, but of several kinds.
  tally.expect(t, { valid: 0, kinds: 4 });
});

test('fuzz: IDX loaders read back every pixel (as v/255) and label of a valid pair, plain and gzipped', async (t) => {
  const dir = await tempDir();
  let n = 0;
  await fc.assert(
    fc.asyncProperty(idxPair, fc.boolean(), async ({ images, labels }, gzip) => {
      const run = n++;
      const imagesFile = join(dir, `images-${run}`);
      const labelsFile = join(dir, `labels-${run}`);
      await writeFile(imagesFile, gzip ? gzipSync(images) : images);
      await writeFile(labelsFile, labels);
      const d = await loadIdxDataset(imagesFile, labelsFile);
      const view = new DataView(images.buffer, images.byteOffset);
      const [count, rows, cols] = [view.getUint32(4), view.getUint32(8), view.getUint32(12)];
      invariant(d.rows === count && d.features === rows * cols, `read ${d.rows} × ${d.features}, wrote ${count} × ${rows}×${cols}`);
      for (let i = 0; i < d.x.length; i++) invariant(d.x[i] === Math.fround(images[16 + i]! / 255), `pixel ${i}: wrote ${images[16 + i]}, read ${d.x[i]}`);
      invariant(d.targets.kind === 'classes', 'class labels');
      if (d.targets.kind === 'classes') for (let r = 0; r < count; r++) invariant(d.targets.names[d.targets.index[r]!] === String(labels[8 + r]), `label ${r}`);
    }),
    PARAMS,
  );
  t.pass();
});

test('fuzz: IDX loaders on damaged valid files, plain and gzipped', async (t) => {
  const dir = await tempDir();
  const [pairs, sniffed] = [new Tally(), new Tally()];
  let n = 0;
  await fc.assert(
    fc.asyncProperty(damagedIdx, fc.boolean(), fc.boolean(), async ({ images, labels }, gzip, unlabelled) => {
      const run = n++;
      const imagesFile = join(dir, `images-${run}`);
      const labelsFile = join(dir, `labels-${run}`);
      await writeFile(imagesFile, gzip ? gzipSync(images) : images);
      await writeFile(labelsFile, labels);
      await outcome([imagesFile, labelsFile], () => loadIdxDataset(imagesFile, labelsFile), (d) => checkDataset(d, {}), pairs);
      // Through the sniffing front door as well (an images file without labels: predict's case).
      await outcome(imagesFile, () => loadDataset(imagesFile, { labels: 'classes', builtin: { seed: 1 }, allowUnlabelled: unlabelled }), (d) => checkDataset(d, { allowUnlabelled: true }), sniffed);
    }),
    PARAMS,
  );
  pairs.expect(t, { valid: 30, kinds: 8 });
  sniffed.expect(t, { valid: 25, kinds: 4 });
});

// ---------- JSON model files ----------

const modelText = fc.oneof(
  // A valid model, damaged structurally.
  { weight: 4, arbitrary: fc.tuple(modelSpecs, jsonEdits).map(([s, edits]) => JSON.stringify(applyJsonEdits(JSON.parse(serializeModel(s.shape, specViews(s), s.labels, s.normalization)), edits))) },
  // A valid model, damaged as text.
  { weight: 3, arbitrary: fc.tuple(modelSpecs, charEdits).map(([s, edits]) => applyCharEdits(serializeModel(s.shape, specViews(s), s.labels, s.normalization), edits)) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40, unit: 'binary' }) },
);

/** A model read back from its file is the model that was written: shape, weights, labels. */
function expectRoundTrip(s: ModelSpec, parsed: ModelContents): void {
  checkModel(parsed);
  invariant(JSON.stringify(parsed.shape.sizes) === JSON.stringify(s.shape.sizes) && parsed.shape.loss === s.shape.loss, 'shape changed');
  // Without hidden layers there is no hidden activation to record.
  if (s.shape.sizes.length > 2) invariant(parsed.shape.activation === s.shape.activation, 'activation changed');
  invariant(parsed.parameters.every((v, i) => Object.is(v, s.parameters[i])), 'parameters changed');
  invariant(JSON.stringify(parsed.labels) === JSON.stringify(s.labels), 'labels changed');
}

test('fuzz: model parser round-trips every valid model', (t) => {
  fc.assert(
    fc.property(modelSpecs, (s) => {
      expectRoundTrip(s, parseModel(serializeModel(s.shape, specViews(s), s.labels, s.normalization), 'm.json'));
    }),
    PARAMS,
  );
  t.pass();
});

test('fuzz: model parser on damaged and random JSON', (t) => {
  const tally = new Tally();
  fc.assert(
    fc.property(modelText, (text) => {
      outcomeSync('m.json', () => parseModel(text, 'm.json'), checkModel, tally);
    }),
    PARAMS,
  );
  tally.expect(t, { valid: 3, kinds: 10 });
});

// ---------- safetensors ----------

/** Re-encodes a header object with a correct, 8-byte-padded length prefix in front of `data`. */
function withHeader(header: unknown, data: Uint8Array): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = Buffer.alloc(8 + padded + data.length, 0x20);
  out.writeBigUInt64LE(BigInt(padded));
  json.copy(out, 8);
  Buffer.from(data).copy(out, 8 + padded);
  return out;
}

function splitSafetensors(bytes: Uint8Array): { header: unknown; data: Uint8Array } {
  const length = Number(Buffer.from(bytes).readBigUInt64LE(0));
  return { header: JSON.parse(Buffer.from(bytes.subarray(8, 8 + length)).toString('utf8')), data: bytes.subarray(8 + length) };
}

const safetensorsBytes = fc.oneof(
  // Header damaged structurally but re-encoded with the right length: reaches the deep checks.
  {
    weight: 4,
    arbitrary: fc.tuple(modelSpecs, jsonEdits).map(([s, edits]) => {
      const { header, data } = splitSafetensors(serializeSafetensors(s.shape, specViews(s), s.labels, s.normalization));
      return withHeader(applyJsonEdits(header, edits), data);
    }),
  },
  // Bytes damaged anywhere: length prefix, header, data (a NaN or Infinity weight, a short tensor).
  { weight: 3, arbitrary: fc.tuple(modelSpecs, byteEdits).map(([s, edits]) => applyByteEdits(serializeSafetensors(s.shape, specViews(s), s.labels, s.normalization), edits)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
);

test('fuzz: safetensors parser round-trips every valid model', (t) => {
  fc.assert(
    fc.property(modelSpecs, (s) => {
      expectRoundTrip(s, parseSafetensors(serializeSafetensors(s.shape, specViews(s), s.labels, s.normalization), 'm.safetensors'));
    }),
    PARAMS,
  );
  t.pass();
});

test('fuzz: safetensors parser on damaged and random bytes', (t) => {
  const tally = new Tally();
  fc.assert(
    fc.property(safetensorsBytes, (bytes) => {
      outcomeSync('m.safetensors', () => parseSafetensors(bytes, 'm.safetensors'), checkModel, tally);
    }),
    PARAMS,
  );
  tally.expect(t, { valid: 1, kinds: 10 });
});

// Bugs in src/model/safetensors.ts found by the properties above, kept as regression tests.
test('a safetensors header that is not JSON gives a one-line message', (t) => {
  const header = Buffer.from('{"a": x\ny}     ');
  const bytes = Buffer.alloc(8 + header.length);
  bytes.writeBigUInt64LE(BigInt(header.length));
  header.copy(bytes, 8);
  const error = t.throws(() => parseSafetensors(bytes, 'm.safetensors'), { instanceOf: InputError });
  t.notRegex(error?.message ?? '', /\n/);
});

test('safetensors sizes are checked against the data section before anything is allocated', (t) => {
  const metadata = { format: 'gradpool-model', version: '1', sizes: '[1048576,1048576]', activation: 'relu', loss: 'mse', labels: 'null', normalization: 'null' };
  t.throws(() => parseSafetensors(withHeader({ __metadata__: metadata }, new Uint8Array(0)), 'm.safetensors'), { instanceOf: InputError });
});

test('a deeply nested value in a safetensors header is an InputError, not a stack overflow', (t) => {
  const s: ModelSpec = { shape: { sizes: [1, 1], activation: 'relu', loss: 'mse' }, labels: null, normalization: null, parameters: new Float32Array(16 + 16) };
  const { header, data } = splitSafetensors(serializeSafetensors(s.shape, specViews(s), s.labels, s.normalization));
  // A dtype nested 100 000 arrays deep: JSON.parse copes, JSON.stringify in the message does not.
  const text = JSON.stringify(header).replace('"dtype":"F32"', `"dtype":${'['.repeat(100_000)}"F32"${']'.repeat(100_000)}`);
  const json = Buffer.from(text);
  const padded = Math.ceil(json.length / 8) * 8;
  const bytes = Buffer.alloc(8 + padded + data.length, 0x20);
  bytes.writeBigUInt64LE(BigInt(padded));
  json.copy(bytes, 8);
  Buffer.from(data).copy(bytes, 8 + padded);
  t.throws(() => parseSafetensors(bytes, 'm.safetensors'), { instanceOf: InputError });
});

test('a deeply nested value in a JSON model is an InputError, not a stack overflow', (t) => {
  const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  const model = { format: 'gradpool-model', version: 1, loss: 'mse', labels: null, normalization: null, layers: [{ inputs: 1, outputs: 1, activation: 'linear', weight: [1], bias: [0] }] };
  for (const field of ['"format":"gradpool-model"', '"loss":"mse"', '"activation":"linear"', '"normalization":null']) {
    const key = field.slice(0, field.indexOf(':'));
    const text = JSON.stringify(model).replace(field, `${key}:${field.startsWith('"normalization"') ? `{"kind":${deep},"offset":[0],"scale":[1]}` : deep}`);
    t.throws(() => parseModel(text, 'm.json'), { instanceOf: InputError }, field);
  }
});
