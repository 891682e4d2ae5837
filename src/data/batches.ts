// Cutting an epoch into batches: ⌈m/B⌉ contiguous ranges of the shuffled order, the last one smaller.

export type Mode = 'minibatch' | 'batch' | 'sgd';
export const MODES: readonly Mode[] = ['minibatch', 'batch', 'sgd'];

/** The batch size a mode implies for a training set of `rows`. */
export function effectiveBatchSize(mode: Mode, batchSize: number, rows: number): number {
  if (mode === 'batch') return rows;
  if (mode === 'sgd') return 1;
  return Math.min(batchSize, rows);
}

/** Number of batches in one epoch: nothing dropped, nothing duplicated. */
export function batchCount(rows: number, batchSize: number): number {
  return Math.ceil(rows / batchSize);
}

/** [start, end) of batch `index` within the epoch's order. */
export function batchRange(index: number, rows: number, batchSize: number): [number, number] {
  const start = index * batchSize;
  return [start, Math.min(start + batchSize, rows)];
}
