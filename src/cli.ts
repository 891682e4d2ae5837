#!/usr/bin/env node
// The command line: flags → library calls → exit code. No math and no pool here.
import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { lossChart } from './cli/ascii-chart.js';
import { addFlags, libraryPart, optionsFromArgv, refuseRepeatedFlags, type Args } from './cli/flags.js';
import { formatEpochLine, formatLoss, formatPercent } from './cli/format.js';
import { JsonLog } from './cli/log-file.js';
import { exitWhenFlushed, print, printError, watchOutputStreams } from './cli/output.js';
import { EpochProgress } from './cli/progress.js';
import { listenForStopSignals } from './cli/stop-signals.js';
import { compareModes, type CompareOptions } from './compare.js';
import type { Dataset } from './data/dataset.js';
import { loadTrainingData } from './data/load.js';
import { InputError, flagName, optionRef } from './errors.js';
import { WriteError, writeFileAtomic } from './io/atomic.js';
import { ConfusionMatrix } from './model/metrics.js';
import { loadModel, type Model } from './model/model.js';
import { renderTrainingPlot } from './report/charts.js';
import { renderCompareReport } from './report/compare-report.js';
import { checkPathOptions } from './options/paths.js';
import { resolveOptions } from './options/resolve.js';
import type { CommandName } from './options/spec.js';
import { train, type TrainOptions } from './train.js';

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

async function trainCommand(argv: Args): Promise<void> {
  const given = optionsFromArgv(argv, 'train');
  const options = libraryPart(given) as unknown as TrainOptions;
  const { epochs } = resolveOptions('train', options);
  // Every output against every input and each other, log and plot included, before any work.
  await checkPathOptions('train', given);
  const quiet = given.quiet === true;
  const plotPath = given.plot as string | undefined;
  const progress = EpochProgress.enabled(process.stderr, quiet) ? new EpochProgress(process.stderr, epochs) : undefined;
  const log = new JsonLog(given.logJson as string | undefined, flagName('logJson'), (message) => printError(`gradpool: ${message}`));
  const stop = listenForStopSignals();
  try {
    const result = await train({
      ...options,
      signal: stop.signal,
      onProgress: progress ? (done, total, epoch) => progress.update(done, total, epoch) : undefined,
      onEpoch: (entry) => {
        progress?.finishEpoch();
        if (!quiet) print(formatEpochLine(entry, epochs));
        log.write(entry);
      },
    });
    const trained = result.steps > 0;
    // A run stopped before its first step leaves an old log (and plot) as they were.
    if (trained) log.write({ event: 'done', testLoss: result.test?.loss ?? null, testAccuracy: result.test?.accuracy ?? null, stopReason: result.stopReason });
    if (result.message) printError(`gradpool: ${result.message}`);
    if (!quiet) {
      if (result.test) print(`test      loss ${formatLoss(result.test.loss)}${result.test.accuracy === null ? '' : `  acc ${formatPercent(result.test.accuracy)}`}`);
      // The text chart is for a person at a terminal, not for logs or pipes.
      if (progress && result.history.length > 1) print(`\n${lossChart(result.history)}`);
      if (result.savedTo) print(`model saved to ${result.savedTo}`);
    }
    if (plotPath && trained) {
      try {
        await writeFileAtomic(plotPath, await renderTrainingPlot(result.history));
      } catch (error) {
        // The model is saved already: a missing picture is reported, not fatal.
        printError(`gradpool: warning: ${flagName('plot')} ${error instanceof WriteError ? error.message : `cannot draw ${plotPath}: ${error instanceof Error ? error.message : String(error)}`}`);
      }
    }
    if (result.stopReason === 'aborted') process.exitCode = stop.exitCode() || 130;
    if (result.stopReason === 'diverged') process.exitCode = EXIT_FAILURE;
  } finally {
    progress?.finishEpoch();
    stop.dispose();
    log.close();
  }
}

async function compareModesCommand(argv: Args): Promise<void> {
  const given = optionsFromArgv(argv, 'compare-modes');
  const options = libraryPart(given) as unknown as CompareOptions;
  const resolved = resolveOptions('compare-modes', options);
  const out = resolved.out!;
  await checkPathOptions('compare-modes', given);
  const quiet = given.quiet === true;
  const stop = listenForStopSignals();
  try {
    const runs = await compareModes({
      ...options,
      signal: stop.signal,
      onRun: (run, index, count) => {
        if (!quiet) print(`\n[${index + 1}/${count}] ${run.label}`);
      },
      onEpoch: (entry) => {
        if (!quiet) print(formatEpochLine(entry, resolved.epochs));
      },
    });
    if (runs.every((run) => run.history.length === 0)) {
      printError(`gradpool: stopped before the first epoch (interrupted); ${out} was not written`);
      process.exitCode = stop.exitCode() || 130;
      return;
    }
    const description = `${String(resolved.data)}, layers ${resolved.layers.join(',')}, ${resolved.activation}, lr ${resolved.lr}, ${resolved.epochs} epochs, seed ${resolved.seed}`;
    await writeFileAtomic(out, await renderCompareReport(runs, { description }));
    if (!quiet) print(`\nreport written to ${out}`);
    if (stop.exitCode()) process.exitCode = stop.exitCode();
  } finally {
    stop.dispose();
  }
}

