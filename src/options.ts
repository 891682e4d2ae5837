// Training options shared by the CLI and the library: types, defaults and validation.
// Messages name the CLI flag, since that is what most users typed.
import { availableParallelism } from 'node:os';
import { MODES, type Mode } from './data/batches.js';
import type { Dataset } from './data/dataset.js';
import { InputError } from './errors.js';
import { HIDDEN_ACTIVATIONS, LOSS_KINDS, type HiddenActivation, type LossKind } from './math/kernels.js';
import { NORMALIZATIONS, type NormalizationKind } from './data/normalize.js';
import { OPTIMIZERS, type OptimizerName } from './optim/optimizers.js';
import { SCHEDULES, type ScheduleName } from './optim/schedule.js';

export type LossChoice = 'auto' | LossKind;

/** One line of training history: the same fields as a --log-json epoch line. */
export interface EpochEntry {
  epoch: number;
  loss: number;
  /** null for regression (--loss mse on numeric targets). */
  accuracy: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
  samplesPerSec: number;
  /** Seconds since training started, at the end of this epoch. */
  seconds: number;
  /** Learning rate at the end of the epoch (after the schedule). */
  lr: number;
  /** Most workers that shared one step in this epoch (1: the coordinator computed alone). */
  threads: number;
}

export type KernelOption = 'auto' | 'native' | 'wasm' | 'typescript';
export const KERNEL_OPTIONS: readonly KernelOption[] = ['auto', 'native', 'wasm', 'typescript'];

export interface TrainOptions {
  /** builtin:NAME, a CSV file, an IDX directory or images file — or a Dataset already in memory. */
  data: string | Dataset;
  /** A CSV file evaluated once at the end. */
  testData?: string | undefined;
  /** Label column by name or 0-based index; default: the last column. */
  labelColumn?: string | number | undefined;
  /** Hidden layer sizes. */
  layers?: readonly number[] | undefined;
  activation?: HiddenActivation | undefined;
  loss?: LossChoice | undefined;
  mode?: Mode | undefined;
  batchSize?: number | undefined;
  epochs?: number | undefined;
  lr?: number | undefined;
  /** Compute threads; default (and most used): the machine's available parallelism. */
  threads?: number | undefined;
  seed?: number | undefined;
  /** Fraction of the data held out for validation (0 ≤ f < 1). */
  valSplit?: number | undefined;
  /** Writes the trained model here (atomically). */
  out?: string | undefined;
  /** IDX labels file for a single IDX images file given as data. */
  labels?: string | undefined;
  optimizer?: OptimizerName | undefined;
  momentum?: number | undefined;
  beta1?: number | undefined;
  beta2?: number | undefined;
  epsilon?: number | undefined;
  weightDecay?: number | undefined;
  lrSchedule?: ScheduleName | undefined;
  /** Stop after this many epochs without a better validation loss, keeping the best weights. */
  patience?: number | undefined;
  /** Writes a checkpoint here after every epoch. */
  checkpointDir?: string | undefined;
  /** Continues from the checkpoint in this directory. */
  resume?: string | undefined;
  normalize?: NormalizationKind | undefined;
  /** Matrix kernels: auto picks the native addon when it loaded, else wasm SIMD, else the TypeScript reference. */
  kernels?: KernelOption | undefined;
  /** Builtin data set parameters. */
  samples?: number | undefined;
  features?: number | undefined;
  classes?: number | undefined;
  noise?: number | undefined;
  /** Called once before the first epoch: the kernel set every thread runs (e.g. native-avx2) and any note on its choice. */
  onStart?: ((run: { kernelSet: string; kernelNote: string; threads: number }) => void) | undefined;
  /** Called after every epoch with that epoch's history entry. */
  onEpoch?: ((entry: EpochEntry) => void) | undefined;
  /** Called after every step with the samples done so far in this epoch. */
  onProgress?: ((done: number, total: number, epoch: number) => void) | undefined;
  /** Stops training at the next step boundary; the model trained so far is returned. */
  signal?: AbortSignal | undefined;
}

export const DEFAULTS = {
  layers: [64, 64],
  activation: 'relu',
  loss: 'auto',
  mode: 'minibatch',
  batchSize: 64,
  epochs: 30,
  lr: 0.1,
  seed: 1,
  valSplit: 0,
  optimizer: 'sgd',
  momentum: 0.9,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  weightDecay: 0,
  lrSchedule: 'constant',
  normalize: 'none',
  kernels: 'auto',
} as const;

export type ResolvedOptions = Required<Pick<TrainOptions, 'data'>> & {
  testData: string | undefined;
  labelColumn: string | number | undefined;
  layers: number[];
  activation: HiddenActivation;
  loss: LossChoice;
  mode: Mode;
  batchSize: number;
  epochs: number;
  lr: number;
  threads: number;
  seed: number;
  valSplit: number;
  out: string | undefined;
  labels: string | undefined;
  optimizer: OptimizerName;
  momentum: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  lrSchedule: ScheduleName;
  patience: number | undefined;
  checkpointDir: string | undefined;
  resume: string | undefined;
  normalize: NormalizationKind;
  kernels: KernelOption;
  samples: number | undefined;
  features: number | undefined;
  classes: number | undefined;
  noise: number | undefined;
};

