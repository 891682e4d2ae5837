// The update rules. Each works on a range [from, to) of the flat parameter buffer, elementwise,
// so the coordinator can split an update across workers without changing a single bit.
// g below is the batch MEAN gradient: gradient sum × invBatch (+ weight decay · w).
import type { Kernels } from '../math/kernels.js';

export type OptimizerName = 'sgd' | 'momentum' | 'adam';
export const OPTIMIZERS: readonly OptimizerName[] = ['sgd', 'momentum', 'adam'];

export interface OptimizerSettings {
  readonly name: OptimizerName;
  readonly momentum: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** L2 penalty λ/2‖w‖², i.e. λ·w added to the gradient (as PyTorch's weight_decay). */
  readonly weightDecay: number;
}

/** How many parameter-sized state buffers the optimizer keeps (velocity; Adam's two moments). */
export function optimizerStateBuffers(name: OptimizerName): number {
  return name === 'sgd' ? 0 : name === 'momentum' ? 1 : 2;
}

export interface UpdateStep {
  /** Learning rate for this step (after the schedule). */
  readonly lr: number;
  /** 1 / rows in the batch: turns the gradient sum into the mean. */
  readonly invBatch: number;
  /** 1-based step count, for Adam's bias correction. */
  readonly step: number;
}

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
  const { lr, invBatch } = step;
  const decay = settings.weightDecay;
  switch (settings.name) {
    case 'sgd': // w ← w − lr·g
      kernels.sgdUpdate(parameters, gradientSum, from, to, lr * invBatch, lr * decay);
      return;
    case 'momentum': // v ← μv + g;  w ← w − lr·v   (PyTorch's formulation)
      kernels.momentumUpdate(parameters, gradientSum, state[0]!, from, to, lr, invBatch, decay, settings.momentum);
      return;
    case 'adam': { // m ← β1m + (1−β1)g;  s ← β2s + (1−β2)g²;  w ← w − lr·m̂/(√ŝ + ε)
      const { beta1, beta2, epsilon } = settings;
      kernels.adamUpdate(parameters, gradientSum, state[0]!, state[1]!, from, to, lr, invBatch, decay, beta1, beta2, epsilon, 1 - beta1 ** step.step, 1 - beta2 ** step.step);
      return;
    }
  }
}
