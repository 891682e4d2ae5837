#!/usr/bin/env node
// The command line: flags → library calls → exit code. No math and no pool here.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { lossChart } from './cli/ascii-chart.js';
import { addFlags, libraryPart, optionsFromArgv, refuseRepeatedFlags, type Args } from './cli/flags.js';
import { formatThroughput, machineDescription } from './cli/bench-table.js';
import { formatEpochLine, formatLoss, formatPercent } from './cli/format.js';
import { JsonLog } from './cli/log-file.js';
import { exitWhenFlushed, print, printError, watchOutputStreams } from './cli/output.js';
import { EpochProgress, LoadProgress } from './cli/progress.js';
import { attachToParent, needsRelaunch, relaunch } from './cli/relaunch.js';
import { listenForStopSignals } from './cli/stop-signals.js';
import type { CompareOptions } from './compare.js';
import { materialize, type Dataset } from './data/dataset.js';
import { csvReading, openForModel } from './data/load.js';
import { describeColumn } from './data/schema.js';
import { InputError, flagName, optionRef } from './errors.js';
import { WriteError, writeFileAtomic } from './io/atomic.js';
import { WriteRefused } from './io/guard.js';
import { checkPaths } from './io/paths.js';
import { exportTorch, type TorchExportOptions } from './torch/export.js';
import { ConfusionMatrix, formatPerClass, formatRegression, type RegressionMetrics } from './model/metrics.js';
import { loadModel, type Evaluation, type Model } from './model/model.js';
import { assertChartsAvailable, renderTrainingPlot } from './report/charts.js';
import { compareModesWithReport } from './report/compare-report.js';
import { checkPathOptions } from './options/paths.js';
import { resolveOptions } from './options/resolve.js';
import { measureThroughput, type ThroughputOptions } from './throughput.js';
import { train, type DataSummary, type TrainOptions } from './train.js';
import { tune, type TuneGrid, type TuneReport } from './tune.js';

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
  if (given.tune === true) return tuneWithSignals('train', given, options, stop);
  if (given.json === true) throw new InputError(`${optionRef('json')} prints the report of a search: add ${optionRef('tune')}, or run gradpool tune`);
  let { epochs } = resolveOptions('train', options);
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
        // A table's defaults may choose the epochs: the epoch lines count up to those.
        if (data.defaults?.values.epochs !== undefined) {
          epochs = data.defaults.values.epochs;
          if (progress) progress.epochs = epochs;
        }
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
    if (trained) log.write({ event: 'done', testLoss: result.test?.loss ?? null, testAccuracy: result.test?.accuracy ?? null, ...testScores(result.test), ...(result.validation ? { valR2: result.validation.r2, valRmse: result.validation.rmse, valMae: result.validation.mae } : {}), stopReason: result.stopReason, kernels: result.kernelSet, loadSeconds: result.data.loadSeconds });
    if (result.message) printError(`gradpool: ${result.message}`);
    if (!quiet) {
      if (result.validation) print(`val       ${formatRegression(result.validation)}`);
      if (result.test) print(testLines(result.test, result.model));
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

/** gradpool tune: train --tune as a command of its own, with only the flags a search takes. */
async function tuneCommand(argv: Args): Promise<void> {
  const stop = listenForStopSignals();
  try {
    const given = optionsFromArgv(argv, 'tune');
    await tuneWithSignals('tune', given, libraryPart(given) as unknown as TrainOptions, stop);
  } finally {
    stop.dispose();
  }
}

/** tune, or train --tune: the grid's table (or the report as JSON), the best configuration, the refit's test score and saved file. */
async function tuneWithSignals(command: 'train' | 'tune', given: Record<string, unknown>, options: TrainOptions, stop: ReturnType<typeof listenForStopSignals>): Promise<void> {
  for (const name of ['layers', 'lr', 'weightDecay', 'resume', 'checkpointDir', 'init', 'logJson', 'plot'] as const) {
    if (given[name] !== undefined) throw new InputError(`${optionRef('tune')} does not take ${optionRef(name)}${name === 'layers' || name === 'lr' || name === 'weightDecay' ? `: give the values to try in ${optionRef(`tune${name[0]!.toUpperCase()}${name.slice(1)}`)}` : ''}`);
  }
  await checkPathOptions(command, given);
  const json = given.json === true;
  const quiet = given.quiet === true || json;
  const grid: TuneGrid = { layers: given.tuneLayers as number[][] | undefined, lr: given.tuneLr as number[] | undefined, weightDecay: given.tuneWeightDecay as number[] | undefined };
  // The refit is given every searched option, so its defaults line would say "all given": the table marks the defaults' row instead.
  const report = await tune({ ...options, folds: given.folds as number | undefined, grid, signal: stop.signal, onData: quiet ? undefined : (data) => printData({ ...data, defaults: null }, process.stdout.isTTY === true) });
  if (json) {
    const { metric, folds, grid: table, baseline, best, refitEpochs, test, savedTo, seconds } = report;
    print(JSON.stringify({ metric, folds, grid: table, baseline, best, refitEpochs, refitRows: report.refit.data.rows, test, savedTo, seconds }));
  } else if (!quiet) {
    print(formatTuneTable(report));
    print(`best: layers ${report.best.layers.join(',')}, lr ${report.best.lr}, weight decay ${report.best.weightDecay}; refitted on all ${report.refit.data.rows.toLocaleString('en-US')} training rows for ${report.refitEpochs} epochs (${report.seconds.toFixed(1)}s in all)`);
    if (report.test) print(testLines(report.test, report.refit.model));
    if (report.savedTo) print(`model saved to ${report.savedTo}`);
  }
  if (report.refit.message) printError(`gradpool: ${report.refit.message}`);
  if (report.refit.stopReason === 'aborted') process.exitCode = stop.exitCode() || 130;
  if (report.refit.stopReason === 'diverged') process.exitCode = EXIT_FAILURE;
}

/** The grid as a table: one row per configuration, the defaults' one and the one refitted marked. */
function formatTuneTable(report: TuneReport): string {
  const metric = report.metric === 'r2' ? 'R²' : 'accuracy';
  const shown = (v: number): string => (report.metric === 'r2' ? v.toFixed(4) : formatPercent(v).trim());
  const rows = report.grid.map((r) => [
    r.config.layers.join(','),
    String(r.config.lr),
    String(r.config.weightDecay),
    shown(r.mean),
    report.metric === 'r2' ? r.std.toFixed(4) : formatPercent(r.std).trim(),
    r.scores.map(shown).join(' '),
    r.epochs.join(' '),
    [r.baseline ? 'defaults' : '', r.config === report.best ? 'best' : ''].filter(Boolean).join(', '),
  ]);
  const headers = ['layers', 'lr', 'weight decay', `mean ${metric}`, 'std', `${report.folds} folds`, 'epochs kept', ''];
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]): string => cells.map((cell, c) => (c < 3 || c === cells.length - 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
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
 * The test set's scores after training: loss and accuracy beside the majority-class baseline, then
 * per-class precision, recall and F1; regression's R², RMSE and MAE (the target's units).
 */
function testLines(test: Evaluation, model: Model): string {
  const baseline = test.baseline ? `  (majority class ${JSON.stringify(test.baseline.label)}: ${formatPercent(test.baseline.accuracy).trim()})` : '';
  const head = `test      loss ${formatLoss(test.loss)}${test.accuracy === null ? '' : `  acc ${formatPercent(test.accuracy)}${baseline}`}${test.r2 !== null || test.rmse !== null ? `  ${formatRegression(test as RegressionMetrics)}` : ''}`;
  const lines = [head, ...perTargetLines(test, model)];
  if (test.perClass) lines.push(formatPerClass(test.perClass));
  return lines.join('\n');
}

/** Several targets: each one's R², RMSE and MAE, by its column's name. */
function perTargetLines(evaluation: Evaluation, model: Model): string[] {
  const names = model.targetNames;
  if (!evaluation.perTarget || evaluation.perTarget.length < 2 || !names) return [];
  return evaluation.perTarget.map((m, o) => `  ${names[o]}: ${formatRegression({ ...m, perTarget: [] })}`);
}

/** The test scores a --log-json done line adds when there is a test set (the others null): per-class metrics and baseline, or R², RMSE and MAE. */
function testScores(test: Evaluation | null): Record<string, unknown> {
  if (!test) return {};
  return { testBaseline: test?.baseline ?? null, testPerClass: test?.perClass ?? null, testR2: test?.r2 ?? null, testRmse: test?.rmse ?? null, testMae: test?.mae ?? null, ...(test?.perTarget && test.perTarget.length > 1 ? { testPerTarget: test.perTarget } : {}) };
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
  // for a table (builtin sets and IDX images are balanced, or say so in their test line)
  if (data.baseline && schema) print(`note: the majority class ${JSON.stringify(data.baseline.label)} is ${formatPercent(data.baseline.accuracy).trim()} of the training rows: the accuracy to beat`);
  if (data.defaults) print(data.defaults.line);
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
      ...csvReading(o),
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
  const baseline = result.baseline ? `  majority baseline ${formatPercent(result.baseline.accuracy).trim()} (${JSON.stringify(result.baseline.label)})` : '';
  const regression = result.r2 !== null || result.rmse !== null ? `  ${formatRegression(result as RegressionMetrics)}` : '';
  print([`loss ${formatLoss(result.loss).trim()}${result.accuracy === null ? '' : `  accuracy ${formatPercent(result.accuracy).trim()}${baseline}`}${regression}  samples ${result.samples}`, ...perTargetLines(result, model)].join('\n'));
  if (result.confusion && model.labels) print(`\n${ConfusionMatrix.from(model.labels, result.confusion).format()}`);
}

async function predictCommand(argv: Args): Promise<void> {
  const out = argv.out as string;
  // `-` (and /dev/stdout, which names the same stream) prints the CSV: written through the stream,
  // never renamed over whatever file the shell redirected stdout to.
  const toStdout = out === '-' || out === '/dev/stdout';
  const given = optionsFromArgv(argv, 'predict');
  await checkPathOptions('predict', toStdout ? { ...given, out: undefined } : given);
  const model = await loadModel(argv.model as string);
  const dataset = await loadForModel(model, argv, 'predict');
  const outputs = model.outputsFor(dataset.x, dataset.rows, undefined, (row) => `${dataset.source}: row ${row + 1}`);
  const labels = model.labels;
  // Regression: one column per target (the label columns' names; "predicted" for one target).
  const lines: string[] = [(labels ? ['predicted', ...labels.map((l) => `prob_${l}`)] : model.targetNames!).map(csvCell).join(',')];
  for (let r = 0; r < dataset.rows; r++) {
    const probabilities = model.probabilities(outputs, r);
    if (!labels) {
      lines.push(probabilities.map(String).join(','));
      continue;
    }
    let best = 0;
    for (let c = 1; c < probabilities.length; c++) if (probabilities[c]! > probabilities[best]!) best = c;
    lines.push([csvCell(labels[best]!), ...probabilities.map((p) => p.toPrecision(6))].join(','));
  }
  if (toStdout) print(lines.join('\n'));
  else await writeFileAtomic(out, lines.join('\n') + '\n');
}

/** Flags of `export` that describe a training run: only --format torch takes them. */
const TORCH_RUN_FLAGS = ['data', 'testData', 'labelColumn', 'delimiter', 'decimal', 'header', 'naValues', 'mode', 'batchSize', 'epochs', 'lr', 'lrSchedule', 'optimizer', 'momentum', 'beta1', 'beta2', 'epsilon', 'weightDecay', 'seed', 'valSplit', 'patience', 'classWeight', 'init'] as const;

const EXPORT_EXTENSIONS = ['safetensors', 'json', 'onnx'] as const;

async function exportCommand(argv: Args): Promise<void> {
  const out = argv.out as string;
  const given = optionsFromArgv(argv, 'export');
  // As train --out does: the extension names the format unless --format does.
  const format = (argv.format as string | undefined) ?? EXPORT_EXTENSIONS.find((ext) => out.endsWith(`.${ext}`));
  if (format === undefined) throw new InputError(`${optionRef('out')}: end the file in ${EXPORT_EXTENSIONS.map((e) => `.${e}`).join(', ')}, or name the format with ${optionRef('format')}; got ${out}`);
  if (format === 'torch') return exportTorchCommand(given);
  const runFlag = TORCH_RUN_FLAGS.find((name) => given[name] !== undefined);
  if (runFlag) throw new InputError(`${optionRef(runFlag)} describes a training run: it belongs to ${optionRef('format')} torch, not ${format}`);
  if (argv.model === undefined) throw new InputError(`${optionRef('model')} is required`);
  const expected = `.${format}`;
  if (!out.endsWith(expected)) throw new InputError(`${optionRef('out')}: a ${format} model file must end in ${expected}, got ${out}`);
  await checkPathOptions('export', given);
  // The input format is read from the content; the output format follows the extension.
  await (await loadModel(argv.model as string)).save(out);
}

/** export --format torch: the model (--model, or --init as train names it) and the train flags → a torchrun directory. */
async function exportTorchCommand(given: Record<string, unknown>): Promise<void> {
  if (given.model !== undefined && given.init !== undefined) throw new InputError(`${optionRef('model')} and ${optionRef('init')} both name the starting model; give one`);
  const { model, ...rest } = given;
  const { out, files } = await exportTorch({ ...libraryPart(rest), init: (model ?? given.init) as string | undefined } as TorchExportOptions);
  print(`wrote ${out}: ${files.join(', ')}\nrun: cd ${out} && torchrun --standalone --nproc_per_node=2 train_ddp.py${given.data ? '' : ' --data DATA.csv'} --out trained.safetensors`);
}

/** import: a model trained elsewhere (train_ddp.py's safetensors) checked field by field and written in the format --out names. */
async function importCommand(argv: Args): Promise<void> {
  const file = argv.file as string;
  const given = optionsFromArgv(argv, 'import');
  await checkPaths([{ ref: 'the imported file', path: file }], [{ ref: optionRef('out'), path: given.out as string }]);
  const model = await loadModel(file);
  await model.save(given.out as string);
  print(`imported ${file}: ${model.shape.sizes.join('-')} ${model.shape.activation}, ${model.labels ? `${model.labels.length} classes` : 'regression'}${model.schema ? `, ${model.columns!.length} columns` : ''} → ${String(given.out)}`);
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

export async function main(given: string[]): Promise<void> {
  // yargs reads a lone `-` as a positional argument, not as the value of the flag before it (predict --out -).
  const args = given.flatMap((arg, i) => (arg === '-' && /^--[^=]+$/.test(given[i - 1] ?? '') ? [] : given[i + 1] === '-' && /^--[^=]+$/.test(arg) ? [`${arg}=-`] : [arg]));
  // Under ulimit -v, training runs in a child with bounds-checked WebAssembly (cli/relaunch.ts).
  if (needsRelaunch(args[0])) return relaunch();
  attachToParent();
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
            ['search layers, learning rate and weight decay by 5-fold cross-validation, save the best', 'gradpool train --data house.csv --tune --folds 5 --out house.json'],
            ['IDX files (t10k-* is the test set), Adam', 'gradpool train --data ./fashion-mnist --layers 128,64 \\\n    --optimizer adam --lr 0.001 --epochs 10'],
          ]),
        ),
      trainCommand,
    )
    .command(
      'tune',
      'train --tune: search hidden layers, learning rate and weight decay by k-fold cross-validation, then train the best on all rows',
      (y) =>
        addFlags(y, 'tune').epilogue(
          examples([
            ['around the defaults chosen from the data, 3 folds, the best saved', 'gradpool tune --data house.csv --out house.json'],
            ['your own grid, 5 folds, the report as JSON', "gradpool tune --data house.csv --folds 5 --tune-layers '32;64,64' \\\n    --tune-lr 0.001,0.003 --json"],
          ]),
        ),
      tuneCommand,
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
      'convert a model file to safetensors (weights named as a PyTorch nn.Sequential), JSON or ONNX, or write a torchrun (PyTorch DDP) run of it',
      (y) =>
        addFlags(y, 'export').epilogue(
          examples([
            ['for PyTorch', 'gradpool export --model iris.json --out iris.safetensors'],
            ['for ONNX Runtime', 'gradpool export --model iris.json --format onnx --out iris.onnx'],
            ['a run for torchrun (PyTorch DDP)', 'gradpool export --format torch --init iris.json --data iris.csv \\\n    --epochs 50 --optimizer adam --lr 0.001 --out iris-ddp'],
          ]),
        ),
      exportCommand,
    )
    .command(
      'import <file>',
      'read a model trained elsewhere (the safetensors file train_ddp.py writes) and save it for evaluate, predict and export',
      (y) =>
        addFlags(y.positional('file', { type: 'string', describe: 'gradpool safetensors (or JSON) model file', demandOption: true }), 'import').epilogue(
          examples([['after a torchrun run of an export', 'gradpool import trained.safetensors --out trained.json']]),
        ),
      importCommand,
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
    .command(
      'build-native',
      'build the native kernels from source (needs a C++ compiler) where no prebuilt addon loads',
      (y) => y.epilogue(examples([['then check which kernels train uses', 'gradpool build-native && gradpool train --kernels native']])),
      buildNativeCommand,
    )
    .demandCommand(1, 'name a command: train, tune, evaluate, predict, compare-modes, export, import, bench or build-native')
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

/** The source build the package ships (src/native/install.mjs, node-gyp), run in this package's folder. */
function buildNativeCommand(): void {
  const script = fileURLToPath(new URL('../../src/native/install.mjs', import.meta.url));
  const result = spawnSync(process.execPath, [script, '--strict'], { stdio: 'inherit' });
  process.exitCode = result.status ?? EXIT_FAILURE;
}

main(hideBin(process.argv)).catch(reportAndExit);
