// A small grid search scored by k-fold cross-validation: every (configuration, fold) pair is one
// single-threaded training run, and the runs go to a pool of worker threads, one per core. Each
// run is deterministic for its seed, so the table is the same whatever the order they finish in.
// The best configuration is then trained again on all the training rows, through train() (the
// normal checks and the guarded save of `out`).
import { getMaxListeners, setMaxListeners } from 'node:events';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { materialize, targetCount, type DataDescription, type Dataset, type Targets } from './data/dataset.js';
import { randomStream, shuffleInPlace } from './data/random.js';
import { chooseDefaults } from './defaults.js';
import { InputError, optionRef } from './errors.js';
import type { EpochEntry } from './run/history.js';
import type { Model } from './model/model.js';
import type { OptimizerName } from './optim/optimizers.js';
import { checkPathOptions } from './options/paths.js';
import { DEFAULTS, resolveOptions } from './options/resolve.js';
import { loadData, train, trainPrepared, type TrainOptions, type TrainResult } from './train.js';

/** One point of the grid. */
export interface TuneConfig {
  layers: readonly number[];
  lr: number;
  weightDecay: number;
}

/** The grid: each list replaces the default one. */
export interface TuneGrid {
  layers?: readonly (readonly number[])[] | undefined;
  lr?: readonly number[] | undefined;
  weightDecay?: readonly number[] | undefined;
}

export type TuneOptions = Omit<TrainOptions, 'onEpoch' | 'onProgress' | 'onStart' | 'onLoadProgress' | 'resume' | 'checkpointDir' | 'init'> & {
  /** Folds of the cross-validation (default 3). */
  folds?: number | undefined;
  grid?: TuneGrid | undefined;
  /** Training runs at once (default: the cores); each runs on one thread. */
  parallel?: number | undefined;
  /** Called as each configuration's folds are all scored (in grid order). */
  onResult?: ((result: TuneResult, index: number, count: number) => void) | undefined;
};

export interface TuneResult {
  config: TuneConfig;
  /** The defaults' configuration: what train chooses for these rows when layers, lr and weightDecay are left out (with an optimizer given but no rate: that optimizer's usual rate). */
  baseline: boolean;
  /** Validation score per fold: accuracy, or R² for regression. */
  scores: number[];
  mean: number;
  std: number;
  /** Epochs each fold's run kept (its best validation epoch under early stopping). */
  epochs: number[];
}

export interface TuneReport {
  metric: 'accuracy' | 'r2';
  folds: number;
  /** The table: one row per configuration searched, in grid order, with its fold scores. */
  grid: TuneResult[];
  /** The defaults' configuration; a row of the default grid, and of a given one only where its lists hold it. */
  baseline: TuneConfig;
  best: TuneConfig;
  /** The best configuration trained on all training rows (its test score, its saved file). */
  refit: TrainResult;
  model: Model;
  test: TrainResult['test'];
  savedTo: string | null;
  /** Epochs of the refit: the median of the best configuration's folds. */
  refitEpochs: number;
  seconds: number;
}

/** What one worker run needs: the rows shared, the configuration, which rows train and which score. */
export interface FoldTask {
  options: Record<string, unknown>;
  data: SharedData;
  trainRows: Int32Array;
  scoreRows: Int32Array;
}

/** A dataset whose features sit in shared memory, so that every worker reads the same copy. */
export interface SharedData {
  source: string;
  rows: number;
  features: number;
  x: Float32Array;
  targets: Targets;
  schema: DataDescription['schema'];
  autoNormalize: DataDescription['autoNormalize'];
}

export interface FoldOutcome {
  score: number;
  epochs: number;
}

const DEFAULT_FOLDS = 3;

