// The flags shared by several commands, and their translation into library options.
import type { Argv } from 'yargs';
import { MODES, type Mode } from '../data/batches.js';
import { BUILTIN_NAMES } from '../data/builtin.js';
import { NORMALIZATIONS, type NormalizationKind } from '../data/normalize.js';
import { InputError } from '../errors.js';
import { HIDDEN_ACTIVATIONS, LOSS_KINDS, type HiddenActivation } from '../math/kernels.js';
import { OPTIMIZERS, type OptimizerName } from '../optim/optimizers.js';
import { SCHEDULES, STEP_EVERY_EPOCHS, type ScheduleName } from '../optim/schedule.js';
import { DEFAULTS, KERNEL_OPTIONS, type KernelOption, type LossChoice, type TrainOptions } from '../options.js';

export type Args = Record<string, unknown>;

/** Where the data comes from (train, evaluate, predict, compare-modes). */
export function dataFlags<T>(y: Argv<T>) {
  return y
    .option('data', { type: 'string', demandOption: true, describe: `builtin:NAME (${BUILTIN_NAMES.join(', ')}), a CSV file, or an IDX directory / images file` })
    .option('label-column', { type: 'string', describe: 'CSV label column name or 0-based index (default: last)' })
    .option('labels', { type: 'string', describe: 'IDX labels file, when --data is a single IDX images file' })
    .option('seed', { type: 'number', default: DEFAULTS.seed, describe: 'seed for data generation, split, init and shuffling' })
    .option('samples', { type: 'number', describe: 'builtin sets: number of rows' })
    .option('features', { type: 'number', describe: 'builtin:blobs: number of features' })
    .option('classes', { type: 'number', describe: 'builtin:spirals/blobs: number of classes' })
    .option('noise', { type: 'number', describe: 'builtin sets: noise level' });
}

/** How to train (train, compare-modes). */
export function trainingFlags<T>(y: Argv<T>) {
  return dataFlags(y)
    .option('test-data', { type: 'string', describe: 'CSV (or IDX) evaluated once after training; replaces an IDX directory\'s t10k set' })
    .option('layers', { type: 'string', default: DEFAULTS.layers.join(','), describe: 'hidden layer sizes, e.g. 128,64' })
    .option('activation', { choices: HIDDEN_ACTIVATIONS, default: DEFAULTS.activation, describe: 'hidden activation' })
    .option('loss', { choices: ['auto', ...LOSS_KINDS], default: DEFAULTS.loss, describe: 'auto: 2 classes → bce, more → cross-entropy' })
    .option('mode', { choices: MODES, default: DEFAULTS.mode, describe: 'batch: whole set per step; sgd: one row per step' })
    .option('batch-size', { type: 'number', default: DEFAULTS.batchSize, describe: 'rows per step in minibatch mode' })
    .option('epochs', { type: 'number', default: DEFAULTS.epochs })
    .option('lr', { type: 'number', default: DEFAULTS.lr, describe: 'learning rate' })
    .option('optimizer', { choices: OPTIMIZERS, default: DEFAULTS.optimizer })
    .option('momentum', { type: 'number', default: DEFAULTS.momentum, describe: 'momentum optimizer: μ' })
    .option('beta1', { type: 'number', default: DEFAULTS.beta1, describe: 'adam: β1' })
    .option('beta2', { type: 'number', default: DEFAULTS.beta2, describe: 'adam: β2' })
    .option('epsilon', { type: 'number', default: DEFAULTS.epsilon, describe: 'adam: ε' })
    .option('weight-decay', { type: 'number', default: DEFAULTS.weightDecay, describe: 'L2 penalty λ (adds λ·w to the gradient)' })
    .option('lr-schedule', { choices: SCHEDULES, default: DEFAULTS.lrSchedule, describe: `step: halve every ${STEP_EVERY_EPOCHS} epochs; cosine: decay to 0 over the run` })
    .option('normalize', { choices: NORMALIZATIONS, default: DEFAULTS.normalize, describe: 'feature scaling fitted on the training rows, saved in the model' })
    .option('threads', { type: 'number', describe: 'compute threads (default and most used: available cores)' })
    .option('val-split', { type: 'number', default: DEFAULTS.valSplit, describe: 'fraction held out for validation' })
    .option('kernels', { choices: KERNEL_OPTIONS, default: DEFAULTS.kernels, describe: 'matrix kernels (auto: native when built, else wasm SIMD)' })
    .option('quiet', { type: 'boolean', default: false, describe: 'print nothing but errors' });
}

const NUMERIC_FLAGS = ['batch-size', 'epochs', 'lr', 'threads', 'seed', 'val-split', 'samples', 'features', 'classes', 'noise', 'momentum', 'beta1', 'beta2', 'epsilon', 'weight-decay', 'patience'];

/** yargs turns "abc" into NaN for numeric flags; name the flag instead of training on NaN. */
export function checkNumbers(argv: Args): void {
  for (const flag of NUMERIC_FLAGS) {
    const value = argv[flag];
    if (typeof value === 'number' && Number.isNaN(value)) throw new InputError(`--${flag} needs a number`);
  }
}

/** "128,64" → [128, 64]; anything else is a usage error naming the flag. */
export function parseSizes(flag: string, text: string): number[] {
  const sizes = text.split(',').map((part) => (/^\s*\d+\s*$/.test(part) ? Number(part) : NaN));
  if (text.trim() === '' || sizes.some((size) => !Number.isInteger(size) || size < 1)) {
    throw new InputError(`${flag} must be comma-separated positive integers such as 128,64, got "${text}"`);
  }
  return sizes;
}

/** The library options a command line describes (the CLI adds only callbacks and a signal). */
export function toTrainOptions(argv: Args): TrainOptions {
  checkNumbers(argv);
  return {
    data: argv.data as string,
    testData: argv['test-data'] as string | undefined,
    labelColumn: argv['label-column'] as string | undefined,
    labels: argv.labels as string | undefined,
    layers: parseSizes('--layers', String(argv.layers)),
    activation: argv.activation as HiddenActivation,
    loss: argv.loss as LossChoice,
    mode: argv.mode as Mode,
    batchSize: argv['batch-size'] as number,
    epochs: argv.epochs as number,
    lr: argv.lr as number,
    optimizer: argv.optimizer as OptimizerName,
    momentum: argv.momentum as number,
    beta1: argv.beta1 as number,
    beta2: argv.beta2 as number,
    epsilon: argv.epsilon as number,
    weightDecay: argv['weight-decay'] as number,
    lrSchedule: argv['lr-schedule'] as ScheduleName,
    normalize: argv.normalize as NormalizationKind,
    threads: argv.threads as number | undefined,
    seed: argv.seed as number,
    valSplit: argv['val-split'] as number,
    kernels: argv.kernels as KernelOption,
    samples: argv.samples as number | undefined,
    features: argv.features as number | undefined,
    classes: argv.classes as number | undefined,
    noise: argv.noise as number | undefined,
  };
}
