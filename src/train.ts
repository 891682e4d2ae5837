// The epoch loop: dataset → arena → seeded batches → coordinator steps → history → model.
import { createHash } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';
import { chooseDefaults, type ChosenDefaults } from './defaults.js';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { batchCount, batchRange, effectiveBatchSize } from './data/batches.js';
import { outputWidth, writeTarget, type DataDescription, type Dataset, type Targets } from './data/dataset.js';
import { csvReading, openTrainingData, type OpenedData } from './data/load.js';
import { Preprocessor } from './data/preprocess.js';
import type { Schema } from './data/schema.js';
import { randomStream, resumableStream, shuffleInPlace, type ResumableRandom } from './data/random.js';
import { InputError, describeValue, optionRef } from './errors.js';
import { WriteError } from './io/atomic.js';
import type { LossKind } from './math/kernels.js';
import { checkCheckpoint, readCheckpoint, writeCheckpoint, type Checkpoint, type StoredCheckpoint } from './run/checkpoint.js';
import type { EpochEntry } from './run/history.js';
import { initializeParameters } from './model/init.js';
import type { NetworkShape } from './model/layout.js';
import { balancedClassWeights, classCounts } from './model/class-weights.js';
import { networkSizeProblem } from './model/limits.js';
import { majorityOf, rSquared, type MajorityBaseline, type RegressionMetrics } from './model/metrics.js';
import type { HeldOut } from './model/json-file.js';
import { Model, assertSavable, loadModel, type Evaluation } from './model/model.js';
import { scheduledLearningRate } from './optim/schedule.js';
import { checkPathOptions } from './options/paths.js';
import { resolveOptions, runFingerprint, type OptionsInput, type Resolved } from './options/resolve.js';
import { Coordinator, WorkerFailure } from './parallel/coordinator.js';
import { kernelNote, resolveKernelSet, type KernelSetId, type KernelSetName } from './parallel/kernel-set.js';

/** What train() is given: the table's options for `train` (data required) and callbacks. */
export type TrainOptions = OptionsInput<'train'> & TrainCallbacks & { data: string | Dataset };
export type ResolvedOptions = Resolved<'train'>;
export type LossChoice = ResolvedOptions['loss'];

/**
 * Callbacks may be async: training waits for a returned promise, and a rejected one stops training
 * (train() rejects with its reason) instead of escaping as an unhandled rejection.
 */
export interface TrainCallbacks {
  /** Called once before the first epoch: the kernel set every thread runs (e.g. native-avx2) and any note on its choice. */
  onStart?: ((run: { kernelSet: KernelSetId; kernelNote: string; threads: number }) => unknown) | undefined;
  /** Called after every epoch with that epoch's history entry. */
  onEpoch?: ((entry: EpochEntry) => unknown) | undefined;
  /** Called after every step with the samples done so far in this epoch. */
  onProgress?: ((done: number, total: number, epoch: number) => unknown) | undefined;
  /** Stops training at the next step boundary; the model trained so far is returned. */
  signal?: AbortSignal | undefined;
  /** Called once the data is read, before training starts: its schema, notes and load time. */
  onData?: ((data: DataSummary) => unknown) | undefined;
  /** Called now and then while a file is read, with the bytes read so far of the total. */
  onLoadProgress?: ((bytes: number, total: number) => unknown) | undefined;
}
const CALLBACKS: readonly (keyof TrainCallbacks)[] = ['onStart', 'onData', 'onLoadProgress', 'onEpoch', 'onProgress', 'signal'];

/** What was read, as training saw it. */
export interface DataSummary {
  source: string;
  /** Training rows plus validation rows (the test set not included). */
  rows: number;
  /** Network inputs (one-hot columns count one per level). */
  features: number;
  /** Each column of a CSV file and what it became (null for builtin sets, IDX files and in-memory data). */
  schema: Schema | null;
  /** Class names, or null for regression. */
  classes: readonly string[] | null;
  /** The loss that runs (--loss auto decides it from the labels). */
  loss: LossKind;
  /** Sentences for the user: columns ignored, rows dropped, regression chosen for a numeric label. */
  notes: string[];
  /** Seconds spent reading and preparing the data (and the test data). */
  loadSeconds: number;
  testRows: number;
  /** Options chosen from the data (a table's size) because the caller left them out, and the line that says so; null for builtin sets, IDX files and plain Datasets. */
  defaults: ChosenDefaults | null;
  /** The validation rows held out (seeded by `seed`), as 0-based rows of the data read; stored in the model. */
  heldOut: HeldOut | null;
  /** Classification: the most common class of the training rows and its share, the accuracy to beat; null for regression. */
  baseline: MajorityBaseline | null;
}

/** Why training ended. */
export type StopReason = 'completed' | 'aborted' | 'early-stopped' | 'diverged';