/** The rows to evaluate or predict: an IDX directory's test set when it has one, else the data itself. */
async function loadForModel(model: Model, argv: Args, command: CommandName): Promise<Dataset> {
  const { data, labelColumn, labels, samples, features, classes, noise, seed } = resolveOptions(command as 'evaluate' | 'predict', libraryPart(optionsFromArgv(argv, command)));
  const { training, test } = await loadTrainingData(data as string, {
    labelColumn,
    labelsFile: labels,
    labels: model.labels === null ? 'values' : 'classes',
    classNames: model.labels ?? undefined,
    features: model.inputs,
    allowUnlabelled: true,
    builtin: { samples, features, classes, noise, seed },
  });
  return test ?? training;
}

async function evaluateCommand(argv: Args): Promise<void> {
  await checkPathOptions('evaluate', optionsFromArgv(argv, 'evaluate'));
  const model = await loadModel(argv.model as string);
  const dataset = await loadForModel(model, argv, 'evaluate');
  const result = model.evaluate(dataset);
  if (argv.json) {
    print(JSON.stringify(result));
    return;
  }
  print(`loss ${formatLoss(result.loss).trim()}${result.accuracy === null ? '' : `  accuracy ${formatPercent(result.accuracy).trim()}`}  samples ${result.samples}`);
  if (result.confusion && model.labels) print(`\n${ConfusionMatrix.from(model.labels, result.confusion).format()}`);
}

async function predictCommand(argv: Args): Promise<void> {
  const out = argv.out as string;
  await checkPathOptions('predict', optionsFromArgv(argv, 'predict'));
  const model = await loadModel(argv.model as string);
  const dataset = await loadForModel(model, argv, 'predict');
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
  if (!out.endsWith(expected)) throw new InputError(`${optionRef('out')}: a ${format} model file must end in ${expected}, got ${out}`);
  await checkPathOptions('export', optionsFromArgv(argv, 'export'));
  // The input format is read from the content; the output format follows the extension.
  await (await loadModel(argv.model as string)).save(out);
}

function csvCell(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A command line yargs refused (unknown flag, missing value): exit 2 like any bad input. */
class UsageError extends Error {}

/** Prints the one line for a failure and exits once stderr has it: 2 for bad input, 1 for anything else. */
function reportAndExit(error: unknown): void {
  if (error instanceof InputError) {
    printError(`gradpool: ${error.forCommandLine()}`);
    exitWhenFlushed(EXIT_USAGE);
    return;
  }
  if (error instanceof UsageError) {
    // yargs writes some messages over several lines; the contract is one line.
    printError(`gradpool: ${error.message.replace(/\s*\n\s*/g, ' ')} (see gradpool --help)`);
    exitWhenFlushed(EXIT_USAGE);
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  printError(`gradpool: error: ${message}`);
  if (process.env.GRADPOOL_DEBUG && error instanceof Error) printError(error.stack ?? '');
  exitWhenFlushed(EXIT_FAILURE);
}

/** The package's own version, for --version (package.json sits two folders above dist/src/). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export async function main(args: string[]): Promise<void> {
  watchOutputStreams();
  refuseRepeatedFlags(args);
  await yargs(args)
    .scriptName('gradpool')
    .usage('$0 <command> [options]')
    .command(
      'train',
      'train a network with data-parallel mini-batch gradient descent',
      (y) =>
        addFlags(y, 'train')
          .example('$0 train --data builtin:spirals', 'the default demo')
          .example('$0 train --data iris.csv --label-column species --val-split 0.2 --out iris.json', 'a CSV with string labels')
          .example('$0 train --data ./fashion-mnist --layers 128,64 --epochs 10', 'IDX files; t10k-* is the test set'),
      trainCommand,
    )
    .command('compare-modes', 'train the same network with batch GD, mini-batch GD and SGD and chart the costs', (y) => addFlags(y, 'compare-modes'), compareModesCommand)
    .command('evaluate', 'loss, accuracy and confusion matrix of a saved model on data', (y) => addFlags(y, 'evaluate'), evaluateCommand)
    .command('predict', 'write predicted class and class probabilities per row to a CSV', (y) => addFlags(y, 'predict'), predictCommand)
    .command('export', 'convert a model file between JSON and safetensors (weights named as a PyTorch nn.Sequential)', (y) => addFlags(y, 'export'), exportCommand)
    .demandCommand(1, 'name a command: train, evaluate, predict, compare-modes or export')
    .recommendCommands()
    .strict()
    .help()
    .alias('h', 'help')
    .version(packageVersion())
    .alias('v', 'version')
    .wrap(Math.min(100, process.stdout.columns || 80))
    .fail((message, error) => {
      // Thrown on to main's caller, which reports it once and exits when stderr has it.
      throw error ?? new UsageError(message);
    })
    .parseAsync();
}

main(hideBin(process.argv)).catch(reportAndExit);
