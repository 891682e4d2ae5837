// piscina worker entry: attach to the shared arena once, then serve commands. No math lives here.
import { channel } from 'node:diagnostics_channel';
import { workerData } from 'piscina';
import { controlWords } from '../src/parallel/arena.js';
import { SLOT_COUNTER } from '../src/parallel/control.js';
import { ShardEngine } from '../src/parallel/engine.js';
import { loadKernelSet } from '../src/parallel/kernel-set.js';
import { WORKER_COMMAND_CHANNEL, type ServeTask, type WorkerCommandMessage, type WorkerSetup } from '../src/parallel/protocol.js';
import { serveCommands } from '../src/parallel/round.js';

const setup = workerData as WorkerSetup;
// Slot 0 is the coordinator's; each worker claims the next free scratch slot.
const slot = Atomics.add(controlWords(setup.memory, setup.layout), SLOT_COUNTER, 1) + 1;
const engine = new ShardEngine(setup.memory, setup.layout, slot, loadKernelSet(setup.kernels, setup.memory, setup.kernelSet), setup.optimizer);

// Before each command, a diagnostics message (only when someone subscribed in this thread: the
// fault tests preload one); a subscriber may ask the command to fail.
const commands = channel(WORKER_COMMAND_CHANNEL);
const message: WorkerCommandMessage = { slot, commands: 0, fault: undefined };
function announceCommand(): void {
  if (!commands.hasSubscribers) return;
  message.commands++;
  commands.publish(message);
  if (message.fault) throw message.fault;
}

export default function runTask(task: ServeTask): void {
  if (task.kind !== 'serve') throw new Error(`unknown task ${JSON.stringify(task)}`);
  serveCommands(engine, announceCommand);
}