export interface TrainResult {
  model: Model;
  /** One entry per completed epoch (including those before a --resume). */
  history: EpochEntry[];
  /**
   * Scores on the test set (--test-data, or an IDX directory's t10k files), or null: loss and
   * accuracy; classification's per-class precision, recall and F1 and majority baseline; regression's
   * R², RMSE and MAE in the target's units.
   */
  test: Evaluation | null;
  /** Regression with a validation split: R², RMSE and MAE of the model returned on the validation rows, in the target's units; else null. */
  validation: RegressionMetrics | null;
  /** True when training stopped early because the AbortSignal fired. */
  aborted: boolean;
  stopReason: StopReason;
  /** A sentence for the user when training did not simply complete. */
  message: string | null;
  /** Which family of kernels computed the run: 'native', 'wasm' or 'typescript'. */
  kernels: KernelSetName;
  /** The kernel set by name: native-avx512, native-avx2, native-generic, wasm-relaxed-simd, wasm-simd or typescript. */
  kernelSet: KernelSetId;
  /** Shards each participant computed (or led, in a team) over the run's training steps (index 0: the main thread). */
  shardsByParticipant: number[];
  /** Rows each participant ran forward and back over the run's training steps: a team's members each count their own. */
  rowsByParticipant: number[];
  /** What was read: schema, notes, load time. */
  data: DataSummary;
  /**
   * The file the model was written to (options.out), or null: none was asked for, or no training
   * step ran (stopped before the first one), so an existing file was left as it was.
   */
  savedTo: string | null;
  /** Optimizer steps behind the model, those before a resume included (0: stopped before the first). */
  steps: number;
}

/**
 * Training cannot go on: a worker thread failed (the message names epoch and step) or a checkpoint
 * could not be written (the write error is the cause). The message also says where the weights of
 * the last completed epoch were saved (options.out, as `savedTo`), or that none were.
 */
export class TrainingFailure extends Error {
  override readonly name = 'TrainingFailure';
  /** The file the last good weights were written to, or null. */
  readonly savedTo: string | null;

  constructor(message: string, options: { cause?: unknown; savedTo?: string | null } = {}) {
    super(message, { cause: options.cause });
    this.savedTo = options.savedTo ?? null;
  }
}

/**
 * Published as the data is read ({ stage: 'read' }) and copied into the shared memory ({ stage:
 * 'copy' }): a diagnostics hook (node:diagnostics_channel) that costs nothing unsubscribed. The
 * stop tests use it to send a signal while loading is provably in progress.
 */
export const loadChannel = channel('gradpool:load');

/** Longest stretch the event loop is kept waiting while steps run (signals, progress). */
const YIELD_EVERY_MS = 50;

export async function train(options: TrainOptions): Promise<TrainResult> {
  return trainPrepared(options, undefined);
}

/**
 * train() on data already opened (tune's folds: some rows of a table, read once): `prepared`
 * replaces the reading of options.data, which then only names the source.
 */
