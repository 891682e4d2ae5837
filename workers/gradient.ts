// piscina worker entry: attach to the shared arena once, then serve commands. No math lives here.
import { workerData } from 'piscina';
import { controlWords } from '../src/parallel/arena.js';
import { SLOT_COUNTER } from '../src/parallel/control.js';
import { ShardEngine } from '../src/parallel/engine.js';
import { loadKernelSet } from '../src/parallel/kernel-set.js';
import type { ServeTask, WorkerSetup } from '../src/parallel/protocol.js';
import { serveCommands } from '../src/parallel/round.js';

const setup = workerData as WorkerSetup;
// Slot 0 is the coordinator's; each worker claims the next free scratch slot.
const slot = Atomics.add(controlWords(setup.memory, setup.layout), SLOT_COUNTER, 1) + 1;
const engine = new ShardEngine(setup.memory, setup.layout, slot, loadKernelSet(setup.kernels, setup.memory, setup.kernelSet), setup.optimizer);

const testFaults = process.env.GRADPOOL_TEST_WORKER_FAULT ? await loadTestFaultHook() : undefined;

export default function runTask(task: ServeTask): void {
  if (task.kind !== 'serve') throw new Error(`unknown task ${JSON.stringify(task)}`);
  serveCommands(engine, testFaults?.(slot));
}

type FaultHookFactory = (slot: number) => (() => void) | undefined;

/** The fault hook ships with the tests, not the package: an installed gradpool has none to load. */
async function loadTestFaultHook(): Promise<FaultHookFactory | undefined> {
  try {
    const hook = (await import(new URL('../test/helpers/worker-fault.js', import.meta.url).href)) as { testFaultHook: FaultHookFactory };
    return hook.testFaultHook;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}