export async function tune(options: TuneOptions): Promise<TuneReport> {
  const started = performance.now();
  if (typeof options !== 'object' || options === null) throw new InputError('tune: options must be an object');
  const { folds = DEFAULT_FOLDS, grid = {}, parallel = availableParallelism(), onResult, ...trainOptions } = options;
  if (!Number.isInteger(folds) || folds < 2 || folds > 50) throw new InputError(`${optionRef('folds')} must be an integer from 2 to 50, got ${String(folds)}`);
  if (!Number.isInteger(parallel) || parallel < 1) throw new InputError(`tune: parallel must be a whole number ≥ 1, got ${String(parallel)}`);
  if (onResult !== undefined && typeof onResult !== 'function') throw new InputError('tune: onResult must be a function');
  const resolved = resolveOptions('train', trainOptions, ['signal', 'onData']);
  for (const name of ['layers', 'lr', 'weightDecay'] as const) {
    if (trainOptions[name] !== undefined) throw new InputError(`tune: ${optionRef(name)} is what the grid searches; give it in grid.${name} instead`);
  }
  if (typeof resolved.data !== 'string') throw new InputError('tune: data must be a file or builtin:NAME (each run reads it as train does)');
  // Outputs against inputs before the search, not only at the refit after it.
  (await checkPathOptions('train', resolved)).release();
  // Read once, as train reads it (the test set is left to the refit).
  const opened = await loadData({ ...resolved, testData: undefined }, {}, undefined);
  const data = shareData(opened.training);
  // The grid's rates are for one optimizer: the caller's, or the data's default one, for every run.
  const { configs, baseline, optimizer } = gridConfigs(grid, data, trainOptions);
  const assignment = foldOf(data, folds, resolved.seed);
  if (data.rows < folds * 2) throw new InputError(`${optionRef('folds')} ${folds}: ${data.source} has only ${data.rows} rows`);
  // The folds' runs: everything the caller gave except where the data and outputs go. Each run
  // chooses its validation split and early stopping from its own rows, as train does.
  const { out: _out, testData: _testData, signal, onData: _onData, ...runOptions } = trainOptions as TrainOptions;
  const tasks: FoldTask[] = [];
  for (const config of configs) {
    for (let f = 0; f < folds; f++) {
      const trainRows: number[] = [];
      const scoreRows: number[] = [];
      for (let r = 0; r < data.rows; r++) (assignment[r] === f ? scoreRows : trainRows).push(r);
      tasks.push({ options: { ...runOptions, data: resolved.data, optimizer, layers: config.layers, lr: config.lr, weightDecay: config.weightDecay, threads: 1 }, data, trainRows: Int32Array.from(trainRows), scoreRows: Int32Array.from(scoreRows) });
    }
  }
  const outcomes = await runAll(tasks, Math.min(parallel, tasks.length), signal);
  const table: TuneResult[] = configs.map((config, c) => {
    const mine = outcomes.slice(c * folds, (c + 1) * folds);
    const scores = mine.map((o) => o.score);
    const mean = scores.reduce((a, b) => a + b, 0) / folds;
    const std = Math.sqrt(scores.reduce((a, s) => a + (s - mean) ** 2, 0) / folds);
    const result = { config, baseline: sameConfig(config, baseline), scores, mean, std, epochs: mine.map((o) => o.epochs) };
    onResult?.(result, c, configs.length);
    return result;
  });
  const best = table[bestRow(table)]!;
  const refitEpochs = median(best.epochs);
  // Refit on every training row: no rows held out, for the epochs the folds found best.
  const refit = await train({ ...(trainOptions as TrainOptions), optimizer, layers: best.config.layers, lr: best.config.lr, weightDecay: best.config.weightDecay, valSplit: 0, patience: undefined, epochs: refitEpochs });
  return {
    metric: data.targets.kind === 'values' ? 'r2' : 'accuracy',
    folds,
    grid: table,
    baseline,
    best: best.config,
    refit,
    model: refit.model,
    test: refit.test,
    savedTo: refit.savedTo,
    refitEpochs,
    seconds: (performance.now() - started) / 1000,
  };
}