export async function trainPrepared(given: TrainOptions, prepared: OpenedData | undefined): Promise<TrainResult> {
  const asked = resolveOptions('train', given, CALLBACKS);
  // Own properties only (resolveOptions reads no inherited option; neither may the callbacks).
  const options = Object.fromEntries(Object.entries(given)) as TrainOptions;
  for (const name of ['onStart', 'onData', 'onLoadProgress', 'onEpoch', 'onProgress'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new InputError(`train: ${name} must be a function`);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new InputError('train: signal must be an AbortSignal');
  // Outputs against inputs and each other, before any work; the inputs stay protected from every
  // write until the run ends (io/guard.ts checks again at write time).
  const protection = await checkPathOptions('train', asked);
  try {
    return await trainChecked(asked, options, prepared);
  } finally {
    protection.release();
  }
}

async function trainChecked(asked: ResolvedOptions, options: TrainOptions, prepared: OpenedData | undefined): Promise<TrainResult> {
  const checkpoint = asked.resume ? await readCheckpoint(asked.resume) : undefined;
  const init = await startingModel(asked.init, options);
  const loadStarted = performance.now();
  if (loadChannel.hasSubscribers) loadChannel.publish({ stage: 'read' });
  let loaded: OpenedData | undefined = prepared ?? (await loadData(asked, options, init));
  // Only these facts outlive the copy into the arena, so anything loaded can be collected then.
  const { source, rows, features, targets, schema } = loaded.training;
  // Data read from a file (a CSV table, IDX images) gets defaults chosen from its size for the
  // options left out; builtin sets and Datasets in memory keep the table's, and a run from a model
  // keeps the model's architecture.
  const fromFile = typeof asked.data === 'string' && !asked.data.startsWith('builtin:');
  const tableDefaults = !init && fromFile ? chooseDefaults({ rows, features, classes: targets.kind === 'classes' ? targets.names.length : null, kind: schema ? 'table' : 'images' }, givenOptions(options)) : null;
  const resolved: ResolvedOptions = tableDefaults ? { ...asked, ...tableDefaults.values } : asked;
  if (resolved.patience !== undefined && resolved.valSplit === 0) throw new InputError(`${optionRef('patience')} needs a validation set: add ${optionRef('valSplit')} (e.g. 0.1)`);
  const loss = init ? init.shape.loss : chooseLoss(resolved.loss, targets, source);
  const outputs = outputWidth(targets, loss);
  const leaky = resolved.activation === 'leaky-relu' ? { leakySlope: resolved.leakySlope } : {};
  const valRows = Math.round(rows * resolved.valSplit);
  const trainRows = rows - valRows;
  // Class weights are fitted on the training rows and shape the run (the workers read them from the
  // shape): the seeded split is drawn before the arena exists, then copied into it.
  if (resolved.classWeight === 'balanced' && targets.kind !== 'classes') throw new InputError(`${optionRef('classWeight')} balanced weighs classes; ${source} has a regression target`);
  const split = resolved.classWeight === 'balanced' ? seededSplit(rows, resolved.seed) : null;
  const weighted = split && targets.kind === 'classes' ? { classWeights: balancedClassWeights(classCounts(targets.index, split.subarray(0, trainRows), targets.names.length)) } : {};
  const base: NetworkShape = init ? { sizes: init.shape.sizes, activation: init.shape.activation, loss: init.shape.loss, ...(init.shape.leakySlope === undefined ? {} : { leakySlope: init.shape.leakySlope }) } : { sizes: [features, ...resolved.layers, outputs], activation: resolved.activation, loss, ...leaky };
  const shape: NetworkShape = { ...base, ...weighted };
  // The limits a model file is loaded under (model/limits.ts): what trains here, predict can load.
  const tooLarge = networkSizeProblem(shape);
  if (tooLarge) throw new InputError(`${source}${init ? '' : ` with ${optionRef('layers')} ${resolved.layers.join(',')}`}: ${tooLarge}`);
  if (resolved.out) assertSavable(resolved.out, shape, optionRef('out'));
  const labels = targets.kind === 'classes' ? targets.names : null;
  const testRows = loaded.test?.rows ?? 0;
  if (trainRows < 1) throw new InputError(`${optionRef('valSplit')} ${resolved.valSplit} leaves no training rows out of ${rows}`);
  const kernels = resolveKernelSet(resolved.kernels);
  const notes = [...loaded.training.notes, ...(loaded.test?.notes ?? [])];
  const normalizeKind = resolved.normalize === 'auto' ? loaded.training.autoNormalize : resolved.normalize;

  const coordinator = new Coordinator({
    shape,
    rows: rows + testRows,
    threads: resolved.threads,
    kernels,
    optimizer: { name: resolved.optimizer, momentum: resolved.momentum, beta1: resolved.beta1, beta2: resolved.beta2, alpha: resolved.alpha, epsilon: resolved.epsilon, weightDecay: resolved.weightDecay },
    dropout: resolved.dropout > 0 ? { rate: resolved.dropout, seed: resolved.seed } : undefined,
  });
  try {
    const { views } = coordinator;
    if (loadChannel.hasSubscribers) loadChannel.publish({ stage: 'copy' });
    copyRows(loaded.training, views.x, views.y, 0, outputs);
    if (loaded.test) copyRows(loaded.test, views.x, views.y, rows, outputs);
    loaded = undefined;
    // A checkpoint knows its data by content (the rows as written here, before normalization), not
    // by the path it was read from; hashed only when a checkpoint is written or read. The exact
    // kernel set (native-avx2, wasm-simd, …) counts too: results differ between them.
    const fingerprint =
      resolved.checkpointDir || checkpoint
        ? runFingerprint(resolved, { dataContent: contentHash(views.x.subarray(0, rows * features), views.y.subarray(0, rows * outputs)), dataRows: rows, dataFeatures: features, classNames: labels, ...(shape.classWeights ? { classWeights: shape.classWeights } : {}), kernelSet: coordinator.kernelSet, init: init ? contentHash(init.parameters, new Float32Array(0)) : null })
        : '';
    // order = [training rows | validation rows | test rows]; the validation rows are a seeded draw.
    if (split) views.order.set(split);
    else seededSplit(rows, resolved.seed, views.order.subarray(0, rows));
    for (let i = rows; i < rows + testRows; i++) views.order[i] = i;
    // Preprocessing fitted on the training rows only, applied to every row, carried by the model;
    // a run that starts from a model keeps the model's (its weights expect exactly those inputs).
    const trainOrder = views.order.subarray(0, trainRows);
    const regression = targets.kind === 'values';
    const fitted = init ? { preprocessor: init.preprocessor, notes: [] } : Preprocessor.fit(views.x, views.y, features, outputs, trainOrder, { schema, normalize: normalizeKind, regression });
    const { preprocessor } = fitted;
    notes.push(...fitted.notes);
    preprocessor.transformInputs(views.x, features, 0, rows + testRows);
    if (regression) preprocessor.transformTargets(views.y, 0, (rows + testRows) * outputs);
    // Losses are reported in the target's units: the scaled MSE times 1/scale² (several targets,
    // each scaled by its own: in scaled units; their metrics are in each target's units).
    const lossUnit = preprocessor.lossUnit;
    if (init) views.parameters.set(init.parameters);
    else initializeParameters(shape, views.parameterLayers, randomStream(resolved.seed, 'init'));
    // The held-out rows, as the model records them: sorted 0-based rows of the data as read.
    const heldOut: HeldOut | null = valRows > 0 ? { seed: resolved.seed, fraction: resolved.valSplit, rows: Array.from(views.order.subarray(trainRows, rows)).sort((a, b) => a - b) } : null;
    const baseline = targets.kind === 'classes' ? majorityOf(classCounts(targets.index, trainOrder, targets.names.length), targets.names) : null;
    if (shape.classWeights && labels) notes.push(`class weights (--class-weight balanced, fitted on the training rows): ${labels.slice(0, 10).map((label, c) => `${label} ${Number(shape.classWeights![c]!.toPrecision(4))}`).join(', ')}${labels.length > 10 ? ', …' : ''}`);
    const data: DataSummary = { source, rows, features, schema: preprocessor.schema, classes: labels, loss, notes, loadSeconds: (performance.now() - loadStarted) / 1000, testRows, defaults: tableDefaults, heldOut, baseline };
    await settled(options.onData?.(data));
    await coordinator.ready();
    await settled(options.onStart?.({ kernelSet: coordinator.kernelSet as KernelSetId, kernelNote: kernelNote(resolved.kernels, kernels), threads: coordinator.threads }));

    const loop = new EpochLoop(coordinator, resolved, trainRows, valRows, labels !== null, fingerprint, options, lossUnit, targets.kind === 'values' ? sumSquaredDeviation(views.y, views.order.subarray(trainRows, rows), outputs) : 0);
    if (checkpoint) loop.restore(checkpoint, rows);
    const keep = (parameters: Float32Array): Model => new Model(shape, parameters, labels, null, { preprocessor, heldOut });
    let run;
    try {
      run = await loop.run();
    } catch (error) {
      if (error instanceof TrainingFailure || error instanceof WriteError) throw await keepLastGood(error, loop, resolved.out, keep);
      throw error;
    }
    const { stopReason } = run;
    // A stop before the first step leaves an existing --out as it was: there is nothing trained to save.
    const trained = loop.steps > 0;
    const message = trained || !resolved.out ? run.message : `${run.message}; nothing was trained, so ${resolved.out} was not written`;
    const model = keep(loop.finalParameters());
    let testResult: TrainResult['test'] = null;
    // the test and validation scores are computed in the arena, with the weights kept
    if (stopReason !== 'diverged') views.parameters.set(model.parameters);
    if (testRows > 0 && stopReason !== 'diverged') {
      const stats = await coordinator.evaluate(rows, rows + testRows);
      const scores = model.scoreNetworkOutputs(coordinator.outputs(rows, rows + testRows), views.y.subarray(rows * outputs, (rows + testRows) * outputs), testRows, () => views.x.subarray(rows * features, (rows + testRows) * features), (row) => `test row ${row + 1}`);
      testResult = { loss: (stats.lossSum * lossUnit) / testRows, accuracy: labels ? stats.correct / testRows : null, samples: testRows, ...scores };
    }
    const validation = valRows > 0 && targets.kind === 'values' && stopReason !== 'diverged' ? validationScores(model, coordinator, trainRows, rows, features, outputs) : null;
    const savedTo = resolved.out && trained ? resolved.out : null;
    if (savedTo) await model.save(savedTo);
    const shardsByParticipant = [...coordinator.trainShardsByParticipant];
    const rowsByParticipant = [...coordinator.trainRowsByParticipant];
    return { model, history: loop.history, test: testResult, validation, aborted: stopReason === 'aborted', stopReason, message, kernels, kernelSet: coordinator.kernelSet as KernelSetId, shardsByParticipant, rowsByParticipant, data, savedTo, steps: loop.steps };
  } finally {
    await coordinator.close();
  }
}

/** Rows 0..rows−1 in the seeded order of the split (training rows first), written into `into` when given. */
function seededSplit(rows: number, seed: number, into: Int32Array = new Int32Array(rows)): Int32Array {
  for (let i = 0; i < rows; i++) into[i] = i;
  shuffleInPlace(into, randomStream(seed, 'split'));
  return into;
}

/** The model's regression scores on the validation rows order[from, to) (the arena holds them as prepared for training). */
function validationScores(model: Model, coordinator: Coordinator, from: number, to: number, features: number, outputs: number): RegressionMetrics | null {
  const { order, x, y } = coordinator.views;
  const gathered = (values: Float32Array, width: number): Float32Array => {
    const rows = new Float32Array((to - from) * width);
    for (let i = from; i < to; i++) rows.set(values.subarray(order[i]! * width, (order[i]! + 1) * width), (i - from) * width);
    return rows;
  };
  const { r2, rmse, mae, perTarget } = model.scoreNetworkOutputs(coordinator.outputs(from, to), gathered(y, outputs), to - from, () => gathered(x, features), (row) => `validation row ${row + 1}`);
  return rmse === null || mae === null || perTarget === null ? null : { r2, rmse, mae, perTarget };
}

/**
 * A run that failed mid-way (a worker, a checkpoint write) still saves what it trained, as a
 * divergence does: the weights of the last completed epoch (the best one under --patience) go to
 * `out`. Returns the TrainingFailure to throw, its message saying what was saved, or why not.
 */
async function keepLastGood(error: TrainingFailure | WriteError, loop: EpochLoop, out: string | undefined, keep: (parameters: Float32Array) => Model): Promise<TrainingFailure> {
  const last = loop.lastGood();
  if (!out) return error instanceof TrainingFailure ? error : new TrainingFailure(error.message, { cause: error });
  if (last.epoch === 0) return new TrainingFailure(`${error.message}; no epoch was completed, so ${out} was not written`, { cause: error });
  try {
    await keep(last.parameters).save(out);
  } catch (saveError) {
    return new TrainingFailure(`${error.message}; saving the weights of epoch ${last.epoch} to ${out} failed too (${saveError instanceof Error ? saveError.message : String(saveError)})`, { cause: error });
  }
  return new TrainingFailure(`${error.message}; saved the weights from the end of epoch ${last.epoch} to ${out}`, { cause: error, savedTo: out });
}

/** The epochs of one run, with the state a checkpoint must carry. */
class EpochLoop {
  readonly history: EpochEntry[] = [];
  private epoch = 0;
  private step = 0;
  private shuffle: ResumableRandom;
  private bestValLoss: number | null = null;
  private epochsWithoutImprovement = 0;
  private bestParameters: Float32Array | null = null;
  /** Weights at the end of the last epoch whose loss was finite: what divergence falls back to. */
  private lastFinite: Float32Array;
  private readonly batchSize: number;
  private readonly trainOrder: Int32Array;
  /** The current epoch's sums (trainEpoch fills them; one object for the run). */
  private readonly epochTotals = { lossSum: 0, correct: 0, threads: 1, lr: 0 };
  /** When the step loop last let the event loop run (stop signals, progress output). */
  private lastYield = 0;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly options: ResolvedOptions,
    private readonly trainRows: number,
    private readonly valRows: number,
    private readonly classification: boolean,
    private readonly fingerprint: string,
    private readonly callbacks: TrainOptions,
    /** Reported loss per computed loss (regression: back to the target's units). */
    private readonly lossUnit: number,
    /** Regression: Σ (y − ȳ)² over the validation rows (scaled units), the denominator of R². */
    private readonly valDeviation: number,
  ) {
    this.batchSize = effectiveBatchSize(options.mode, options.batchSize, trainRows);
    this.shuffle = resumableStream(options.seed, 'shuffle');
    this.trainOrder = coordinator.views.order.subarray(0, trainRows);
    this.lastFinite = coordinator.views.parameters.slice();
  }

  /** Optimizer steps taken, those before a resume included. */
  get steps(): number {
    return this.step;
  }

  /** Checks the checkpoint against this run (InputError naming the field), then continues from it. */
  restore(checkpoint: StoredCheckpoint, rows: number): void {
    const { views } = this.coordinator;
    checkCheckpoint(checkpoint, {
      fingerprint: this.fingerprint,
      parameters: views.parameters.length,
      optimizerBuffers: views.optimizerState.length,
      trainingRows: this.trainOrder,
      rows,
      batches: batchCount(this.trainRows, this.batchSize),
      epochs: this.options.epochs,
    });
    views.parameters.set(checkpoint.parameters);
    checkpoint.optimizerState.forEach((state, i) => views.optimizerState[i]!.set(state));
    this.trainOrder.set(checkpoint.trainOrder);
    this.shuffle = resumableStream(this.options.seed, 'shuffle', checkpoint.shuffleState);
    this.epoch = checkpoint.epoch;
    this.step = checkpoint.step;
    this.history.push(...checkpoint.history);
    this.bestValLoss = checkpoint.bestValLoss;
    this.epochsWithoutImprovement = checkpoint.epochsWithoutImprovement;
    this.bestParameters = checkpoint.bestParameters;
    this.lastFinite = views.parameters.slice();
  }

  /**
   * What a failed run keeps: the best validation epoch's weights under --patience, else those at
   * the end of the last completed epoch (epoch 0: nothing was trained in this run or before it).
   */
  lastGood(): { parameters: Float32Array; epoch: number } {
    if (this.bestParameters) return { parameters: this.bestParameters, epoch: this.history.length - this.epochsWithoutImprovement };
    return { parameters: this.lastFinite, epoch: this.epoch };
  }

  /** The weights to keep: the best validation epoch under --patience, else the current ones. */
  finalParameters(): Float32Array {
    return this.bestParameters ?? this.coordinator.views.parameters;
  }

  async run(): Promise<{ stopReason: StopReason; message: string | null }> {
    const { options, coordinator, callbacks } = this;
    const batches = batchCount(this.trainRows, this.batchSize);
    const started = performance.now() - (this.history.at(-1)?.seconds ?? 0) * 1000;
    // A signal that arrived while the data loaded waits for the event loop: let it land before
    // the first step, so that such a stop trains (and writes) nothing.
    await signalsDelivered();
    this.lastYield = performance.now();
    while (this.epoch < options.epochs) {
      const epochIndex = this.epoch;
      // One seeded permutation per epoch, applied to X and Y together (they share the index).
      shuffleInPlace(this.trainOrder, this.shuffle.next);
      const epochStarted = performance.now();
      Object.assign(this.epochTotals, { lossSum: 0, correct: 0, threads: 1, lr: options.lr });
      const stopped = await this.trainEpoch(epochIndex, batches);
      if (stopped) return stopped;
      const { lossSum, correct, threads, lr } = this.epochTotals;
      const trainSeconds = (performance.now() - epochStarted) / 1000;
      // A finite loss can hide weights that overflowed (e.g. saturated outputs): check them too.
      if (!allFinite(coordinator.views.parameters)) {
        coordinator.views.parameters.set(this.lastFinite);
        this.bestParameters = null;
        return { stopReason: 'diverged', message: `training diverged: weights became non-finite during epoch ${epochIndex + 1}; try a lower learning rate (now ${options.lr}). Kept the weights from the end of epoch ${epochIndex}.` };
      }
      this.epoch++;
      const entry = await this.finishEpoch(lossSum, correct, trainSeconds, (performance.now() - started) / 1000, threads, lr);
      this.history.push(entry);
      this.lastFinite.set(coordinator.views.parameters);
      const stop = this.updateEarlyStopping(entry);
      if (options.checkpointDir) await writeCheckpoint(options.checkpointDir, this.checkpoint());
      await settled(callbacks.onEpoch?.(entry));
      if (stop) return { stopReason: 'early-stopped', message: `early stop: no better validation loss for ${options.patience} epochs; kept the weights of epoch ${this.history.length - this.epochsWithoutImprovement} (val_loss ${this.bestValLoss?.toFixed(4)})` };
    }
    return { stopReason: 'completed', message: null };
  }

  /**
   * The epoch's optimizer steps, summed into this.epochTotals (run() zeroes them); a stop where the epoch
   * ends early. Nothing but the loop: it is optimized while the first epoch runs, before the code around
   * it has any type feedback, and such code (the epoch's end in run(), or a prologue here) would
   * de-optimize it at the first epoch's end (measured: two or three recompiles in the second epoch).
   */
  private async trainEpoch(epochIndex: number, batches: number): Promise<{ stopReason: StopReason; message: string } | null> {
    for (let b = 0; b < batches; b++) {
      const { options, coordinator, callbacks } = this;
      const totals = this.epochTotals;
      if (callbacks.signal?.aborted) {
        const where = this.step === 0 ? 'before the first training step' : `during epoch ${epochIndex + 1}`;
        return { stopReason: 'aborted', message: `stopped ${where} (interrupted)` };
      }
      const [start, end] = batchRange(b, this.trainRows, this.batchSize);
      const lr = scheduledLearningRate(options.lrSchedule, options.lr, epochIndex, b / batches, options.epochs);
      let stats;
      try {
        stats = await coordinator.trainStep(start, end, lr, this.step + 1);
      } catch (error) {
        if (error instanceof WorkerFailure) throw new TrainingFailure(`${error.message} (epoch ${epochIndex + 1}, step ${b + 1} of ${batches})`);
        throw error;
      }
      this.step++;
      if (!Number.isFinite(stats.lossSum)) {
        coordinator.views.parameters.set(this.lastFinite);
        this.bestParameters = null;
        return {
          stopReason: 'diverged',
          message: `training diverged: the loss became ${stats.lossSum} at epoch ${epochIndex + 1}, step ${b + 1}; try a lower learning rate (now ${options.lr}). Kept the weights from the end of epoch ${epochIndex}.`,
        };
      }
      totals.lossSum += stats.lossSum;
      totals.correct += stats.correct;
      totals.threads = Math.max(totals.threads, stats.workers);
      totals.lr = lr;
      await settled(callbacks.onProgress?.(end, this.trainRows, epochIndex + 1));
      if (performance.now() - this.lastYield > YIELD_EVERY_MS) {
        await yieldToEventLoop();
        this.lastYield = performance.now();
      }
    }
    return null;
  }

  private async finishEpoch(lossSum: number, correct: number, trainSeconds: number, seconds: number, threads: number, lr: number): Promise<EpochEntry> {
    let valLoss: number | null = null;
    let valAccuracy: number | null = null;
    let valR2: number | null = null;
    if (this.valRows > 0) {
      const stats = await this.coordinator.evaluate(this.trainRows, this.trainRows + this.valRows);
      valLoss = (stats.lossSum * this.lossUnit) / this.valRows;
      valAccuracy = this.classification ? stats.correct / this.valRows : null;
      // The loss is ½ Σ (out − y)², so the squared error is twice it (both in scaled units).
      if (!this.classification && this.valDeviation > 0) valR2 = rSquared(2 * stats.lossSum, this.valDeviation);
    }
    return {
      epoch: this.epoch,
      loss: (lossSum * this.lossUnit) / this.trainRows,
      accuracy: this.classification ? correct / this.trainRows : null,
      valLoss,
      valAccuracy,
      valR2,
      samplesPerSec: this.trainRows / trainSeconds,
      seconds,
      lr,
      threads,
    };
  }

  /** Returns true when --patience epochs passed without a better validation loss. */
  private updateEarlyStopping(entry: EpochEntry): boolean {
    if (this.options.patience === undefined || entry.valLoss === null) return false;
    if (this.bestValLoss === null || entry.valLoss < this.bestValLoss) {
      this.bestValLoss = entry.valLoss;
      this.epochsWithoutImprovement = 0;
      this.bestParameters = this.coordinator.views.parameters.slice();
      return false;
    }
    this.epochsWithoutImprovement++;
    return this.epochsWithoutImprovement >= this.options.patience;
  }

  private checkpoint(): Checkpoint {
    const { views } = this.coordinator;
    return {
      fingerprint: this.fingerprint,
      epoch: this.epoch,
      step: this.step,
      history: this.history,
      shuffleState: this.shuffle.state(),
      bestValLoss: this.bestValLoss,
      epochsWithoutImprovement: this.epochsWithoutImprovement,
      parameters: views.parameters,
      optimizerState: views.optimizerState,
      trainOrder: this.trainOrder,
      bestParameters: this.bestParameters,
    };
  }
}

/**
 * Returns once every signal that reached the process before the call has run its JS handlers. A
 * signal is queued on libuv's signal pipe, read only in the loop's poll phase. One setImmediate may
 * run in the check phase that follows a poll that came before the signal; the second one is queued
 * from that check phase, so a whole poll phase (which reads the pipe) lies between them, whatever
 * the machine's timing.
 */
async function signalsDelivered(): Promise<void> {
  await yieldToEventLoop();
  await yieldToEventLoop();
}

/** Waits for what a callback returned when it is a promise (an async callback); plain values pass at once. */
async function settled(result: unknown): Promise<void> {
  if (typeof result === 'object' && result !== null && typeof (result as PromiseLike<unknown>).then === 'function') await result;
}

function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false;
  return true;
}

