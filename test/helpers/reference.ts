// A float64 reference trainer for the tests: the forward/backward pass of the reference kernels
// run in float64 over a whole batch at once, and the update rules written out here, apart from
// src/optim, so that a wrong rule there cannot also be the expected value.
import { randomStream, gaussian } from '../../src/data/random.js';
import { referenceKernels } from '../../src/math/kernels.js';
import { layerViews, parameterLayout, type NetworkShape, type ParameterLayout } from '../../src/model/layout.js';
import type { DropoutRows } from '../../src/math/dropout.js';
import { chunkBufferLayout, forwardBackward, forwardLossRows, type ChunkBuffers } from '../../src/model/network.js';
import type { OptimizerSettings } from '../../src/optim/optimizers.js';
import { Coordinator, type CoordinatorOptions } from '../../src/parallel/coordinator.js';

/** Rows × features inputs and rows × outputs targets (one-hot, 0/1 or values), float32 as the arena holds them. */
export interface Problem {
  readonly shape: NetworkShape;
  readonly layout: ParameterLayout;
  readonly rows: number;
  readonly x: Float32Array;
  readonly y: Float32Array;
}

/**
 * A started Coordinator (real worker threads) holding `problem`'s rows in `order`, and `parameters`
 * when given: the setup the engine tests share. The caller closes it.
 */
export async function coordinatorOver(problem: Problem, options: Omit<CoordinatorOptions, 'shape' | 'rows'>, order: ArrayLike<number>, parameters?: ArrayLike<number>): Promise<Coordinator> {
  const coordinator = new Coordinator({ ...options, shape: problem.shape, rows: problem.rows });
  try {
    await coordinator.ready();
  } catch (error) {
    await coordinator.close();
    throw error;
  }
  const { views } = coordinator;
  views.x.set(problem.x);
  views.y.set(problem.y);
  views.order.set(order);
  if (parameters) views.parameters.set(parameters);
  return coordinator;
}

/** Seeded inputs ~N(0, 1) and targets that depend on them, so that the gradients are not noise. */
export function makeProblem(shape: NetworkShape, rows: number, seed: string): Problem {
  const features = shape.sizes[0]!;
  const outputs = shape.sizes[shape.sizes.length - 1]!;
  const random = randomStream(1, seed);
  const x = new Float32Array(rows * features);
  for (let i = 0; i < x.length; i++) x[i] = gaussian(random);
  const y = new Float32Array(rows * outputs);
  for (let r = 0; r < rows; r++) {
    const s = x[r * features]! + 0.5 * x[r * features + 1]!;
    if (shape.loss === 'mse') for (let o = 0; o < outputs; o++) y[r * outputs + o] = Math.fround(Math.sin(s + o));
    else if (shape.loss === 'bce') y[r] = s > 0 ? 1 : 0;
    else y[r * outputs + Math.min(outputs - 1, Math.floor(Math.abs(s) * 2) % outputs)] = 1;
  }
  return { shape, layout: parameterLayout(shape), rows, x, y };
}

/** Seeded weights (scaled for the fan-in) and small non-zero biases, float32, in the parameter layout. */
export function makeParameters(layout: ParameterLayout, seed: string, scale = 1): Float32Array {
  const random = randomStream(1, seed);
  const parameters = new Float32Array(layout.length);
  for (const slot of layout.layers) {
    const limit = scale * Math.sqrt(3 / slot.inputs);
    for (let i = 0; i < slot.inputs * slot.outputs; i++) parameters[slot.weightOffset + i] = (2 * random() - 1) * limit;
    for (let i = 0; i < slot.outputs; i++) parameters[slot.biasOffset + i] = 0.1 * (2 * random() - 1);
  }
  return parameters;
}

/**
 * The worst relative error of `gradient` against central finite differences of `lossAt` at
 * `indices` (each parameter moved by ±h and put back), with a floor of 1e-3 so that coordinates
 * whose gradient is ~0 are judged absolutely. h = 1e-5 balances truncation error (∝ h²) against
 * rounding (∝ ε/h) in float64.
 */
export function worstFiniteDifferenceError(parameters: Float64Array, gradient: Float64Array, indices: readonly number[], lossAt: () => number, h = 1e-5): number {
  let worst = 0;
  for (const i of indices) {
    const saved = parameters[i]!;
    parameters[i] = saved + h;
    const plus = lossAt();
    parameters[i] = saved - h;
    const minus = lossAt();
    parameters[i] = saved;
    const numeric = (plus - minus) / (2 * h);
    const analytic = gradient[i]!;
    worst = Math.max(worst, Math.abs(numeric - analytic) / Math.max(1e-3, Math.abs(numeric) + Math.abs(analytic)));
  }
  return worst;
}

/** The indices of every real parameter (weights and biases, not the alignment padding). */
export function parameterIndices(layout: ParameterLayout): number[] {
  const indices: number[] = [];
  for (const slot of layout.layers) {
    for (let i = 0; i < slot.inputs * slot.outputs; i++) indices.push(slot.weightOffset + i);
    for (let i = 0; i < slot.outputs; i++) indices.push(slot.biasOffset + i);
  }
  return indices;
}

/** Float64 working memory for a whole batch at once, in the network's one chunk layout. */
function buffers64(shape: NetworkShape, rows: number, dropout = false): ChunkBuffers<Float64Array> {
  const layout = chunkBufferLayout(shape, rows, dropout);
  return layout.place(new Float64Array(layout.floats), 0);
}

