// What one compute slot (a worker, or the coordinator itself) does with a task: gather its rows
// from the shared data, run the network, and write results into its shards' slabs and stats.
// Views are built once at construction, so running a task allocates nothing.
import type { Kernels } from '../math/kernels.js';
import type { LayerViews, NetworkShape } from '../model/layout.js';
import { countCorrect, forwardBackward, forwardHidden, type ChunkBuffers } from '../model/network.js';
import { sgdUpdate, treeReduce } from '../optim/sgd.js';
import { arenaViews, scratchBuffers, type ArenaLayout, type ArenaViews } from './arena.js';
import type { ShardRange, Task } from './protocol.js';
import { shardRange } from './shards.js';

export class ShardEngine {
  private readonly views: ArenaViews;
  private readonly buffers: ChunkBuffers;
  private readonly shape: NetworkShape;
  private readonly features: number;
  private readonly outputs: number;

  constructor(
    memory: WebAssembly.Memory,
    private readonly layout: ArenaLayout,
    slot: number,
    private readonly kernels: Kernels,
  ) {
    this.views = arenaViews(memory, layout);
    this.buffers = scratchBuffers(memory, layout, slot);
    this.shape = layout.plan.shape;
    this.features = this.shape.sizes[0]!;
    this.outputs = this.shape.sizes[this.shape.sizes.length - 1]!;
  }

  run(task: Task): void {
    switch (task.kind) {
      case 'gradients':
        return this.forEachShard(task, true);
      case 'evaluate':
        return this.forEachShard(task, false);
      case 'update':
        treeReduce(this.views.slabs, task.shards, task.from, task.to);
        sgdUpdate(this.views.parameters, this.views.slabs[0]!, task.scale, task.from, task.to);
        return;
    }
  }

  private forEachShard(range: ShardRange, withGradients: boolean): void {
    const { stats, slabs, slabLayers } = this.views;
    for (let shard = range.firstShard; shard < range.lastShard; shard++) {
      const [start, end] = shardRange(range.start, range.end, range.shardRows, shard);
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
    const input = this.buffers.activations[0]!;
    const targets = this.buffers.targets;
    const inputBase = input.byteOffset / 4;
    const targetBase = targets.byteOffset / 4;
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
