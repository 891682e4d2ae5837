// Dropout on the hidden layers: masks from (seed, step, batch row, layer, unit) alone, the same mask
// forward and backward, byte-identical weights on any thread count or team split, none in evaluation.
import test from 'ava';
import { createHash } from 'node:crypto';
import { randomStream, gaussian } from '../src/data/random.js';
import { applyDropout, dropoutKeeps, type DropoutRows } from '../src/math/dropout.js';
import { referenceKernels, HIDDEN_ACTIVATIONS, type HiddenActivation } from '../src/math/kernels.js';
import { layerViews, parameterLayout, type NetworkShape } from '../src/model/layout.js';
import { chunkBufferLayout, forwardBackward, forwardLossRows } from '../src/model/network.js';
import { Coordinator } from '../src/parallel/coordinator.js';
import { train, type TrainOptions } from '../src/index.js';
import { KERNEL_SETS } from './helpers/kernel-sets.js';
import { runCli } from './helpers/cli.js';
import { buffers64, coordinatorOver, gradientSum, lossSum, makeParameters, makeProblem, parameterIndices, worstFiniteDifferenceError, worstRatio } from './helpers/reference.js';

process.env.GRADPOOL_THREADS_BEYOND_CORES = '1';

const weightHash = (parameters: Float32Array): string => createHash('sha256').update(new Uint8Array(parameters.buffer, parameters.byteOffset, parameters.byteLength)).digest('hex');

test('a mask drops about `rate` of the units, scales the kept ones by 1/(1 − rate), and changes with the step, the row and the layer only', (t) => {
  const [rows, width] = [200, 500];
  const input = new Float32Array(rows * width).map((_, i) => 1 + (i % 13));
  const out = new Float32Array(rows * width);
  const context: DropoutRows = { rate: 0.3, seed: 7, step: 3, batchRow: 40 };
  applyDropout(out, input, 0, rows, width, 1, context);
  let dropped = 0;
  for (let i = 0; i < out.length; i++) {
    if (out[i] === 0) dropped++;
    else t.is(out[i], Math.fround(input[i]! / 0.7));
  }
  t.true(Math.abs(dropped / out.length - 0.3) < 0.01, `dropped ${dropped / out.length}`);
  // the same unit of the same batch row, whichever buffer row it sits in: batchRow shifts with the view
  t.is(dropoutKeeps(context, 40 + 17, 1, 9), out[17 * width + 9] !== 0);
  const again = new Float32Array(width);
  applyDropout(again, input.subarray(17 * width), 0, 1, width, 1, { ...context, batchRow: 57 });
  t.deepEqual(again, out.subarray(17 * width, 18 * width));
  const differs = (other: DropoutRows, layer = 1, row = 40): boolean => {
    let changed = 0;
    for (let u = 0; u < width; u++) if (dropoutKeeps(other, row, layer, u) !== dropoutKeeps(context, 40, 1, u)) changed++;
    return changed > width / 10;
  };
  t.true(differs({ ...context, step: 4 }), 'another step');
  t.true(differs({ ...context, seed: 8 }), 'another seed');
  t.true(differs(context, 2), 'another layer');
  t.true(differs(context, 1, 41), 'another row');
});

