// What every data source produces: one description of a dataset (sizes, schema, targets, and a way to
// write its features into memory it is given). Training writes it straight into the shared arena;
// loadDataset writes it into an array of its own. A Dataset is the same thing with its features
// already in memory (what the library returns, and what a caller may hand to train()).
import { InputError, describeValue } from '../errors.js';
import type { NormalizationKind } from './normalize.js';
import type { Schema } from './schema.js';

export type Targets =
  /** Class labels: index into `names` per row (names sorted: numerically when all are numbers). */
  | { readonly kind: 'classes'; readonly index: Int32Array; readonly names: readonly string[] }
  /**
   * Numeric regression targets: one per row, or with `names` (several label columns) one per name
   * and row, row-major (rows × names.length).
   */
  | { readonly kind: 'values'; readonly values: Float32Array; readonly names?: readonly string[] | undefined }
  /** No label column (data given to predict only). */
  | { readonly kind: 'none' };

export interface Dataset {
  /** Where it came from, for messages: a path or builtin:NAME. */
  readonly source: string;
  readonly rows: number;
  readonly features: number;
  /** rows × features inputs, row-major; NaN marks a missing number the model fills (--missing impute). */
  readonly x: Float32Array;
  readonly targets: Targets;
  /** What each column of a table became (CSV); absent or null for plain numeric inputs. */
  readonly schema?: Schema | null | undefined;
  /** Sentences for the user: columns ignored, the loss chosen, rows dropped, columns not used. */
  readonly notes?: readonly string[] | undefined;
}

/** A dataset whose features are written on demand into memory the caller provides. */
export interface DataDescription {
  readonly source: string;
  readonly rows: number;
  readonly features: number;
  readonly targets: Targets;
  readonly schema: Schema | null;
  /** What --normalize auto means here: standard for a table's numeric columns, none otherwise. */
  readonly autoNormalize: NormalizationKind;
  readonly notes: readonly string[];
  /** Writes rows × features values, row-major, into the start of `into`. */
  writeFeatures(into: Float32Array): void;
  /** The features, when the source holds them in memory already (a parsed CSV file): no copy needed. */
  readonly x?: Float32Array | undefined;
}

/** A Dataset handed in by a library user, checked for what the loaders guarantee, as a description. */
export function describeDataset(given: Dataset): DataDescription {
  if (typeof given !== 'object' || given === null) throw new InputError('data: a Dataset must be an object');
  const dataset = checkDataset(given);
  const { rows, features, x } = dataset;
  // Class indices and values may come as plain arrays: the arena's writer wants typed ones.
  const targets: Targets = dataset.targets.kind === 'classes' ? { kind: 'classes', names: [...dataset.targets.names], index: Int32Array.from(dataset.targets.index) } : dataset.targets.kind === 'values' ? { kind: 'values', values: Float32Array.from(dataset.targets.values), ...(dataset.targets.names ? { names: [...dataset.targets.names] } : {}) } : dataset.targets;
  return {
    source: typeof dataset.source === 'string' ? dataset.source : 'data',
    rows,
    features,
    targets,
    schema: null,
    autoNormalize: 'none',
    notes: [],
    writeFeatures: (into) => into.set(x),
    x,
  };
}

/** The description as a Dataset: its features in memory (those it holds, or written into a new array). */
export function materialize(description: DataDescription): Dataset {
  let x = description.x;
  if (!x) {
    x = new Float32Array(description.rows * description.features);
    description.writeFeatures(x);
  }
  const { source, rows, features, targets, schema, notes } = description;
  return { source, rows, features, x, targets, schema, notes };
}

/** Width of the network's output for these targets under a loss. */
export function outputWidth(targets: Targets, loss: 'bce' | 'cross-entropy' | 'mse'): number {
  if (targets.kind === 'values') return targetCount(targets);
  if (targets.kind !== 'classes') return 1;
  return loss === 'bce' ? 1 : targets.names.length;
}

/** Values per row of regression targets: one, or one per target column. */
export function targetCount(targets: Targets): number {
  return targets.kind === 'values' ? (targets.names?.length ?? 1) : 1;
}

/**
 * Writes row `row`'s target vector into `out` (width `width`): one-hot for softmax/MSE over classes,
 * 0/1 for a single sigmoid unit, the value itself for regression.
 */
export function writeTarget(targets: Targets, row: number, out: Float32Array, offset: number, width: number): void {
  if (targets.kind === 'values') {
    for (let o = 0; o < width; o++) out[offset + o] = targets.values[row * width + o]!;
    return;
  }
  if (targets.kind === 'none') throw new Error('writeTarget: dataset has no labels');
  const label = targets.index[row]!;
  if (width === 1) {
    out[offset] = label;
    return;
  }
  out.fill(0, offset, offset + width);
  out[offset + label] = 1;
}

/** What the caller already knows about a dataset it opens: a model's, or the training set's. */
export interface TargetExpectation {
  /** classes, values (regression), or auto (the source decides). */
  readonly target?: 'classes' | 'values' | 'auto' | undefined;
  /** Class names in output order: a label outside them is an error. */
  readonly classNames?: readonly string[] | null | undefined;
  /** The input count rows must have. */
  readonly features?: number | undefined;
}

