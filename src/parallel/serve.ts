// Running a command across participants. Participant 0 is the coordinator itself; participants
// 1..threads-1 are the pool's workers, each in the loop below for the whole run. A command's
// participants each compute their share of the shards, meet at a barrier, then each reduce and
// update their slice of the parameters. Waits spin briefly before sleeping: on a VM, waking a
// sleeping thread can take longer than a small step's whole computation.
import {
  BARRIER, COMMAND_EXIT, COMMAND_TRAIN, DONE, FAILED, GENERATION, READY,
  emptyCommand, joinCommand, readPublishedCommand,
} from './control.js';
import type { ShardEngine } from './engine.js';

/** How long a blocked wait sleeps before re-checking whether another thread failed. */
export const FAILURE_POLL_MS = 20;
/** Spin iterations before sleeping (each an Atomics.load): a few tens of microseconds. */
const SPINS = 20_000;

/** Thrown where a participant stops because another one failed. */
export class PeerFailed extends Error {}

/**
 * Returns once control[word] ≥ target; or false after about `timeoutMs` without it, so that the
 * caller can look for failures it cannot see from here. Throws PeerFailed once FAILED is set.
 */
export function waitAtLeast(control: Int32Array, word: number, target: number, timeoutMs: number): boolean {
  for (let spin = 0; spin < SPINS; spin++) {
    if (Atomics.load(control, word) >= target) return true;
  }
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

/** Marks this participant's shards as done; the update may start once all have arrived. */
export function arriveAtBarrier(control: Int32Array): void {
  Atomics.add(control, BARRIER, 1);
  Atomics.notify(control, BARRIER);
}

/**
 * The worker loop: wait for a newly published command, join it if it still needs participants,
 * run the participant's part, report DONE. Workers are interchangeable: whichever wake first join.
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
      engine.computeClaimedShards(command);
      if (command.kind === COMMAND_TRAIN) {
        // Every shard's gradient must be in its slab before anyone reduces.
        arriveAtBarrier(control);
        while (!waitAtLeast(control, BARRIER, command.workers, 1000));
        if (participant < command.updateWorkers) engine.updateClaimedBlocks(command);
      }
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
