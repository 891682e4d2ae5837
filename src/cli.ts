#!/usr/bin/env node
// The command line: flags → library calls → exit code. No math and no pool here.
import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { lossChart } from './cli/ascii-chart.js';
import { addFlags, libraryPart, optionsFromArgv, refuseRepeatedFlags, type Args } from './cli/flags.js';
import { formatThroughput, machineDescription } from './cli/bench-table.js';
import { formatEpochLine, formatLoss, formatPercent } from './cli/format.js';
import { JsonLog } from './cli/log-file.js';
import { exitWhenFlushed, print, printError, watchOutputStreams } from './cli/output.js';
import { EpochProgress, LoadProgress } from './cli/progress.js';
import { listenForStopSignals } from './cli/stop-signals.js';
import type { CompareOptions } from './compare.js';
import { materialize, type Dataset } from './data/dataset.js';
import { openForModel } from './data/load.js';
import { describeColumn } from './data/schema.js';
import { InputError, flagName, optionRef } from './errors.js';
import { WriteError, writeFileAtomic } from './io/atomic.js';
import { WriteRefused } from './io/guard.js';
import { ConfusionMatrix } from './model/metrics.js';
import { loadModel, type Model } from './model/model.js';
import { assertChartsAvailable, renderTrainingPlot } from './report/charts.js';
import { compareModesWithReport } from './report/compare-report.js';
import { checkPathOptions } from './options/paths.js';
import { resolveOptions } from './options/resolve.js';
import { measureThroughput, type ThroughputOptions } from './throughput.js';
import { train, type DataSummary, type TrainOptions } from './train.js';

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

async function trainCommand(argv: Args): Promise<void> {
  // Listening from the start: a signal while paths are checked or data loads stops the run before
  // its first step (nothing written), instead of killing the process mid-way.
  const stop = listenForStopSignals();
  try {
    await trainWithSignals(argv, stop);
  } finally {
    stop.dispose();
  }
}

async function trainWithSignals(argv: Args, stop: ReturnType<typeof listenForStopSignals>): Promise<void> {
  const given = optionsFromArgv(argv, 'train');
  const options = libraryPart(given) as unknown as TrainOptions;
  const { epochs } = resolveOptions('train', options);
  // Every output against every input and each other, log and plot included, before any work.
  await checkPathOptions('train', given);
  const quiet = given.quiet === true;
  const plotPath = given.plot as string | undefined;
  if (plotPath) assertChartsAvailable(optionRef('plot'));
  const progress = EpochProgress.enabled(process.stderr, quiet) ? new EpochProgress(process.stderr, epochs) : undefined;
  const reading = progress ? new LoadProgress(process.stderr) : undefined;
  const log = new JsonLog(given.logJson as string | undefined, flagName('logJson'), (message) => printError(`gradpool: ${message}`));
  try {
    const result = await train({
      ...options,
      signal: stop.signal,
      onStart: ({ kernelSet, kernelNote, threads }) => {
        if (kernelNote && !quiet) printError(`gradpool: ${kernelNote}`);
        // said once: here on a terminal, in the result and in the log's closing record otherwise
        if (!quiet && process.stdout.isTTY) print(`training on ${threads} thread${threads === 1 ? '' : 's'} with ${kernelSet} kernels`);
      },
      onLoadProgress: reading ? (bytes, total) => reading.update(bytes, total) : undefined,
      onData: (data) => {
        reading?.finish();
        if (!quiet) printData(data, process.stdout.isTTY === true);
      },
      onProgress: progress ? (done, total, epoch) => progress.update(done, total, epoch) : undefined,
      onEpoch: (entry) => {
        progress?.finishEpoch();
        if (!quiet) print(formatEpochLine(entry, epochs));
        log.write(entry);
      },
    });
    const trained = result.steps > 0;
    // A run stopped before its first step leaves an old log (and plot) as they were.
    if (trained) log.write({ event: 'done', testLoss: result.test?.loss ?? null, testAccuracy: result.test?.accuracy ?? null, stopReason: result.stopReason, kernels: result.kernelSet, loadSeconds: result.data.loadSeconds });
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
        printError(`gradpool: warning: ${flagName('plot')} ${error instanceof WriteError || error instanceof WriteRefused ? error.message : `cannot draw ${plotPath}: ${error instanceof Error ? error.message : String(error)}`}`);
      }
    }
    if (result.stopReason === 'aborted') process.exitCode = stop.exitCode() || 130;
    if (result.stopReason === 'diverged') process.exitCode = EXIT_FAILURE;
  } finally {
    reading?.finish();
    progress?.finishEpoch();
    log.close();
  }
}

