// Messages between the coordinator and the workers. They carry only ranges and sizes:
// data, weights and gradients stay in the shared arena.
import type { ArenaLayout } from './arena.js';

export type KernelChoice = 'wasm' | 'typescript';

/** Given once to every worker at start-up. */
export interface WorkerSetup {
  readonly memory: WebAssembly.Memory;
  readonly layout: ArenaLayout;
  readonly kernels: KernelChoice;
}

/** Shards [firstShard, lastShard) of the rows order[start, end), cut every shardRows. */
export interface ShardRange {
  readonly start: number;
  readonly end: number;
  readonly shardRows: number;
  readonly firstShard: number;
  readonly lastShard: number;
}

export type Task =
  /** Forward, loss and backward: each shard's gradient sum into its slab, [loss, correct] into its stats. */
  | ({ readonly kind: 'gradients' } & ShardRange)
  /** Forward and loss only: each shard's [loss, correct] into its stats. */
  | ({ readonly kind: 'evaluate' } & ShardRange)
  /** Tree-reduce `shards` slabs over parameters [from, to) and apply the update with `scale`. */
  | { readonly kind: 'update'; readonly shards: number; readonly from: number; readonly to: number; readonly scale: number };
