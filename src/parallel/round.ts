// One participant's round of a command, written once for the coordinator (participant 0) and the
// pool's workers (1..threads-1): claim shards (or take a team's share) → report them → barrier →
// claim update blocks (a team: the update's parts of the neurons).
// Waits spin briefly before sleeping: on a VM, waking a sleeping thread can take longer than a
// small step's whole computation.
import { performance } from 'node:perf_hooks';
import { PHASES } from './arena.js';
import {
  BARRIER, COMMAND_EXIT, COMMAND_TRAIN, DONE, FAILED, GENERATION, PARTICIPANT_ROWS, PARTICIPANT_SHARDS, READY,
  emptyCommand, gradientUnits, joinCommand, readPublishedCommand, type Command,
} from './control.js';
import type { ShardEngine, Wait } from './engine.js';

/** How long a blocked wait sleeps before re-checking whether another thread failed. */
export const FAILURE_POLL_MS = 20;
/**
 * How long a wait spins before it sleeps, in ms. On a VM an idle vCPU halts, and waking it from
 * Atomics.wait took 0.3–1 ms here, several times a small step's whole computation; a team member
 * that slept between two steps would stall its team by that much at every step. Between the steps
 * of an epoch the coordinator needs only microseconds, so a spin of this length bridges them.
 */
const SPIN_MS = 0.5;

/** Thrown where a participant stops because another one failed. */
export class PeerFailed extends Error {}

const COMPUTE = PHASES.indexOf('compute');
const TEAM_WAITS = PHASES.indexOf('team waits');
const STEP_BARRIER = PHASES.indexOf('step barrier');
const UPDATE = PHASES.indexOf('reduce and update');

/**
 * A participant's part of `command`. It yields each time it must wait (for a team's previous phase, at the
 * step's barrier): the caller waits until control[wait.word] ≥ wait.target (a worker blocks; the coordinator
 * awaits, so that a dead worker's rejection can reach it), then resumes the round.
 */
export function* participantRound(engine: ShardEngine, command: Command, participant: number): Generator<Wait, void, void> {
  const { control } = engine.views;
  const timings = command.profile ? engine.views.timings[participant]! : undefined; // zeroed by the coordinator
  let shards: number;
  if (command.team > 1) {
    const share = engine.computeTeamShares(command, participant);
    let mark = timings ? performance.now() : 0;
    for (let next = share.next(); ; next = share.next()) {
      if (timings) mark = lap(timings, COMPUTE, mark);
      if (next.done) {
        shards = next.value;
        break;
      }
      yield next.value;
      if (timings) mark = lap(timings, TEAM_WAITS, mark);
    }
  } else {
    const mark = timings ? performance.now() : 0;
    shards = engine.computeClaimedShards(command);
    if (timings) lap(timings, COMPUTE, mark);
  }
  Atomics.store(control, PARTICIPANT_SHARDS + participant, shards);
  Atomics.store(control, PARTICIPANT_ROWS + participant, engine.rowsComputed);
  if (command.kind !== COMMAND_TRAIN) return;
  // Every shard's gradient must be in its slab before anyone reduces (the barrier counts work done).
  let mark = timings ? performance.now() : 0;
  yield engine.waitFor(BARRIER, gradientUnits(command));
  if (timings) mark = lap(timings, STEP_BARRIER, mark);
  if (command.team > 1) engine.updateTeamParts(command, participant);
  else if (participant < command.updateWorkers) engine.updateClaimedBlocks(command);
  if (timings) lap(timings, UPDATE, mark);
}

/** Adds the time since `mark` to timings[phase]; returns now. */
function lap(timings: Float64Array, phase: number, mark: number): number {
  const now = performance.now();
  timings[phase] = timings[phase]! + (now - mark);
  return now;
}

/**
 * Returns once control[word] ≥ target; or false after about `timeoutMs` without it, so that the
 * caller can look for failures it cannot see from here. Throws PeerFailed once FAILED is set.
 */
export function waitAtLeast(control: Int32Array, word: number, target: number, timeoutMs: number): boolean {
  // three functions, so that the optimized spin holds no code that has not run yet (which would
  // de-optimize it the first time a wait has to sleep)
  return Atomics.load(control, word) >= target || spinUntilAtLeast(control, word, target) || sleepUntilAtLeast(control, word, target, timeoutMs);
}

/** Spins for SPIN_MS: true once control[word] ≥ target, false if it was not reached by then. */
function spinUntilAtLeast(control: Int32Array, word: number, target: number): boolean {
  const spinUntil = performance.now() + SPIN_MS;
  do {
    for (let spin = 0; spin < 1000; spin++) if (Atomics.load(control, word) >= target) return true;
  } while (performance.now() < spinUntil);
  return false;
}

function sleepUntilAtLeast(control: Int32Array, word: number, target: number, timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = Atomics.load(control, word);
    if (value >= target) return true;
    if (Atomics.load(control, FAILED)) throw new PeerFailed('stopped: another thread failed');
    const left = deadline - Date.now();
    if (left <= 0) return false;
    Atomics.wait(control, word, value, Math.min(left, FAILURE_POLL_MS));
  }
}

/**
 * The worker loop: wait for a newly published command, join it if it still needs participants,
 * run the participant's round, report DONE. Workers are interchangeable: whichever wake first join.
 */
export function serveCommands(engine: ShardEngine, beforeCommand?: () => void): void {
  const { control, controlReals } = engine.views;
  const command = emptyCommand();
  let seen = Atomics.load(control, GENERATION);
  Atomics.add(control, READY, 1);
  Atomics.notify(control, READY);
  for (;;) {
    while (!waitAtLeast(control, GENERATION, seen + 1, 1000));
    seen = readPublishedCommand(control, controlReals, command, seen);
    if (command.kind === COMMAND_EXIT) return;
    const participant = joinCommand(control, seen, command.workers);
    if (participant === 0) continue;
    try {
      beforeCommand?.();
      const round = participantRound(engine, command, participant);
      for (let next = round.next(); !next.done; next = round.next()) while (!waitAtLeast(control, next.value.word, next.value.target, 1000));
    } catch (error) {
      Atomics.store(control, FAILED, 1);
      Atomics.notify(control, BARRIER);
      Atomics.notify(control, DONE);
      throw error;
    }
    Atomics.add(control, DONE, 1);
    Atomics.notify(control, DONE);
  }
}
