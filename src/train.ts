// The epoch loop: dataset → arena → seeded batches → coordinator steps → history → model.
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { batchCount, batchRange, effectiveBatchSize } from './data/batches.js';
import { outputWidth, pendingFrom, writeTarget, type Dataset, type PendingDataset, type Targets } from './data/dataset.js';
import { loadDataset, openTrainingData } from './data/load.js';
import { applyNormalization, fitNormalization } from './data/normalize.js';
import { randomStream, resumableStream, shuffleInPlace, type ResumableRandom } from './data/random.js';
import { InputError, describeValue, optionRef } from './errors.js';
import type { LossKind } from './math/kernels.js';
import { nativeIsa } from './math/native-kernels.js';
import { checkCheckpoint, readCheckpoint, writeCheckpoint, type Checkpoint, type StoredCheckpoint } from './model/checkpoint.js';
import type { EpochEntry } from './model/history.js';
import { initializeParameters } from './model/init.js';
import type { NetworkShape } from './model/layout.js';
import { Model, assertSavable } from './model/model.js';
import { scheduledLearningRate } from './optim/schedule.js';
import { checkPathOptions } from './options/paths.js';
import { resolveOptions, runFingerprint, type OptionsInput, type Resolved } from './options/resolve.js';
import { Coordinator, WorkerFailure } from './parallel/coordinator.js';
import { resolveKernelSet, type KernelSetName } from './parallel/kernel-set.js';

/** What train() is given: the table's options for `train` (data required) and callbacks. */
export type TrainOptions = OptionsInput<'train'> & TrainCallbacks & { data: string | Dataset };
export type ResolvedOptions = Resolved<'train'>;
export type LossChoice = ResolvedOptions['loss'];

export interface TrainCallbacks {
  /** Called once before the first epoch: the kernel set every thread runs (e.g. native-avx2) and any note on its choice. */
  onStart?: ((run: { kernelSet: string; kernelNote: string; threads: number }) => void) | undefined;
  /** Called after every epoch with that epoch's history entry. */
  onEpoch?: ((entry: EpochEntry) => void) | undefined;
  /** Called after every step with the samples done so far in this epoch. */
  onProgress?: ((done: number, total: number, epoch: number) => void) | undefined;
  /** Stops training at the next step boundary; the model trained so far is returned. */
  signal?: AbortSignal | undefined;
}
const CALLBACKS: readonly (keyof TrainCallbacks)[] = ['onStart', 'onEpoch', 'onProgress', 'signal'];

/** Why training ended. */
export type StopReason = 'completed' | 'aborted' | 'early-stopped' | 'diverged';

export interface TrainResult {
  model: Model;
  /** One entry per completed epoch (including those before a --resume). */
  history: EpochEntry[];
  /** Loss and accuracy on the test set (--test-data, or an IDX directory's t10k files), or null. */
  test: { loss: number; accuracy: number | null } | null;
  /** True when training stopped early because the AbortSignal fired. */
  aborted: boolean;
  stopReason: StopReason;
  /** A sentence for the user when training did not simply complete. */
  message: string | null;
  /** Which family of kernels computed the run: 'native', 'wasm' or 'typescript'. */
  kernels: KernelSetName;
  /** The kernel set by name: native-avx512, native-avx2, native-generic, wasm-relaxed-simd, wasm-simd or typescript. */
  kernelSet: string;
  /** Shards each participant computed over the run's training steps (index 0: the main thread). */
  shardsByParticipant: number[];
  /**
   * The file the model was written to (options.out), or null: none was asked for, or no training
   * step ran (stopped before the first one), so an existing file was left as it was.
   */
  savedTo: string | null;
  /** Optimizer steps behind the model, those before a resume included (0: stopped before the first). */
  steps: number;
}

/** Training cannot go on (a worker thread failed); the message names epoch and step. */
export class TrainingFailure extends Error {
  override readonly name = 'TrainingFailure';
}

/** Longest stretch the event loop is kept waiting while steps run (signals, progress). */
const YIELD_EVERY_MS = 50;

