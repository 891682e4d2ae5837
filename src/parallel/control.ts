// The control block: a few shared words through which the coordinator hands a command to the
// persistent worker loops and learns when they are done (Atomics wait/notify, no messages).
// Both sides import these indices; nothing else is shared between them but the arena.
import { MAX_SHARDS } from './shards.js';

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
export const COMMAND_INTS = 8 * LINE;
export const JOINED = 9 * LINE; // (command number << JOIN_BITS) | workers that joined it
export const UPDATE_CLAIMED = 10 * LINE; // teams: the update's units claimed so far (a bit each)
/**
 * Teams: one line per shard and phase of the step (TEAM_WORDS + (s·MAX_TEAM_PHASES + phase)·LINE + the
 * offsets below). A phase's units are claimed by setting their bit; the next phase starts once all are done.
 */
export const TEAM_WORDS = 11 * LINE;
export const UNITS_CLAIMED = 0; // a bit per unit of the phase
export const UNITS_DONE = 1; // units finished
/** Most leading layers a team splits by neurons (the deeper ones go by rows): each is a phase. */
export const MAX_NEURON_SPLIT_LAYERS = 8;
const MAX_TEAM_PHASES = MAX_NEURON_SPLIT_LAYERS + 3;
/** Most participants per team: its units (2 per member) are bits of one word. */
export const MAX_TEAM = 16;
/** Low bits of JOINED count the participants; the high bits say which command they joined. */
export const JOIN_BITS = 12;
export const MAX_PARTICIPANTS = 1 << JOIN_BITS;
/** Shards each participant computed in the last command: participant p writes word p (once per command). */
export const PARTICIPANT_SHARDS = TEAM_WORDS + MAX_SHARDS * MAX_TEAM_PHASES * LINE;
/** Rows each participant ran forward and back in the last command (a team member: its own tiles). */
export const PARTICIPANT_ROWS = PARTICIPANT_SHARDS + MAX_PARTICIPANTS;
export const CONTROL_INT_WORDS = PARTICIPANT_ROWS + MAX_PARTICIPANTS;

/** Word `offset` of the team line of shard `shard`, phase `phase`. */
export function teamWord(shard: number, phase: number, offset: number): number {
  return TEAM_WORDS + (shard * MAX_TEAM_PHASES + phase) * LINE + offset;
}

/**
 * Phases of a team's training step on one shard when its first `neuronLayers` layers go forward split
 * by neurons: gather the rows; each of those layers; the rest of the forward, the loss and every dZ,
 * split by rows; every layer's weight gradient, split by neurons.
 */
export function teamPhases(neuronLayers: number): number {
  return neuronLayers + 3;
}

/** Units each phase (and the update) is cut into: more than members, so a late one takes fewer. */
export function teamUnits(team: number): number {
  return 2 * team;
}

/**
 * Units of phase `phase` of a team step: one piece of rows per member in the two phases split by rows
 * (little work: fewer kernel calls), teamUnits parts of the neurons in the others.
 */
export function teamPhaseUnits(command: Command, phase: number): number {
  return phase === 0 || phase === command.phases - 2 ? command.team : teamUnits(command.team);
}

/** Claims unit `unit` (< 32) of the mask at `word`: true for the one caller that set its bit. */
export function claimUnit(control: Int32Array, word: number, unit: number): boolean {
  const bit = 1 << unit;
  return (Atomics.or(control, word, bit) & bit) === 0;
}

/** The mask of `units` claimed units. */
export function allClaimed(units: number): number {
  return units >= 32 ? -1 : (1 << units) - 1;
}

/**
 * Gradient units a train command's barrier counts before anyone reduces: a shard each when shards
 * are claimed whole, a part each when teams share them. Work done, not participants arrived: a
 * participant that never woke up holds nobody back.
 */
export function gradientUnits(command: Command): number {
  return command.team > 1 ? command.shards * teamUnits(command.team) : command.shards;
}

