// The library's edges (issue 18, cases 10, 13, 14, 15): options are own properties only and odd keys
// are InputErrors; an async callback's rejection stops train() as a rejection; non-finite inputs and
// outputs are errors naming the row; messages say what a file or flag is; code-loading environment
// hooks take only a regular .node file.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, Model, compareModes, loadModel, train } from '../src/index.js';
import { parameterLayout } from '../src/model/layout.js';
import { runCli } from './helpers/cli.js';
import { oneLine, tempDir } from './helpers/files.js';

const QUICK = { data: 'builtin:moons', samples: 60, layers: [2], epochs: 2, threads: 1 } as const;

// ---- 13: library options ----

for (const key of ['constructor', 'toString', 'hasOwnProperty', '__proto__x'] as const) {
  test(`train({ ${key}: 1 }) is an InputError (unknown option), not a TypeError`, async (t) => {
    await t.throwsAsync(train({ ...QUICK, [key]: 1 } as never), { instanceOf: InputError, message: new RegExp(`unknown option "${key}"`) });
  });
}

test('inherited properties are not options: Object.prototype.out does not make train() write there', async (t) => {
  const dir = await tempDir();
  const stray = join(dir, 'stray.json');
  const proto = Object.prototype as Record<string, unknown>;
  proto.out = stray;
  try {
    const result = await train({ ...QUICK });
    t.is(result.savedTo, null);
  } finally {
    delete proto.out;
  }
  await t.throwsAsync(readFile(stray), { code: 'ENOENT' });
});

test('inherited callbacks are not called: an onEpoch on the prototype of the options is ignored', async (t) => {
  let called = 0;
  const options = Object.create({ onEpoch: () => called++ }) as Record<string, unknown>;
  Object.assign(options, QUICK);
  await train(options as never);
  t.is(called, 0);
});

test('a rejecting async onEpoch stops training: train() rejects with its reason, no unhandled rejection', async (t) => {
  let epochs = 0;
  const error = await t.throwsAsync(
    train({
      ...QUICK,
      epochs: 5,
      onEpoch: async () => {
        epochs++;
        throw new Error('callback failed');
      },
    }),
  );
  t.is(error!.message, 'callback failed');
  t.is(epochs, 1, 'training stopped at the first rejection');
});

test('an async onEpoch is waited for', async (t) => {
  const seen: number[] = [];
  await train({
    ...QUICK,
    epochs: 3,
    onEpoch: async (entry) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      seen.push(entry.epoch);
    },
  });
  t.deepEqual(seen, [1, 2, 3]);
});

test("model.predict('x') and predict([5]) are InputErrors, not TypeErrors", (t) => {
  const shape = { sizes: [2, 1], activation: 'relu', loss: 'mse' } as const;
  const model = new Model(shape, new Float32Array(parameterLayout(shape).length), null);
  t.throws(() => model.predict('x' as never), { instanceOf: InputError, message: /rows must be an array of rows, got "x"/ });
  t.throws(() => model.predict([5 as never]), { instanceOf: InputError, message: /row 0 must be an array of values/ });
  t.throws(() => model.predict([null as never]), { instanceOf: InputError });
});

test('compareModes({ out }) writes the report there', async (t) => {
  const dir = await tempDir();
  const out = join(dir, 'modes.html');
  const runs = await compareModes({ data: 'builtin:moons', samples: 60, layers: [2], epochs: 1, threads: 1, batchSizes: [16], out });
  t.is(runs.length, 3);
  t.regex(await readFile(out, 'utf8'), /<html|<svg/i);
});

// ---- 10: non-finite inputs and outputs ----

test('library predict([[Infinity, 1]]) is an InputError naming the row and the input', (t) => {
  const shape = { sizes: [2, 1], activation: 'relu', loss: 'mse' } as const;
  const model = new Model(shape, new Float32Array(parameterLayout(shape).length), null);
  t.throws(() => model.predict([[0, 1], [Infinity, 1]]), { instanceOf: InputError, message: /predict: row 1, input 0: Infinity is not a finite float32 value/ });
  t.throws(() => model.predict([[1e39, 1]]), { instanceOf: InputError, message: /row 0, input 0: Infinity/ }, 'beyond float32 too');
});

const REGRESSION = 'x0,x1,y\n0.1,0.2,1.5\n0.3,0.4,2.25\n0.5,0.1,3.75\n0.7,0.9,4.125\n';

/** A model whose (finite) target scale overflows every output: valid to load, non-finite to run. */
async function overflowingModel(dir: string): Promise<string> {
  await writeFile(join(dir, 'd.csv'), REGRESSION);
  await train({ data: join(dir, 'd.csv'), layers: [2], epochs: 1, threads: 1, out: join(dir, 'm.json') });
  const json = JSON.parse(await readFile(join(dir, 'm.json'), 'utf8')) as Record<string, unknown>;
  json.targetScaling = { offset: 0, scale: 1e-38 };
  const layers = json.layers as { weight: number[]; bias: number[] }[];
  layers.at(-1)!.bias = layers.at(-1)!.bias.map(() => 3e38);
  await writeFile(join(dir, 'huge.json'), JSON.stringify(json));
  return join(dir, 'huge.json');
}

