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
 * Neurons of the tile every kernel set computes the same way wherever a range starts (the wasm forward
 * pairs neurons from the start of its range; 4 keeps the parts' rows on 16-byte boundaries). A split of
 * a layer's neurons on multiples of TILE_COLUMNS gives the bits of one call.
 */
export const TILE_COLUMNS = 4;

/** [from, to) of part `part` of `parts` of `length` elements cut on multiples of `tile`: whole tiles, the last part the partial one. */
export function tilePart(length: number, tile: number, part: number, parts: number): [number, number] {
  const tiles = Math.ceil(length / tile);
  const from = Math.floor((part * tiles) / parts) * tile;
  const to = Math.floor(((part + 1) * tiles) / parts) * tile;
  return [Math.min(from, length), Math.min(to, length)];
}

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

/** The view from row `row`, column `column` of a [rows × width] view: the view itself at (0, 0) (the one-thread path allocates nothing). */
function fromRow<F extends Floats>(view: F, row: number, width: number, column = 0): F {
  return row === 0 && column === 0 ? view : (view.subarray(row * width + column) as F);
}

/** The elementwise kernels' run for a block `columns` wide of a matrix `width` wide: all of it at once when the block spans whole rows. */
function runLength(count: number, columns: number, width: number): number {
  return columns === width ? count : columns;
}

/**
 * One hidden layer forward on a block: rows [from, to) of the chunk, its output neurons [first, end) —
 * z = a·Wᵀ + b, the activation, and with `dropout` (training) the mask. Every element of the block
 * depends only on its row of the layer's input, so rows and neurons may be split among participants.
 */
export function hiddenLayerForward<F extends Floats>(kernels: Kernels<F>, shape: NetworkShape, params: readonly LayerViews<F>[], buffers: ChunkBuffers<F>, l: number, from: number, to: number, first: number, end: number, dropout?: DropoutRows): void {
  const inputs = shape.sizes[l]!;
  const outputs = shape.sizes[l + 1]!;
  const rows = to - from;
  const layer = params[l]!;
  // z lands in saved (the output buffer itself unless z is kept); the activation writes the output
  const zRows = fromRow(buffers.saved[l + 1]!, from, outputs);
  kernels.denseForward(zRows, fromRow(buffers.activations[l]!, from, inputs), layer.w, layer.b, rows, inputs, outputs, first, end);
  const aRows = fromRow(buffers.activations[l + 1]!, from, outputs);
  const z = fromRow(zRows, 0, outputs, first);
  const parameter = activationParameter(shape);
  const count = rows * (end - first);
  if (dropout && ACTIVATIONS[shape.activation].backwardFrom === 'a') {
    // the backward reads the output before the mask: keep it in saved, the masked copy in activations
    kernels.activationForward(shape.activation, z, z, count, parameter, runLength(count, end - first, outputs), outputs);
    applyDropout(aRows, zRows, 0, rows, outputs, l + 1, atRow(dropout, from), first, end);
  } else {
    kernels.activationForward(shape.activation, fromRow(aRows, 0, outputs, first), z, count, parameter, runLength(count, end - first, outputs), outputs);
    if (dropout) applyDropout(aRows, aRows, 0, rows, outputs, l + 1, atRow(dropout, from), first, end);
  }
}

/** One hidden layer backward for rows [from, to): dA_prev = dZ·W, then dZ_prev = dA_prev ⊙ σ′ (σ′ from the stored a or z) and the dropout mask. */
function hiddenLayerBackward<F extends Floats>(kernels: Kernels<F>, shape: NetworkShape, params: readonly LayerViews<F>[], buffers: ChunkBuffers<F>, l: number, from: number, to: number, dropout?: DropoutRows): void {
  const inputs = shape.sizes[l]!;
  const outputs = shape.sizes[l + 1]!;
  const rows = to - from;
  const dzPrev = fromRow(buffers.dz[l]!, from, inputs);
  kernels.denseBackwardInput(dzPrev, fromRow(buffers.dz[l + 1]!, from, outputs), params[l]!.w, rows, inputs, outputs);
  if (dropout) applyDropout(dzPrev, dzPrev, 0, rows, inputs, l, atRow(dropout, from));
  kernels.activationBackward(shape.activation, dzPrev, fromRow(buffers.saved[l]!, from, inputs), rows * inputs, activationParameter(shape));
}

/** The output layer's dense part for rows [from, to) (every output neuron): the logits. */
function outputLayerForward<F extends Floats>(kernels: Kernels<F>, shape: NetworkShape, params: readonly LayerViews<F>[], buffers: ChunkBuffers<F>, from: number, to: number): void {
  const l = params.length - 1;
  const inputs = shape.sizes[l]!;
  const outputs = shape.sizes[l + 1]!;
  kernels.denseForward(fromRow(buffers.activations[l + 1]!, from, outputs), fromRow(buffers.activations[l]!, from, inputs), params[l]!.w, params[l]!.b, to - from, inputs, outputs);
}

/**
 * Forward through every hidden layer and the output's dense part for rows [from, to); returns the
 * logits view (last activations). With `dropout` (training), each hidden layer's outputs are masked.
 */
function forwardHiddenRows<F extends Floats>(kernels: Kernels<F>, shape: NetworkShape, params: readonly LayerViews<F>[], buffers: ChunkBuffers<F>, from: number, to: number, dropout?: DropoutRows): F {
  for (let l = 0; l < params.length - 1; l++) hiddenLayerForward(kernels, shape, params, buffers, l, from, to, 0, shape.sizes[l + 1]!, dropout);
  outputLayerForward(kernels, shape, params, buffers, from, to);
  return buffers.activations[params.length]!;
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
  return forwardBackwardRowsFrom(kernels, shape, params, buffers, 0, from, to, tileLoss, dropout);
}

/**
 * As forwardBackwardRows, for a chunk whose layers below `first` are already forward for every row
 * (a team splits the big first layers by neurons): layers first … from the output layer's loss back to
 * the first hidden layer's dZ, for rows [from, to).
 */
export function forwardBackwardRowsFrom<F extends Floats>(kernels: Kernels<F>, shape: NetworkShape, params: readonly LayerViews<F>[], buffers: ChunkBuffers<F>, first: number, from: number, to: number, tileLoss?: Float64Array, dropout?: DropoutRows): number {
  for (let l = first; l < params.length - 1; l++) hiddenLayerForward(kernels, shape, params, buffers, l, from, to, 0, shape.sizes[l + 1]!, dropout);
  outputLayerForward(kernels, shape, params, buffers, from, to);
  const lossSum = outputLossRows(kernels, shape, buffers, from, to, tileLoss, true);
  // At the output, dZ = A − Y for all three loss pairings (written by the loss above).
  for (let l = params.length - 1; l >= 1; l--) hiddenLayerBackward(kernels, shape, params, buffers, l, from, to, dropout);
  return lossSum;
}

/**
 * The neuron-wise half: dW += dZᵀ·A_prev and db += Σ dZ over all `rows` of the chunk, for part `part` of
 * `parts` of every layer's output neurons, cut on column tiles (sums, divided by the batch size once after all shards are
 * reduced). Added to what is in `grads` when `accumulate`, so that consecutive chunks of one shard sum
 * up; the first chunk overwrites. Each element is summed by one participant in row order.
 */
export function weightGradientsPart<F extends Floats>(kernels: Kernels<F>, shape: NetworkShape, grads: readonly LayerViews<F>[], buffers: ChunkBuffers<F>, rows: number, accumulate: boolean, part = 0, parts = 1): void {
  for (let l = 0; l < grads.length; l++) {
    const [from, to] = tilePart(shape.sizes[l + 1]!, TILE_COLUMNS, part, parts);
    layerWeightGradients(kernels, shape, grads, buffers, l, rows, accumulate, from, to);
  }
}

/** Layer l's dW/db for its output neurons [from, to), over all `rows` rows of the chunk. */
function layerWeightGradients<F extends Floats>(kernels: Kernels<F>, shape: NetworkShape, grads: readonly LayerViews<F>[], buffers: ChunkBuffers<F>, l: number, rows: number, accumulate: boolean, from: number, to: number): void {
  kernels.denseBackwardParams(grads[l]!.w, grads[l]!.b, buffers.dz[l + 1]!, buffers.activations[l]!, rows, shape.sizes[l]!, shape.sizes[l + 1]!, accumulate, from, to);
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