/**
 * Ends joining for command `generation` and returns how many workers joined it (the coordinator then
 * waits for exactly those to report DONE; a worker that wakes later finds the command closed).
 */
export function closeCommand(control: Int32Array, generation: number): number {
  const word = Atomics.exchange(control, JOINED, joinedWord(generation) | JOIN_MASK);
  return (word & ~JOIN_MASK) === joinedWord(generation) ? word & JOIN_MASK : 0;
}
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

export const COMMAND_TRAIN = 1;
export const COMMAND_EVALUATE = 2;
export const COMMAND_EXIT = 3;

// The command's fields, declared once: the reader, the writer and the type follow from these lists.
const INT_FIELDS = [
  'kind',
  'start', // rows order[start, end) …
  'end',
  'shardRows', // … cut into `shards` shards of shardRows
  'shards',
  'workers', // participants 0..workers-1 claim shards (team = 1) or share them (team > 1)
  'team', // participants per shard: > 1 shares each shard's rows and neurons among whoever claims them
  'phases', // teams: phases of each shard's step (teamPhases); 0 otherwise
  'profile', // 1: participants time their phases (the coordination bench)
  'updateWorkers', // participants 0..updateWorkers-1 then claim blocks of the reduction and update
  'step', // 1-based, for Adam's bias correction
] as const;
const REAL_FIELDS = ['lr', 'invBatch'] as const;
export const CONTROL_FLOAT_WORDS = REAL_FIELDS.length;

export type Command = Record<(typeof INT_FIELDS)[number] | (typeof REAL_FIELDS)[number], number>;

export function emptyCommand(): Command {
  return Object.fromEntries([...INT_FIELDS, ...REAL_FIELDS].map((field) => [field, 0])) as Command;
}

export function writeCommand(ints: Int32Array, reals: Float64Array, command: Command): void {
  for (let i = 0; i < INT_FIELDS.length; i++) ints[COMMAND_INTS + i] = command[INT_FIELDS[i]!];
  for (let i = 0; i < REAL_FIELDS.length; i++) reals[i] = command[REAL_FIELDS[i]!];
}

/** Fills `into` (reused: the loop allocates nothing per command). */
export function readCommand(ints: Int32Array, reals: Float64Array, into: Command): void {
  for (let i = 0; i < INT_FIELDS.length; i++) into[INT_FIELDS[i]!] = ints[COMMAND_INTS + i]!;
  for (let i = 0; i < REAL_FIELDS.length; i++) into[REAL_FIELDS[i]!] = reals[i]!;
}

/** Clears the words `command`'s participants count with: its cursors, barrier, done count and team lines. */
export function resetRound(control: Int32Array, command: Command): void {
  Atomics.store(control, DONE, 0);
  Atomics.store(control, BARRIER, 0);
  Atomics.store(control, SHARD_CURSOR, 0);
  Atomics.store(control, UPDATE_CURSOR, 0);
  Atomics.store(control, UPDATE_CLAIMED, 0);
  for (let shard = 0; shard < command.shards; shard++) {
    for (let phase = 0; phase < command.phases; phase++) {
      Atomics.store(control, teamWord(shard, phase, UNITS_CLAIMED), 0);
      Atomics.store(control, teamWord(shard, phase, UNITS_DONE), 0);
    }
  }
}

/**
 * Writes a command for the workers (a seqlock: the generation is odd while the fields change) and
 * wakes `wake` of them — only as many as will join, so idle threads stay asleep. Returns the
 * command's generation (for closeCommand).
 */
export function publishCommand(control: Int32Array, reals: Float64Array, command: Command, wake: number): number {
  const generation = Atomics.add(control, GENERATION, 1) + 1;
  writeCommand(control, reals, command);
  resetRound(control, command);
  Atomics.store(control, JOINED, joinedWord(generation + 1));
  Atomics.add(control, GENERATION, 1);
  Atomics.notify(control, GENERATION, wake);
  return generation + 1;
}