test('a model with a huge finite scale: predict and evaluate exit 2 naming the row, not NaN with exit 0', async (t) => {
  const dir = await tempDir();
  const model = await overflowingModel(dir);
  const loaded = await loadModel(model);
  t.throws(() => loaded.predict([[0.5, 0.5]]), { instanceOf: InputError, message: /^predict: row 0: the model's output is (-?Infinity|NaN)/ });
  const predicted = await runCli(['predict', '--model', model, '--data', join(dir, 'd.csv'), '--out', join(dir, 'p.csv')]);
  t.is(predicted.code, 2, predicted.stderr);
  t.regex(oneLine(predicted.stderr) ?? '', /d\.csv: row 1: the model's output is/);
  const evaluated = await runCli(['evaluate', '--model', model, '--data', join(dir, 'd.csv')]);
  t.is(evaluated.code, 2, evaluated.stderr);
  t.regex(oneLine(evaluated.stderr) ?? '', /d\.csv: row 1: the model's output is|the loss over rows/);
  t.notRegex(evaluated.stdout, /NaN/);
});

// ---- 14: messages ----

test('a JSON model with a byte-order mark loads (the mark is an editor\'s, not the model\'s)', async (t) => {
  const dir = await tempDir();
  await train({ ...QUICK, out: join(dir, 'm.json') });
  await writeFile(join(dir, 'bom.json'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), await readFile(join(dir, 'm.json'))]));
  t.is((await loadModel(join(dir, 'bom.json'))).inputs, 2);
});

test('a UTF-16 JSON model says it is UTF-16', async (t) => {
  const dir = await tempDir();
  await train({ ...QUICK, out: join(dir, 'm.json') });
  const text = await readFile(join(dir, 'm.json'), 'utf8');
  await writeFile(join(dir, 'u16.json'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
  await t.throwsAsync(loadModel(join(dir, 'u16.json')), { instanceOf: InputError, message: /u16\.json: a UTF-16 text file; a JSON model is UTF-8/ });
});

test('--out newdir/ (a path ending in a slash) says it names a directory', async (t) => {
  const dir = await tempDir();
  const result = await runCli(['train', '--data', 'builtin:moons', '--samples', '60', '--epochs', '1', '--quiet', '--out', join(dir, 'newdir') + '/']);
  t.is(result.code, 2, result.stderr);
  t.regex(oneLine(result.stderr) ?? '', /--out \S*newdir\/: ends in a slash, so it names a directory; name the file to write/);
});

test('--noise 1e308 is refused as a noise out of range, not blamed on the learning rate', async (t) => {
  const result = await runCli(['train', '--data', 'builtin:moons', '--samples', '60', '--epochs', '1', '--quiet', '--noise', '1e308']);
  t.is(result.code, 2, result.stderr);
  t.regex(oneLine(result.stderr) ?? '', /--noise must be ≥ 0 and ≤ 1e\+30, got 1e\+308/);
  t.notRegex(result.stderr, /learning rate/);
});

// ---- 15: environment hooks that load code ----

for (const kind of ['fifo', 'not .node'] as const) {
  test(`GRADPOOL_NATIVE_PATH naming a ${kind === 'fifo' ? 'FIFO (…/x.node)' : 'file without .node'} is refused at once: training runs on wasm and says why with --kernels native`, async (t) => {
    const dir = await tempDir();
    const path = join(dir, kind === 'fifo' ? 'x.node' : 'x.so');
    if (kind === 'fifo') execFileSync('mkfifo', [path]);
    else await writeFile(path, 'not an addon');
    const auto = await runCli(['train', '--data', 'builtin:moons', '--samples', '60', '--epochs', '1', '--quiet', '--threads', '1'], { env: { GRADPOOL_NATIVE_PATH: path }, timeoutMs: 60_000 });
    t.is(auto.signal, null, 'not hung');
    t.is(auto.code, 0, auto.stderr);
    const native = await runCli(['train', '--data', 'builtin:moons', '--samples', '60', '--epochs', '1', '--quiet', '--kernels', 'native'], { env: { GRADPOOL_NATIVE_PATH: path }, timeoutMs: 60_000 });
    t.is(native.code, 2, native.stderr);
    t.regex(oneLine(native.stderr) ?? '', new RegExp(`GRADPOOL_NATIVE_PATH=\\S*${kind === 'fifo' ? 'x\\.node: not a regular file' : 'x\\.so: not a \\.node file'}; it must name a regular \\.node file`));
  });
}
