#!/usr/bin/env node
// The command line: flags → library calls → exit code. No math and no pool here.
import { closeSync, openSync, writeSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { formatEpochLine, formatLoss, formatPercent } from './cli/format.js';
import { EpochProgress } from './cli/progress.js';
import { loadDataset } from './data/load.js';
import { MODES, type Mode } from './data/batches.js';
import { BUILTIN_NAMES } from './data/builtin.js';
import { InputError } from './errors.js';
import { assertWritablePath, writeFileAtomic } from './io/atomic.js';
import { HIDDEN_ACTIVATIONS, LOSS_KINDS, type HiddenActivation } from './math/kernels.js';
import { loadModel, type Model } from './model/model.js';
import { ConfusionMatrix } from './model/metrics.js';
import { DEFAULTS, type KernelOption, type LossChoice } from './options.js';
import { NORMALIZATIONS, type NormalizationKind } from './data/normalize.js';
import { OPTIMIZERS, type OptimizerName } from './optim/optimizers.js';
import { SCHEDULES, STEP_EVERY_EPOCHS, type ScheduleName } from './optim/schedule.js';
import { renderTrainingPlot } from './report/charts.js';
import { lossChart } from './cli/ascii-chart.js';
import { train } from './train.js';

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

function dataOptions(y: Argv) {
  return y
    .option('data', { type: 'string', demandOption: true, describe: `builtin:NAME (${BUILTIN_NAMES.join(', ')}) or a CSV file` })
    .option('label-column', { type: 'string', describe: 'label column name or 0-based index (default: last)' })
    .option('seed', { type: 'number', default: DEFAULTS.seed, describe: 'seed for data generation, split, init and shuffling' })
    .option('samples', { type: 'number', describe: 'builtin sets: number of rows' })
    .option('features', { type: 'number', describe: 'builtin:blobs: number of features' })
    .option('classes', { type: 'number', describe: 'builtin:spirals/blobs: number of classes' })
    .option('noise', { type: 'number', describe: 'builtin sets: noise level' });
}

/** "128,64" → [128, 64]; anything else is a usage error naming the flag. */
function parseLayers(text: string): number[] {
  const sizes = text.split(',').map((part) => (/^\s*\d+\s*$/.test(part) ? Number(part) : NaN));
  if (text.trim() === '' || sizes.some((size) => !Number.isInteger(size) || size < 1)) {
    throw new InputError(`--layers must be comma-separated positive integers such as 128,64, got "${text}"`);
  }
  return sizes;
}

/** yargs turns "abc" into NaN for numeric flags; name the flag instead of training on NaN. */
function checkNumbers(argv: Record<string, unknown>, flags: string[]): void {
  for (const flag of flags) {
    const value = argv[flag];
    if (typeof value === 'number' && Number.isNaN(value)) throw new InputError(`--${flag} needs a number`);
  }
}

async function trainCommand(argv: Record<string, unknown>): Promise<void> {
  checkNumbers(argv, ['batch-size', 'epochs', 'lr', 'threads', 'seed', 'val-split', 'samples', 'features', 'classes', 'noise', 'momentum', 'beta1', 'beta2', 'epsilon', 'weight-decay', 'patience']);
  const quiet = argv.quiet === true;
  const epochs = argv.epochs as number;
  const logPath = argv['log-json'] as string | undefined;
  if (logPath) await assertWritablePath('--log-json', logPath);
  if (argv.plot) await assertWritablePath('--plot', argv.plot as string);
  const progress = EpochProgress.enabled(process.stderr, quiet) ? new EpochProgress(process.stderr, epochs) : undefined;
  const log = logPath ? openSync(logPath, 'w') : undefined;
  const writeLog = (record: object): void => {
    if (log !== undefined) writeSync(log, JSON.stringify(record) + '\n');
  };
  // The first SIGINT/SIGTERM stops at the next step boundary and still saves --out;
  // a second one exits at once.
  const stop = new AbortController();
  let signalExitCode = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    const code = signal === 'SIGTERM' ? 143 : 130;
    if (stop.signal.aborted) process.exit(code);
    signalExitCode = code;
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await train({
      data: argv.data as string,
      testData: argv['test-data'] as string | undefined,
      labelColumn: argv['label-column'] as string | undefined,
      layers: parseLayers(String(argv.layers)),
      activation: argv.activation as HiddenActivation,
      loss: argv.loss as LossChoice,
      mode: argv.mode as Mode,
      batchSize: argv['batch-size'] as number,
      epochs,
      lr: argv.lr as number,
      threads: argv.threads as number | undefined,
      seed: argv.seed as number,
      valSplit: argv['val-split'] as number,
      out: argv.out as string | undefined,
      samples: argv.samples as number | undefined,
      features: argv.features as number | undefined,
      classes: argv.classes as number | undefined,
      noise: argv.noise as number | undefined,
      labels: argv.labels as string | undefined,
      optimizer: argv.optimizer as OptimizerName,
      momentum: argv.momentum as number,
      beta1: argv.beta1 as number,
      beta2: argv.beta2 as number,
      epsilon: argv.epsilon as number,
      weightDecay: argv['weight-decay'] as number,
      lrSchedule: argv['lr-schedule'] as ScheduleName,
      patience: argv.patience as number | undefined,
      checkpointDir: argv['checkpoint-dir'] as string | undefined,
      resume: argv.resume as string | undefined,
      normalize: argv.normalize as NormalizationKind,
      kernels: argv.kernels as KernelOption,
      signal: stop.signal,
      onProgress: progress ? (done, total, epoch) => progress.update(done, total, epoch) : undefined,
      onEpoch: (entry) => {
        progress?.finishEpoch();
        if (!quiet) console.log(formatEpochLine(entry, epochs));
        writeLog(entry);
      },
    });
    writeLog({ event: 'done', testLoss: result.test?.loss ?? null, testAccuracy: result.test?.accuracy ?? null, stopReason: result.stopReason });
    if (result.message) console.error(`gradpool: ${result.message}`);
    if (!quiet) {
      if (result.test) console.log(`test      loss ${formatLoss(result.test.loss)}${result.test.accuracy === null ? '' : `  acc ${formatPercent(result.test.accuracy)}`}`);
      if (progress && result.history.length > 1) console.log(lossChart(result.history));
      if (argv.out) console.log(`model saved to ${argv.out as string}`);
    }
    if (argv.plot) await writeFileAtomic(argv.plot as string, await renderTrainingPlot(result.history));
    if (result.stopReason === 'aborted') process.exitCode = signalExitCode || 130;
    if (result.stopReason === 'diverged') process.exitCode = EXIT_FAILURE;
  } finally {
    progress?.finishEpoch();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (log !== undefined) closeSync(log);
  }
}

