// The worker side of the control block: a loop that sleeps on the generation word, runs its share
// of each command, and reports back. One piscina task per worker runs this loop for the whole run.
import {
  BARRIER, COMMAND_EXIT, COMMAND_TRAIN, DONE, FAILED, GENERATION, READY,
  emptyCommand, readCommand,
} from './control.js';
import type { ShardEngine } from './engine.js';

/** How long a blocked wait sleeps before re-checking whether another thread failed. */
const FAILURE_POLL_MS = 100;

export function serveCommands(engine: ShardEngine, worker: number, beforeCommand?: () => void): void {
  const { control, controlReals } = engine.views;
  const command = emptyCommand();
  let seen = Atomics.load(control, GENERATION);
  Atomics.add(control, READY, 1);
  Atomics.notify(control, READY);
  for (;;) {
    Atomics.wait(control, GENERATION, seen, FAILURE_POLL_MS);
    const generation = Atomics.load(control, GENERATION);
    if (generation === seen) continue;
    seen = generation;
    readCommand(control, controlReals, command);
    if (command.kind === COMMAND_EXIT) return;
    if (worker >= command.workers) continue;
    try {
      beforeCommand?.();
      engine.computeShare(command, worker);
      if (command.kind === COMMAND_TRAIN) {
        // Every shard's gradient must be in its slab before anyone reduces.
        Atomics.add(control, BARRIER, 1);
        Atomics.notify(control, BARRIER);
        waitUntilAtLeast(control, BARRIER, command.workers);
        if (worker < command.updateWorkers) engine.updateShare(command, worker);
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

function waitUntilAtLeast(control: Int32Array, word: number, target: number): void {
  for (;;) {
    const value = Atomics.load(control, word);
    if (value >= target) return;
    if (Atomics.load(control, FAILED)) throw new Error('stopped: another worker failed');
    Atomics.wait(control, word, value, FAILURE_POLL_MS);
  }
}
