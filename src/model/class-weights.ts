// Class weights, as scikit-learn's class_weight='balanced': fitted on the training rows, then each
// row's output gradient and loss multiplied by its class's weight. Row by row, with no sum across
// rows but the loss's (in row order, within one chunk), so the weights a run trains do not depend
// on how many threads computed it.
import type { Floats } from '../math/kernels.js';
import type { LossKind } from '../math/ops.js';
import { predictedClass } from './metrics.js';

/** Rows of each class among `rows` (indices into `index`, the class of every row of the data). */
export function classCounts(index: ArrayLike<number>, rows: ArrayLike<number>, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < rows.length; i++) counts[index[rows[i]!]!]!++;
  return counts;
}

/**
 * w_c = n_samples / (n_classes × count_c), as sklearn.utils.class_weight.compute_class_weight('balanced')
 * over the classes the labels name. A class absent from the training rows gets weight 1 (no row
 * carries it, so it changes nothing there). Rounded to float32, as the kernels multiply by it.
 */
export function balancedClassWeights(counts: readonly number[]): number[] {
  const total = counts.reduce((sum, n) => sum + n, 0);
  return counts.map((count) => (count > 0 ? Math.fround(total / (counts.length * count)) : 1));
}

/** The smallest positive normal float32: a probability that underflowed still has a finite loss. */
const TINY = 1.1754943508222875e-38;

/**
 * After the output loss of rows [from, to): multiplies each row's dZ (the output layer's gradient,
 * row-major, `outputs` per row) by the weight of its class (read from its target row: one-hot, or 0/1
 * for a single sigmoid unit) and returns the weighted loss Σ w(row)·loss(row). `probabilities` are the
 * outputs the loss left (sigmoid or softmax); a row's loss is computed from them (mse: from dZ), a
 * probability that underflowed to 0 read as the smallest float32. Summed in tiles of `tileRows` rows
 * counted from row 0, each tile's sum written to tileLoss[tile] when given, then the tiles in order:
 * the order in which the output loss itself is summed, so a team that splits a chunk's tiles gets the
 * same bits as one participant.
 */
export function weightRowsByClass(loss: LossKind, weights: readonly number[], dz: Floats, probabilities: Floats, targets: Floats, from: number, to: number, outputs: number, tileRows = to - from, tileLoss?: Float64Array): number {
  let total = 0;
  for (let start = from; start < to; start += tileRows) {
    const end = Math.min(start + tileRows, to);
    let tile = 0;
    for (let r = start; r < end; r++) {
      const c = predictedClass(targets, r, outputs);
      const w = weights[c]!;
      const row = r * outputs;
      let rowLoss = 0;
      if (loss === 'bce') rowLoss = -Math.log(Math.max(c === 1 ? probabilities[row]! : 1 - probabilities[row]!, TINY));
      else if (loss === 'cross-entropy') rowLoss = -Math.log(Math.max(probabilities[row + c]!, TINY));
      for (let o = 0; o < outputs; o++) {
        if (loss === 'mse') rowLoss += 0.5 * dz[row + o]! * dz[row + o]!;
        dz[row + o] = dz[row + o]! * w;
      }
      tile += w * rowLoss;
    }
    if (tileLoss) tileLoss[start / tileRows] = tile;
    total += tile;
  }
  return total;
}
