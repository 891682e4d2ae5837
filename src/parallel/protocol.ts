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
