// piscina worker entry: attach to the shared arena once, then serve commands. No math lives here.
import { workerData } from 'piscina';
import { selectKernels } from '../src/math/select.js';
import { controlWords } from '../src/parallel/arena.js';
import { SLOT_COUNTER } from '../src/parallel/control.js';
import { ShardEngine } from '../src/parallel/engine.js';
import type { ServeTask, WorkerSetup } from '../src/parallel/protocol.js';
import { serveCommands } from '../src/parallel/serve.js';
import { testFaultHook } from '../src/parallel/fault.js';

const setup = workerData as WorkerSetup;
// Slot 0 is the coordinator's; each worker claims the next free scratch slot.
const slot = Atomics.add(controlWords(setup.memory, setup.layout), SLOT_COUNTER, 1) + 1;
const engine = new ShardEngine(setup.memory, setup.layout, slot, selectKernels(setup.kernels, setup.memory, setup.kernelSet), setup.optimizer);

export default function runTask(task: ServeTask): void {
  if (task.kind !== 'serve') throw new Error(`unknown task ${JSON.stringify(task)}`);
  serveCommands(engine, testFaultHook(slot));
}
