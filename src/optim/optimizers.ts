// Applying an update rule. Each rule (declared in math/ops.ts: state, hyper-parameters, the
// coefficients its kernel takes) works on a range [from, to) of the flat parameter buffer,
// elementwise, so the coordinator can split an update across workers without changing a single bit.
import type { Kernels } from '../math/kernels.js';
import { OPTIMIZERS_BY_NAME, UPDATE_COEFFICIENTS, type OptimizerHyper, type OptimizerName, type StepScalars } from '../math/ops.js';

export { OPTIMIZERS, type OptimizerName } from '../math/ops.js';

export interface OptimizerSettings extends OptimizerHyper {
  readonly name: OptimizerName;
}

/** How many parameter-sized state buffers the optimizer keeps (velocity; Adam's two moments; …). */
export function optimizerStateBuffers(name: OptimizerName): number {
  return OPTIMIZERS_BY_NAME[name].state.length;
}

/** Learning rate for this step (after the schedule), 1 / rows of the batch, 1-based step count. */
export type UpdateStep = StepScalars;

/** Written for each call, so an update allocates nothing; one per thread (each has its own module state). */
const coefficients = new Float64Array(UPDATE_COEFFICIENTS);

export function applyUpdate(
  kernels: Kernels,
  settings: OptimizerSettings,
  step: UpdateStep,
  parameters: Float32Array,
  gradientSum: Float32Array,
  state: readonly Float32Array[],
  from: number,
  to: number,
): void {
  OPTIMIZERS_BY_NAME[settings.name].coefficients(coefficients, settings, step);
  // a rule without state buffers is handed w in their place, which it never touches
  kernels.optimizerUpdate(settings.name, parameters, gradientSum, state[0] ?? parameters, state[1] ?? parameters, from, to, coefficients);
}
