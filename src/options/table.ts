// The one table of options. The command-line flags (cli/flags.ts), the library's option types,
// defaults and checks (options/resolve.ts) and the run fingerprint are all derived from it: adding
// an option touches this table and the code that uses the value, nothing else.
import { availableParallelism } from 'node:os';
import { MODES } from '../data/batches.js';
import { BUILTIN_NAMES } from '../data/builtin.js';
import { NORMALIZE_CHOICES } from '../data/normalize.js';
import { MISSING_POLICIES } from '../data/schema.js';
import { ENCODINGS, THOUSANDS_CHOICES } from '../data/load.js';
import { HIDDEN_ACTIVATIONS, HYPER_PARAMETERS, LOSS_KINDS, OPTIMIZERS, hyperUsers, type HyperName } from '../math/ops.js';
import { SCHEDULES, STEP_EVERY_EPOCHS } from '../optim/schedule.js';
import { KERNEL_OPTIONS } from '../parallel/kernel-set.js';
import { MAX_LAYER_SIZE } from '../model/layout.js';
import { WORKLOAD_IDS } from '../model/workloads.js';
import type { Dataset } from '../data/dataset.js';
import { Model } from '../model/model.js';
import { choice, column, columns, dataSource, pathOr, flag, integer, labelColumns, names, path, real, reals, sizeLists, sizes, text, texts, type OptionSpec } from './spec.js';

// `tune` (train --tune's own command) takes train's options but those it searches or cannot use.
const DATA = ['train', 'tune', 'evaluate', 'predict', 'compare-modes'] as const;
const TRAINING = ['train', 'tune', 'compare-modes'] as const;
const MEASURED = ['train', 'tune', 'compare-modes', 'bench'] as const;
/** What the grid searches (layers, lr, weightDecay): train's and compare-modes', not tune's. */
const SEARCHED = ['train', 'compare-modes'] as const;

/** An optimizer's or activation's hyper-parameter, as the op registry (math/ops.ts) declares it. */
function hyper(name: HyperName) {
  const { default: value, help, ...range } = HYPER_PARAMETERS[name];
  // export too: `export --format torch` writes the training settings into the script it generates
  return real(value, { ...range, commands: [...TRAINING, 'export'], fingerprint: true, help: `${hyperUsers(name).join(', ')}: ${help}` });
}

/** The most threads we accept: far beyond any useful count, but not a typo's worth of workers. */
export function maxThreads(): number {
  return Math.max(64, 4 * availableParallelism());
}