/** The training data and its test set, through the one entry of the data layer. */
export async function loadData(options: ResolvedOptions, callbacks: TrainCallbacks, init: Model | undefined): Promise<OpenedData> {
  // The reader cannot wait for an async onLoadProgress: its rejection is kept and thrown once the read ends.
  const rejected: { reason?: unknown } = {};
  const opened = await openWith(options, callbacks, init, rejected);
  if ('reason' in rejected) throw rejected.reason;
  return opened;
}

function loadProgress(callback: NonNullable<TrainCallbacks['onLoadProgress']>, rejected: { reason?: unknown }): (bytes: number, total: number) => void {
  return (bytes, total) => {
    const result = callback(bytes, total);
    if (typeof result === 'object' && result !== null && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(undefined, (reason: unknown) => {
        if (!('reason' in rejected)) rejected.reason = reason;
      });
    }
  };
}

async function openWith(options: ResolvedOptions, callbacks: TrainCallbacks, init: Model | undefined, rejected: { reason?: unknown }): Promise<OpenedData> {
  const labels = options.loss === 'mse' ? 'values' : options.loss === 'auto' ? 'auto' : 'classes';
  // Starting from a model: the data is read as the model reads it (its columns by name, its classes).
  const asModel = init && { schema: init.schema, features: init.schema ? undefined : init.inputs, classNames: init.labels ?? undefined, labels: init.labels === null ? ('values' as const) : ('classes' as const), owner: `the ${optionRef('init')} model` };
  return openTrainingData(options.data!, {
    labelColumn: options.labelColumn,
    labels,
    labelsFile: options.labels,
    builtin: { samples: options.samples, features: options.features, classes: options.classes, noise: options.noise, seed: options.seed },
    ...csvReading(options),
    missing: options.missing,
    categorical: options.categorical,
    numeric: options.numeric,
    ignoreColumns: options.ignoreColumns,
    testData: options.testData,
    onProgress: callbacks.onLoadProgress && loadProgress(callbacks.onLoadProgress, rejected),
    ...asModel,
  });
}

