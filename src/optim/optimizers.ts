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
    case 'sgd': // w ← w − lr·g: the common case, in SIMD where the wasm kernels run
      kernels.sgdUpdate(parameters, gradientSum, from, to, lr * invBatch, lr * decay);
      return;
    case 'momentum': { // v ← μv + g;  w ← w − lr·v   (PyTorch's formulation)
      const velocity = state[0]!;
      const mu = settings.momentum;
      for (let i = from; i < to; i++) {
        const w = parameters[i]!;
        const v = mu * velocity[i]! + gradientSum[i]! * invBatch + decay * w;
        velocity[i] = v;
        parameters[i] = w - lr * v;
      }
      return;
    }
    case 'adam': { // m ← β1m + (1−β1)g;  s ← β2s + (1−β2)g²;  w ← w − lr·m̂/(√ŝ + ε)
      const [first, second] = state as [Float32Array, Float32Array];
      const { beta1, beta2, epsilon } = settings;
      const correction1 = 1 - beta1 ** step.step;
      const correction2 = 1 - beta2 ** step.step;
      for (let i = from; i < to; i++) {
        const w = parameters[i]!;
        const g = gradientSum[i]! * invBatch + decay * w;
        const m = beta1 * first[i]! + (1 - beta1) * g;
        const s = beta2 * second[i]! + (1 - beta2) * g * g;
        first[i] = m;
        second[i] = s;
        parameters[i] = w - (lr * (m / correction1)) / (Math.sqrt(s / correction2) + epsilon);
      }
      return;
    }
  }
}
