// piscina worker entry: attach to the shared arena once, then run tasks. No math lives here.
import { workerData } from 'piscina';
import { referenceKernels } from '../src/math/kernels.js';
import { SLOT_COUNTER, arenaViews } from '../src/parallel/arena.js';
import { ShardEngine } from '../src/parallel/engine.js';
import type { Task, WorkerSetup } from '../src/parallel/protocol.js';

const setup = workerData as WorkerSetup;
// Slot 0 is the coordinator's; each worker claims the next free scratch slot.
const slot = Atomics.add(arenaViews(setup.memory, setup.layout).control, SLOT_COUNTER, 1) + 1;
const engine = new ShardEngine(setup.memory, setup.layout, slot, referenceKernels);

export default function runTask(task: Task): void {
  engine.run(task);
}