export async function train(options: TrainOptions): Promise<TrainResult> {
  const resolved = resolveOptions('train', options, CALLBACKS);
  for (const name of ['onStart', 'onEpoch', 'onProgress'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new InputError(`train: ${name} must be a function`);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new InputError('train: signal must be an AbortSignal');
  // Outputs against inputs and each other, before any work.
  await checkPathOptions('train', resolved);
  const checkpoint = resolved.resume ? await readCheckpoint(resolved.resume) : undefined;
  let loaded: { training: PendingDataset; test: PendingDataset | undefined } | undefined = await loadData(resolved);
  // Only these facts outlive the copy into the arena, so anything loaded can be collected then.
  const { source, rows, features, targets } = loaded.training;
  const loss = chooseLoss(resolved.loss, targets, source);
  const outputs = outputWidth(targets, loss);
  const shape: NetworkShape = { sizes: [features, ...resolved.layers, outputs], activation: resolved.activation, loss };
  if (resolved.out) assertSavable(resolved.out, shape, optionRef('out'));
  const labels = targets.kind === 'classes' ? targets.names : null;
  const testRows = loaded.test?.rows ?? 0;
  const valRows = Math.round(rows * resolved.valSplit);
  const trainRows = rows - valRows;
  if (trainRows < 1) throw new InputError(`${optionRef('valSplit')} ${resolved.valSplit} leaves no training rows out of ${rows}`);
  const kernels = resolveKernelSet(resolved.kernels);
  const coordinator = new Coordinator({
    shape,
    rows: rows + testRows,
    threads: resolved.threads,
    kernels,
    optimizer: { name: resolved.optimizer, momentum: resolved.momentum, beta1: resolved.beta1, beta2: resolved.beta2, epsilon: resolved.epsilon, weightDecay: resolved.weightDecay },
  });
  try {
    const { views } = coordinator;
    copyRows(loaded.training, views.x, views.y, 0, outputs);
    if (loaded.test) copyRows(loaded.test, views.x, views.y, rows, outputs);
    loaded = undefined;
    // A checkpoint knows its data by content (the rows as written here, before normalization), not
    // by the path it was read from; hashed only when a checkpoint is written or read. The exact
    // kernel set (native-avx2, wasm-simd, …) counts too: results differ between them.
    const fingerprint =
      resolved.checkpointDir || checkpoint
        ? runFingerprint(resolved, { dataContent: contentHash(views.x.subarray(0, rows * features), views.y.subarray(0, rows * outputs)), dataRows: rows, dataFeatures: features, classNames: labels, kernelSet: coordinator.kernelSet })
        : '';
    // order = [training rows | validation rows | test rows]; the validation rows are a seeded draw.
    for (let i = 0; i < rows + testRows; i++) views.order[i] = i;
    shuffleInPlace(views.order.subarray(0, rows), randomStream(resolved.seed, 'split'));
    const normalization = fitNormalization(resolved.normalize, views.x, features, views.order.subarray(0, trainRows));
    applyNormalization(normalization, views.x, features, 0, rows + testRows);
    initializeParameters(shape, views.parameterLayers, randomStream(resolved.seed, 'init'));
    await coordinator.ready();
    options.onStart?.({ kernelSet: coordinator.kernelSet, kernelNote: kernels === 'native' ? nativeIsa().note : '', threads: coordinator.threads });

    const loop = new EpochLoop(coordinator, resolved, trainRows, valRows, labels !== null, fingerprint, options);
    if (checkpoint) loop.restore(checkpoint, rows);
    const run = await loop.run();
    const { stopReason } = run;
    // A stop before the first step leaves an existing --out as it was: there is nothing trained to save.
    const trained = loop.steps > 0;
    const message = trained || !resolved.out ? run.message : `${run.message}; nothing was trained, so ${resolved.out} was not written`;
    const model = new Model(shape, loop.finalParameters(), labels, normalization);
    let testResult: TrainResult['test'] = null;
    if (testRows > 0 && stopReason !== 'diverged') {
      views.parameters.set(model.parameters);
      const stats = await coordinator.evaluate(rows, rows + testRows);
      testResult = { loss: stats.lossSum / testRows, accuracy: labels ? stats.correct / testRows : null };
    }
    const savedTo = resolved.out && trained ? resolved.out : null;
    if (savedTo) await model.save(savedTo);
    const shardsByParticipant = [...coordinator.trainShardsByParticipant];
    return { model, history: loop.history, test: testResult, aborted: stopReason === 'aborted', stopReason, message, kernels, kernelSet: coordinator.kernelSet, shardsByParticipant, savedTo, steps: loop.steps };
  } finally {
    await coordinator.close();
  }
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

  constructor(
    private readonly coordinator: Coordinator,
    private readonly options: ResolvedOptions,
    private readonly trainRows: number,
    private readonly valRows: number,
    private readonly classification: boolean,
    private readonly fingerprint: string,
    private readonly callbacks: TrainOptions,
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

  /** The weights to keep: the best validation epoch under --patience, else the current ones. */
  finalParameters(): Float32Array {
    return this.bestParameters ?? this.coordinator.views.parameters;
  }

  async run(): Promise<{ stopReason: StopReason; message: string | null }> {
    const { options, coordinator, callbacks } = this;
    const batches = batchCount(this.trainRows, this.batchSize);
    const started = performance.now() - (this.history.at(-1)?.seconds ?? 0) * 1000;
    let lastYield = performance.now();
    while (this.epoch < options.epochs) {
      const epochIndex = this.epoch;
      // One seeded permutation per epoch, applied to X and Y together (they share the index).
      shuffleInPlace(this.trainOrder, this.shuffle.next);
      const epochStarted = performance.now();
      let lossSum = 0;
      let correct = 0;
      let threads = 1;
      let lr = options.lr;
      for (let b = 0; b < batches; b++) {
        if (callbacks.signal?.aborted) {
          const where = this.step === 0 ? 'before the first training step' : `during epoch ${epochIndex + 1}`;
          return { stopReason: 'aborted', message: `stopped ${where} (interrupted)` };
        }
        const [start, end] = batchRange(b, this.trainRows, this.batchSize);
        lr = scheduledLearningRate(options.lrSchedule, options.lr, epochIndex, b / batches, options.epochs);
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
        lossSum += stats.lossSum;
        correct += stats.correct;
        threads = Math.max(threads, stats.workers);
        callbacks.onProgress?.(end, this.trainRows, epochIndex + 1);
        if (performance.now() - lastYield > YIELD_EVERY_MS) {
          await yieldToEventLoop();
          lastYield = performance.now();
        }
      }
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
      callbacks.onEpoch?.(entry);
      if (stop) return { stopReason: 'early-stopped', message: `early stop: no better validation loss for ${options.patience} epochs; kept the weights of epoch ${this.history.length - this.epochsWithoutImprovement} (val_loss ${this.bestValLoss?.toFixed(4)})` };
    }
    return { stopReason: 'completed', message: null };
  }

  private async finishEpoch(lossSum: number, correct: number, trainSeconds: number, seconds: number, threads: number, lr: number): Promise<EpochEntry> {
    let valLoss: number | null = null;
    let valAccuracy: number | null = null;
    if (this.valRows > 0) {
      const stats = await this.coordinator.evaluate(this.trainRows, this.trainRows + this.valRows);
      valLoss = stats.lossSum / this.valRows;
      valAccuracy = this.classification ? stats.correct / this.valRows : null;
    }
    return {
      epoch: this.epoch,
      loss: lossSum / this.trainRows,
      accuracy: this.classification ? correct / this.trainRows : null,
      valLoss,
      valAccuracy,
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

function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false;
  return true;
}

async function loadData(options: ResolvedOptions): Promise<{ training: PendingDataset; test: PendingDataset | undefined }> {
  const labels = options.loss === 'mse' ? 'values' : 'classes';
  const builtin = { samples: options.samples, features: options.features, classes: options.classes, noise: options.noise, seed: options.seed };
  const data = options.data!; // required: resolveOptions refused a run without it
  const loaded = typeof data === 'string' ? await openTrainingData(data, { labelColumn: options.labelColumn, labels, builtin, labelsFile: options.labels }) : { training: pendingFrom(checkDataset(data)), test: undefined };
  const training = loaded.training;
  if (training.targets.kind === 'none') throw new InputError(`${training.source}: no label column`);
  let test = loaded.test;
  if (options.testData) {
    const classNames = training.targets.kind === 'classes' ? training.targets.names : undefined;
    test = pendingFrom(await loadDataset(options.testData, { labelColumn: options.labelColumn, labels, classNames, features: training.features, builtin: { ...builtin, seed: options.seed + 1 } }));
  }
  if (test && test.features !== training.features) throw new InputError(`${optionRef('testData')} ${test.source}: has ${test.features} features, the training data has ${training.features}`);
  return { training, test };
}

/**
 * A Dataset handed in by a library user: the same invariants the loaders guarantee, each broken one
 * refused with an InputError naming the field.
 */
function checkDataset(dataset: Dataset): Dataset {
  const fail = (what: string): never => {
    throw new InputError(`data: ${what}`);
  };
  const { rows, features, x, targets, source } = dataset;
  if (source !== undefined && typeof source !== 'string') fail(`source must be a string, got ${describeValue(source)}`);
  if (typeof rows !== 'number' || !Number.isInteger(rows) || rows < 1) fail(`rows must be a whole number ≥ 1, got ${describeValue(rows)}`);
  if (typeof features !== 'number' || !Number.isInteger(features) || features < 1) fail(`features must be a whole number ≥ 1, got ${describeValue(features)}`);
  if (!(x instanceof Float32Array)) fail(`x must be a Float32Array of rows × features values, got ${kindOf(x)}`);
  if (x.length !== rows * features) fail(`x has ${x.length} values; a Dataset needs rows × features = ${rows * features}`);
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) fail(`x[${i}] (row ${Math.floor(i / features)}) is not finite`);
  if (typeof targets !== 'object' || targets === null) return fail(`targets must be an object with a kind, got ${describeValue(targets)}`);
  const kind = (targets as { kind: unknown }).kind;
  if (kind === 'classes' && targets.kind === 'classes') {
    const { names, index } = targets;
    if (!Array.isArray(names) || names.some((name) => typeof name !== 'string')) fail('targets.names must be an array of strings');
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) fail(`targets.names: ${describeValue(name)} appears more than once`);
      seen.add(name);
    }
    if (!isNumberArray(index)) fail(`targets.index must be an Int32Array (or array) of class indices, got ${kindOf(index)}`);
    if (index.length !== rows) fail(`targets.index has ${index.length} entries for ${rows} rows`);
    for (let r = 0; r < rows; r++) {
      const c = index[r];
      if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= names.length) fail(`targets.index[${r}] is ${describeValue(c)}; a class index is a whole number from 0 to ${names.length - 1}`);
    }
  } else if (kind === 'values' && targets.kind === 'values') {
    const { values } = targets;
    if (!isNumberArray(values)) fail(`targets.values must be a Float32Array (or array) of numbers, got ${kindOf(values)}`);
    if (values.length !== rows) fail(`targets.values has ${values.length} entries for ${rows} rows`);
    for (let r = 0; r < rows; r++) {
      const v = values[r];
      if (typeof v !== 'number' || !Number.isFinite(Math.fround(v))) fail(`targets.values[${r}] is ${describeValue(v)}; a regression target must be a finite float32 number`);
    }
  } else if (kind === 'none') {
    fail('targets.kind is "none": training needs labels ("classes") or values ("values")');
  } else {
    fail(`targets.kind must be "classes" or "values", got ${describeValue(kind)}`);
  }
  return source === undefined ? { ...dataset, source: 'data' } : dataset;
}

function isNumberArray(value: unknown): value is ArrayLike<number> {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView) && !(value instanceof BigInt64Array) && !(value instanceof BigUint64Array));
}

function kindOf(value: unknown): string {
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (Array.isArray(value)) return 'an array';
  return describeValue(value);
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

/** Features (written in place: builtin and IDX sets are produced right here) and target vectors. */
function copyRows(dataset: PendingDataset, x: Float32Array, y: Float32Array, firstRow: number, outputs: number): void {
  dataset.writeFeatures(x.subarray(firstRow * dataset.features, (firstRow + dataset.rows) * dataset.features));
  for (let r = 0; r < dataset.rows; r++) writeTarget(dataset.targets, r, y, (firstRow + r) * outputs, outputs);
}
