// How a batch is cut for the workers. A batch of B rows is cut into fixed shards whose size depends
// only on B — never on the thread count — and each shard's gradient sum lands in its own slab.
// The slabs are then added in one fixed pairwise order, so the floating-point operations, and hence
// the weights, are bit-for-bit the same whether 1 or 16 threads computed the shards.

/** Smallest shard: below this a matrix product is too thin to run at speed. */
export const MIN_SHARD_ROWS = 16;
/** Most shards per batch, which bounds the gradient slabs (memory) and the reduction's work. */
export const MAX_SHARDS = 32;

export function shardRowsFor(batchRows: number): number {
  return Math.max(MIN_SHARD_ROWS, Math.ceil(batchRows / MAX_SHARDS));
}

export function shardCount(batchRows: number, shardRows: number): number {
  return Math.ceil(batchRows / shardRows);
}

/** [start, end) of shard `shard` of the batch [batchStart, batchEnd). */
export function shardRange(batchStart: number, batchEnd: number, shardRows: number, shard: number): [number, number] {
  const start = batchStart + shard * shardRows;
  return [start, Math.min(start + shardRows, batchEnd)];
}
