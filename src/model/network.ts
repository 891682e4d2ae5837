// Forward and backward passes over one chunk of rows, written once and run everywhere:
// in worker threads during training and on the main thread for predict/evaluate.
import { outputActivation, type Floats, type Kernels } from '../math/kernels.js';
import { ACTIVATIONS } from '../math/ops.js';
import { activationParameter, alignFloats } from './layout.js';
import type { LayerViews, NetworkShape } from './layout.js';
import { predictedClass } from './metrics.js';
import { weightRowsByClass } from './class-weights.js';

/**
 * Per-chunk working memory, sized once for `capacity` rows.
 * activations[0] holds the input rows; activations[l] the output of layer l (in place over its z).
 * saved[l] is what layer l's activation backward reads: activations[l] itself when that is its output
 * a, a buffer of its own keeping z when the registry says the backward needs z (saved[0] is unused).
 * gradA / gradB are two ping-pong buffers for dZ and dA, each wide enough for any layer.
 */
export interface ChunkBuffers<F extends Floats = Float32Array> {
  readonly capacity: number;
  readonly activations: F[];
  readonly saved: F[];
  readonly targets: F;
  readonly gradA: F;
  readonly gradB: F;
}

/**
 * The one layout of a chunk's working memory, as float offsets from its start (each view aligned):
 * the arena carves every thread's scratch area with it, and Model its own inference buffers.
 */
export function chunkBufferLayout(shape: NetworkShape, capacity: number): { floats: number; place: <F extends Floats>(floats: F, start: number) => ChunkBuffers<F> } {
  const widest = Math.max(...shape.sizes);
  const layers = shape.sizes.length;
  const keepsZ = ACTIVATIONS[shape.activation].backwardFrom === 'z';
  // hidden layers (1 … layers − 2) whose z is kept beside their output
  const kept = keepsZ ? shape.sizes.slice(1, -1) : [];
  const lengths = [...shape.sizes.map((size) => size * capacity), shape.sizes[layers - 1]! * capacity, widest * capacity, widest * capacity, ...kept.map((size) => size * capacity)];
  const offsets: number[] = [];
  let floats = 0;
  for (const length of lengths) {
    offsets.push(floats);
    floats += alignFloats(length);
  }
  const place = <F extends Floats>(memory: F, start: number): ChunkBuffers<F> => {
    const views = lengths.map((length, i) => memory.subarray(start + offsets[i]!, start + offsets[i]! + length) as F);
    const activations = views.slice(0, layers);
    const saved = keepsZ ? [activations[0]!, ...views.slice(layers + 3), activations[layers - 1]!] : activations;
    return { capacity, activations, saved, targets: views[layers]!, gradA: views[layers + 1]!, gradB: views[layers + 2]! };
  };
  return { floats, place };
}

/** Forward through every hidden layer and the output's dense part; returns the logits view (last activations). */
export function forwardHidden<F extends Floats>(kernels: Kernels<F>, shape: NetworkShape, params: readonly LayerViews<F>[], buffers: ChunkBuffers<F>, rows: number): F {
  const last = params.length - 1;
  const parameter = activationParameter(shape);
  for (let l = 0; l <= last; l++) {
    const inputs = shape.sizes[l]!;
    const outputs = shape.sizes[l + 1]!;
    const layer = params[l]!;
    // z lands in saved (the output buffer itself unless z is kept); the activation writes the output
    const z = l < last ? buffers.saved[l + 1]! : buffers.activations[l + 1]!;
    kernels.denseForward(z, buffers.activations[l]!, layer.w, layer.b, rows, inputs, outputs);
    if (l < last) kernels.activationForward(shape.activation, buffers.activations[l + 1]!, z, rows * outputs, parameter);
  }
  return buffers.activations[last + 1]!;
}

/**
 * Forward and loss for `rows` rows already gathered (evaluation): returns the summed loss and leaves
 * the outputs (probabilities) in the last activations buffer. outputLoss also writes dz; the
 * gradient buffer is free when nothing is trained.
 */
export function forwardLoss<F extends Floats>(kernels: Kernels<F>, shape: NetworkShape, params: readonly LayerViews<F>[], buffers: ChunkBuffers<F>, rows: number): number {
  const logits = forwardHidden(kernels, shape, params, buffers, rows);
  return kernels.outputLoss(shape.loss, logits, buffers.gradA, buffers.targets, rows, shape.sizes[shape.sizes.length - 1]!);
}

/** Forward and the output activation alone (inference: no targets): returns the outputs view. */
export function forwardOutputs<F extends Floats>(kernels: Kernels<F>, shape: NetworkShape, params: readonly LayerViews<F>[], buffers: ChunkBuffers<F>, rows: number): F {
  const out = forwardHidden(kernels, shape, params, buffers, rows);
  outputActivation(shape.loss, out, rows, shape.sizes[shape.sizes.length - 1]!);
  return out;
}

/**
 * Forward, loss and backward for `rows` rows already gathered into buffers.activations[0] / buffers.targets.
 * Gradient sums (not means) are written into `grads` — added to what is there when `accumulate`,
 * so that consecutive chunks of one shard sum up; the first chunk overwrites.
 * Returns the summed loss; the outputs (probabilities) are left in the last activations buffer.
 */
export function forwardBackward<F extends Floats>(
  kernels: Kernels<F>,
  shape: NetworkShape,
  params: readonly LayerViews<F>[],
  grads: readonly LayerViews<F>[],
  buffers: ChunkBuffers<F>,
  rows: number,
  accumulate = true,
): number {
  const logits = forwardHidden(kernels, shape, params, buffers, rows);
  const outputs = shape.sizes[shape.sizes.length - 1]!;
  const parameter = activationParameter(shape);
  // At the output, dZ = A − Y for all three loss pairings.
  let dz = buffers.gradA;
  let spare = buffers.gradB;
  let lossSum = kernels.outputLoss(shape.loss, logits, dz, buffers.targets, rows, outputs);
  // --class-weight: each row's dZ and loss times its class's weight (row by row, thread-count independent)
  if (shape.classWeights) lossSum = weightRowsByClass(shape.loss, shape.classWeights, dz, logits, buffers.targets, 0, rows, outputs);
  for (let l = params.length - 1; l >= 0; l--) {
    const inputs = shape.sizes[l]!;
    const layerOutputs = shape.sizes[l + 1]!;
    const aPrev = buffers.activations[l]!;
    // dW += dZᵀ·A_prev, db += Σ dZ (divided by the batch size once, after all shards are summed)
    kernels.denseBackwardParams(grads[l]!.w, grads[l]!.b, dz, aPrev, rows, inputs, layerOutputs, accumulate);
    if (l === 0) break; // no gradient is needed for the input data
    // dA_prev = dZ·W, then dZ_prev = dA_prev ⊙ σ′ (σ′ from the stored a or z)
    kernels.denseBackwardInput(spare, dz, params[l]!.w, rows, inputs, layerOutputs);
    kernels.activationBackward(shape.activation, spare, buffers.saved[l]!, rows * inputs, parameter);
    const used = dz;
    dz = spare;
    spare = used;
  }
  return lossSum;
}

/** Number of rows whose predicted class is the target's (the one-hot or 0/1 target read the same way). */
export function countCorrect(outputs: Floats, targets: Floats, rows: number, width: number): number {
  let correct = 0;
  for (let r = 0; r < rows; r++) if (predictedClass(outputs, r, width) === predictedClass(targets, r, width)) correct++;
  return correct;
}