// The float64 gradient check with the masks on: the loss as a function of the weights, for fixed masks.
const ROWS = 6;
for (const activation of HIDDEN_ACTIVATIONS) {
  test(`backward with dropout matches finite differences: ${activation} hidden layers`, (t) => {
    const shape: NetworkShape = { sizes: [4, 7, 6, 3], activation, loss: 'cross-entropy' };
    const layout = parameterLayout(shape);
    const random = randomStream(3, `dropout-${activation}`);
    const parameters = new Float64Array(layout.length).map(() => gaussian(random) * 0.7);
    const chunk = chunkBufferLayout(shape, ROWS, true);
    const buffers = chunk.place(new Float64Array(chunk.floats), 0);
    const input = new Float64Array(ROWS * 4).map(() => gaussian(random));
    const targets = new Float64Array(ROWS * 3);
    for (let r = 0; r < ROWS; r++) targets[r * 3 + (r % 3)] = 1;
    const masks: DropoutRows = { rate: 0.4, seed: 5, step: 2, batchRow: 0 };
    const load = (): void => {
      buffers.activations[0]!.set(input);
      buffers.targets.set(targets);
    };
    const lossAt = (): number => {
      load();
      return forwardLossRows(referenceKernels, shape, layerViews(layout, parameters), buffers, 0, ROWS, undefined, masks);
    };
    const gradient = new Float64Array(layout.length);
    load();
    forwardBackward(referenceKernels, shape, layerViews(layout, parameters), layerViews(layout, gradient), buffers, ROWS, false, masks);
    const worst = worstFiniteDifferenceError(parameters, gradient, parameterIndices(layout), lossAt);
    t.true(worst < 1e-6, `worst relative error ${worst}`);
    // and the masks did something: without them the gradient is another one
    const plain = new Float64Array(layout.length);
    load();
    forwardBackward(referenceKernels, shape, layerViews(layout, parameters), layerViews(layout, plain), buffers, ROWS, false);
    t.notDeepEqual(plain, gradient);
  });
}

// 512-128-10 (a batch of 64 is one shard: a team shares it) and a batch of 256 (several shards).
const workload: TrainOptions = { data: 'builtin:blobs', samples: 448, features: 512, classes: 10, layers: [128, 32], epochs: 1, lr: 0.05, seed: 11, valSplit: 0, dropout: 0.3 };
for (const kernels of KERNEL_SETS) {
  test.serial(`${kernels}: with dropout 0.3, threads 1 to 7 give byte-identical weights at batch 64 (a team per shard) and 256`, async (t) => {
    for (const batchSize of [64, 256]) {
      const reference = await train({ ...workload, batchSize, kernels, threads: 1 });
      const plain = await train({ ...workload, batchSize, kernels, threads: 1, dropout: 0 });
      t.not(weightHash(plain.model.parameters), weightHash(reference.model.parameters), 'dropout changes the weights');
      for (let threads = 2; threads <= 7; threads++) {
        const result = await train({ ...workload, batchSize, kernels, threads });
        t.is(weightHash(result.model.parameters), weightHash(reference.model.parameters), `batch ${batchSize}, ${threads} threads`);
        t.deepEqual(result.history.map((e) => e.loss), reference.history.map((e) => e.loss), `batch ${batchSize}, ${threads} threads`);
      }
    }
  });
}

test('evaluation runs without dropout: the same weights evaluate to the same loss with and without it, while a training step sees the masks', async (t) => {
  const shape: NetworkShape = { sizes: [8, 16, 3], activation: 'relu', loss: 'cross-entropy' };
  const optimizer = { name: 'sgd', momentum: 0, beta1: 0.9, beta2: 0.999, alpha: 0.99, epsilon: 1e-8, weightDecay: 0 } as const;
  const results: { evaluation: number; training: number }[] = [];
  for (const dropout of [undefined, { rate: 0.5, seed: 1 }]) {
    const coordinator = new Coordinator({ shape, rows: 64, threads: 2, optimizer, kernels: 'typescript', dropout });
    try {
      const { x, y, order, parameters } = coordinator.views;
      for (let i = 0; i < x.length; i++) x[i] = Math.sin(i);
      for (let r = 0; r < 64; r++) { order[r] = r; y[r * 3 + (r % 3)] = 1; }
      for (let i = 0; i < parameters.length; i++) parameters[i] = Math.cos(i * 0.37) * 0.3;
      await coordinator.ready();
      const evaluation = (await coordinator.evaluate(0, 64)).lossSum;
      const training = (await coordinator.trainStep(0, 64, 1e-30, 1)).lossSum; // lr so small the weights stay put
      results.push({ evaluation, training });
    } finally {
      await coordinator.close();
    }
  }
  t.is(results[1]!.evaluation, results[0]!.evaluation);
  t.is(results[0]!.training, results[0]!.evaluation, 'without dropout a step sees the evaluated loss');
  t.not(results[1]!.training, results[1]!.evaluation, 'with dropout the step sees masked outputs');
});

