// The epoch loop: dataset → arena → seeded batches → coordinator steps → history → model.
import { performance } from 'node:perf_hooks';
import { batchCount, batchRange, effectiveBatchSize } from './data/batches.js';
import { writeTarget, outputWidth, type Dataset, type Targets } from './data/dataset.js';
import { loadDataset } from './data/load.js';
import { randomStream, shuffleInPlace } from './data/random.js';
import { InputError } from './errors.js';
import { assertWritablePath } from './io/atomic.js';
import type { LossKind } from './math/kernels.js';
import { initializeParameters } from './model/init.js';
import type { NetworkShape } from './model/layout.js';
import { Model } from './model/model.js';
import { resolveOptions, type EpochEntry, type LossChoice, type ResolvedOptions, type TrainOptions } from './options.js';
import { Coordinator, type StepStats } from './parallel/coordinator.js';

export interface TrainResult {
  model: Model;
  /** One entry per completed epoch. */
  history: EpochEntry[];
  /** Loss and accuracy on --test-data, or null without it. */
  test: { loss: number; accuracy: number | null } | null;
  /** True when training stopped early because the AbortSignal fired. */
  aborted: boolean;
}

/** Longest stretch the event loop is kept waiting while steps run inline (signals, progress). */
const YIELD_EVERY_MS = 50;

export async function train(options: TrainOptions): Promise<TrainResult> {
  const resolved = resolveOptions(options);
  if (resolved.out) await assertWritablePath('--out', resolved.out);
  const { training, test } = await loadData(resolved);
  const loss = chooseLoss(resolved.loss, training.targets, training.source);
  const outputs = outputWidth(training.targets, loss);
  const shape: NetworkShape = { sizes: [training.features, ...resolved.layers, outputs], activation: resolved.activation, loss };
  const labels = training.targets.kind === 'classes' ? training.targets.names : null;
  const testRows = test?.rows ?? 0;
  const valRows = Math.round(training.rows * resolved.valSplit);
  const trainRows = training.rows - valRows;
  if (trainRows < 1) throw new InputError(`--val-split ${resolved.valSplit} leaves no training rows out of ${training.rows}`);

  const coordinator = new Coordinator({ shape, rows: training.rows + testRows }, resolved.threads);
  try {
    const { views } = coordinator;
    copyRows(training, views.x, views.y, 0, outputs);
    if (test) copyRows(test, views.x, views.y, training.rows, outputs);
    // order = [training rows | validation rows | test rows]; the validation rows are a seeded draw.
    for (let i = 0; i < training.rows + testRows; i++) views.order[i] = i;
    shuffleInPlace(views.order.subarray(0, training.rows), randomStream(resolved.seed, 'split'));
    initializeParameters(shape, views.parameterLayers, randomStream(resolved.seed, 'init'));

    const history: EpochEntry[] = [];
    const aborted = await runEpochs(coordinator, resolved, trainRows, valRows, labels !== null, history, options);
    const model = new Model(shape, views.parameters, labels);
    let testResult: TrainResult['test'] = null;
    if (test) {
      const stats = await coordinator.evaluate(training.rows, training.rows + testRows);
      testResult = { loss: stats.lossSum / testRows, accuracy: labels ? stats.correct / testRows : null };
    }
    if (resolved.out) await model.save(resolved.out);
    return { model, history, test: testResult, aborted };
  } finally {
    await coordinator.close();
  }
}

async function runEpochs(
  coordinator: Coordinator,
  options: ResolvedOptions,
  trainRows: number,
  valRows: number,
  classification: boolean,
  history: EpochEntry[],
  callbacks: TrainOptions,
): Promise<boolean> {
  const batchSize = effectiveBatchSize(options.mode, options.batchSize, trainRows);
  const batches = batchCount(trainRows, batchSize);
  const shuffle = randomStream(options.seed, 'shuffle');
  const trainOrder = coordinator.views.order.subarray(0, trainRows);
  const started = performance.now();
  let lastYield = started;
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    // One seeded permutation per epoch, applied to X and Y together (they share the index).
    shuffleInPlace(trainOrder, shuffle);
    const epochStarted = performance.now();
    let lossSum = 0;
    let correct = 0;
    let threads = 1;
    for (let b = 0; b < batches; b++) {
      if (callbacks.signal?.aborted) return true;
      const [start, end] = batchRange(b, trainRows, batchSize);
      const stats: StepStats = await coordinator.trainStep(start, end, options.lr);
      lossSum += stats.lossSum;
      correct += stats.correct;
      threads = Math.max(threads, stats.workers);
      callbacks.onProgress?.(end, trainRows, epoch);
      if (performance.now() - lastYield > YIELD_EVERY_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
    }
    const trainSeconds = (performance.now() - epochStarted) / 1000;
    let valLoss: number | null = null;
    let valAccuracy: number | null = null;
    if (valRows > 0) {
      const stats = await coordinator.evaluate(trainRows, trainRows + valRows);
      valLoss = stats.lossSum / valRows;
      valAccuracy = classification ? stats.correct / valRows : null;
    }
    const entry: EpochEntry = {
      epoch,
      loss: lossSum / trainRows,
      accuracy: classification ? correct / trainRows : null,
      valLoss,
      valAccuracy,
      samplesPerSec: trainRows / trainSeconds,
      seconds: (performance.now() - started) / 1000,
      threads,
    };
    history.push(entry);
    callbacks.onEpoch?.(entry);
  }
  return false;
}

async function loadData(options: ResolvedOptions): Promise<{ training: Dataset; test: Dataset | undefined }> {
  const labels = options.loss === 'mse' ? 'values' : 'classes';
  const builtin = { samples: options.samples, features: options.features, classes: options.classes, noise: options.noise, seed: options.seed };
  const training = await loadDataset(options.data, { labelColumn: options.labelColumn, labels, builtin });
  if (training.targets.kind === 'none') throw new InputError(`${training.source}: no label column`);
  let test: Dataset | undefined;
  if (options.testData) {
    const classNames = training.targets.kind === 'classes' ? training.targets.names : undefined;
    test = await loadDataset(options.testData, { labelColumn: options.labelColumn, labels, classNames, features: training.features, builtin: { ...builtin, seed: options.seed + 1 } });
    if (test.features !== training.features) throw new InputError(`--test-data ${test.source}: has ${test.features} features, the training data has ${training.features}`);
  }
  return { training, test };
}

/** auto: two classes → sigmoid + BCE, more → softmax + cross-entropy, numeric targets → MSE. */
export function chooseLoss(choice: LossChoice, targets: Targets, source: string): LossKind {
  if (targets.kind === 'values') return 'mse';
  if (targets.kind === 'none') throw new InputError(`${source}: no labels`);
  const classes = targets.names.length;
  if (classes < 2) throw new InputError(`${source}: found only ${classes} distinct label${classes === 1 ? '' : 's'}; classification needs at least 2`);
  if (choice === 'auto') return classes === 2 ? 'bce' : 'cross-entropy';
  if (choice === 'bce' && classes !== 2) throw new InputError(`--loss bce needs exactly 2 classes; ${source} has ${classes} (use --loss cross-entropy)`);
  return choice;
}

function copyRows(dataset: Dataset, x: Float32Array, y: Float32Array, firstRow: number, outputs: number): void {
  x.set(dataset.x, firstRow * dataset.features);
  for (let r = 0; r < dataset.rows; r++) writeTarget(dataset.targets, r, y, (firstRow + r) * outputs, outputs);
}
