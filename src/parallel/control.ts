// The control block: a few shared words through which the coordinator hands a command to the
// persistent worker loops and learns when they are done (Atomics wait/notify, no messages).
// Both sides import these indices; nothing else is shared between them but the arena.

/**
 * Int32 words. Each word that threads spin on or update during a step sits on its own 64-byte
 * cache line: otherwise every claim of a shard would evict the line that idle threads are
 * spinning on (measured: 16 threads on a 4-shard batch ran 30 % slower than 4 threads).
 */
const LINE = 16;
export const SLOT_COUNTER = 0 * LINE; // workers claim scratch slots by incrementing it
export const READY = 1 * LINE; // workers that entered their command loop
export const GENERATION = 2 * LINE; // odd while a command is written, even once published (a seqlock)
export const DONE = 3 * LINE; // workers finished with the current command
export const BARRIER = 4 * LINE; // participants through the gradient phase of a train command
export const FAILED = 5 * LINE; // set when any worker threw: everyone stops waiting
export const SHARD_CURSOR = 6 * LINE; // next shard to claim: participants take shards one at a time
export const UPDATE_CURSOR = 7 * LINE; // next block of parameters to reduce and update
// The command itself: written once per step, before GENERATION is bumped; one line for all.
export const KIND = 8 * LINE;
export const START = KIND + 1;
export const END = KIND + 2;
export const SHARD_ROWS = KIND + 3;
export const SHARDS = KIND + 4;
export const WORKERS = KIND + 5;
export const UPDATE_WORKERS = KIND + 6;
export const STEP = KIND + 7;
export const JOINED = 9 * LINE; // (command number << JOIN_BITS) | workers that joined it
export const CONTROL_INT_WORDS = 10 * LINE;

/** Low bits of JOINED count the participants; the high bits say which command they joined. */
export const JOIN_BITS = 12;
const JOIN_MASK = (1 << JOIN_BITS) - 1;

/** The JOINED word the coordinator publishes for command `generation` (an even number). */
export function joinedWord(generation: number): number {
  return ((generation >>> 1) << JOIN_BITS) | 0;
}

/**
 * A worker joins the command it read at `generation`: returns its participant number (1, 2, …;
 * the coordinator is 0), or 0 when the command already has its `workers` participants or has
 * been replaced by a newer one — a worker that woke late must not join a command it did not read.
 */
export function joinCommand(control: Int32Array, generation: number, workers: number): number {
  const expected = joinedWord(generation);
  for (;;) {
    const word = Atomics.load(control, JOINED);
    if ((word & ~JOIN_MASK) !== expected) return 0;
    const participant = (word & JOIN_MASK) + 1;
    if (participant >= workers) return 0;
    if (Atomics.compareExchange(control, JOINED, word, word + 1) === word) return participant;
  }
}

/**
 * Reads the command published after `seen` into `into`, consistently: retries while the
 * coordinator is writing one (odd generation) or replaced it during the read. Returns its generation.
 */
export function readPublishedCommand(ints: Int32Array, reals: Float64Array, into: Command, seen: number): number {
  for (;;) {
    const before = Atomics.load(ints, GENERATION);
    if (before === seen || before & 1) continue;
    readCommand(ints, reals, into);
    if (Atomics.load(ints, GENERATION) === before) return before;
  }
}

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
