// Forward and backward passes over one chunk of rows, written once and run everywhere:
// in worker threads during training and on the main thread for predict/evaluate.
import { applyDropout, type DropoutRows } from '../math/dropout.js';
import { outputActivation, type Floats, type Kernels } from '../math/kernels.js';
import { ACTIVATIONS } from '../math/ops.js';
import { activationParameter, alignFloats } from './layout.js';
import type { LayerViews, NetworkShape } from './layout.js';
import { predictedClass } from './metrics.js';
import { weightRowsByClass } from './class-weights.js';

/**
 * Rows of the tile every kernel set computes the same way wherever it starts: the wasm forward works
 * in blocks of 4 rows from the start of its call, the other kernels row by row. A split of a chunk's
 * rows on multiples of TILE_ROWS therefore gives the bits of one call over all of them.
 */
export const TILE_ROWS = 4;

/**
 * Per-chunk working memory, sized once for `capacity` rows.
 * activations[0] holds the input rows; activations[l] the output of layer l (in place over its z).
 * saved[l] is what layer l's activation backward reads: activations[l] itself when that is its output
 * a, a buffer of its own keeping z when the registry says the backward needs z, or keeping the
 * output before dropout when the run drops units (saved[0] is unused).
 * dz[l] holds layer l's dZ (l = 1 … layers − 1; dz[0] is empty): one buffer per layer, so that every
 * layer's dZ can be made row by row first and the weight gradients, which need all rows, after it.
 */
export interface ChunkBuffers<F extends Floats = Float32Array> {
  readonly capacity: number;
  readonly activations: F[];
  readonly saved: F[];
  readonly targets: F;
  readonly dz: F[];
  /** Per tile of TILE_ROWS rows: views of its outputs, output dZ and targets (made once: the loss runs tile by tile). */
  readonly outputTiles: readonly { readonly out: F; readonly dz: F; readonly targets: F }[];
}

/**
 * The one layout of a chunk's working memory, as float offsets from its start (each view aligned):
 * the arena carves every thread's scratch area with it, and Model its own inference buffers.
 */
export function chunkBufferLayout(shape: NetworkShape, capacity: number, dropout = false): { floats: number; place: <F extends Floats>(floats: F, start: number) => ChunkBuffers<F> } {
  const layers = shape.sizes.length;
  const keepsZ = ACTIVATIONS[shape.activation].backwardFrom === 'z' || dropout;
  // hidden layers (1 … layers − 2) whose z (or output before dropout) is kept beside their output
  const kept = keepsZ ? shape.sizes.slice(1, -1) : [];
  const lengths = [
    ...shape.sizes.map((size) => size * capacity), // activations
    shape.sizes[layers - 1]! * capacity, // targets
    ...shape.sizes.map((size, l) => (l === 0 ? 0 : size * capacity)), // dz
    ...kept.map((size) => size * capacity), // saved z
  ];
  const offsets: number[] = [];
  let floats = 0;
  for (const length of lengths) {
    offsets.push(floats);
    floats += alignFloats(length);
  }
  const place = <F extends Floats>(memory: F, start: number): ChunkBuffers<F> => {
    const views = lengths.map((length, i) => memory.subarray(start + offsets[i]!, start + offsets[i]! + length) as F);
    const activations = views.slice(0, layers);
    const dz = views.slice(layers + 1, 2 * layers + 1);
    const saved = keepsZ ? [activations[0]!, ...views.slice(2 * layers + 1), activations[layers - 1]!] : activations;
    const targets = views[layers]!;
    const width = shape.sizes[layers - 1]!;
    const outputTiles = Array.from({ length: Math.ceil(capacity / TILE_ROWS) }, (_, t) => ({
      out: fromRow(activations[layers - 1]!, t * TILE_ROWS, width),
      dz: fromRow(dz[layers - 1]!, t * TILE_ROWS, width),
      targets: fromRow(targets, t * TILE_ROWS, width),
    }));
    return { capacity, activations, saved, targets, dz, outputTiles };
  };
  return { floats, place };
}

/** Rows [from, …) of a [rows × width] view: the view itself when from is 0 (the one-thread path allocates nothing). */
function fromRow<F extends Floats>(view: F, from: number, width: number): F {
  return from === 0 ? view : (view.subarray(from * width) as F);
}

/**
 * Forward through every hidden layer and the output's dense part for rows [from, to); returns the
 * logits view (last activations). With `dropout` (training), each hidden layer's outputs are masked.
 */