/** The row to refit: the highest mean score; a tie goes to the defaults' configuration, then to the earlier row. */
export function bestRow(table: readonly TuneResult[]): number {
  let best = 0;
  table.forEach((row, i) => {
    const leader = table[best]!;
    if (row.mean > leader.mean || (row.mean === leader.mean && row.baseline && !leader.baseline)) best = i;
  });
  return best;
}

/**
 * The grid the caller gave, or one centred on the defaults' configuration (what train chooses from
 * these rows), which is always in it: so cross-validation picks the defaults' configuration or one
 * that scores better on the same folds. Around it: half and twice its widths, its rate and three
 * times it, a tenth and ten times its weight decay.
 */
function gridConfigs(grid: TuneGrid, data: SharedData, given: Record<string, unknown>): { configs: TuneConfig[]; baseline: TuneConfig; optimizer: OptimizerName } {
  if (typeof grid !== 'object' || grid === null) throw new InputError('tune: grid must be an object with layers, lr and weightDecay lists');
  const fromFile = typeof given.data === 'string' && !given.data.startsWith('builtin:');
  const chosen = fromFile ? chooseDefaults({ rows: data.rows, features: data.features, classes: data.targets.kind === 'classes' ? data.targets.names.length : null, kind: data.schema ? 'table' : 'images' }, given).values : {};
  const optimizer = (given.optimizer as OptimizerName | undefined) ?? chosen.optimizer ?? (DEFAULTS.optimizer as OptimizerName);
  // The data's rate, else the option table's for plain SGD, else the usual one of the optimizer given.
  const baseLr = chosen.lr ?? (optimizer === 'sgd' ? (DEFAULTS.lr as number) : optimizer === 'momentum' ? 0.01 : 0.001);
  const baseline: TuneConfig = { layers: chosen.layers ?? (DEFAULTS.layers as number[]), lr: baseLr, weightDecay: chosen.weightDecay ?? (DEFAULTS.weightDecay as number) };
  const scaled = (factor: number): number[] => baseline.layers.map((size) => Math.max(1, Math.round(size * factor)));
  const layers = grid.layers ?? uniqueLists([scaled(0.5), [...baseline.layers], scaled(2)]);
  const lr = grid.lr ?? [baseLr, baseLr * 3];
  const { weightDecay: decay } = baseline;
  const weightDecay = grid.weightDecay ?? (decay > 0 ? [decay / 10, decay, decay * 10] : [0, 1e-4, 1e-3]);
  for (const [name, list] of [['layers', layers], ['lr', lr], ['weightDecay', weightDecay]] as const) {
    if (!Array.isArray(list) || list.length === 0) throw new InputError(`tune: grid.${name} must be a non-empty list`);
  }
  const configs: TuneConfig[] = [];
  for (const l of layers) for (const r of lr) for (const w of weightDecay) configs.push({ layers: [...l], lr: r, weightDecay: w });
  return { configs, baseline, optimizer };
}

function sameConfig(a: TuneConfig, b: TuneConfig): boolean {
  return a.lr === b.lr && a.weightDecay === b.weightDecay && a.layers.length === b.layers.length && a.layers.every((size, i) => size === b.layers[i]);
}

function uniqueLists(lists: readonly (readonly number[])[]): number[][] {
  const seen = new Set<string>();
  return lists.filter((l) => !seen.has(l.join(',')) && seen.add(l.join(','))).map((l) => [...l]);
}

/** The training rows in shared memory (one copy for every worker). */
function shareData(description: DataDescription): SharedData {
  const x = new Float32Array(new SharedArrayBuffer(description.rows * description.features * 4));
  description.writeFeatures(x);
  const { source, rows, features, targets, schema, autoNormalize } = description;
  return { source, rows, features, x, targets, schema, autoNormalize };
}

