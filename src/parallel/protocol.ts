// What the coordinator gives each worker: once, at start-up, the arena and the run's settings;
// then a single long-running 'serve' task. Commands flow through the control block (control.ts),
// data and weights stay in the arena: no per-step messages at all.
import type { OptimizerSettings } from '../optim/optimizers.js';
import type { ArenaLayout } from './arena.js';
import type { KernelSetName } from './kernel-set.js';

export interface WorkerSetup {
  readonly memory: WebAssembly.Memory;
  readonly layout: ArenaLayout;
  readonly kernels: KernelSetName;
  /** The coordinator's kernel set by name (e.g. native-avx2): every worker loads exactly this one. */
  readonly kernelSet: string;
  readonly optimizer: OptimizerSettings;
}

export interface ServeTask {
  readonly kind: 'serve';
}

/**
 * The diagnostics channel a worker publishes on before each command it joins (when it has
 * subscribers in its thread): who it is and how many commands it has joined. A subscriber may set
 * `fault` to make that command throw — how the fault tests stop a worker mid-run.
 */
export const WORKER_COMMAND_CHANNEL = 'gradpool:worker-command';

export interface WorkerCommandMessage {
  readonly slot: number;
  commands: number;
  fault: Error | undefined;
}
