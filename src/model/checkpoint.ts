// Checkpoints: everything needed to continue a run bit-for-bit — weights, optimizer state, the
// epoch's sample order, the shuffle generator's position, early-stopping state and history.
// One file, DIR/checkpoint.gpck: an 8-byte magic with the version, a u32 header length, a JSON
// header, then the raw buffers (8-byte aligned). Written atomically, so a crash leaves the previous one.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError , optionRef } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { EpochEntry } from '../model/history.js';

const MAGIC = 'GPCKPT01';
export const CHECKPOINT_FILE = 'checkpoint.gpck';

export interface Checkpoint {
  /** The training options and data shape that must match for a resume to be exact. */
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

interface BufferEntry {
  name: string;
  type: 'f32' | 'i32';
  length: number;
}

export async function writeCheckpoint(directory: string, checkpoint: Checkpoint): Promise<void> {
  await mkdir(directory, { recursive: true });
  const buffers: [BufferEntry, Float32Array | Int32Array][] = [
    [{ name: 'parameters', type: 'f32', length: checkpoint.parameters.length }, checkpoint.parameters],
    ...checkpoint.optimizerState.map((state, i): [BufferEntry, Float32Array] => [{ name: `optimizer${i}`, type: 'f32', length: state.length }, state]),
    [{ name: 'trainOrder', type: 'i32', length: checkpoint.trainOrder.length }, checkpoint.trainOrder],
  ];
  if (checkpoint.bestParameters) buffers.push([{ name: 'bestParameters', type: 'f32', length: checkpoint.bestParameters.length }, checkpoint.bestParameters]);
  const header = {
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
  const headerBytes = Buffer.concat([json, Buffer.alloc(align8(12 + json.length) - 12 - json.length, ' ')]);
  let size = 12 + headerBytes.length;
  for (const [, data] of buffers) size += align8(data.byteLength);
  const file = Buffer.alloc(size);
  file.write(MAGIC, 0, 'latin1');
  file.writeUInt32LE(headerBytes.length, 8);
  headerBytes.copy(file, 12);
  let offset = 12 + headerBytes.length;
  for (const [, data] of buffers) {
    Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(file, offset);
    offset += align8(data.byteLength);
  }
  await writeFileAtomic(join(directory, CHECKPOINT_FILE), file);
}

export async function readCheckpoint(directory: string): Promise<Checkpoint> {
  const path = join(directory, CHECKPOINT_FILE);
  let file: Buffer;
  try {
    file = await readFile(path);
  } catch (error) {
    throw new InputError(`${optionRef('resume')}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const fail = (what: string): never => {
    throw new InputError(`${path}: ${what}`);
  };
  if (file.length < 12 || file.toString('latin1', 0, 8) !== MAGIC) fail('not a gradpool checkpoint (bad magic)');
  const headerLength = file.readUInt32LE(8);
  if (12 + headerLength > file.length) fail('truncated header');
  let header: Omit<Checkpoint, 'parameters' | 'optimizerState' | 'trainOrder' | 'bestParameters'> & { buffers: BufferEntry[] };
  try {
    header = JSON.parse(file.toString('utf8', 12, 12 + headerLength));
  } catch {
    return fail('corrupt header');
  }
  const views = new Map<string, Float32Array | Int32Array>();
  let offset = 12 + headerLength;
  for (const entry of header.buffers) {
    const bytes = entry.length * 4;
    if (offset + bytes > file.length) fail(`truncated at buffer ${entry.name}`);
    const copy = new Uint8Array(file.subarray(offset, offset + bytes)); // aligned copy
    views.set(entry.name, entry.type === 'f32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer));
    offset += align8(bytes);
  }
  const optimizerState: Float32Array[] = [];
  for (let i = 0; views.has(`optimizer${i}`); i++) optimizerState.push(views.get(`optimizer${i}`) as Float32Array);
  return {
    fingerprint: header.fingerprint,
    epoch: header.epoch,
    step: header.step,
    history: header.history,
    shuffleState: header.shuffleState,
    bestValLoss: header.bestValLoss,
    epochsWithoutImprovement: header.epochsWithoutImprovement,
    parameters: (views.get('parameters') as Float32Array | undefined) ?? fail('no parameters'),
    optimizerState,
    trainOrder: (views.get('trainOrder') as Int32Array | undefined) ?? fail('no sample order'),
    bestParameters: (views.get('bestParameters') as Float32Array | undefined) ?? null,
  };
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