async function compareModesCommand(argv: Args): Promise<void> {
  const given = optionsFromArgv(argv, 'compare-modes');
  const options = libraryPart(given) as unknown as CompareOptions;
  const resolved = resolveOptions('compare-modes', options);
  const out = resolved.out!;
  await checkPathOptions('compare-modes', given);
  assertChartsAvailable('compare-modes');
  const quiet = given.quiet === true;
  const stop = listenForStopSignals();
  try {
    const { written } = await compareModesWithReport({
      ...options,
      signal: stop.signal,
      onRun: (run, index, count) => {
        if (!quiet) print(`\n[${index + 1}/${count}] ${run.label}`);
      },
      onEpoch: (entry) => {
        if (!quiet) print(formatEpochLine(entry, resolved.epochs));
      },
    });
    if (!written) {
      printError(`gradpool: stopped before the first epoch (interrupted); ${out} was not written`);
      process.exitCode = stop.exitCode() || 130;
      return;
    }
    if (!quiet) print(`\nreport written to ${out}`);
    if (stop.exitCode()) process.exitCode = stop.exitCode();
  } finally {
    stop.dispose();
  }
}

/**
 * What was read, before training: on a terminal one line per column, in a pipe one line for all of
 * them (CSV files only; builtin sets and IDX files have no columns to speak of); then the notes.
 */
function printData(data: DataSummary, terminal: boolean): void {
  const { schema } = data;
  if (schema) {
    const target = data.classes ? `${data.classes.length} classes` : 'regression';
    const head = `data  ${data.source}: ${data.rows.toLocaleString('en-US')} rows, ${data.features} inputs, ${target} (${data.loadSeconds.toFixed(1)}s)`;
    const describe = (c: (typeof schema.columns)[number]): string => {
      const kind = c.kind === 'label' ? (data.classes ? `label (${data.classes.slice(0, 10).join(', ')}${data.classes.length > 10 ? ', …' : ''})` : 'label (regression target)') : describeColumn(c);
      return (c.kind === 'numeric' || c.kind === 'date') && c.fill !== undefined ? `${kind} (missing → ${Number(c.fill.toPrecision(4))})` : kind;
    };
    if (terminal) {
      const width = Math.min(24, Math.max(...schema.columns.map((c) => c.name.length)));
      print([head, ...schema.columns.map((c) => `  ${c.name.padEnd(width)}  ${describe(c)}`)].join('\n'));
    } else {
      print(`${head}; ${schema.columns.map((c) => `${c.name} ${describe(c)}`).join(', ')}`);
    }
  }
  for (const note of data.notes) print(`note: ${note}`);
}

/** The rows to evaluate or predict: an IDX directory's test set when it has one, else the data itself. */
async function loadForModel(model: Model, argv: Args, command: 'evaluate' | 'predict'): Promise<Dataset> {
  const o = resolveOptions(command, libraryPart(optionsFromArgv(argv, command)));
  const reading = process.stderr.isTTY ? new LoadProgress(process.stderr) : undefined;
  try {
    const description = await openForModel(o.data as string, { schema: model.schema, inputs: model.inputs, labels: model.labels }, command, {
      labelColumn: o.labelColumn,
      labelsFile: o.labels,
      builtin: { samples: o.samples, features: o.features, classes: o.classes, noise: o.noise, seed: o.seed },
      delimiter: o.delimiter,
      decimal: o.decimal,
      header: o.header,
      naValues: o.naValues,
      onProgress: reading ? (bytes, total) => reading.update(bytes, total) : undefined,
    });
    reading?.finish();
    // Said once, on stderr: columns of the file that the model does not read, and the like.
    for (const note of description.notes) printError(`gradpool: note: ${note}`);
    return materialize(description);
  } finally {
    reading?.finish();
  }
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
  const outputs = model.outputsFor(dataset.x, dataset.rows, undefined, (row) => `${dataset.source}: row ${row + 1}`);
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
  const expected = `.${format}`;
  if (!out.endsWith(expected)) throw new InputError(`${optionRef('out')}: a ${format} model file must end in ${expected}, got ${out}`);
  await checkPathOptions('export', optionsFromArgv(argv, 'export'));
  // The input format is read from the content; the output format follows the extension.
  await (await loadModel(argv.model as string)).save(out);
}