async function loadForModel(model: Model, argv: Record<string, unknown>) {
  checkNumbers(argv, ['seed', 'samples', 'features', 'classes', 'noise']);
  const labels = model.labels === null ? 'values' : 'classes';
  return loadDataset(argv.data as string, {
    labelColumn: argv['label-column'] as string | undefined,
    labels,
    classNames: model.labels ?? undefined,
    features: model.inputs,
    allowUnlabelled: true,
    builtin: {
      samples: argv.samples as number | undefined,
      features: argv.features as number | undefined,
      classes: argv.classes as number | undefined,
      noise: argv.noise as number | undefined,
      seed: argv.seed as number,
    },
  });
}

async function evaluateCommand(argv: Record<string, unknown>): Promise<void> {
  const model = await loadModel(argv.model as string);
  const dataset = await loadForModel(model, argv);
  const result = model.evaluate(dataset);
  if (argv.json) {
    console.log(JSON.stringify(result));
    return;
  }
  console.log(`loss ${formatLoss(result.loss).trim()}${result.accuracy === null ? '' : `  accuracy ${formatPercent(result.accuracy).trim()}`}  samples ${result.samples}`);
  if (result.confusion && model.labels) console.log(`\n${ConfusionMatrix.from(model.labels, result.confusion).format()}`);
}

async function predictCommand(argv: Record<string, unknown>): Promise<void> {
  const out = argv.out as string;
  await assertWritablePath('--out', out);
  const model = await loadModel(argv.model as string);
  const dataset = await loadForModel(model, argv);
  const outputs = model.outputsFor(dataset.x, dataset.rows);
  const labels = model.labels;
  const lines: string[] = [labels ? ['predicted', ...labels.map((l) => `prob_${l}`)].map(csvCell).join(',') : 'predicted'];
  for (let r = 0; r < dataset.rows; r++) {
    const probabilities = model.probabilities(outputs, r);
    if (!labels) {
      lines.push(String(probabilities[0]));
      continue;
    }
    let best = 0;
    for (let c = 1; c < probabilities.length; c++) if (probabilities[c]! > probabilities[best]!) best = c;
    lines.push([csvCell(labels[best]!), ...probabilities.map((p) => p.toPrecision(6))].join(','));
  }
  await writeFileAtomic(out, lines.join('\n') + '\n');
}

