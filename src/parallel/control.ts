// The control block: a few shared words through which the coordinator hands a command to the
// persistent worker loops and learns when they are done (Atomics wait/notify, no messages).
// Both sides import these indices; nothing else is shared between them but the arena.

/** Int32 words. */
export const SLOT_COUNTER = 0; // workers claim scratch slots by incrementing it
export const READY = 1; // workers that entered their command loop
export const GENERATION = 2; // bumped once per command; workers wait on it
export const DONE = 3; // workers finished with the current command
export const BARRIER = 4; // workers through the gradient phase of a train command
export const FAILED = 5; // set when any worker threw: everyone stops waiting
export const KIND = 6;
export const START = 7;
export const END = 8;
export const SHARD_ROWS = 9;
export const SHARDS = 10;
export const WORKERS = 11;
export const UPDATE_WORKERS = 12;
export const STEP = 13;
export const SHARD_CURSOR = 14; // next shard to claim: participants take shards one at a time
export const UPDATE_CURSOR = 15; // next block of parameters to reduce and update
export const CONTROL_INT_WORDS = 16;

/** Float64 words. */
export const LR = 0;
export const INV_BATCH = 1;
export const CONTROL_FLOAT_WORDS = 4;

export const COMMAND_TRAIN = 1;
export const COMMAND_EVALUATE = 2;
export const COMMAND_EXIT = 3;

export interface Command {
  kind: number;
  /** Rows order[start, end) cut into `shards` shards of shardRows. */
  start: number;
  end: number;
  shardRows: number;
  shards: number;
  /** Participants 0..workers-1 claim shards; 0..updateWorkers-1 then claim blocks of the reduction and update. */
  workers: number;
  updateWorkers: number;
  step: number;
  lr: number;
  invBatch: number;
}

export function emptyCommand(): Command {
  return { kind: 0, start: 0, end: 0, shardRows: 0, shards: 0, workers: 0, updateWorkers: 0, step: 0, lr: 0, invBatch: 0 };
}

export function writeCommand(ints: Int32Array, reals: Float64Array, command: Command): void {
  ints[KIND] = command.kind;
  ints[START] = command.start;
  ints[END] = command.end;
  ints[SHARD_ROWS] = command.shardRows;
  ints[SHARDS] = command.shards;
  ints[WORKERS] = command.workers;
  ints[UPDATE_WORKERS] = command.updateWorkers;
  ints[STEP] = command.step;
  reals[LR] = command.lr;
  reals[INV_BATCH] = command.invBatch;
}

/** Fills `into` (reused: the loop allocates nothing per command). */
export function readCommand(ints: Int32Array, reals: Float64Array, into: Command): void {
  into.kind = ints[KIND]!;
  into.start = ints[START]!;
  into.end = ints[END]!;
  into.shardRows = ints[SHARD_ROWS]!;
  into.shards = ints[SHARDS]!;
  into.workers = ints[WORKERS]!;
  into.updateWorkers = ints[UPDATE_WORKERS]!;
  into.step = ints[STEP]!;
  into.lr = reals[LR]!;
  into.invBatch = reals[INV_BATCH]!;
}
