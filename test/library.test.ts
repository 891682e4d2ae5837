// The typed library API, as a user would call it.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel, train, type EpochEntry } from '../src/index.js';
import { tempDir } from './helpers/files.js';
import { FRUIT, writeFruitCsv } from './helpers/csv.js';

test('train resolves to a model and one history entry per epoch, calling onEpoch for each', async (t) => {
  const seen: EpochEntry[] = [];
  const { model, history, test: testResult } = await train({ data: 'builtin:moons', layers: [16], epochs: 30, seed: 1, threads: 2, lr: 0.3, onEpoch: (entry) => seen.push(entry) });
  t.is(history.length, 30);
  t.deepEqual(seen, history);
  t.is(testResult, null);
  t.true(history[29]!.accuracy! > 0.95, `accuracy ${history[29]!.accuracy}`);
  t.true(history[29]!.loss < history[0]!.loss);
  const [left, right] = model.predict([[-0.5, 0.5], [2, -0.2]]);
  t.is(left!.length, 2, 'two-class probabilities from one sigmoid unit');
  t.true(left![0]! > 0.5 && right![1]! > 0.5, 'upper-left point is class 0, lower-right class 1');
});

test('an AbortSignal stops training early and still returns the model', async (t) => {
  const controller = new AbortController();
  const result = await train({
    data: 'builtin:spirals',
    epochs: 1000,
    onEpoch: (entry) => {
      if (entry.epoch === 3) controller.abort();
    },
    signal: controller.signal,
  });
  t.true(result.aborted);
  t.is(result.history.length, 3);
  t.is(result.model.predict([[0.1, 0.2]])[0]!.length, 3);
});

test('a model saved and loaded predicts exactly the same probabilities', async (t) => {
  const dir = await tempDir();
  const csv = await writeFruitCsv(dir, 'fruit.csv', 600, 3);
  const path = join(dir, 'model.json');
  const { model } = await train({ data: csv, labelColumn: 0, epochs: 5, out: path });
  const loaded = await loadModel(path);
  t.deepEqual(loaded.labels, FRUIT);
  const rows = [[0.1, -0.3], [0.5, 0.5], [-0.9, 0.2]];
  t.deepEqual(loaded.predict(rows), model.predict(rows));
  t.deepEqual(Array.from(loaded.parameters), Array.from(model.parameters));
  await model.save(join(dir, 'again.json'));
  t.is(await readFile(join(dir, 'again.json'), 'utf8'), await readFile(path, 'utf8'));
});

test('regression with mse reports loss and no accuracy', async (t) => {
  const dir = await tempDir();
  const path = join(dir, 'line.csv');
  const lines = ['x,y'];
  for (let i = 0; i < 400; i++) lines.push(`${i / 400},${(2 * i) / 400 + 1}`);
  await (await import('node:fs/promises')).writeFile(path, lines.join('\n'));
  const { history, model } = await train({ data: path, loss: 'mse', layers: [8], activation: 'tanh', epochs: 60, lr: 0.05 });
  t.is(history[0]!.accuracy, null);
  t.true(history[59]!.loss < 0.01, `loss ${history[59]!.loss}`);
  t.true(Math.abs(model.predict([[0.5]])[0]![0]! - 2) < 0.2);
});

test('a Dataset already in memory trains like a file, and bad ones are refused', async (t) => {
  const rows = 200;
  const x = new Float32Array(rows * 2);
  const index = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    index[r] = r % 2;
    x[r * 2] = (r % 2 ? 1 : -1) + Math.sin(r);
    x[r * 2 + 1] = Math.cos(r);
  }
  const dataset = { source: 'memory', rows, features: 2, x, targets: { kind: 'classes' as const, index, names: ['left', 'right'] } };
  const { model, history, kernels, kernelSet } = await train({ data: dataset, layers: [8], epochs: 20, lr: 0.3, threads: 1 });
  // auto picks a fast set (native where it built, else wasm, which every build has), not the reference
  t.true(kernels === 'native' || kernels === 'wasm', kernels);
  t.true(kernelSet.startsWith(kernels), kernelSet);
  t.true(history.at(-1)!.accuracy! > 0.9);
  // The kernels option really switches the arithmetic: the reference sums in another order, so the
  // weights differ in their last bits while agreeing closely.
  const reference = await train({ data: dataset, layers: [8], epochs: 20, lr: 0.3, threads: 1, kernels: 'typescript' });
  t.is(reference.kernels, 'typescript');
  t.notDeepEqual(Array.from(reference.model.parameters), Array.from(model.parameters));
  t.true(reference.model.parameters.every((w, i) => Math.abs(w - model.parameters[i]!) < 1e-3), 'the same training up to rounding');
  t.deepEqual(model.labels, ['left', 'right']);
  await t.throwsAsync(train({ data: { ...dataset, rows: 201 } }), { message: /rows × features/ });
  const nan = Float32Array.from(x);
  nan[5] = NaN;
  await t.throwsAsync(train({ data: { ...dataset, x: nan } }), { message: /x\[5\] \(row 2\) is not finite/ });
});