function csvCell(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function reportAndExit(error: unknown): never {
  if (error instanceof InputError) {
    console.error(`gradpool: ${error.message}`);
    process.exit(EXIT_USAGE);
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`gradpool: error: ${message}`);
  if (process.env.GRADPOOL_DEBUG && error instanceof Error) console.error(error.stack);
  process.exit(EXIT_FAILURE);
}

export async function main(args: string[]): Promise<void> {
  await yargs(args)
    .scriptName('gradpool')
    .usage('$0 <command> [options]')
    .command(
      'train',
      'train a network with data-parallel mini-batch gradient descent',
      (y) =>
        dataOptions(y)
          .option('test-data', { type: 'string', describe: 'CSV evaluated once after training' })
          .option('layers', { type: 'string', default: DEFAULTS.layers.join(','), describe: 'hidden layer sizes, e.g. 128,64' })
          .option('activation', { choices: HIDDEN_ACTIVATIONS, default: DEFAULTS.activation, describe: 'hidden activation' })
          .option('loss', { choices: ['auto', ...LOSS_KINDS], default: DEFAULTS.loss, describe: 'auto: 2 classes → bce, more → cross-entropy' })
          .option('mode', { choices: MODES, default: DEFAULTS.mode, describe: 'batch: whole set per step; sgd: one row per step' })
          .option('batch-size', { type: 'number', default: DEFAULTS.batchSize, describe: 'rows per step in minibatch mode' })
          .option('epochs', { type: 'number', default: DEFAULTS.epochs })
          .option('lr', { type: 'number', default: DEFAULTS.lr, describe: 'learning rate' })
          .option('threads', { type: 'number', describe: 'compute threads (default: available cores)' })
          .option('val-split', { type: 'number', default: DEFAULTS.valSplit, describe: 'fraction held out for validation' })
          .option('optimizer', { choices: OPTIMIZERS, default: DEFAULTS.optimizer })
          .option('momentum', { type: 'number', default: DEFAULTS.momentum, describe: 'momentum optimizer: μ' })
          .option('beta1', { type: 'number', default: DEFAULTS.beta1, describe: 'adam: β1' })
          .option('beta2', { type: 'number', default: DEFAULTS.beta2, describe: 'adam: β2' })
          .option('epsilon', { type: 'number', default: DEFAULTS.epsilon, describe: 'adam: ε' })
          .option('weight-decay', { type: 'number', default: DEFAULTS.weightDecay, describe: 'L2 penalty λ (adds λ·w to the gradient)' })
          .option('lr-schedule', { choices: SCHEDULES, default: DEFAULTS.lrSchedule, describe: `step: halve every ${STEP_EVERY_EPOCHS} epochs; cosine: decay to 0 over the run` })
          .option('patience', { type: 'number', describe: 'stop after N epochs without a better val_loss, keeping the best weights' })
          .option('checkpoint-dir', { type: 'string', describe: 'write a checkpoint here after every epoch' })
          .option('resume', { type: 'string', describe: 'continue from the checkpoint in this directory (same flags as the original run)' })
          .option('normalize', { choices: NORMALIZATIONS, default: DEFAULTS.normalize, describe: 'feature scaling fitted on the training rows, saved in the model' })
          .option('labels', { type: 'string', describe: 'IDX labels file, when --data is a single IDX images file' })
          .option('kernels', { choices: ['auto', 'wasm', 'typescript'], default: DEFAULTS.kernels, describe: 'matrix kernels (auto: wasm SIMD when available)' })
          .option('out', { type: 'string', describe: 'write the trained model here (.json, or .safetensors)' })
          .option('log-json', { type: 'string', describe: 'write one JSON line per epoch here' })
          .option('plot', { type: 'string', describe: 'draw loss and accuracy per epoch to this SVG file' })
          .option('quiet', { type: 'boolean', default: false, describe: 'print nothing but errors' })
          .example('$0 train --data builtin:spirals', 'the default demo')
          .example('$0 train --data iris.csv --label-column species --val-split 0.2 --out iris.json', 'a CSV with string labels'),
      trainCommand,
    )
    .command(
      'evaluate',
      'loss and accuracy of a saved model on data',
      (y) =>
        dataOptions(y)
          .option('model', { type: 'string', demandOption: true, describe: 'model file from train --out' })
          .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }),
      evaluateCommand,
    )
    .command(
      'predict',
      'write predicted class and class probabilities per row to a CSV',
      (y) =>
        dataOptions(y)
          .option('model', { type: 'string', demandOption: true, describe: 'model file from train --out' })
          .option('out', { type: 'string', demandOption: true, describe: 'predictions CSV to write' }),
      predictCommand,
    )
    .demandCommand(1, 'name a command: train, evaluate or predict')
    .strict()
    .help()
    .version(false)
    .fail((message, error) => {
      if (error) reportAndExit(error);
      // yargs writes some messages over several lines; the contract is one line.
      console.error(`gradpool: ${message.replace(/\s*\n\s*/g, ' ')} (see gradpool --help)`);
      process.exit(EXIT_USAGE);
    })
    .parseAsync();
}

main(hideBin(process.argv)).catch(reportAndExit);