/**
 * Targets of a source whose labels are small integers (builtin sets, IDX files): label L is the
 * class named "L" (names sorted numerically, so L is its own index), or the class of that name among
 * `expect.classNames`; as numbers for regression.
 */
export function integerTargets(source: string, labels: Uint8Array | Int32Array, classCount: number, expect: TargetExpectation, unit: string): Targets {
  if (expect.target === 'values') return { kind: 'values', values: Float32Array.from(labels) };
  const own = Array.from({ length: classCount }, (_, c) => String(c));
  if (!expect.classNames) return { kind: 'classes', index: labels instanceof Int32Array ? labels : Int32Array.from(labels), names: own };
  const names = expect.classNames;
  const known = new Map(names.map((name, i) => [name, i]));
  const lookup = Int32Array.from(own, (name) => known.get(name) ?? -1);
  const index = new Int32Array(labels.length);
  for (let r = 0; r < labels.length; r++) {
    const mapped = lookup[labels[r]!]!;
    if (mapped < 0) throw new InputError(`${source}: ${unit} ${r} has label "${labels[r]}", which was not among the training labels (${names.slice(0, 20).join(', ')}${names.length > 20 ? ', …' : ''})`);
    index[r] = mapped;
  }
  return { kind: 'classes', index, names: [...names] };
}

/**
 * A Dataset handed in by a library user: the same invariants the loaders guarantee, each broken one
 * refused with an InputError naming the field.
 */
function checkDataset(dataset: Dataset): Dataset {
  const fail = (what: string): never => {
    throw new InputError(`data: ${what}`);
  };
  const { rows, features, x, targets, source } = dataset;
  if (source !== undefined && typeof source !== 'string') fail(`source must be a string, got ${describeValue(source)}`);
  if (typeof rows !== 'number' || !Number.isInteger(rows) || rows < 1) fail(`rows must be a whole number ≥ 1, got ${describeValue(rows)}`);
  if (typeof features !== 'number' || !Number.isInteger(features) || features < 1) fail(`features must be a whole number ≥ 1, got ${describeValue(features)}`);
  if (!(x instanceof Float32Array)) fail(`x must be a Float32Array of rows × features values, got ${kindOf(x)}`);
  if (x.length !== rows * features) fail(`x has ${x.length} values; a Dataset needs rows × features = ${rows * features}`);
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) fail(`x[${i}] (row ${Math.floor(i / features)}) is not finite`);
  if (typeof targets !== 'object' || targets === null) return fail(`targets must be an object with a kind, got ${describeValue(targets)}`);
  const kind = (targets as { kind: unknown }).kind;
  if (kind === 'classes' && targets.kind === 'classes') {
    const { names, index } = targets;
    if (!Array.isArray(names) || names.some((name) => typeof name !== 'string')) fail('targets.names must be an array of strings');
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) fail(`targets.names: ${describeValue(name)} appears more than once`);
      seen.add(name);
    }
    if (!isNumberArray(index)) fail(`targets.index must be an Int32Array (or array) of class indices, got ${kindOf(index)}`);
    if (index.length !== rows) fail(`targets.index has ${index.length} entries for ${rows} rows`);
    for (let r = 0; r < rows; r++) {
      const c = index[r];
      if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= names.length) fail(`targets.index[${r}] is ${describeValue(c)}; a class index is a whole number from 0 to ${names.length - 1}`);
    }
  } else if (kind === 'values' && targets.kind === 'values') {
    const { values } = targets;
    if (!isNumberArray(values)) fail(`targets.values must be a Float32Array (or array) of numbers, got ${kindOf(values)}`);
    const names = targets.names;
    if (names !== undefined && (!Array.isArray(names) || names.length === 0 || names.some((name) => typeof name !== 'string'))) fail('targets.names (one per target) must be a non-empty array of strings');
    const width = names?.length ?? 1;
    if (values.length !== rows * width) fail(`targets.values has ${values.length} entries for ${rows} rows${width > 1 ? ` × ${width} targets` : ''}`);
    for (let r = 0; r < rows * width; r++) {
      const v = values[r];
      if (typeof v !== 'number' || !Number.isFinite(Math.fround(v))) fail(`targets.values[${r}] is ${describeValue(v)}; a regression target must be a finite float32 number`);
    }
  } else if (kind === 'none') {
    fail('targets.kind is "none": training needs labels ("classes") or values ("values")');
  } else {
    fail(`targets.kind must be "classes" or "values", got ${describeValue(kind)}`);
  }
  return source === undefined ? { ...dataset, source: 'data' } : dataset;
}

function isNumberArray(value: unknown): value is ArrayLike<number> {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView) && !(value instanceof BigInt64Array) && !(value instanceof BigUint64Array));
}

function kindOf(value: unknown): string {
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (Array.isArray(value)) return 'an array';
  return describeValue(value);
}