/** The most threads we accept: far beyond any useful count, but not a typo's worth of workers. */
export function maxThreads(): number {
  return Math.max(64, 4 * availableParallelism());
}

export function resolveOptions(options: TrainOptions): ResolvedOptions {
  if (options.data === '' || (typeof options.data !== 'string' && typeof options.data !== 'object') || options.data === null) throw new InputError('--data is required (builtin:NAME, a CSV file or an IDX directory)');
  const layers = [...(options.layers ?? DEFAULTS.layers)];
  for (const size of layers) {
    if (!Number.isInteger(size) || size < 1 || size > 1 << 16) throw new InputError(`--layers: every hidden size must be a positive integer, got "${layers.join(',')}"`);
  }
  const activation = options.activation ?? DEFAULTS.activation;
  if (!HIDDEN_ACTIVATIONS.includes(activation)) throw new InputError(`--activation must be one of ${HIDDEN_ACTIVATIONS.join(', ')}, got "${activation}"`);
  const loss = options.loss ?? DEFAULTS.loss;
  if (loss !== 'auto' && !LOSS_KINDS.includes(loss)) throw new InputError(`--loss must be one of auto, ${LOSS_KINDS.join(', ')}, got "${loss}"`);
  const mode = options.mode ?? DEFAULTS.mode;
  if (!MODES.includes(mode)) throw new InputError(`--mode must be one of ${MODES.join(', ')}, got "${mode}"`);
  const threads = options.threads ?? availableParallelism();
  const optimizer = options.optimizer ?? DEFAULTS.optimizer;
  if (!OPTIMIZERS.includes(optimizer)) throw new InputError(`--optimizer must be one of ${OPTIMIZERS.join(', ')}, got "${optimizer}"`);
  const lrSchedule = options.lrSchedule ?? DEFAULTS.lrSchedule;
  if (!SCHEDULES.includes(lrSchedule)) throw new InputError(`--lr-schedule must be one of ${SCHEDULES.join(', ')}, got "${lrSchedule}"`);
  const normalize = options.normalize ?? DEFAULTS.normalize;
  if (!NORMALIZATIONS.includes(normalize)) throw new InputError(`--normalize must be one of ${NORMALIZATIONS.join(', ')}, got "${normalize}"`);
  const kernels = options.kernels ?? DEFAULTS.kernels;
  if (!KERNEL_OPTIONS.includes(kernels)) throw new InputError(`--kernels must be one of ${KERNEL_OPTIONS.join(', ')}, got "${kernels}"`);
  const valSplit = fraction('--val-split', options.valSplit ?? DEFAULTS.valSplit);
  const patience = options.patience === undefined ? undefined : integerIn('--patience', options.patience, 1, 1e7);
  if (patience !== undefined && valSplit === 0) throw new InputError('--patience needs a validation set: add --val-split (e.g. 0.1)');
  return {
    data: options.data,
    testData: options.testData,
    labelColumn: options.labelColumn,
    layers,
    activation,
    loss,
    mode,
    batchSize: integerIn('--batch-size', options.batchSize ?? DEFAULTS.batchSize, 1, 1 << 24),
    epochs: integerIn('--epochs', options.epochs ?? DEFAULTS.epochs, 1, 1e7),
    lr: positive('--lr', options.lr ?? DEFAULTS.lr),
    threads: integerIn('--threads', threads, 1, maxThreads()),
    seed: integerIn('--seed', options.seed ?? DEFAULTS.seed, 0, Number.MAX_SAFE_INTEGER),
    valSplit,
    out: options.out,
    labels: options.labels,
    optimizer,
    momentum: fractionBelowOne('--momentum', options.momentum ?? DEFAULTS.momentum),
    beta1: fractionBelowOne('--beta1', options.beta1 ?? DEFAULTS.beta1),
    beta2: fractionBelowOne('--beta2', options.beta2 ?? DEFAULTS.beta2),
    epsilon: positive('--epsilon', options.epsilon ?? DEFAULTS.epsilon),
    weightDecay: nonNegative('--weight-decay', options.weightDecay ?? DEFAULTS.weightDecay),
    lrSchedule,
    patience,
    checkpointDir: options.checkpointDir,
    resume: options.resume,
    normalize,
    kernels,
    samples: optionalInteger('--samples', options.samples, 2),
    features: optionalInteger('--features', options.features, 1),
    classes: optionalInteger('--classes', options.classes, 2),
    noise: options.noise === undefined ? undefined : nonNegative('--noise', options.noise),
  };
}

function integerIn(flag: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new InputError(`${flag} must be an integer from ${min} to ${max}, got ${String(value)}`);
  return value;
}

function optionalInteger(flag: string, value: number | undefined, min: number): number | undefined {
  return value === undefined ? undefined : integerIn(flag, value, min, 1 << 30);
}

function positive(flag: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new InputError(`${flag} must be a finite number > 0, got ${String(value)}`);
  return value;
}

function nonNegative(flag: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new InputError(`${flag} must be a finite number ≥ 0, got ${String(value)}`);
  return value;
}

function fractionBelowOne(flag: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) throw new InputError(`${flag} must be a number from 0 (inclusive) to 1 (exclusive), got ${String(value)}`);
  return value;
}

function fraction(flag: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) throw new InputError(`${flag} must be a fraction from 0 (inclusive) to 1 (exclusive), got ${String(value)}`);
  return value;
}