/**
 * The model a run starts from (init), read if it is a path. Options that describe the network may
 * be left out; given, they must be the model's: a run cannot change the architecture it continues.
 */
async function startingModel(init: string | Model | undefined, given: TrainOptions): Promise<Model | undefined> {
  if (init === undefined) return undefined;
  const model = typeof init === 'string' ? await loadModel(init) : init;
  const where = typeof init === 'string' ? init : 'the model';
  const hidden = model.shape.sizes.slice(1, -1);
  if (given.layers !== undefined && given.layers.join(',') !== hidden.join(',')) {
    throw new InputError(`${optionRef('init')} ${where}: has hidden layers ${hidden.join(',')}, not ${given.layers.join(',')}; leave out ${optionRef('layers')} to continue it`);
  }
  if (given.activation !== undefined && given.activation !== model.shape.activation) {
    throw new InputError(`${optionRef('init')} ${where}: uses ${model.shape.activation}, not ${given.activation}; leave out ${optionRef('activation')} to continue it`);
  }
  if (given.loss !== undefined && given.loss !== 'auto' && given.loss !== model.shape.loss) {
    throw new InputError(`${optionRef('init')} ${where}: was trained with ${model.shape.loss} loss, not ${given.loss}`);
  }
  return model;
}

/** The options a caller gave (left-out ones are undefined), by library name: what data-driven defaults must not replace. */
function givenOptions(options: TrainOptions): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).filter(([name, value]) => value !== undefined && !(CALLBACKS as readonly string[]).includes(name)));
}

