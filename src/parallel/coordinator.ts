// The coordinator: owns the arena and the piscina pool, and runs one synchronous data-parallel
// step at a time — shards out, gradient sums in, reduce, update — before the next step starts.
// Commands reach the workers through the shared control block (Atomics wait/notify), not through
// messages: piscina starts and owns the workers, each of which runs one long 'serve' task.
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { selectKernels } from '../math/select.js';
import { multiplyAddsPerSample, type NetworkShape } from '../model/layout.js';
import { optimizerStateBuffers, type OptimizerSettings } from '../optim/optimizers.js';
import { allocateArena, arenaViews, planArena, type ArenaLayout, type ArenaViews } from './arena.js';
import {
  BARRIER, COMMAND_EVALUATE, COMMAND_EXIT, COMMAND_TRAIN, DONE, FAILED, GENERATION, JOINED, READY, SHARD_CURSOR, UPDATE_CURSOR,
  emptyCommand, joinedWord, writeCommand, type Command,
} from './control.js';
import { ShardEngine } from './engine.js';
import { FAILURE_POLL_MS, PeerFailed, arriveAtBarrier, waitAtLeast } from './serve.js';
import type { KernelChoice, ServeTask, WorkerSetup } from './protocol.js';
import { MAX_SHARDS, shardCount, shardRowsFor } from './shards.js';

/** Rows a scratch area holds; also the row block of every matrix product. */
const CHUNK_ROWS = 64;
/**
 * Below this many flops per worker, handing work to another thread costs more than it saves:
 * such batches use fewer workers (or run inline on the coordinator). The thread count never
 * changes the results, only who computes which shard.
 */
const MIN_FLOPS_PER_WORKER = 2e6;
/** Likewise for the reduction and update: slab elements per worker. */
const MIN_UPDATE_ELEMENTS_PER_WORKER = 64 * 1024;

export interface CoordinatorOptions {
  shape: NetworkShape;
  /** Rows in the data region. */
  rows: number;
  /** Compute threads asked for; more than the machine's cores are not started (see `threads`). */
  threads: number;
  optimizer: OptimizerSettings;
  kernels: KernelChoice;
  /** Work below which a step runs on fewer threads (benchmarks set 0 to measure the hand-off itself). */
  minFlopsPerWorker?: number;
}

export interface StepStats {
  lossSum: number;
  correct: number;
  /** Workers that took part (1 = computed inline on the coordinator). */
  workers: number;
}

/** A worker thread threw or died; training cannot continue. */
export class WorkerFailure extends Error {
  override readonly name = 'WorkerFailure';
}

export class Coordinator {
  readonly memory: WebAssembly.Memory;
  readonly layout: ArenaLayout;
  readonly views: ArenaViews;
  private readonly local: ShardEngine;
  private readonly pool: Piscina | undefined;
  private readonly serving: Promise<void>[] = [];
  private readonly command: Command = emptyCommand();
  private readonly flopsPerRow: number;
  private readonly minFlopsPerWorker: number;
  private failure: Error | undefined;
  private readonly stepStats: StepStats = { lossSum: 0, correct: 0, workers: 0 };
  private readonly evaluationStats: StepStats = { lossSum: 0, correct: 0, workers: 0 };

