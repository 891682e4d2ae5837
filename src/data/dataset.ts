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

/**
 * A dataset whose size and labels are known before its features exist. Training sizes the shared
 * arena from it and then has the features written straight into the arena — the rows are never
 * held twice. Builtin sets and IDX files load this way; others wrap a loaded Dataset.
 */
export interface PendingDataset {
  readonly source: string;
  readonly rows: number;
  readonly features: number;
  readonly targets: Targets;
  /** Writes the rows × features values, row-major, into the start of `into`. */
  writeFeatures(into: Float32Array): void;
}

export function pendingFrom(dataset: Dataset): PendingDataset {
  const { source, rows, features, targets, x } = dataset;
  return { source, rows, features, targets, writeFeatures: (into) => into.set(x) };
}

/** The features in an array of their own, for callers that want a plain Dataset. */
export function materialize(pending: PendingDataset): Dataset {
  const x = new Float32Array(pending.rows * pending.features);
  pending.writeFeatures(x);
  const { source, rows, features, targets } = pending;
  return { source, rows, features, targets, x };
}
