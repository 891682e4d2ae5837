// Checkpoints: everything needed to continue a run bit-for-bit — weights, optimizer state, the
// epoch's sample order, the shuffle generator's position, early-stopping state and history.
// One file, DIR/checkpoint.gpck: an 8-byte magic with the version, a u32 header length, a JSON
// header, the raw buffers (8-byte aligned), then a SHA-256 of everything before it. Written
// atomically, so a crash leaves the previous one; read back, it is checked field by field against
// the run that resumes it, and any mismatch is an InputError naming the file and the field.
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, describeValue, optionRef } from '../errors.js';
import { MAX_VALUES } from '../data/limits.js';
import { shuffleStateProblem } from '../data/random.js';
import { WriteError, writeFileAtomic } from '../io/atomic.js';
import { readBounded } from '../io/read.js';
import type { EpochEntry } from './history.js';
import { MAX_PARAMETERS } from '../model/limits.js';

const MAGIC = 'GPCKPT02';
const OLDER_MAGIC = /^GPCKPT0[01]$/;
const PREFIX_BYTES = 12;
const CHECKSUM_BYTES = 32;
export const CHECKPOINT_FILE = 'checkpoint.gpck';

export interface Checkpoint {
  /** The training options and data (by content) that must match for a resume to be exact. */
  fingerprint: string;
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken. */
  step: number;
  history: EpochEntry[];
  shuffleState: object;
  bestValLoss: number | null;
  epochsWithoutImprovement: number;
  parameters: Float32Array;
  optimizerState: Float32Array[];
  trainOrder: Int32Array;
  bestParameters: Float32Array | null;
}

/** A checkpoint as read back, with the file it came from (for messages). */
export interface StoredCheckpoint extends Checkpoint {
  readonly path: string;
}

interface BufferEntry {
  name: string;
  type: 'f32' | 'i32';
  length: number;
}

type Header = Omit<Checkpoint, 'parameters' | 'optimizerState' | 'trainOrder' | 'bestParameters'> & { buffers: BufferEntry[] };

export async function writeCheckpoint(directory: string, checkpoint: Checkpoint): Promise<void> {
  try {
    await mkdir(directory, { recursive: true });
  } catch (error) {
    throw new WriteError(directory, error);
  }
  await writeFileAtomic(join(directory, CHECKPOINT_FILE), encodeCheckpoint(checkpoint));
}

/** The file's bytes. */
export function encodeCheckpoint(checkpoint: Checkpoint): Buffer {
  const buffers: [BufferEntry, Float32Array | Int32Array][] = [
    [{ name: 'parameters', type: 'f32', length: checkpoint.parameters.length }, checkpoint.parameters],
    ...checkpoint.optimizerState.map((state, i): [BufferEntry, Float32Array] => [{ name: `optimizer${i}`, type: 'f32', length: state.length }, state]),
    [{ name: 'trainOrder', type: 'i32', length: checkpoint.trainOrder.length }, checkpoint.trainOrder],
  ];
  if (checkpoint.bestParameters) buffers.push([{ name: 'bestParameters', type: 'f32', length: checkpoint.bestParameters.length }, checkpoint.bestParameters]);
  const header: Header = {
    fingerprint: checkpoint.fingerprint,
    epoch: checkpoint.epoch,
    step: checkpoint.step,
    history: checkpoint.history,
    shuffleState: checkpoint.shuffleState,
    bestValLoss: checkpoint.bestValLoss,
    epochsWithoutImprovement: checkpoint.epochsWithoutImprovement,
    buffers: buffers.map(([entry]) => entry),
  };
  const json = Buffer.from(JSON.stringify(header));
  // Pad the header with spaces so the buffers after it start 8-byte aligned.
  const headerBytes = Buffer.concat([json, Buffer.alloc(align8(PREFIX_BYTES + json.length) - PREFIX_BYTES - json.length, ' ')]);
  let size = PREFIX_BYTES + headerBytes.length;
  for (const [, data] of buffers) size += align8(data.byteLength);
  const file = Buffer.alloc(size + CHECKSUM_BYTES);
  file.write(MAGIC, 0, 'latin1');
  file.writeUInt32LE(headerBytes.length, 8);
  headerBytes.copy(file, PREFIX_BYTES);
  let offset = PREFIX_BYTES + headerBytes.length;
  for (const [, data] of buffers) {
    Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(file, offset);
    offset += align8(data.byteLength);
  }
  createHash('sha256').update(file.subarray(0, size)).digest().copy(file, size);
  return file;
}