export const OPTIONS = {
  // ---- where the data comes from ----
  // The data files (and --labels, --test-data) count for a resume by their content, not their
  // path: train.ts fingerprints the rows as written into the arena, so ./d.csv resumes a d.csv run.
  data: dataSource<Dataset, readonly [...typeof DATA, 'export']>({ commands: [...DATA, 'export'], requiredIn: DATA, fingerprint: false, file: 'input', help: `builtin:NAME (${BUILTIN_NAMES.join(', ')}), a CSV file, or an IDX directory / images file` }),
  labelColumn: labelColumns({ commands: [...DATA, 'export'], fingerprint: true, help: 'CSV label column name or 0-based index (default: the last column); several, a,b, train a multi-output regression' }),
  delimiter: choice([',', ';', '|', 'tab', '\t'], undefined, { commands: [...DATA, 'export'], fingerprint: true, help: 'CSV cell delimiter (default: sniffed from the file)' }),
  decimal: choice(['.', ','], undefined, { commands: [...DATA, 'export'], fingerprint: true, help: 'CSV decimal separator (default: a comma when the delimiter is not one and numbers are written 1,5)' }),
  header: choice(['auto', 'yes', 'no'], 'auto', { commands: [...DATA, 'export'], fingerprint: true, help: 'whether the first CSV row names the columns (auto: not when its cells are numbers like the rows below)' }),
  encoding: choice(ENCODINGS, 'auto', { commands: DATA, fingerprint: true, help: 'CSV text encoding (auto: a BOM says; else UTF-8 when the bytes are, else windows-1252); .csv.gz files are read directly' }),
  thousands: choice(THOUSANDS_CHOICES, undefined, { commands: DATA, fingerprint: true, help: "CSV thousands separator of formatted numbers such as 1,234.50 or 1.234,50 (, . space ' none; default: sniffed per column; currency signs, % and (negatives) are always read)" }),
  comment: text(undefined, { commands: DATA, fingerprint: true, help: 'CSV lines starting with this character are comments (default: only # lines before the table)' }),
  skipRows: integer(undefined, { min: 0, max: 1e6, commands: DATA, fingerprint: true, help: 'CSV lines before the table to skip (default: lines shorter than the table\'s rows are skipped, with a note)' }),
  skipFooter: integer(undefined, { min: 0, max: 1e6, commands: DATA, fingerprint: true, help: 'CSV records after the table to skip (default: a last row without a label and with text in the first column, e.g. Total)' }),
  dayfirst: flag({ commands: DATA, fingerprint: true, help: 'CSV dates like 03/04/2024 are day first (default: month first unless a column has a day over 12)' }),
  naValues: texts({ commands: [...DATA, 'export'], fingerprint: true, help: 'more cell texts that mean missing (besides empty, NA, N/A, NaN, null, ?, …)' }),
  missing: choice(MISSING_POLICIES, 'error', { commands: TRAINING, fingerprint: true, help: 'missing CSV cells: error, impute (numbers: the training mean; categories: a level of their own; kept in the model) or drop the rows' }),
  categorical: columns({ commands: TRAINING, fingerprint: true, help: 'CSV columns (names or 0-based indices) to one-hot as categories' }),
  numeric: columns({ commands: TRAINING, fingerprint: true, help: 'CSV columns to read as numbers (ID-like or not)' }),
  ignoreColumns: columns({ commands: TRAINING, fingerprint: true, help: 'CSV columns not to use' }),
  labels: path({ commands: DATA, fingerprint: false, file: 'input', help: 'IDX labels file, when --data is a single IDX images file' }),
  seed: integer(1, { min: 0, max: Number.MAX_SAFE_INTEGER, commands: [...DATA, 'export'], fingerprint: true, help: 'seeds data generation, the validation split, initialisation and shuffling' }),
  samples: integer(undefined, { min: 2, max: 1 << 30, commands: [...DATA, 'bench'], fingerprint: true, help: 'builtin sets: number of rows' }),
  features: integer(undefined, { min: 1, max: 1 << 30, commands: DATA, fingerprint: true, help: 'builtin:blobs: number of features' }),
  classes: integer(undefined, { min: 2, max: 1 << 30, commands: DATA, fingerprint: true, help: 'builtin:spirals/blobs: number of classes' }),
  noise: real(undefined, { min: 0, max: 1e30, commands: DATA, fingerprint: true, help: 'builtin sets: noise level (at most 1e30: beyond it the points overflow float32)' }),
  testData: path({ commands: [...TRAINING, 'export'], fingerprint: false, file: 'input', help: "CSV (or IDX) evaluated once after training; replaces an IDX directory's t10k set" }),

  // ---- the network and how it learns ----
  layers: sizes([64, 64], { max: MAX_LAYER_SIZE, example: '128,64', commands: [...SEARCHED, 'bench'], defaultIn: { bench: undefined }, fingerprint: true, help: { train: 'hidden layer sizes', bench: 'measure this network (784 inputs, 10 classes) instead of the standard workloads' } }),
  activation: choice(HIDDEN_ACTIVATIONS, 'relu', { commands: MEASURED, fingerprint: true, help: 'hidden activation (gelu: the tanh approximation)' }),
  leakySlope: hyper('leakySlope'),
  dropout: real(0, { min: 0, max: 1, below: true, commands: TRAINING, fingerprint: true, help: 'fraction of each hidden layer\'s units dropped in every training step (inverted dropout, masks seeded by --seed, the step and the row: the same on any thread count); off in evaluate, predict and export' }),
  loss: choice(['auto', ...LOSS_KINDS], 'auto', { commands: TRAINING, fingerprint: true, help: 'auto: 2 classes → bce, more → cross-entropy; a CSV label of numbers with fractions or more than 50 distinct values → mse' }),
  classWeight: choice(['none', 'balanced'], 'none', { commands: [...TRAINING, 'export'], fingerprint: true, help: "balanced: each row's loss weighted by n / (classes × rows of its class), fitted on the training rows, as scikit-learn's class_weight='balanced' (for imbalanced classes)" }),
  mode: choice(MODES, 'minibatch', { commands: [...TRAINING, 'export'], fingerprint: true, help: 'batch: the whole set per step; sgd: one row per step' }),
  batchSize: integer(64, { min: 1, max: 1 << 24, commands: [...MEASURED, 'export'], defaultIn: { bench: undefined }, fingerprint: true, help: { train: 'rows per step in minibatch mode', bench: 'rows per step (default: each workload\'s own; 128 with --layers)' } }),
  // Only the cosine schedule depends on the total epoch count; otherwise a resume may extend a run.
  epochs: integer(30, { min: 1, max: 1e7, commands: [...MEASURED, 'export'], defaultIn: { bench: 3 }, fingerprint: (o) => o.lrSchedule === 'cosine', help: 'passes over the training set' }),
  lr: real(0.1, { min: 0, above: true, commands: [...SEARCHED, 'export'], fingerprint: true, help: 'learning rate' }),
  optimizer: choice(OPTIMIZERS, 'sgd', { commands: [...TRAINING, 'export'], fingerprint: true, help: 'update rule, as PyTorch writes it: plain SGD, momentum (--momentum), adam and adamw (--beta1, --beta2, --epsilon), rmsprop (--alpha, --epsilon)' }),
  momentum: hyper('momentum'),
  beta1: hyper('beta1'),
  beta2: hyper('beta2'),
  alpha: hyper('alpha'),
  epsilon: hyper('epsilon'),
  weightDecay: { ...hyper('weightDecay'), commands: [...SEARCHED, 'export'] as const },
  lrSchedule: choice(SCHEDULES, 'constant', { commands: [...TRAINING, 'export'], fingerprint: true, help: `step: halve every ${STEP_EVERY_EPOCHS} epochs; cosine: decay to 0 over the run` }),
  normalize: choice(NORMALIZE_CHOICES, 'auto', { commands: TRAINING, fingerprint: true, help: 'feature scaling fitted on the training rows, saved in the model (auto: standard for CSV number columns, none for one-hot columns, IDX pixels and builtin sets)' }),
  valSplit: real(0, { min: 0, max: 1, below: true, commands: [...TRAINING, 'export'], fingerprint: true, help: 'fraction of the rows held out for validation (seeded)' }),
  init: pathOr((value): value is Model => value instanceof Model, 'a Model', {
    commands: ['train', 'export'],
    fingerprint: false,
    file: 'input',
    help: 'start from this model (.json or .safetensors): its weights, architecture, labels and preprocessing, to train more epochs or fine-tune on new data',
  }),
  patience: integer(undefined, { min: 1, max: 1e7, commands: ['train', 'tune', 'export'], fingerprint: true, help: 'stop after N epochs without a better val_loss, keeping the best weights' }),

  // ---- how it runs ----
  threads: {
    ...integer(() => availableParallelism(), {
      min: 1,
      max: maxThreads(),
      commands: MEASURED,
      fingerprint: false,
      help: { train: 'compute threads; more than the cores are not started', bench: 'the most threads to measure: 1, 2, 4, … up to this' },
    }),
    defaultText: 'the number of cores',
  },
  kernels: choice(KERNEL_OPTIONS, 'auto', { commands: MEASURED, fingerprint: false, help: 'kernel set (auto: native when built, else WebAssembly SIMD)' }),

  // ---- what it writes ----
  out: path({
    commands: ['train', 'tune', 'compare-modes', 'predict', 'export', 'import'],
    requiredIn: ['compare-modes', 'predict', 'export', 'import'],
    fingerprint: false,
    file: 'output',
    help: { train: 'write the trained model here (.json, .safetensors, or .onnx to run elsewhere)', tune: 'write the best configuration, refitted on all rows, here (.json, .safetensors or .onnx)', 'compare-modes': 'HTML report to write', predict: 'predictions CSV to write (- prints it to stdout)', export: 'model file to write (--format torch: a new or empty directory)', import: 'model file to write (.json, .safetensors or .onnx)' },
  }),
  checkpointDir: path({ commands: ['train'], fingerprint: false, file: 'checkpoint-output', help: 'write a checkpoint here after every epoch' }),
  resume: path({ commands: ['train'], fingerprint: false, file: 'checkpoint-input', help: 'continue from the checkpoint in this directory (same flags as the original run)' }),
  batchSizes: sizes([64, 128, 256, 512], { max: 1 << 24, example: '32,128', commands: ['compare-modes', 'bench'], defaultIn: { bench: undefined }, fingerprint: false, help: { 'compare-modes': 'mini-batch sizes to compare', bench: 'measure each workload at each of these batch sizes (a rows-per-thread sweep: batch 16–256 on 2 threads stands in for 128–2048 on 16)' } }),

  workloads: names(WORKLOAD_IDS, WORKLOAD_IDS, { commands: ['bench'], fingerprint: false, help: 'standard workloads to measure (M1, M2: small MLPs, M3: a large one)' }),
  rounds: integer(3, { min: 1, max: 1000, commands: ['bench'], fingerprint: false, help: 'rounds; each runs every thread count once, interleaved; samples/s is the median over rounds' }),

  // ---- tune (or train --tune): a grid search by k-fold cross-validation (the library's tune(): folds, grid.layers, grid.lr, grid.weightDecay) ----
  tune: flag({ commands: ['train'], library: false, fingerprint: false, help: 'search hidden layers, learning rate and weight decay by k-fold cross-validation (runs in parallel, one per core), then train the best on all rows (--out saves it)' }),
  folds: integer(3, { min: 2, max: 50, commands: ['train', 'tune'], library: false, fingerprint: false, help: 'tune: folds of the cross-validation (stratified for classes)' }),
  tuneLayers: sizeLists({ max: MAX_LAYER_SIZE, commands: ['train', 'tune'], library: false, fingerprint: false, help: "tune: hidden layers to try, ';' between networks, e.g. 32;64,64 (default: the data's default, half and twice as wide)" }),
  tuneLr: reals({ min: 0, commands: ['train', 'tune'], library: false, fingerprint: false, help: "tune: learning rates to try (default: the data's default and 3 times it)" }),
  tuneWeightDecay: reals({ min: 0, commands: ['train', 'tune'], library: false, fingerprint: false, help: "tune: weight decays to try (default: a tenth of the data's default, it, and 10 times it)" }),

  // ---- the command line only ----
  logJson: path({ commands: ['train'], library: false, fingerprint: false, file: 'output', help: 'write one JSON line per epoch here, and a done line' }),
  plot: path({ commands: ['train'], library: false, fingerprint: false, file: 'output', help: 'draw loss and accuracy per epoch to this SVG file' }),
  quiet: flag({ commands: TRAINING, library: false, fingerprint: false, help: 'print nothing but errors' }),
  model: path({ commands: ['evaluate', 'predict', 'export'], requiredIn: ['evaluate', 'predict'], library: false, fingerprint: false, file: 'input', help: 'model file from train --out (.json or .safetensors)' }),
  json: flag({ commands: ['evaluate', 'bench', 'tune', 'train'], library: false, fingerprint: false, help: { evaluate: 'print one JSON object', bench: 'print one JSON object', tune: 'print the report as one JSON object (the grid with every fold score, the best, the refit)', train: 'tune: print the report as one JSON object' } }),
  format: { ...choice(['safetensors', 'json', 'onnx', 'torch'], undefined, { commands: ['export'], library: false, fingerprint: false, help: 'format of the file to write; torch: a directory for torchrun (PyTorch DDP) that continues the model with the train flags given' }), defaultText: "--out's extension (.safetensors, .json, .onnx)" },
} satisfies Record<string, OptionSpec<unknown>>;

export type OptionName = keyof typeof OPTIONS;
