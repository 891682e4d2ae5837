#!/usr/bin/env node
// The command line: flags → library calls → exit code. No math and no pool here.
import { closeSync, openSync, writeSync } from 'node:fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { lossChart } from './cli/ascii-chart.js';
import { dataFlags, parseSizes, toTrainOptions, trainingFlags, checkNumbers, type Args } from './cli/flags.js';
import { formatEpochLine, formatLoss, formatPercent } from './cli/format.js';
import { EpochProgress } from './cli/progress.js';
import { listenForStopSignals } from './cli/stop-signals.js';
import { compareModes } from './compare.js';
import type { Dataset } from './data/dataset.js';
import { loadTrainingData } from './data/load.js';
import { InputError } from './errors.js';
import { assertWritablePath, writeFileAtomic } from './io/atomic.js';
import { ConfusionMatrix } from './model/metrics.js';
import { loadModel, type Model } from './model/model.js';
import { renderTrainingPlot } from './report/charts.js';
import { renderCompareReport } from './report/compare-report.js';
import { train } from './train.js';

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

async function trainCommand(argv: Args): Promise<void> {
  const options = toTrainOptions(argv);
  const quiet = argv.quiet === true;
  const epochs = options.epochs!;
  const logPath = argv['log-json'] as string | undefined;
  const plotPath = argv.plot as string | undefined;
  if (logPath) await assertWritablePath('--log-json', logPath);
  if (plotPath) await assertWritablePath('--plot', plotPath);
  const progress = EpochProgress.enabled(process.stderr, quiet) ? new EpochProgress(process.stderr, epochs) : undefined;
  // Opened at the first line, so that a run refused for bad input leaves an old log untouched.
  let log: number | undefined;
  const writeLog = (record: object): void => {
    if (!logPath) return;
    log ??= openSync(logPath, 'w');
    writeSync(log, JSON.stringify(record) + '\n');
  };
  const stop = listenForStopSignals();
  try {
    const result = await train({
      ...options,
      out: argv.out as string | undefined,
      patience: argv.patience as number | undefined,
      checkpointDir: argv['checkpoint-dir'] as string | undefined,
      resume: argv.resume as string | undefined,
      signal: stop.signal,
      onStart: ({ kernelSet, kernelNote, threads }) => {
        if (kernelNote && !quiet) console.error(`gradpool: ${kernelNote}`);
        // said once: here on a terminal, in the result and in the log's closing record otherwise
        if (!quiet && process.stdout.isTTY) console.log(`training on ${threads} thread${threads === 1 ? '' : 's'} with ${kernelSet} kernels`);
      },
      onProgress: progress ? (done, total, epoch) => progress.update(done, total, epoch) : undefined,
      onEpoch: (entry) => {
        progress?.finishEpoch();
        if (!quiet) console.log(formatEpochLine(entry, epochs));
        writeLog(entry);
      },
    });
    writeLog({ event: 'done', testLoss: result.test?.loss ?? null, testAccuracy: result.test?.accuracy ?? null, stopReason: result.stopReason, kernels: result.kernelSet });
    if (result.message) console.error(`gradpool: ${result.message}`);
    if (!quiet) {
      if (result.test) console.log(`test      loss ${formatLoss(result.test.loss)}${result.test.accuracy === null ? '' : `  acc ${formatPercent(result.test.accuracy)}`}`);
      // The text chart is for a person at a terminal, not for logs or pipes.
      if (progress && result.history.length > 1) console.log(`\n${lossChart(result.history)}`);
      if (argv.out) console.log(`model saved to ${argv.out as string}`);
    }
    if (plotPath) await writeFileAtomic(plotPath, await renderTrainingPlot(result.history));
    if (result.stopReason === 'aborted') process.exitCode = stop.exitCode() || 130;
    if (result.stopReason === 'diverged') process.exitCode = EXIT_FAILURE;
  } finally {
    progress?.finishEpoch();
    stop.dispose();
    if (log !== undefined) closeSync(log);
  }
}