  constructor(private readonly options: CoordinatorOptions) {
    const { shape, rows, optimizer, kernels } = options;
    // Threads beyond the cores only take turns on them, and every barrier then waits for a thread
    // that is not running: the run gets slower, never faster. The results are the same either way.
    // (GRADPOOL_THREADS_BEYOND_CORES=1 lifts the cap, so that tests on a small machine still run
    // many participants through the claiming and joining logic.)
    const threads = process.env.GRADPOOL_THREADS_BEYOND_CORES === '1' ? options.threads : Math.min(options.threads, availableParallelism());
    this.threads = threads;
    this.layout = planArena({ shape, rows, chunkRows: CHUNK_ROWS, maxShards: MAX_SHARDS, slots: threads, stateBuffers: optimizerStateBuffers(optimizer.name) });
    this.memory = allocateArena(this.layout);
    this.views = arenaViews(this.memory, this.layout);
    const localKernels = selectKernels(kernels, this.memory);
    this.kernelSet = localKernels.name;
    this.local = new ShardEngine(this.memory, this.layout, 0, localKernels, optimizer);
    this.flopsPerRow = 6 * multiplyAddsPerSample(shape);
    this.minFlopsPerWorker = options.minFlopsPerWorker ?? MIN_FLOPS_PER_WORKER;
    if (threads > 1) {
      // The coordinator computes too (participant 0), so the pool holds threads − 1 workers.
      const workerData: WorkerSetup = { memory: this.memory, layout: this.layout, kernels, kernelSet: this.kernelSet, optimizer };
      this.pool = new Piscina({
        filename: new URL('../../workers/gradient.js', import.meta.url).href,
        minThreads: threads - 1,
        maxThreads: threads - 1,
        idleTimeout: Number.POSITIVE_INFINITY,
        workerData,
      });
      const task: ServeTask = { kind: 'serve' };
      for (let w = 1; w < threads; w++) {
        this.serving.push(
          (this.pool.run(task) as Promise<void>).catch((error: unknown) => {
            this.failure ??= error instanceof Error ? error : new Error(String(error));
            Atomics.store(this.views.control, FAILED, 1);
          }),
        );
      }
    }
  }

  /** Compute threads in use: the coordinator and threads − 1 workers. */
  readonly threads: number;
  /** The kernel set every participant runs, by name (native-avx512, wasm-simd, typescript, …). */
  readonly kernelSet: string;

  /** Resolves once every worker is in its command loop (or throws if one failed to start). */
  async ready(): Promise<void> {
    if (this.pool) await this.waitFor(READY, this.threads - 1);
  }

  /**
   * One training step over order[start, end): gradients, then reduce and update. The returned
   * object is reused by the next step (the steady state allocates no stats objects).
   */
  async trainStep(start: number, end: number, lr: number, step: number): Promise<Readonly<StepStats>> {
    const rows = end - start;
    const shardRows = shardRowsFor(rows);
    const shards = shardCount(rows, shardRows);
    const command = this.command;
    command.kind = COMMAND_TRAIN;
    command.start = start;
    command.end = end;
    command.shardRows = shardRows;
    command.shards = shards;
    command.workers = this.workersFor(this.flopsPerRow * rows, shards, this.minFlopsPerWorker);
    command.updateWorkers = this.workersFor(this.layout.params.length * shards, command.workers, MIN_UPDATE_ELEMENTS_PER_WORKER);
    command.step = step;
    command.lr = lr;
    command.invBatch = 1 / rows;
    await this.execute(command);
    return this.sumStats(shards, command.workers, this.stepStats);
  }

  /** Loss and correct count over order[start, end) at the current weights; nothing is updated. */
  async evaluate(start: number, end: number): Promise<StepStats> {
    let lossSum = 0;
    let correct = 0;
    let workers = 1;
    // An evaluation set can exceed MAX_SHARDS × CHUNK_ROWS rows: take it in pieces of that size.
    const span = MAX_SHARDS * CHUNK_ROWS;
    for (let from = start; from < end; from += span) {
      const to = Math.min(end, from + span);
      const command = this.command;
      command.kind = COMMAND_EVALUATE;
      command.start = from;
      command.end = to;
      command.shardRows = shardRowsFor(to - from);
      command.shards = shardCount(to - from, command.shardRows);
      command.workers = this.workersFor((this.flopsPerRow / 3) * (to - from), command.shards, this.minFlopsPerWorker);
      command.updateWorkers = 0;
      await this.execute(command);
      const stats = this.sumStats(command.shards, command.workers, this.evaluationStats);
      lossSum += stats.lossSum;
      correct += stats.correct;
      workers = Math.max(workers, stats.workers);
    }
    return { lossSum, correct, workers };
  }