/** Σ (y − ȳ)² over the rows `order` lists, summed over the `width` targets of each row (each about its own mean). */
function sumSquaredDeviation(y: Float32Array, order: Int32Array, width: number): number {
  let sum = 0;
  for (let o = 0; o < width; o++) {
    let mean = 0;
    for (let i = 0; i < order.length; i++) mean += y[order[i]! * width + o]!;
    mean /= Math.max(1, order.length);
    for (let i = 0; i < order.length; i++) sum += (y[order[i]! * width + o]! - mean) ** 2;
  }
  return sum;
}

/** SHA-256 of the training rows as they sit in the arena: the data's identity for a checkpoint. */
function contentHash(x: Float32Array, y: Float32Array): string {
  const hash = createHash('sha256');
  for (const part of [x, y]) hash.update(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
  return hash.digest('hex');
}

/** auto: two classes → sigmoid + BCE, more → softmax + cross-entropy, numeric targets → MSE. */
export function chooseLoss(choice: LossChoice, targets: Targets, source: string): LossKind {
  if (targets.kind === 'values') return 'mse';
  if (targets.kind === 'none') throw new InputError(`${source}: no labels`);
  const classes = targets.names.length;
  if (classes < 2) throw new InputError(`${source}: found only ${classes} distinct label${classes === 1 ? '' : 's'}; classification needs at least 2`);
  if (choice === 'auto') return classes === 2 ? 'bce' : 'cross-entropy';
  if (choice === 'bce' && classes !== 2) throw new InputError(`${optionRef('loss')} bce needs exactly 2 classes; ${source} has ${classes} (use ${optionRef('loss')} cross-entropy)`);
  return choice;
}

/** The one step from a dataset description into the arena: its features where they belong, and its target vectors. */
function copyRows(dataset: DataDescription, x: Float32Array, y: Float32Array, firstRow: number, outputs: number): void {
  dataset.writeFeatures(x.subarray(firstRow * dataset.features, (firstRow + dataset.rows) * dataset.features));
  for (let r = 0; r < dataset.rows; r++) writeTarget(dataset.targets, r, y, (firstRow + r) * outputs, outputs);
}