async function compareModesCommand(argv: Args): Promise<void> {
  const out = argv.out as string;
  await assertWritablePath('--out', out);
  const options = toTrainOptions(argv);
  const quiet = argv.quiet === true;
  const stop = listenForStopSignals();
  try {
    const runs = await compareModes({
      ...options,
      batchSizes: parseSizes('--batch-sizes', String(argv['batch-sizes'])),
      signal: stop.signal,
      onRun: (run, index, count) => {
        if (!quiet) console.log(`\n[${index + 1}/${count}] ${run.label}`);
      },
      onEpoch: (entry) => {
        if (!quiet) console.log(formatEpochLine(entry, options.epochs!));
      },
    });
    const description = `${options.data}, layers ${options.layers!.join(',')}, ${options.activation}, lr ${options.lr}, ${options.epochs} epochs, seed ${options.seed}`;
    await writeFileAtomic(out, await renderCompareReport(runs, { description }));
    if (!quiet) console.log(`\nreport written to ${out}`);
    if (stop.exitCode()) process.exitCode = stop.exitCode();
  } finally {
    stop.dispose();
  }
}

/** The rows to evaluate or predict: an IDX directory's test set when it has one, else the data itself. */
async function loadForModel(model: Model, argv: Args): Promise<Dataset> {
  checkNumbers(argv);
  const { training, test } = await loadTrainingData(argv.data as string, {
    labelColumn: argv['label-column'] as string | undefined,
    labelsFile: argv.labels as string | undefined,
    labels: model.labels === null ? 'values' : 'classes',
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
  return test ?? training;
}

async function evaluateCommand(argv: Args): Promise<void> {
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

async function predictCommand(argv: Args): Promise<void> {
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

async function exportCommand(argv: Args): Promise<void> {
  const out = argv.out as string;
  const format = argv.format as string;
  const expected = format === 'safetensors' ? '.safetensors' : '.json';
  if (!out.endsWith(expected)) throw new InputError(`--out: a ${format} model file must end in ${expected}, got ${out}`);
  await assertWritablePath('--out', out);
  // The input format is read from the content; the output format follows the extension.
  await (await loadModel(argv.model as string)).save(out);
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
        trainingFlags(y)
          .option('patience', { type: 'number', describe: 'stop after N epochs without a better val_loss, keeping the best weights' })
          .option('checkpoint-dir', { type: 'string', describe: 'write a checkpoint here after every epoch' })
          .option('resume', { type: 'string', describe: 'continue from the checkpoint in this directory (same flags as the original run)' })
          .option('out', { type: 'string', describe: 'write the trained model here (.json, or .safetensors)' })
          .option('log-json', { type: 'string', describe: 'write one JSON line per epoch here' })
          .option('plot', { type: 'string', describe: 'draw loss and accuracy per epoch to this SVG file' })
          .example('$0 train --data builtin:spirals', 'the default demo')
          .example('$0 train --data iris.csv --label-column species --val-split 0.2 --out iris.json', 'a CSV with string labels')
          .example('$0 train --data ./fashion-mnist --layers 128,64 --batch-size 128 --epochs 10', 'IDX files; t10k-* is the test set'),
      trainCommand,
    )
    .command(
      'compare-modes',
      'train the same network with batch GD, mini-batch GD and SGD and chart the costs',
      (y) =>
        trainingFlags(y)
          .option('batch-sizes', { type: 'string', default: '64,128,256,512', describe: 'mini-batch sizes to compare' })
          .option('out', { type: 'string', demandOption: true, describe: 'HTML report to write' }),
      compareModesCommand,
    )
    .command(
      'evaluate',
      'loss, accuracy and confusion matrix of a saved model on data',
      (y) =>
        dataFlags(y)
          .option('model', { type: 'string', demandOption: true, describe: 'model file from train --out (.json or .safetensors)' })
          .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }),
      evaluateCommand,
    )
    .command(
      'predict',
      'write predicted class and class probabilities per row to a CSV',
      (y) =>
        dataFlags(y)
          .option('model', { type: 'string', demandOption: true, describe: 'model file from train --out (.json or .safetensors)' })
          .option('out', { type: 'string', demandOption: true, describe: 'predictions CSV to write' }),
      predictCommand,
    )
    .command(
      'export',
      'convert a model file between JSON and safetensors (weights named as a PyTorch nn.Sequential)',
      (y) =>
        y
          .option('model', { type: 'string', demandOption: true, describe: 'model file (.json or .safetensors)' })
          .option('format', { choices: ['safetensors', 'json'], default: 'safetensors' })
          .option('out', { type: 'string', demandOption: true, describe: 'file to write' }),
      exportCommand,
    )
    .demandCommand(1, 'name a command: train, evaluate, predict, compare-modes or export')
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