test('gradpool train --dropout trains and saves a model that predicts; --dropout 1 is refused naming the flag', async (t) => {
  const ok = await runCli(['train', '--data', 'builtin:moons', '--layers', '16,16', '--dropout', '0.2', '--epochs', '3', '--quiet']);
  t.is(ok.code, 0, ok.stderr);
  const bad = await runCli(['train', '--data', 'builtin:moons', '--dropout', '1']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--dropout must be ≥ 0 and < 1, got 1/);
});

// The float32 gradient through the production path, with masks, against float64 finite differences
// of the masked loss: 2 900 rows in 32 shards of 91 (64 + 27-row chunks), on 3 threads.
for (const activation of ['relu', 'tanh'] as const) {
  const ROWS_ = 2900;
  const shape: NetworkShape = { sizes: [8, 48, 32, 3], activation, loss: 'cross-entropy' };
  const problem = makeProblem(shape, ROWS_, `dropout engine ${activation}`);
  const initial = makeParameters(problem.layout, `dropout engine ${activation} init`, 1.5);
  const indices = parameterIndices(problem.layout);
  const all = Int32Array.from({ length: ROWS_ }, (_, i) => i);
  const masks: DropoutRows = { rate: 0.25, seed: 21, step: 1, batchRow: 0 };
  const mean = gradientSum(problem, Float64Array.from(initial), all, masks).sum.map((g) => g / ROWS_);
  const sampled = indices.filter((_, k) => k % 67 === 0);
  const numeric = new Float64Array(problem.layout.length);
  const parameters = Float64Array.from(initial);
  const buffers = buffers64(shape, ROWS_, true);
  const h = activation === 'relu' ? 1e-7 : 1e-5;
  for (const i of sampled) {
    const saved = parameters[i]!;
    parameters[i] = saved + h;
    const plus = lossSum(problem, parameters, all, buffers, masks);
    parameters[i] = saved - h;
    const minus = lossSum(problem, parameters, all, buffers, masks);
    parameters[i] = saved;
    numeric[i] = (plus - minus) / (2 * h) / ROWS_;
  }
  const scale = Math.max(...indices.map((i) => Math.abs(mean[i]!)));
  for (const kernels of KERNEL_SETS) {
    test(`the engine's float32 gradient with dropout matches the float64 one and finite differences: ${activation} (${kernels} kernels, 3 threads)`, async (t) => {
      const sgd = { name: 'sgd', momentum: 0, beta1: 0, beta2: 0, alpha: 0, epsilon: 1, weightDecay: 0 } as const;
      const coordinator = await coordinatorOver(problem, { threads: 3, optimizer: sgd, kernels, dropout: { rate: masks.rate, seed: masks.seed } }, all, initial);
      try {
        const { views } = coordinator;
        await coordinator.trainStep(0, ROWS_, 1, masks.step);
        const engine = views.slabs[0]!.map((g) => g / ROWS_);
        const rtol = activation === 'relu' ? 1e-5 : 1e-6;
        t.true(worstRatio(mean, numeric, sampled, rtol, 1e-6 * scale).ratio <= 1, 'float64 analytic vs finite differences');
        const vsAnalytic = worstRatio(engine, mean, indices, 1e-5, 1e-6 * scale);
        t.true(vsAnalytic.ratio <= 1, `coordinate ${vsAnalytic.index}: engine ${engine[vsAnalytic.index]}, float64 ${mean[vsAnalytic.index]}`);
        t.true(worstRatio(engine, numeric, sampled, 1e-5 + rtol, 2e-6 * scale).ratio <= 1, 'engine vs finite differences');
      } finally {
        await coordinator.close();
      }
    });
  }
}