/** Fold of each row: a seeded shuffle dealt round-robin, class by class for classification (stratified). */
function foldOf(data: SharedData, folds: number, seed: number): Int32Array {
  const order = Int32Array.from({ length: data.rows }, (_, i) => i);
  shuffleInPlace(order, randomStream(seed, 'folds'));
  const { targets } = data;
  const sorted = targets.kind === 'classes' ? Int32Array.from([...order].sort((a, b) => targets.index[a]! - targets.index[b]!)) : order;
  const fold = new Int32Array(data.rows);
  sorted.forEach((row, i) => (fold[row] = i % folds));
  return fold;
}

/** Runs the tasks on `parallel` worker threads (on this thread when 1), results in task order. */
async function runAll(tasks: readonly FoldTask[], parallel: number, signal: AbortSignal | undefined): Promise<FoldOutcome[]> {
  if (parallel <= 1) {
    const outcomes: FoldOutcome[] = [];
    for (const task of tasks) {
      if (signal?.aborted) throw new InputError('tune: stopped (interrupted)');
      outcomes.push(await fitFold(task));
    }
    return outcomes;
  }
  // One abort listener per queued run: as many as the runs, not a leak.
  if (signal) setMaxListeners(Math.max(getMaxListeners(signal), tasks.length + 1), signal);
  const pool = new Piscina({ filename: new URL('../workers/tune.js', import.meta.url).href, minThreads: parallel, maxThreads: parallel, idleTimeout: 1000 });
  try {
    return await Promise.all(tasks.map((task) => pool.run(task, { signal: signal ?? null }) as Promise<FoldOutcome>));
  } finally {
    await pool.destroy();
  }
}

/** One run: train on some rows, score the model on the others. Called in a worker thread. */
export async function fitFold(task: FoldTask): Promise<FoldOutcome> {
  const { data } = task;
  const rows = (list: Int32Array): DataDescription => subset(data, list);
  const result = await trainPrepared(task.options as unknown as TrainOptions, { training: rows(task.trainRows), test: undefined });
  const scored = materialize(rows(task.scoreRows));
  return { score: scoreModel(result.model, scored), epochs: keptEpochs(result.history) };
}

/** Accuracy, or R² for regression, of a model on a dataset read as it was trained. */
export function scoreModel(model: Model, data: Dataset): number {
  const evaluation = model.evaluate(data);
  return data.targets.kind === 'values' ? (evaluation.r2 ?? Number.NaN) : evaluation.accuracy!;
}

/** The epoch whose weights a run kept: its best validation loss (the first such), else its last. */
function keptEpochs(history: readonly EpochEntry[]): number {
  let best = history.length;
  let bestLoss = Number.POSITIVE_INFINITY;
  for (const entry of history) {
    if (entry.valLoss !== null && entry.valLoss < bestLoss) {
      bestLoss = entry.valLoss;
      best = entry.epoch;
    }
  }
  return Math.max(1, best);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** The regression targets of the listed rows (each row's one value, or one per target). */
function pickValues(targets: Extract<Targets, { kind: 'values' }>, list: Int32Array): Targets {
  const width = targetCount(targets);
  const values = new Float32Array(list.length * width);
  list.forEach((r, i) => values.set(targets.values.subarray(r * width, (r + 1) * width), i * width));
  return { kind: 'values', values, ...(targets.names ? { names: targets.names } : {}) };
}

/** Some rows of the shared data, as a source train reads (the table's schema and scaling kept). */
function subset(data: SharedData, list: Int32Array): DataDescription {
  const { features, targets } = data;
  const picked: Targets = targets.kind === 'classes' ? { kind: 'classes', names: targets.names, index: Int32Array.from(list, (r) => targets.index[r]!) } : targets.kind === 'values' ? pickValues(targets, list) : targets;
  return {
    source: data.source,
    rows: list.length,
    features,
    targets: picked,
    schema: data.schema,
    autoNormalize: data.autoNormalize,
    notes: [],
    writeFeatures: (into) => {
      for (let i = 0; i < list.length; i++) into.set(data.x.subarray(list[i]! * features, (list[i]! + 1) * features), i * features);
    },
  };
}