async function benchCommand(argv: Args): Promise<void> {
  const given = optionsFromArgv(argv, 'bench');
  const options = libraryPart(given) as ThroughputOptions;
  if (!given.json) print(machineDescription());
  const { rows, settings } = await measureThroughput({
    ...options,
    onRun: given.json ? undefined : (run) => printError(`  ${run.workload} round ${run.round}, ${run.threads} thread${run.threads === 1 ? '' : 's'}: ${Math.round(run.samplesPerSec).toLocaleString('en-US')} samples/s`),
  });
  print(given.json ? JSON.stringify({ machine: machineDescription(), settings, rows }) : `\n${formatThroughput(rows, settings)}`);
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
    printError(`gradpool: ${error.message} (see gradpool --help)`);
    exitWhenFlushed(EXIT_USAGE);
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  printError(`gradpool: error: ${message}`);
  if (process.env.GRADPOOL_DEBUG && error instanceof Error) printError(error.stack ?? '');
  exitWhenFlushed(EXIT_FAILURE);
}

/** Help's examples, each a description line and an indented command, so that they read at 80 columns. */
function examples(list: readonly (readonly [string, string])[]): string {
  return ['Examples:', ...list.map(([what, command]) => `  ${what}:\n    ${command}`)].join('\n');
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
        addFlags(y, 'train').epilogue(
          examples([
            ['the default demo', 'gradpool train --data builtin:spirals'],
            ['a CSV with string labels, a validation split, a saved model', 'gradpool train --data iris.csv --label-column species \\\n    --val-split 0.2 --out iris.json'],
            ['IDX files (t10k-* is the test set), Adam', 'gradpool train --data ./fashion-mnist --layers 128,64 \\\n    --optimizer adam --lr 0.001 --epochs 10'],
          ]),
        ),
      trainCommand,
    )
    .command(
      'compare-modes',
      'train the same network with batch GD, mini-batch GD and SGD and chart the costs',
      (y) => addFlags(y, 'compare-modes').epilogue(examples([['three mini-batch sizes on moons', 'gradpool compare-modes --data builtin:moons \\\n    --batch-sizes 16,64,256 --out modes.html']])),
      compareModesCommand,
    )
    .command(
      'evaluate',
      'loss, accuracy and confusion matrix of a saved model on data',
      (y) => addFlags(y, 'evaluate').epilogue(examples([['a held-out CSV, as JSON', 'gradpool evaluate --model iris.json --data iris-test.csv --json']])),
      evaluateCommand,
    )
    .command(
      'predict',
      'write predicted class and class probabilities per row to a CSV',
      (y) => addFlags(y, 'predict').epilogue(examples([['rows without labels', 'gradpool predict --model iris.json --data new.csv --out preds.csv']])),
      predictCommand,
    )
    .command(
      'export',
      'convert a model file to safetensors (weights named as a PyTorch nn.Sequential), JSON, or ONNX',
      (y) => addFlags(y, 'export').epilogue(examples([['for PyTorch', 'gradpool export --model iris.json --out iris.safetensors'], ['for ONNX Runtime', 'gradpool export --model iris.json --format onnx --out iris.onnx']])),
      exportCommand,
    )
    .command(
      'bench',
      'measure training throughput on this machine: samples/s by thread count, speedup, GFLOP/s',
      (y) =>
        addFlags(y, 'bench').epilogue(
          examples([
            ['the standard workloads on 1, 2, 4, … up to all cores', 'gradpool bench'],
            ['your own network, up to 8 threads, as JSON', 'gradpool bench --layers 256,128 --batch-size 256 --threads 8 --json'],
          ]),
        ),
      benchCommand,
    )
    .demandCommand(1, 'name a command: train, evaluate, predict, compare-modes, export or bench')
    .recommendCommands()
    .strict()
    .help()
    .alias('h', 'help')
    .version(packageVersion())
    .alias('v', 'version')
    .wrap(Math.min(100, process.stdout.columns || 80))
    .fail((message, error) => {
      // Thrown on to main's caller, which reports it once and exits when stderr has it.
      if (error) throw error;
      // yargs writes some messages over several lines; the contract is one line.
      const text = message.replace(/\s*\n\s*/g, ' ');
      const unknownCommand = text.startsWith('Did you mean') ? `unknown command "${args[0] ?? ''}". ` : '';
      throw new UsageError(`${unknownCommand}${text}`);
    })
    .parseAsync();
}

main(hideBin(process.argv)).catch(reportAndExit);