function forwardHiddenRows<F extends Floats>(kernels: Kernels<F>, shape: NetworkShape, params: readonly LayerViews<F>[], buffers: ChunkBuffers<F>, from: number, to: number, dropout?: DropoutRows): F {
  const last = params.length - 1;
  const parameter = activationParameter(shape);
  const fromA = ACTIVATIONS[shape.activation].backwardFrom === 'a';
  for (let l = 0; l <= last; l++) {
    const inputs = shape.sizes[l]!;
    const outputs = shape.sizes[l + 1]!;
    const layer = params[l]!;
    // z lands in saved (the output buffer itself unless z is kept); the activation writes the output
    const z = fromRow(l < last ? buffers.saved[l + 1]! : buffers.activations[l + 1]!, from, outputs);
    kernels.denseForward(z, fromRow(buffers.activations[l]!, from, inputs), layer.w, layer.b, to - from, inputs, outputs);
    if (l === last) break;
    const a = fromRow(buffers.activations[l + 1]!, from, outputs);
    if (dropout && fromA) {
      // the backward reads the output before the mask: keep it in saved, the masked copy in activations
      kernels.activationForward(shape.activation, z, z, (to - from) * outputs, parameter);
      applyDropout(a, z, 0, to - from, outputs, l + 1, atRow(dropout, from));
    } else {
      kernels.activationForward(shape.activation, a, z, (to - from) * outputs, parameter);
      if (dropout) applyDropout(a, a, 0, to - from, outputs, l + 1, atRow(dropout, from));
    }
  }
  return buffers.activations[last + 1]!;
}

const shifted: { rate: number; seed: number; step: number; batchRow: number } = { rate: 0, seed: 0, step: 0, batchRow: 0 };
/** `rows` for views that start at buffer row `from` (one reused object: no allocation per layer). */
function atRow(rows: DropoutRows, from: number): DropoutRows {
  Object.assign(shifted, rows);
  shifted.batchRow = rows.batchRow + from;
  return shifted;
}

/** Forward through every hidden layer and the output's dense part; returns the logits view (last activations). */
export function forwardHidden<F extends Floats>(kernels: Kernels<F>, shape: NetworkShape, params: readonly LayerViews<F>[], buffers: ChunkBuffers<F>, rows: number): F {
  return forwardHiddenRows(kernels, shape, params, buffers, 0, rows);
}

/**
 * The output layer's loss and dZ for rows [from, to), one tile of TILE_ROWS at a time: each tile's
 * summed loss goes to tileLoss[tile] (when given) and the return value adds them in tile order, so a
 * chunk's loss has the same bits whether one thread or a team made its tiles.
 */
function outputLossRows<F extends Floats>(kernels: Kernels<F>, shape: NetworkShape, buffers: ChunkBuffers<F>, from: number, to: number, tileLoss?: Float64Array, training = false): number {
  const outputs = shape.sizes[shape.sizes.length - 1]!;
  let lossSum = 0;
  // from is on a tile boundary: 0, or where a piece of a team's shard starts
  for (let r = from; r < to; r += TILE_ROWS) {
    const rows = Math.min(TILE_ROWS, to - r);
    const tile = buffers.outputTiles[r / TILE_ROWS]!;
    let loss = kernels.outputLoss(shape.loss, tile.out, tile.dz, tile.targets, rows, outputs);
    // --class-weight: each row's dZ and loss times its class's weight (row by row, thread-count independent)
    if (training && shape.classWeights) loss = weightRowsByClass(shape.loss, shape.classWeights, tile.dz, tile.out, tile.targets, 0, rows, outputs);
    if (tileLoss) tileLoss[r / TILE_ROWS] = loss;
    lossSum += loss;
  }
  return lossSum;
}

/**
 * Forward and loss for rows [from, to) already gathered (evaluation): returns their summed loss (see
 * outputLossRows) and leaves the outputs (probabilities) in the last activations buffer. The loss also
 * writes the output dZ; that buffer is free when nothing is trained.
 */
export function forwardLossRows<F extends Floats>(kernels: Kernels<F>, shape: NetworkShape, params: readonly LayerViews<F>[], buffers: ChunkBuffers<F>, from: number, to: number, tileLoss?: Float64Array, dropout?: DropoutRows): number {
  forwardHiddenRows(kernels, shape, params, buffers, from, to, dropout);
  return outputLossRows(kernels, shape, buffers, from, to, tileLoss);
}

export function forwardLoss<F extends Floats>(kernels: Kernels<F>, shape: NetworkShape, params: readonly LayerViews<F>[], buffers: ChunkBuffers<F>, rows: number): number {
  return forwardLossRows(kernels, shape, params, buffers, 0, rows);
}

