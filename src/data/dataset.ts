// A dataset in one flat Float32Array: rows × features, row-major, plus its targets.

export type Targets =
  /** Class labels: index into `names` per row (names in order of first appearance, or builtin order). */
  | { readonly kind: 'classes'; readonly index: Int32Array; readonly names: readonly string[] }
  /** Numeric regression targets, one per row. */
  | { readonly kind: 'values'; readonly values: Float32Array }
  /** No label column (data given to predict only). */
  | { readonly kind: 'none' };

export interface Dataset {
  /** Where it came from, for messages: a path or builtin:NAME. */
  readonly source: string;
  readonly rows: number;
  readonly features: number;
  readonly x: Float32Array;
  readonly targets: Targets;
}

/** Width of the network's output for these targets under a loss. */
export function outputWidth(targets: Targets, loss: 'bce' | 'cross-entropy' | 'mse'): number {
  if (targets.kind !== 'classes') return 1;
  return loss === 'bce' ? 1 : targets.names.length;
}

/**
 * Writes row `row`'s target vector into `out` (width `width`): one-hot for softmax/MSE over classes,
 * 0/1 for a single sigmoid unit, the value itself for regression.
 */
export function writeTarget(targets: Targets, row: number, out: Float32Array, offset: number, width: number): void {
  if (targets.kind === 'values') {
    out[offset] = targets.values[row]!;
    return;
  }
  if (targets.kind === 'none') throw new Error('writeTarget: dataset has no labels');
  const label = targets.index[row]!;
  if (width === 1) {
    out[offset] = label;
    return;
  }
  out.fill(0, offset, offset + width);
  out[offset + label] = 1;
}
