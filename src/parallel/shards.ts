// How a batch is cut for the workers. A batch of B rows is cut into fixed shards whose size depends
// only on B — never on the thread count — and each shard's gradient sum lands in its own slab.
// The slabs are then added in one fixed pairwise order, so the floating-point operations, and hence
// the weights, are bit-for-bit the same whether 1 or 16 threads computed the shards.

/** Smallest shard: below this a matrix product is too thin to run at speed. */
export const MIN_SHARD_ROWS = 32;
/**
 * Smallest shard of a network whose gradient slab outgrows a core's cache (LARGE_SLAB parameters,
 * 256 KiB of float32): each shard writes its whole slab and the reduction reads it back, about two
 * memory passes per 6·rows flops per weight, so thin shards of a large network spend more time on
 * slab traffic than on arithmetic (measured on M3 with native kernels: 16-row shards ran 1.6×
 * slower than 64-row ones, on one thread and on two).
 */
export const MIN_SHARD_ROWS_LARGE = 64;
export const LARGE_SLAB = 65_536;
/** Most shards per batch, which bounds the gradient slabs (memory) and the reduction's work. */
export const MAX_SHARDS = 32;

/** Rows per shard: a function of the batch size and the network's size only, never of the threads. */
export function shardRowsFor(batchRows: number, parameters: number): number {
  const least = parameters >= LARGE_SLAB ? MIN_SHARD_ROWS_LARGE : MIN_SHARD_ROWS;
  return Math.max(least, ceilDiv(batchRows, MAX_SHARDS));
}

export function shardCount(batchRows: number, shardRows: number): number {
  return ceilDiv(batchRows, shardRows);
}

/**
 * ⌈a / b⌉ for positive integers. Not Math.ceil(a / b): where a / b was whole at every step so far (a
 * batch of 64 in shards of 64), the optimizing compiler assumes it always is, and the epoch's smaller
 * last batch then de-optimizes the whole training step (measured: a recompile in every run).
 */
export function ceilDiv(a: number, b: number): number {
  return ((a + b - 1) / b) | 0;
}

/** [start, end) of shard `shard` of the batch [batchStart, batchEnd). */
export function shardRange(batchStart: number, batchEnd: number, shardRows: number, shard: number): [number, number] {
  const start = batchStart + shard * shardRows;
  return [start, Math.min(start + shardRows, batchEnd)];
}