/** Forward and the output activation alone (inference: no targets): returns the outputs view. */
export function forwardOutputs<F extends Floats>(kernels: Kernels<F>, shape: NetworkShape, params: readonly LayerViews<F>[], buffers: ChunkBuffers<F>, rows: number): F {
  const out = forwardHidden(kernels, shape, params, buffers, rows);
  outputActivation(shape.loss, out, rows, shape.sizes[shape.sizes.length - 1]!);
  return out;
}

/**
 * The row-wise half of a training step for rows [from, to): forward, loss, and every layer's dZ, back
 * to the first hidden layer. Nothing here reads another row, so a team's members each take their own
 * tiles. Returns the rows' summed loss (tile losses into tileLoss, as outputLossRows). With `dropout`,
 * hidden outputs are masked forward and their gradients by the same mask backward.
 */
export function forwardBackwardRows<F extends Floats>(kernels: Kernels<F>, shape: NetworkShape, params: readonly LayerViews<F>[], buffers: ChunkBuffers<F>, from: number, to: number, tileLoss?: Float64Array, dropout?: DropoutRows): number {
  forwardHiddenRows(kernels, shape, params, buffers, from, to, dropout);
  const lossSum = outputLossRows(kernels, shape, buffers, from, to, tileLoss, true);
  // At the output, dZ = A − Y for all three loss pairings (written by the loss above).
  const parameter = activationParameter(shape);
  for (let l = params.length - 1; l >= 1; l--) {
    const inputs = shape.sizes[l]!;
    const outputs = shape.sizes[l + 1]!;
    // dA_prev = dZ·W, then dZ_prev = dA_prev ⊙ σ′ (σ′ from the stored a or z)
    const dzPrev = fromRow(buffers.dz[l]!, from, inputs);
    kernels.denseBackwardInput(dzPrev, fromRow(buffers.dz[l + 1]!, from, outputs), params[l]!.w, to - from, inputs, outputs);
    if (dropout) applyDropout(dzPrev, dzPrev, 0, to - from, inputs, l, atRow(dropout, from));
    kernels.activationBackward(shape.activation, dzPrev, fromRow(buffers.saved[l]!, from, inputs), (to - from) * inputs, parameter);
  }
  return lossSum;
}

/**
 * The neuron-wise half: dW += dZᵀ·A_prev and db += Σ dZ over all `rows` of the chunk, for part `part` of
 * `parts` of every layer's output neurons (sums, divided by the batch size once after all shards are
 * reduced). Added to what is in `grads` when `accumulate`, so that consecutive chunks of one shard sum
 * up; the first chunk overwrites. Each element is summed by one participant in row order.
 */
export function weightGradientsPart<F extends Floats>(kernels: Kernels<F>, shape: NetworkShape, grads: readonly LayerViews<F>[], buffers: ChunkBuffers<F>, rows: number, accumulate: boolean, part = 0, parts = 1): void {
  for (let l = 0; l < grads.length; l++) {
    const outputs = shape.sizes[l + 1]!;
    const from = Math.floor((part * outputs) / parts);
    const to = Math.floor(((part + 1) * outputs) / parts);
    kernels.denseBackwardParams(grads[l]!.w, grads[l]!.b, buffers.dz[l + 1]!, buffers.activations[l]!, rows, shape.sizes[l]!, outputs, accumulate, from, to);
  }
}

/**
 * Forward, loss and backward for `rows` rows already gathered into buffers.activations[0] / buffers.targets,
 * by one participant: both halves above in sequence. Gradient sums (not means) are written into
 * `grads` (added when `accumulate`). Returns the summed loss; the outputs (probabilities) are left in
 * the last activations buffer.
 */
export function forwardBackward<F extends Floats>(
  kernels: Kernels<F>,
  shape: NetworkShape,
  params: readonly LayerViews<F>[],
  grads: readonly LayerViews<F>[],
  buffers: ChunkBuffers<F>,
  rows: number,
  accumulate = true,
  dropout?: DropoutRows,
): number {
  const lossSum = forwardBackwardRows(kernels, shape, params, buffers, 0, rows, undefined, dropout);
  weightGradientsPart(kernels, shape, grads, buffers, rows, accumulate);
  return lossSum;
}

/** Number of rows in [from, from + rows) whose predicted class is the target's (the one-hot or 0/1 target read the same way). */
export function countCorrect(outputs: Floats, targets: Floats, rows: number, width: number, from = 0): number {
  let correct = 0;
  for (let r = from; r < from + rows; r++) if (predictedClass(outputs, r, width) === predictedClass(targets, r, width)) correct++;
  return correct;
}