/** Parameters, two optimizer buffers and the best weights of the largest network, its sample order, and 1 GiB for the rest. */
const MAX_CHECKPOINT_BYTES = 4 * MAX_PARAMETERS * 4 + MAX_VALUES * 4 + 2 ** 30;

export async function readCheckpoint(directory: string): Promise<StoredCheckpoint> {
  const path = join(directory, CHECKPOINT_FILE);
  let file: Buffer;
  try {
    file = await readBounded(path, { shown: `${optionRef('resume')} ${path}`, maxBytes: MAX_CHECKPOINT_BYTES, what: 'checkpoint' });
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`${optionRef('resume')}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return decodeCheckpoint(file, path);
}

/** Parses and checks the file's own consistency: magic, checksum, header fields, buffer sizes. */
export function decodeCheckpoint(file: Buffer, path: string): StoredCheckpoint {
  const fail = (what: string): never => {
    throw new InputError(`${optionRef('resume')} ${path}: ${what}`);
  };
  const magic = file.length >= 8 ? file.toString('latin1', 0, 8) : '';
  if (OLDER_MAGIC.test(magic)) fail(`written by an older gradpool (${magic}, without a checksum); start the run again`);
  if (magic !== MAGIC) fail('not a gradpool checkpoint (bad magic)');
  if (file.length < PREFIX_BYTES + CHECKSUM_BYTES) fail('truncated');
  const body = file.subarray(0, file.length - CHECKSUM_BYTES);
  if (!createHash('sha256').update(body).digest().equals(file.subarray(body.length))) fail('checksum mismatch: the file is corrupt or truncated');
  const headerLength = file.readUInt32LE(8);
  if (PREFIX_BYTES + headerLength > body.length) fail('truncated header');
  let header: unknown;
  try {
    header = JSON.parse(body.toString('utf8', PREFIX_BYTES, PREFIX_BYTES + headerLength));
  } catch {
    return fail('corrupt header (not JSON)');
  }
  const h = checkHeader(header, fail);
  const views = new Map<string, Float32Array | Int32Array>();
  let offset = PREFIX_BYTES + headerLength;
  for (const entry of h.buffers) {
    const bytes = entry.length * 4;
    if (offset + bytes > body.length) fail(`truncated at buffer ${entry.name}`);
    const copy = new Uint8Array(body.subarray(offset, offset + bytes)); // aligned copy
    views.set(entry.name, entry.type === 'f32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer));
    offset += align8(bytes);
  }
  if (offset !== body.length) fail(`${body.length - offset} unexpected bytes after the buffers`);
  const optimizerState: Float32Array[] = [];
  for (let i = 0; views.has(`optimizer${i}`); i++) optimizerState.push(views.get(`optimizer${i}`) as Float32Array);
  const known = new Set(['parameters', 'trainOrder', 'bestParameters', ...optimizerState.map((_, i) => `optimizer${i}`)]);
  for (const name of views.keys()) if (!known.has(name)) fail(`buffers: unexpected buffer ${describeValue(name)}`);
  const typed = <T extends Float32Array | Int32Array>(name: string, type: new (n: number) => T): T | undefined => {
    const view = views.get(name);
    if (view !== undefined && !(view instanceof type)) fail(`buffers: ${name} has the wrong element type`);
    return view as T | undefined;
  };
  for (const [i, state] of optimizerState.entries()) if (!(state instanceof Float32Array)) fail(`buffers: optimizer${i} has the wrong element type`);
  return {
    path,
    fingerprint: h.fingerprint,
    epoch: h.epoch,
    step: h.step,
    history: h.history,
    shuffleState: h.shuffleState,
    bestValLoss: h.bestValLoss,
    epochsWithoutImprovement: h.epochsWithoutImprovement,
    parameters: typed('parameters', Float32Array) ?? fail('buffers: no parameters'),
    optimizerState,
    trainOrder: typed('trainOrder', Int32Array) ?? fail('buffers: no trainOrder (the sample order)'),
    bestParameters: typed('bestParameters', Float32Array) ?? null,
  };
}

function checkHeader(value: unknown, fail: (what: string) => never): Header {
  if (!isObject(value)) return fail('header is not a JSON object');
  const keys = ['fingerprint', 'epoch', 'step', 'history', 'shuffleState', 'bestValLoss', 'epochsWithoutImprovement', 'buffers'];
  for (const key of keys) if (!(key in value)) fail(`header: missing field "${key}"`);
  for (const key of Object.keys(value)) if (!keys.includes(key)) fail(`header: unexpected field ${describeValue(key)}`);
  if (typeof value.fingerprint !== 'string') fail('fingerprint must be a string');
  for (const key of ['epoch', 'step', 'epochsWithoutImprovement'] as const) {
    const n = value[key];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) fail(`${key} must be a whole number ≥ 0, got ${describeValue(n)}`);
  }
  if (value.bestValLoss !== null && !(typeof value.bestValLoss === 'number' && Number.isFinite(value.bestValLoss))) fail(`bestValLoss must be null or a finite number, got ${describeValue(value.bestValLoss)}`);
  const shuffleProblem = shuffleStateProblem(value.shuffleState);
  if (shuffleProblem) fail(`shuffleState ${shuffleProblem}`);
  if (typeof value.bestValLoss === 'number' && value.bestValLoss < 0) fail(`bestValLoss must be ≥ 0, got ${describeValue(value.bestValLoss)}`);
  const epoch = value.epoch as number;
  if ((value.step as number) < epoch) fail(`step ${describeValue(value.step)} is below epoch ${epoch}: every epoch takes at least one step`);
  if ((value.epochsWithoutImprovement as number) > epoch) fail(`epochsWithoutImprovement ${describeValue(value.epochsWithoutImprovement)} exceeds epoch ${epoch}`);
  if (!Array.isArray(value.history)) fail('history must be an array');
  (value.history as unknown[]).forEach((entry, i) => checkHistoryEntry(entry, i, fail));
  if (!Array.isArray(value.buffers)) fail('buffers must be an array');
  const names = new Set<string>();
  (value.buffers as unknown[]).forEach((entry, i) => {
    if (!isObject(entry) || typeof entry.name !== 'string' || (entry.type !== 'f32' && entry.type !== 'i32') || typeof entry.length !== 'number' || !Number.isSafeInteger(entry.length) || entry.length < 0) {
      fail(`buffers[${i}] must be {name, type: "f32" | "i32", length ≥ 0}`);
    }
    // The limits of any run, before a byte of the buffers is copied: a parameter-sized buffer of at
    // most MAX_PARAMETERS values, a sample order of at most MAX_VALUES rows.
    const most = entry.type === 'f32' ? MAX_PARAMETERS : MAX_VALUES;
    if ((entry.length as number) > most) fail(`buffers[${i}] (${describeValue(entry.name)}) has ${(entry.length as number).toLocaleString('en-US')} values; at most ${most.toLocaleString('en-US')} (${entry.type === 'f32' ? 'the parameters of the largest network' : 'the rows of the largest dataset'} a run holds)`);
    if (names.has(entry.name as string)) fail(`buffers: ${describeValue(entry.name)} appears twice`);
    names.add(entry.name as string);
  });
  return value as unknown as Header;
}

const ENTRY_NUMBERS = ['epoch', 'loss', 'samplesPerSec', 'seconds', 'lr', 'threads'] as const;
const ENTRY_NULLABLE = ['accuracy', 'valLoss', 'valAccuracy'] as const;
/** EpochEntry's optional fields (absent in older checkpoints). */
const OPTIONAL_ENTRY_FIELDS = ['valR2'] satisfies readonly (keyof EpochEntry)[];

function checkHistoryEntry(entry: unknown, i: number, fail: (what: string) => never): void {
  if (!isObject(entry)) return fail(`history[${i}] must be an object`);
  // Fields added later (valR2) are optional, and like the others a finite number or null.
  for (const key of Object.keys(entry)) {
    if ((ENTRY_NUMBERS as readonly string[]).includes(key) || (ENTRY_NULLABLE as readonly string[]).includes(key)) continue;
    if (!(OPTIONAL_ENTRY_FIELDS as readonly string[]).includes(key)) fail(`history[${i}]: unexpected field ${describeValue(key)}`);
    if (entry[key] !== null && (typeof entry[key] !== 'number' || !Number.isFinite(entry[key]))) fail(`history[${i}].${key} must be a finite number or null, got ${describeValue(entry[key])}`);
  }
  for (const key of ENTRY_NUMBERS) if (typeof entry[key] !== 'number' || !Number.isFinite(entry[key])) fail(`history[${i}].${key} must be a finite number, got ${describeValue(entry[key])}`);
  for (const key of ENTRY_NULLABLE) if (entry[key] !== null && (typeof entry[key] !== 'number' || !Number.isFinite(entry[key]))) fail(`history[${i}].${key} must be a finite number or null, got ${describeValue(entry[key])}`);
  // Ranges: a loss and the timings are never negative, accuracies are fractions, threads a count.
  for (const key of ['loss', 'samplesPerSec', 'seconds', 'lr'] as const) if ((entry[key] as number) < 0) fail(`history[${i}].${key} must be ≥ 0, got ${describeValue(entry[key])}`);
  if (entry.valLoss !== null && (entry.valLoss as number) < 0) fail(`history[${i}].valLoss must be ≥ 0, got ${describeValue(entry.valLoss)}`);
  for (const key of ['accuracy', 'valAccuracy'] as const) if (entry[key] !== null && !((entry[key] as number) >= 0 && (entry[key] as number) <= 1)) fail(`history[${i}].${key} must be in [0, 1] or null, got ${describeValue(entry[key])}`);
  if (!Number.isInteger(entry.threads) || (entry.threads as number) < 1) fail(`history[${i}].threads must be a whole number ≥ 1, got ${describeValue(entry.threads)}`);
  if (entry.epoch !== i + 1) fail(`history[${i}].epoch is ${describeValue(entry.epoch)}, expected ${i + 1}`);
}

/** What the resuming run expects of a checkpoint. */
export interface CheckpointExpectation {
  fingerprint: string;
  /** Parameter count of the network (every parameter-sized buffer has it). */
  parameters: number;
  /** Parameter-sized optimizer state buffers of the chosen optimizer. */
  optimizerBuffers: number;
  /** The training rows in the order the split put them: the checkpoint's order must permute exactly these. */
  trainingRows: Int32Array;
  /** Rows in the data region (every row index is below this). */
  rows: number;
  /** Steps per epoch. */
  batches: number;
  /** The epoch count this run trains to. */
  epochs: number;
}

/**
 * Checks a checkpoint against the run resuming it: options and data, sizes, the sample order, the
 * counters. Throws InputError naming the file and the first field that does not fit.
 */
export function checkCheckpoint(checkpoint: StoredCheckpoint, expected: CheckpointExpectation): void {
  const fail = (what: string): never => {
    throw new InputError(`${optionRef('resume')} ${checkpoint.path}: ${what}`);
  };
  if (checkpoint.fingerprint !== expected.fingerprint) fail(fingerprintDifference(checkpoint.fingerprint, expected.fingerprint));
  const n = expected.parameters;
  if (checkpoint.parameters.length !== n) fail(`parameters has ${checkpoint.parameters.length} values, the network has ${n}`);
  for (let i = 0; i < n; i++) if (!Number.isFinite(checkpoint.parameters[i]!)) fail(`parameters[${i}] is not finite`);
  const allFinite = (values: Float32Array, name: string): void => {
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) fail(`${name}[${i}] is not finite`);
  };
  checkpoint.optimizerState.forEach((state, i) => allFinite(state, `optimizer${i}`));
  if (checkpoint.bestParameters) allFinite(checkpoint.bestParameters, 'bestParameters');
  if (checkpoint.optimizerState.length !== expected.optimizerBuffers) fail(`optimizer state has ${checkpoint.optimizerState.length} buffers, the optimizer keeps ${expected.optimizerBuffers}`);
  checkpoint.optimizerState.forEach((state, i) => {
    if (state.length !== n) fail(`optimizer${i} has ${state.length} values, expected ${n}`);
  });
  if (checkpoint.bestParameters !== null && checkpoint.bestParameters.length !== n) fail(`bestParameters has ${checkpoint.bestParameters.length} values, expected ${n}`);
  if ((checkpoint.bestParameters === null) !== (checkpoint.bestValLoss === null)) fail('bestParameters and bestValLoss must be both set or both null');
  checkOrder(checkpoint.trainOrder, expected, fail);
  if (checkpoint.epoch < 1) fail(`epoch is ${checkpoint.epoch}; a checkpoint is written after an epoch, so it is at least 1`);
  if (checkpoint.epoch > expected.epochs) fail(`epoch is ${checkpoint.epoch}, past the ${expected.epochs} epochs of this run (raise ${optionRef('epochs')})`);
  if (checkpoint.step !== checkpoint.epoch * expected.batches) fail(`step is ${checkpoint.step}; ${checkpoint.epoch} epochs of ${expected.batches} steps make ${checkpoint.epoch * expected.batches}`);
  if (checkpoint.history.length !== checkpoint.epoch) fail(`history has ${checkpoint.history.length} entries for ${checkpoint.epoch} epochs`);
  if (checkpoint.epochsWithoutImprovement > checkpoint.epoch) fail(`epochsWithoutImprovement ${checkpoint.epochsWithoutImprovement} exceeds epoch ${checkpoint.epoch}`);
  if (checkpoint.bestValLoss !== null && checkpoint.history.length > 0) {
    const best = Math.min(...checkpoint.history.map((entry) => entry.valLoss ?? Infinity));
    if (checkpoint.bestValLoss !== best) fail(`bestValLoss ${checkpoint.bestValLoss} is not the best validation loss in its history (${best})`);
  }
}

/** The order must be a permutation of this run's training rows: in range, each exactly once. */
function checkOrder(order: Int32Array, expected: CheckpointExpectation, fail: (what: string) => never): void {
  const { trainingRows, rows } = expected;
  if (order.length !== trainingRows.length) fail(`trainOrder has ${order.length} rows, this run trains on ${trainingRows.length}`);
  const state = new Uint8Array(rows); // 1: a training row not yet seen, 2: seen
  for (const row of trainingRows) state[row] = 1;
  for (let i = 0; i < order.length; i++) {
    const row = order[i]!;
    if (row < 0 || row >= rows) fail(`trainOrder[${i}] is ${row}, outside rows 0..${rows - 1}`);
    if (state[row] === 2) fail(`trainOrder[${i}] repeats row ${row}`);
    if (state[row] !== 1) fail(`trainOrder[${i}] is row ${row}, a validation row of this run`);
    state[row] = 2;
  }
}

/** Fingerprint fields that are facts of the run rather than options (train.ts adds them). */
export const FACTS: readonly string[] = ['dataContent', 'dataRows', 'dataFeatures', 'classNames', 'kernelSet'];

/** Which fingerprint field differs, for the message. */
function fingerprintDifference(stored: string, current: string): string {
  const advice = 'resume with the flags and data of the original run';
  let before: Record<string, unknown>;
  let now: Record<string, unknown>;
  try {
    before = JSON.parse(stored) as Record<string, unknown>;
    now = JSON.parse(current) as Record<string, unknown>;
  } catch {
    return `fingerprint: the checkpoint was made with different data, options or kernels; ${advice}`;
  }
  if (!isObject(before)) return `fingerprint: the checkpoint was made with different data, options or kernels; ${advice}`;
  for (const key of new Set([...Object.keys(now), ...Object.keys(before)])) {
    const [a, b] = [JSON.stringify(before[key]), JSON.stringify(now[key])];
    if (a === b) continue;
    if (key === 'dataContent') return `fingerprint: the checkpoint was made with different data, options or kernels: the training data differs in content; ${advice}`;
    if (key === 'kernelSet') return `fingerprint: the checkpoint was made with other kernels (${shorten(a)}; ${shorten(b)} here), whose results differ; resume on the same kind of machine with the same ${optionRef('kernels')}`;
    const name = FACTS.includes(key) ? key : optionRef(key);
    return `fingerprint: the checkpoint was made with different data, options or kernels: ${name} is ${shorten(b)} in this run, ${shorten(a)} in the checkpoint; ${advice}`;
  }
  return `fingerprint: the checkpoint was made with different data, options or kernels; ${advice}`;
}

function shorten(json: string | undefined): string {
  if (json === undefined) return 'not set';
  return json.length > 60 ? `${json.slice(0, 60)}…` : json;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
