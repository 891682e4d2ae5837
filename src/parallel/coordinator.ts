// The coordinator: owns the arena and the piscina pool, and runs one synchronous data-parallel
// step at a time — shards out, gradient sums in, reduce, update — before the next step starts.
import { Piscina } from 'piscina';
import { referenceKernels } from '../math/kernels.js';
import { multiplyAddsPerSample } from '../model/layout.js';
import { allocateArena, arenaViews, planArena, type ArenaLayout, type ArenaPlan, type ArenaViews } from './arena.js';
import { ShardEngine } from './engine.js';
import type { Task, WorkerSetup } from './protocol.js';
import { MAX_SHARDS, evenPart, shardCount, shardRowsFor } from './shards.js';

/** Rows a scratch area holds; also the row block of every matrix product. */
const CHUNK_ROWS = 64;
/**
 * Below this many flops per worker, a task's round trip to a worker costs more than it saves:
 * such batches run on fewer workers (or inline on the coordinator). Thread count never changes
 * the results, only who computes which shard.
 */
const MIN_FLOPS_PER_WORKER = 4e6;
/** Below this many slab elements to add, the reduction runs inline instead of as worker tasks. */
const MIN_UPDATE_ELEMENTS_PER_WORKER = 256 * 1024;

export interface StepStats {
  lossSum: number;
  correct: number;
  /** Workers that took part (1 = computed inline on the coordinator). */
  workers: number;
}

export class Coordinator {
  readonly memory: WebAssembly.Memory;
  readonly layout: ArenaLayout;
  readonly views: ArenaViews;
  private readonly local: ShardEngine;
  private readonly pool: Piscina | undefined;
  private readonly flopsPerRow: number;

  constructor(plan: Omit<ArenaPlan, 'chunkRows' | 'maxShards' | 'slots'>, readonly threads: number) {
    this.layout = planArena({ ...plan, chunkRows: CHUNK_ROWS, maxShards: MAX_SHARDS, slots: threads + 1 });
    this.memory = allocateArena(this.layout);
    this.views = arenaViews(this.memory, this.layout);
    this.local = new ShardEngine(this.memory, this.layout, 0, referenceKernels);
    this.flopsPerRow = 6 * multiplyAddsPerSample(plan.shape);
    if (threads > 1) {
      const workerData: WorkerSetup = { memory: this.memory, layout: this.layout, kernels: 'typescript' };
      this.pool = new Piscina({
        filename: new URL('../../workers/gradient.js', import.meta.url).href,
        minThreads: threads,
        maxThreads: threads,
        idleTimeout: Number.POSITIVE_INFINITY,
        workerData,
      });
    }
  }

  /** One training step over order[start, end): gradients, then reduce and update with lr. */
  async trainStep(start: number, end: number, lr: number): Promise<StepStats> {
    const rows = end - start;
    const shardRows = shardRowsFor(rows);
    const shards = shardCount(rows, shardRows);
    const workers = await this.runShards('gradients', start, end, shardRows, shards);
    await this.update(shards, lr / rows);
    return { ...this.sumStats(shards), workers };
  }

  /** Loss and correct count over order[start, end) at the current weights; nothing is updated. */
  async evaluate(start: number, end: number): Promise<StepStats> {
    let lossSum = 0;
    let correct = 0;
    let workers = 1;
    // Evaluation sets can be larger than MAX_SHARDS × CHUNK_ROWS; go through them in batches.
    const span = MAX_SHARDS * CHUNK_ROWS;
    for (let from = start; from < end; from += span) {
      const to = Math.min(end, from + span);
      const shardRows = shardRowsFor(to - from);
      const shards = shardCount(to - from, shardRows);
      workers = Math.max(workers, await this.runShards('evaluate', from, to, shardRows, shards));
      const stats = this.sumStats(shards);
      lossSum += stats.lossSum;
      correct += stats.correct;
    }
    return { lossSum, correct, workers };
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
  }

  private async runShards(kind: 'gradients' | 'evaluate', start: number, end: number, shardRows: number, shards: number): Promise<number> {
    const flops = (kind === 'gradients' ? 1 : 1 / 3) * this.flopsPerRow * (end - start);
    const workers = this.pool ? Math.max(1, Math.min(this.threads, shards, Math.floor(flops / MIN_FLOPS_PER_WORKER))) : 1;
    if (workers === 1) {
      this.local.run({ kind, start, end, shardRows, firstShard: 0, lastShard: shards });
      return 1;
    }
    const tasks: Promise<void>[] = [];
    for (let w = 0; w < workers; w++) {
      const [firstShard, lastShard] = evenPart(shards, workers, w);
      tasks.push(this.dispatch({ kind, start, end, shardRows, firstShard, lastShard }));
    }
    await Promise.all(tasks);
    return workers;
  }

  private async update(shards: number, scale: number): Promise<void> {
    const length = this.layout.params.length;
    const work = length * shards;
    const workers = this.pool ? Math.max(1, Math.min(this.threads, Math.floor(work / MIN_UPDATE_ELEMENTS_PER_WORKER))) : 1;
    if (workers === 1) {
      this.local.run({ kind: 'update', shards, from: 0, to: length, scale });
      return;
    }
    const tasks: Promise<void>[] = [];
    for (let w = 0; w < workers; w++) {
      const [from, to] = evenPart(length, workers, w);
      tasks.push(this.dispatch({ kind: 'update', shards, from, to, scale }));
    }
    await Promise.all(tasks);
  }

  private dispatch(task: Task): Promise<void> {
    return this.pool!.run(task) as Promise<void>;
  }

  /** Shard statistics summed in shard order: the same order whoever computed them. */
  private sumStats(shards: number): { lossSum: number; correct: number } {
    let lossSum = 0;
    let correct = 0;
    for (let s = 0; s < shards; s++) {
      lossSum += this.views.stats[s * 2]!;
      correct += this.views.stats[s * 2 + 1]!;
    }
    return { lossSum, correct };
  }
}