  /** Stops the worker loops and the pool. Safe to call after a failure, and more than once. */
  async close(): Promise<void> {
    if (!this.pool) return;
    this.publish({ ...emptyCommand(), kind: COMMAND_EXIT }, Number.POSITIVE_INFINITY);
    await Promise.race([Promise.all(this.serving), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    await this.pool.destroy();
  }

  /**
   * Writes a command for the workers (a seqlock: the generation is odd while the fields change)
   * and wakes `wake` of them — only as many as will join, so idle threads stay asleep.
   */
  private publish(command: Command, wake: number): void {
    const { control, controlReals } = this.views;
    const generation = Atomics.add(control, GENERATION, 1) + 1;
    writeCommand(control, controlReals, command);
    Atomics.store(control, DONE, 0);
    Atomics.store(control, BARRIER, 0);
    Atomics.store(control, SHARD_CURSOR, 0);
    Atomics.store(control, UPDATE_CURSOR, 0);
    Atomics.store(control, JOINED, joinedWord(generation + 1));
    Atomics.add(control, GENERATION, 1);
    Atomics.notify(control, GENERATION, wake);
  }

  private workersFor(work: number, most: number, minimumPerWorker: number): number {
    if (!this.pool) return 1;
    return Math.max(1, Math.min(this.threads, most, Math.floor(work / minimumPerWorker)));
  }

  private async execute(command: Command): Promise<void> {
    if (this.failure || Atomics.load(this.views.control, FAILED)) throw this.failed();
    if (command.workers === 1) {
      // Not worth a hand-off: the coordinator computes everything itself, in the same shard order.
      this.local.computeShards(command, 0, command.shards);
      if (command.kind === COMMAND_TRAIN) this.local.reduceAndUpdate(command, 0, this.layout.params.length);
      return;
    }
    const { control } = this.views;
    this.publish(command, command.workers - 1);
    // The coordinator is participant 0: it claims shards and update blocks like any worker.
    this.local.computeClaimedShards(command);
    if (command.kind === COMMAND_TRAIN) {
      arriveAtBarrier(control);
      await this.waitFor(BARRIER, command.workers);
      this.local.updateClaimedBlocks(command);
    }
    await this.waitFor(DONE, command.workers - 1);
  }

  /**
   * Waits (spinning, then Atomics.wait) until control[word] ≥ target. Every few ms it yields to the
   * event loop, where a dead worker's rejection arrives, and checks for failure.
   */
  private async waitFor(word: number, target: number): Promise<void> {
    const { control } = this.views;
    try {
      while (!waitAtLeast(control, word, target, FAILURE_POLL_MS)) {
        await yieldToEventLoop();
        if (this.failure) break;
      }
    } catch (error) {
      if (!(error instanceof PeerFailed)) throw error;
    }
    if (this.failure || Atomics.load(control, FAILED)) {
      Atomics.store(control, FAILED, 1);
      // The failing worker's rejection carries the message; give it a moment to arrive.
      for (let i = 0; i < 50 && !this.failure; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      throw this.failed();
    }
  }

  private failed(): WorkerFailure {
    return new WorkerFailure(`worker thread failed: ${this.failure?.message ?? 'unknown error'}`);
  }

  /** Shard statistics summed in shard order: the same order whoever computed them. */
  private sumStats(shards: number, workers: number, into: StepStats): StepStats {
    let lossSum = 0;
    let correct = 0;
    for (let s = 0; s < shards; s++) {
      lossSum += this.views.stats[s * 2]!;
      correct += this.views.stats[s * 2 + 1]!;
    }
    into.lossSum = lossSum;
    into.correct = correct;
    into.workers = workers;
    return into;
  }
}
