// What one compute slot (a worker, or the coordinator itself) does: gather its rows from the
// shared data, run the network, and write results into its shards' slabs and stats; reduce and
// update a slice of the parameters. Views are built once, so running a command allocates nothing.
import type { Kernels } from '../math/kernels.js';
import type { NetworkShape } from '../model/layout.js';
import { countCorrect, forwardBackward, forwardLoss, type ChunkBuffers } from '../model/network.js';
import { applyUpdate, type OptimizerSettings, type UpdateStep } from '../optim/optimizers.js';
import { treeReduce } from '../optim/reduce.js';
import { arenaViews, scratchBuffers, type ArenaLayout, type ArenaViews } from './arena.js';
import { COMMAND_TRAIN, SHARD_CURSOR, UPDATE_CURSOR, type Command } from './control.js';
import { shardRange } from './shards.js';

/** Parameters per claimed block of the update: 16 Ki floats, a multiple of the 64-byte alignment. */
export const UPDATE_BLOCK = 16 * 1024;

export class ShardEngine {
  readonly views: ArenaViews;
  private readonly buffers: ChunkBuffers;
  private readonly shape: NetworkShape;
  private readonly features: number;
  private readonly outputs: number;

  constructor(
    memory: WebAssembly.Memory,
    private readonly layout: ArenaLayout,
    slot: number,
    private readonly kernels: Kernels,
    private readonly optimizer: OptimizerSettings,
  ) {
    this.views = arenaViews(memory, layout);
    this.buffers = scratchBuffers(memory, layout, slot);
    this.shape = layout.plan.shape;
    this.features = this.shape.sizes[0]!;
    this.outputs = this.shape.sizes[this.shape.sizes.length - 1]!;
  }

  /**
   * Claims shards one at a time until none is left. A participant that runs slower (a busy core)
   * simply takes fewer shards; which participant computed a shard never changes its result.
   */
  computeClaimedShards(command: Command): number {
    const { control } = this.views;
    for (let claimed = 0; ; claimed++) {
      const shard = Atomics.add(control, SHARD_CURSOR, 1);
      if (shard >= command.shards) return claimed;
      this.computeShard(command, shard);
    }
  }

  /** Likewise for the reduction and update, in blocks of UPDATE_BLOCK parameters. */
  updateClaimedBlocks(command: Command): void {
    const { control } = this.views;
    const length = this.layout.params.length;
    for (;;) {
      const from = Atomics.add(control, UPDATE_CURSOR, 1) * UPDATE_BLOCK;
      if (from >= length) return;
      this.reduceAndUpdate(command, from, Math.min(from + UPDATE_BLOCK, length));
    }
  }

  private computeShard(command: Command, shard: number): void {
    const withGradients = command.kind === COMMAND_TRAIN;
    const { stats, slabLayers, parameterLayers } = this.views;
    const [start, end] = shardRange(command.start, command.end, command.shardRows, shard);
    let lossSum = 0;
    let correct = 0;
    // A shard longer than the scratch capacity runs in consecutive chunks that accumulate into
    // the same slab, in a fixed order: still independent of the thread count.
    for (let chunk = start; chunk < end; chunk += this.buffers.capacity) {
      const rows = Math.min(this.buffers.capacity, end - chunk);
      this.gather(chunk, rows);
      lossSum += withGradients
        ? forwardBackward(this.kernels, this.shape, parameterLayers, slabLayers[shard]!, this.buffers, rows, chunk > start)
        : forwardLoss(this.kernels, this.shape, parameterLayers, this.buffers, rows);
      correct += countCorrect(this.buffers.activations[this.shape.sizes.length - 1]!, this.buffers.targets, rows, this.outputs);
    }
    stats[shard * 2] = lossSum;
    stats[shard * 2 + 1] = correct;
  }

  private reduceAndUpdate(step: UpdateStep & { shards: number }, from: number, to: number): void {
    treeReduce(this.kernels, this.views.slabs, step.shards, from, to);
    applyUpdate(this.kernels, this.optimizer, step, this.views.parameters, this.views.slabs[0]!, this.views.optimizerState, from, to);
  }

  /** Copies rows order[from, from+rows) of x and y into the scratch input and target buffers. */
  private gather(from: number, rows: number): void {
    const { heap, order } = this.views;
    const { x, y } = this.layout;
    const inputBase = this.buffers.activations[0]!.byteOffset / 4;
    const targetBase = this.buffers.targets.byteOffset / 4;
    const features = this.features;
    const outputs = this.outputs;
    for (let r = 0; r < rows; r++) {
      const sample = order[from + r]!;
      // copyWithin on the one arena-wide view: a memmove with no temporary view objects
      heap.copyWithin(inputBase + r * features, x + sample * features, x + (sample + 1) * features);
      heap.copyWithin(targetBase + r * outputs, y + sample * outputs, y + (sample + 1) * outputs);
    }
  }
}
