import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, loadModel, Model } from '../src/index.js';
import { parameterLayout, type NetworkShape } from '../src/model/layout.js';
import { tempDir } from './helpers/files.js';

const shape: NetworkShape = { sizes: [3, 4, 2], activation: 'tanh', loss: 'cross-entropy' };

async function savedModel(): Promise<{ dir: string; json: Record<string, unknown> }> {
  const dir = await tempDir();
  const parameters = new Float32Array(parameterLayout(shape).length).map((_, i) => Math.fround(Math.sin(i) / 3));
  const model = new Model(shape, parameters, ['no', 'yes']);
  await model.save(join(dir, 'model.json'));
  const { readFile } = await import('node:fs/promises');
  return { dir, json: JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) };
}

test('a saved model records format, version, layer sizes, activations, loss and labels', async (t) => {
  const { json } = await savedModel();
  t.is(json.format, 'gradpool-model');
  t.is(json.version, 1);
  t.is(json.loss, 'cross-entropy');
  t.deepEqual(json.labels, ['no', 'yes']);
  const layers = json.layers as { inputs: number; outputs: number; activation: string }[];
  t.deepEqual(layers.map((l) => [l.inputs, l.outputs, l.activation]), [[3, 4, 'tanh'], [4, 2, 'softmax']]);
});

const corruptions: [string, (json: Record<string, unknown>) => unknown, RegExp][] = [
  ['the wrong format', (j) => ({ ...j, format: 'other' }), /format/],
  ['an unsupported version', (j) => ({ ...j, version: 99 }), /version 99/],
  ['a short weight array', (j) => ({ ...j, layers: [{ ...(j.layers as object[])[0], weight: [1, 2] }, (j.layers as object[])[1]] }), /layers\[0\]\.weight has 2 values/],
  ['a non-finite weight', (j) => ({ ...j, layers: [{ ...(j.layers as object[])[0], bias: [0, 0, 0, '1e999'] }, (j.layers as object[])[1]] }), /layers\[0\]\.bias\[3\]/],
  ['an unexpected __proto__ key', (j) => JSON.parse(JSON.stringify(j).replace('{"format"', '{"__proto__":{"polluted":1},"format"')), /unexpected key "__proto__"/],
  ['mismatched layer sizes', (j) => ({ ...j, layers: [(j.layers as object[])[0], { ...(j.layers as object[])[1], inputs: 5 }] }), /layers\[1\]: inputs 5/],
];

test('a file that is not JSON is refused with its path', async (t) => {
  const dir = await tempDir();
  await writeFile(join(dir, 'bad.json'), '{not json');
  const error = await t.throwsAsync(loadModel(join(dir, 'bad.json')), { instanceOf: InputError });
  t.regex(error!.message, /bad\.json: not a JSON model file/);
});

for (const [name, corrupt, pattern] of corruptions) {
  test(`a model file with ${name} is refused with a clear message`, async (t) => {
    const { dir, json } = await savedModel();
    const path = join(dir, 'corrupt.json');
    await writeFile(path, JSON.stringify(corrupt(json)));
    const error = await t.throwsAsync(loadModel(path), { instanceOf: InputError });
    t.regex(error!.message, pattern);
    t.true(error!.message.startsWith(path));
  });
}
