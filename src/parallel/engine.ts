// What one compute slot (a worker, or the coordinator itself) does: gather its rows from the
// shared data, run the network, and write results into its shards' slabs and stats; reduce and
// update a slice of the parameters. Views are built once, so running a command allocates nothing.
import type { Kernels } from '../math/kernels.js';
import { ALIGN_FLOATS, type LayerViews, type NetworkShape } from '../model/layout.js';
import { countCorrect, forwardBackward, forwardHidden, type ChunkBuffers } from '../model/network.js';
import { applyUpdate, type OptimizerSettings, type UpdateStep } from '../optim/optimizers.js';
import { treeReduce } from '../optim/reduce.js';
import { arenaViews, scratchBuffers, type ArenaLayout, type ArenaViews } from './arena.js';
import { COMMAND_TRAIN, type Command } from './control.js';
import { evenPart, shardRange } from './shards.js';

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

  /** Worker `worker`'s share of the shards of a command. */
  computeShare(command: Command, worker: number): void {
    const [firstShard, lastShard] = evenPart(command.shards, command.workers, worker);
    this.computeShards(command, firstShard, lastShard);
  }

  /** Worker `worker`'s slice of the reduction and update, cut at 64-byte boundaries. */
  updateShare(command: Command, worker: number): void {
    const blocks = Math.ceil(this.layout.params.length / ALIGN_FLOATS);
    const [first, last] = evenPart(blocks, command.updateWorkers, worker);
    this.reduceAndUpdate(command, first * ALIGN_FLOATS, Math.min(last * ALIGN_FLOATS, this.layout.params.length));
  }

  computeShards(command: Command, firstShard: number, lastShard: number): void {
    const withGradients = command.kind === COMMAND_TRAIN;
    const { stats, slabs, slabLayers } = this.views;
    for (let shard = firstShard; shard < lastShard; shard++) {
      const [start, end] = shardRange(command.start, command.end, command.shardRows, shard);
      if (withGradients) slabs[shard]!.fill(0);
      let lossSum = 0;
      let correct = 0;
      // A shard longer than the scratch capacity runs in consecutive chunks that accumulate into
      // the same slab, in a fixed order: still independent of the thread count.
      for (let chunk = start; chunk < end; chunk += this.buffers.capacity) {
        const rows = Math.min(this.buffers.capacity, end - chunk);
        this.gather(chunk, rows);
        lossSum += withGradients ? this.trainChunk(slabLayers[shard]!, rows) : this.evaluateChunk(rows);
        correct += countCorrect(this.buffers.activations[this.shape.sizes.length - 1]!, this.buffers.targets, rows, this.outputs);
      }
      stats[shard * 2] = lossSum;
      stats[shard * 2 + 1] = correct;
    }
  }

  reduceAndUpdate(step: UpdateStep & { shards: number }, from: number, to: number): void {
    treeReduce(this.kernels, this.views.slabs, step.shards, from, to);
    applyUpdate(this.optimizer, step, this.views.parameters, this.views.slabs[0]!, this.views.optimizerState, from, to);
  }

  private trainChunk(grads: readonly LayerViews[], rows: number): number {
    return forwardBackward(this.kernels, this.shape, this.views.parameterLayers, grads, this.buffers, rows);
  }

  private evaluateChunk(rows: number): number {
    const logits = forwardHidden(this.kernels, this.shape, this.views.parameterLayers, this.buffers, rows);
    // outputLoss also writes dz; the scratch gradient buffer is free during evaluation.
    return this.kernels.outputLoss(this.shape.loss, logits, this.buffers.gradA, this.buffers.targets, rows, this.outputs);
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
