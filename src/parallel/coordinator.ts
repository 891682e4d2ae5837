// The coordinator: owns the arena and the piscina pool, and runs one synchronous data-parallel
// step at a time — shards out, gradient sums in, reduce, update — before the next step starts.
// Commands reach the workers through the shared control block (Atomics wait/notify), not through
// messages: piscina starts and owns the workers, each of which runs one long 'serve' task.
import { Piscina } from 'piscina';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { multiplyAddsPerSample, type NetworkShape } from '../model/layout.js';
import { optimizerStateBuffers, type OptimizerSettings } from '../optim/optimizers.js';
import { allocateArena, arenaViews, planArena, type ArenaLayout, type ArenaViews } from './arena.js';
import { TILE_ROWS } from '../model/network.js';
import {
  COMMAND_EVALUATE, COMMAND_EXIT, COMMAND_TRAIN, DONE, FAILED, MAX_PARTICIPANTS, MAX_TEAM, PARTICIPANT_ROWS, PARTICIPANT_SHARDS, READY,
  closeCommand, emptyCommand, publishCommand, resetRound, teamPhases, type Command,
} from './control.js';
import { PHASES } from './arena.js';
import { ShardEngine, neuronSplitLayers } from './engine.js';
import { loadKernelSet, type KernelSetName } from './kernel-set.js';
import type { ServeTask, WorkerSetup } from './protocol.js';
import { FAILURE_POLL_MS, PeerFailed, participantRound, waitAtLeast } from './round.js';
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
const MIN_UPDATE_ELEMENTS_PER_WORKER = 32 * 1024;
/**
 * Rows per team member at least: two tiles. On smaller batches the phases' waits cost more than the
 * split saves (the rule may change freely: a split on tile boundaries never changes a bit).
 */
const MIN_MEMBER_ROWS = 2 * TILE_ROWS;

export interface CoordinatorOptions {
  shape: NetworkShape;
  /** Rows in the data region. */
  rows: number;
  /** Compute threads: the coordinator and threads − 1 workers (resolved options cap it at the cores). */
  threads: number;
  optimizer: OptimizerSettings;
  kernels: KernelSetName;
  /** Work below which a step runs on fewer threads (benchmarks set 0 to measure the hand-off itself). */
  minFlopsPerWorker?: number;
  /** Dropout on the hidden layers in training steps, its masks seeded by `seed`. */
  dropout?: { rate: number; seed: number } | undefined;
}

export interface StepStats {
  lossSum: number;
  correct: number;
  /** Workers that took part (1 = computed inline on the coordinator). */
  workers: number;
  /** Participants per shard (1: each shard computed by one participant). */
  team: number;
}