function gather(problem: Problem, rowsOf: ArrayLike<number>, buffers: ChunkBuffers<Float64Array>): void {
  const features = problem.shape.sizes[0]!;
  const outputs = problem.shape.sizes[problem.shape.sizes.length - 1]!;
  for (let r = 0; r < rowsOf.length; r++) {
    const row = rowsOf[r]!;
    for (let k = 0; k < features; k++) buffers.activations[0]![r * features + k] = problem.x[row * features + k]!;
    for (let o = 0; o < outputs; o++) buffers.targets[r * outputs + o] = problem.y[row * outputs + o]!;
  }
}

/** Σ over the rows `rowsOf` of the loss gradient, in float64, in the parameter layout; and Σ loss. */
export function gradientSum(problem: Problem, parameters: Float64Array, rowsOf: ArrayLike<number>, dropout?: DropoutRows): { sum: Float64Array; lossSum: number } {
  const buffers = buffers64(problem.shape, rowsOf.length, dropout !== undefined);
  gather(problem, rowsOf, buffers);
  const sum = new Float64Array(problem.layout.length);
  const lossSum = forwardBackward(referenceKernels, problem.shape, layerViews(problem.layout, parameters), layerViews(problem.layout, sum), buffers, rowsOf.length, false, dropout);
  return { sum, lossSum };
}

/** Σ loss over the rows `rowsOf`, in float64 (for finite differences); with `dropout`, under its masks. */
export function lossSum(problem: Problem, parameters: Float64Array, rowsOf: ArrayLike<number>, buffers = buffers64(problem.shape, rowsOf.length), dropout?: DropoutRows): number {
  gather(problem, rowsOf, buffers);
  return forwardLossRows(referenceKernels, problem.shape, layerViews(problem.layout, parameters), buffers, 0, rowsOf.length, undefined, dropout);
}

export { buffers64 };

/**
 * One optimizer step in float64 over every parameter, from the gradient SUM of a batch of `rows`:
 *   g = sum / rows + λ·w                                  (the batch mean, plus weight decay)
 *   sgd:      w ← w − lr·g
 *   momentum: v ← μ·v + g;  w ← w − lr·v                  (PyTorch's form)
 *   adam:     m ← β1·m + (1 − β1)·g;  s ← β2·s + (1 − β2)·g²
 *             w ← w − lr · (m / (1 − β1^t)) / (√(s / (1 − β2^t)) + ε)   (t: 1-based step)
 *   adamw:    as torch.optim.AdamW writes it, with g the plain mean (no λ·w):
 *             w ← w·(1 − lr·λ);  m, s as adam;  w ← w − (lr / (1 − β1^t)) · m / (√s / √(1 − β2^t) + ε)
 *   rmsprop:  as torch.optim.RMSprop (centered=False, momentum=0):
 *             s ← α·s + (1 − α)·g²;  w ← w − lr · g / (√s + ε)
 * `state` holds the velocity, Adam's m and s, or RMSprop's s, as float64 arrays of the parameter length.
 */
export function referenceUpdate(settings: OptimizerSettings, parameters: Float64Array, sum: Float64Array, state: Float64Array[], rows: number, lr: number, step: number): void {
  const { weightDecay: decay } = settings;
  for (let i = 0; i < parameters.length; i++) {
    const w = parameters[i]!;
    const g = sum[i]! / rows + decay * w;
    if (settings.name === 'adamw') {
      const plain = sum[i]! / rows;
      const decayed = w * (1 - lr * decay);
      const m = settings.beta1 * state[0]![i]! + (1 - settings.beta1) * plain;
      const s = settings.beta2 * state[1]![i]! + (1 - settings.beta2) * plain * plain;
      state[0]![i] = m;
      state[1]![i] = s;
      const stepSize = lr / (1 - settings.beta1 ** step);
      const denominator = Math.sqrt(s) / Math.sqrt(1 - settings.beta2 ** step) + settings.epsilon;
      parameters[i] = decayed - stepSize * (m / denominator);
    } else if (settings.name === 'rmsprop') {
      const s = settings.alpha * state[0]![i]! + (1 - settings.alpha) * g * g;
      state[0]![i] = s;
      parameters[i] = w - (lr * g) / (Math.sqrt(s) + settings.epsilon);
    } else if (settings.name === 'sgd') {
      parameters[i] = w - lr * g;
    } else if (settings.name === 'momentum') {
      const v = settings.momentum * state[0]![i]! + g;
      state[0]![i] = v;
      parameters[i] = w - lr * v;
    } else {
      const m = settings.beta1 * state[0]![i]! + (1 - settings.beta1) * g;
      const s = settings.beta2 * state[1]![i]! + (1 - settings.beta2) * g * g;
      state[0]![i] = m;
      state[1]![i] = s;
      const mHat = m / (1 - settings.beta1 ** step);
      const sHat = s / (1 - settings.beta2 ** step);
      parameters[i] = w - (lr * mHat) / (Math.sqrt(sHat) + settings.epsilon);
    }
  }
}

/** Optimizer state buffers for the reference, zeros, float64. */
export function referenceState(settings: OptimizerSettings, length: number): Float64Array[] {
  const count = { sgd: 0, momentum: 1, adam: 2, adamw: 2, rmsprop: 1 }[settings.name];
  return Array.from({ length: count }, () => new Float64Array(length));
}

/** Largest |actual − expected| / (rtol·|expected| + atol) over `indices`: ≤ 1 passes. With the worst index. */
export function worstRatio(actual: ArrayLike<number>, expected: ArrayLike<number>, indices: readonly number[], rtol: number, atol: number): { ratio: number; index: number } {
  let ratio = 0;
  let index = -1;
  for (const i of indices) {
    const a = actual[i]!;
    const e = expected[i]!;
    const r = Number.isFinite(a) ? Math.abs(a - e) / (rtol * Math.abs(e) + atol) : Number.POSITIVE_INFINITY;
    if (r > ratio || index < 0) {
      ratio = r;
      index = i;
    }
  }
  return { ratio, index };
}