/** Where a profiled step's time went, per step, in milliseconds (means over participants). */
export type StepProfile = Record<(typeof PHASES)[number], number>;

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
  /** Leading layers a team splits by neurons going forward (neuronSplitLayers). */
  private readonly neuronLayers: number;
  private readonly minFlopsPerWorker: number;
  private failure: Error | undefined;
  private readonly stepStats: StepStats = { lossSum: 0, correct: 0, workers: 0, team: 1 };
  private readonly evaluationStats: StepStats = { lossSum: 0, correct: 0, workers: 0, team: 1 };
  /** Shards each participant computed (a team's shard counts for whoever summed its stats) over all training steps so far (index 0: the coordinator). */
  readonly trainShardsByParticipant: number[];
  /** Rows each participant ran forward and back over all training steps so far. */
  readonly trainRowsByParticipant: number[];
  /** Set to time every training step's phases (the coordination bench); read with takeProfile(). */
  profiling = false;
  private readonly profileTotals: number[] = PHASES.map(() => 0);
  private profiledSteps = 0;

  constructor(options: CoordinatorOptions) {
    const { shape, rows, optimizer, kernels, threads } = options;
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_PARTICIPANTS) throw new RangeError(`threads must be an integer from 1 to ${MAX_PARTICIPANTS}, got ${threads}`);
    this.threads = threads;
    this.trainShardsByParticipant = new Array<number>(threads).fill(0);
    this.trainRowsByParticipant = new Array<number>(threads).fill(0);
    this.layout = planArena({ shape, rows, chunkRows: CHUNK_ROWS, maxShards: MAX_SHARDS, slots: threads, stateBuffers: optimizerStateBuffers(optimizer.name), dropout: options.dropout });
    this.memory = allocateArena(this.layout);
    this.views = arenaViews(this.memory, this.layout);
    const localKernels = loadKernelSet(kernels, this.memory);
    this.kernelSet = localKernels.name;
    this.local = new ShardEngine(this.memory, this.layout, 0, localKernels, optimizer);
    this.flopsPerRow = 6 * multiplyAddsPerSample(shape);
    this.neuronLayers = neuronSplitLayers(shape);
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
    const command = this.prepare(COMMAND_TRAIN, start, end, this.flopsPerRow);
    command.updateWorkers = this.workersFor(this.layout.params.length * command.shards, command.workers, MIN_UPDATE_ELEMENTS_PER_WORKER);
    command.step = step;
    command.lr = lr;
    command.invBatch = 1 / (end - start);
    command.profile = this.profiling ? 1 : 0;
    await this.execute(command);
    const { control, timings } = this.views;
    for (let p = 0; p < command.workers; p++) {
      this.trainShardsByParticipant[p]! += control[PARTICIPANT_SHARDS + p]!;
      this.trainRowsByParticipant[p]! += control[PARTICIPANT_ROWS + p]!;
    }
    if (command.profile) {
      for (let p = 0; p < command.workers; p++) PHASES.forEach((_, i) => (this.profileTotals[i]! += timings[p]![i]! / command.workers));
      this.profiledSteps++;
    }
    return this.sumStats(command, this.stepStats);
  }

  /** Mean time per profiled step in each phase (compute, team waits, step barrier, reduce and update), and resets the totals. */
  takeProfile(): StepProfile & { steps: number } {
    const steps = this.profiledSteps;
    const profile = Object.fromEntries(PHASES.map((phase, i) => [phase, steps ? this.profileTotals[i]! / steps : 0])) as StepProfile;
    this.profileTotals.fill(0);
    this.profiledSteps = 0;
    return { ...profile, steps };
  }

  /**
   * The outputs (probabilities for the classifying losses) for rows order[start, end) at the current
   * weights, [rows × outputs], computed by the coordinator with the run's kernel set (scoring a test or
   * validation set after training: milliseconds where the TypeScript reference took seconds).
   */
  outputs(start: number, end: number): Float32Array {
    const into = new Float32Array((end - start) * this.layout.plan.shape.sizes.at(-1)!);
    this.local.outputRows(start, end, into);
    return into;
  }

  /** Loss and correct count over order[start, end) at the current weights; nothing is updated. */
  async evaluate(start: number, end: number): Promise<StepStats> {
    let lossSum = 0;
    let correct = 0;
    let workers = 1;
    let team = 1;
    // An evaluation set can exceed MAX_SHARDS × CHUNK_ROWS rows: take it in pieces of that size.
    const span = MAX_SHARDS * CHUNK_ROWS;
    for (let from = start; from < end; from += span) {
      // Forward only: a third of a training step's work per row.
      const command = this.prepare(COMMAND_EVALUATE, from, Math.min(end, from + span), this.flopsPerRow / 3);
      await this.execute(command);
      const stats = this.sumStats(command, this.evaluationStats);
      lossSum += stats.lossSum;
      correct += stats.correct;
      workers = Math.max(workers, stats.workers);
      team = Math.max(team, stats.team);
    }
    return { lossSum, correct, workers, team };
  }

  /** Shards each participant computed (or took part in) in the most recent command (index 0: the coordinator). */
  lastShardsByParticipant(): number[] {
    return Array.from(this.views.control.subarray(PARTICIPANT_SHARDS, PARTICIPANT_SHARDS + this.command.workers));
  }

  /** Rows each participant ran in the most recent command. */
  lastRowsByParticipant(): number[] {
    return Array.from(this.views.control.subarray(PARTICIPANT_ROWS, PARTICIPANT_ROWS + this.command.workers));
  }

  /**
   * The command's common part: rows, shards, and how many participants the work is worth. When
   * there are at least twice as many participants as shards, a training step shares each shard
   * among a team (evaluation, a third of the work per row, keeps one participant per shard).
   */
  private prepare(kind: number, start: number, end: number, flopsPerRow: number): Command {
    const command = this.command;
    const rows = end - start;
    command.kind = kind;
    command.start = start;
    command.end = end;
    command.shardRows = shardRowsFor(rows, this.layout.params.length);
    command.shards = shardCount(rows, command.shardRows);
    const largestTeam = kind === COMMAND_TRAIN ? Math.min(MAX_TEAM, Math.max(1, Math.floor(Math.min(rows, command.shardRows) / MIN_MEMBER_ROWS))) : 1;
    const participants = this.workersFor(flopsPerRow * rows, command.shards * largestTeam, this.minFlopsPerWorker);
    // teams share one-chunk shards only (a longer shard is already a large piece of work)
    const teams = participants >= 2 * command.shards && command.shardRows <= CHUNK_ROWS;
    command.team = teams ? Math.floor(participants / command.shards) : 1;
    command.phases = teams ? teamPhases(this.neuronLayers) : 0;
    command.workers = command.team > 1 ? command.team * command.shards : Math.min(participants, command.shards);
    command.updateWorkers = 0;
    command.profile = 0;
    return command;
  }

  /** Stops the worker loops and the pool. Safe to call after a failure, and more than once. */
  async close(): Promise<void> {
    if (!this.pool) return;
    publishCommand(this.views.control, this.views.controlReals, { ...emptyCommand(), kind: COMMAND_EXIT }, Number.POSITIVE_INFINITY);
    await Promise.race([Promise.all(this.serving), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    await this.pool.destroy();
  }

  private workersFor(work: number, most: number, minimumPerWorker: number): number {
    if (!this.pool) return 1;
    return Math.max(1, Math.min(this.threads, most, Math.floor(work / minimumPerWorker)));
  }

  private async execute(command: Command): Promise<void> {
    const { control, controlReals, timings } = this.views;
    if (this.failure || Atomics.load(control, FAILED)) throw this.failed();
    // A command worth one participant is not handed off: the coordinator runs the same round alone.
    for (let p = 0; p < command.workers; p++) {
      control[PARTICIPANT_SHARDS + p] = 0; // a worker that never joins reports nothing
      control[PARTICIPANT_ROWS + p] = 0;
      if (command.profile) timings[p]!.fill(0);
    }
    const generation = command.workers === 1 ? (resetRound(control, command), 0) : publishCommand(control, controlReals, command, command.workers - 1);
    const round = participantRound(this.local, command, 0);
    for (let next = round.next(); !next.done; next = round.next()) {
      const { word, target } = next.value;
      if (Atomics.load(control, word) < target) await this.waitFor(word, target);
    }
    if (command.workers === 1) return;
    // Work is claimed, so all of it may be done before a worker woke: those that joined finish, the rest never start.
    const joined = closeCommand(control, generation);
    if (joined > 0) await this.waitFor(DONE, joined);
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
  private sumStats({ shards, workers, team }: Command, into: StepStats): StepStats {
    let lossSum = 0;
    let correct = 0;
    for (let s = 0; s < shards; s++) {
      lossSum += this.views.stats[s * 2]!;
      correct += this.views.stats[s * 2 + 1]!;
    }
    into.lossSum = lossSum;
    into.correct = correct;
    into.workers = workers;
    into.team = team;
    return into;
  }
}
