// The Preprocessor (data/preprocess.ts): fitted on the training rows only, the same transform after
// a trip through a model file, and train() preparing its rows exactly as before the object existed
// (model files byte-identical to those the main build wrote for the same runs, kept in test/preprocess/).
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Preprocessor } from '../src/data/preprocess.js';
import type { Schema } from '../src/data/schema.js';
import { InputError } from '../src/errors.js';
import { layerViews, parameterLayout, type NetworkShape } from '../src/model/layout.js';
import { Model, loadModel } from '../src/model/model.js';
import { train, type TrainOptions } from '../src/train.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/files.js';

/** The reference table and the model files the main build trained on it (before data/preprocess.ts). */
const REFERENCE = fileURLToPath(new URL('../../test/preprocess/', import.meta.url));
const TABLE = join(REFERENCE, 'table.csv');

/** Two numeric columns and a date with its month, imputed: 4 inputs; two regression targets. */
const SCHEMA: Schema = {
  columns: [
    { kind: 'numeric', name: 'a' },
    { kind: 'numeric', name: 'b' },
    { kind: 'date', name: 'when', parts: ['month'] },
    { kind: 'label', name: 'y1' },
    { kind: 'label', name: 'y2' },
  ],
  missing: 'impute',
  naValues: [],
};
const FEATURES = 4;
const OUTPUTS = 2;
const ROWS = 40;

/** Varied inputs with missing cells (NaN) and targets, reproducible without a random generator. */
function table(): { x: Float32Array; y: Float32Array } {
  const x = Float32Array.from({ length: ROWS * FEATURES }, (_, i) => (i % 7 === 3 ? NaN : Math.fround(Math.sin(i * 1.3) * 50 + (i % FEATURES) * 10)));
  const y = Float32Array.from({ length: ROWS * OUTPUTS }, (_, i) => Math.fround(Math.cos(i * 0.7) * 300 + i));
  return { x, y };
}

/** Training rows: the first 30 in a shuffled-looking order; rows 30–39 play the validation rows. */
const TRAINING = Int32Array.from({ length: 30 }, (_, i) => (i * 7) % 30);

function fit(x: Float32Array, y: Float32Array): Preprocessor {
  return Preprocessor.fit(x, y, FEATURES, OUTPUTS, TRAINING, { schema: SCHEMA, normalize: 'standard', regression: true }).preprocessor;
}

function bytes(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

test('fitted on the training rows only: values only in the validation rows move no fill, scale or target statistic', (t) => {
  const { x, y } = table();
  const before = fit(x, y).toJson();
  // Row 35 is not a training row: an extreme input, a missing one and an extreme target there.
  const changed = table();
  changed.x.set([1e30, NaN, -1e30, 12345], 35 * FEATURES);
  changed.y.set([9e30, -9e30], 35 * OUTPUTS);
  t.deepEqual(fit(changed.x, changed.y).toJson(), before);
  // A training row's value does move them (so the comparison above can fail).
  const trainingRow = table();
  trainingRow.x[TRAINING[0]! * FEATURES] = 1e6;
  t.notDeepEqual(fit(trainingRow.x, trainingRow.y).toJson().normalization, before.normalization);
});

test('the fill of a missing input is the mean of the training rows that have it, and the scaling fits the inputs as imputed', (t) => {
  const { x, y } = table();
  const preprocessor = fit(x, y);
  const present = Array.from(TRAINING, (r) => x[r * FEATURES]!).filter((v) => v === v);
  const mean = present.reduce((sum, v) => sum + v, 0) / present.length;
  const column = preprocessor.schema!.columns[0]!;
  t.is(column.kind === 'numeric' ? column.fill : undefined, Math.fround(mean));
  // Standard scaling: the imputed training rows of each input have mean 0 after the transform.
  const transformed = x.slice();
  preprocessor.transformInputs(transformed, FEATURES, 0, ROWS);
  for (let f = 0; f < FEATURES; f++) {
    const values = Array.from(TRAINING, (r) => transformed[r * FEATURES + f]!);
    t.true(values.every((v) => Number.isFinite(v)), `input ${f} has no missing value left`);
    t.true(Math.abs(values.reduce((sum, v) => sum + v, 0) / values.length) < 1e-5, `input ${f} is centred`);
  }
});

test('a preprocessor read back from a .json or .safetensors model file transforms rows bit for bit as the fitted one', async (t) => {
  const { x, y } = table();
  const preprocessor = fit(x, y);
  const shape: NetworkShape = { sizes: [FEATURES, 3, OUTPUTS], activation: 'tanh', loss: 'mse' };
  const parameters = new Float32Array(parameterLayout(shape).length);
  let k = 0;
  for (const views of layerViews(parameterLayout(shape), parameters)) for (const values of [views.w, views.b]) values.forEach((_, i) => (values[i] = Math.fround(Math.sin(k++))));
  const model = new Model(shape, parameters, null, null, { preprocessor });
  t.is(model.preprocessor, preprocessor);
  t.is(model.normalization, preprocessor.normalization);
  t.is(model.schema, preprocessor.schema);
  const dir = await tempDir();
  for (const name of ['model.json', 'model.safetensors']) {
    await model.save(join(dir, name));
    const loaded = (await loadModel(join(dir, name))).preprocessor;
    t.deepEqual(loaded.toJson(), preprocessor.toJson(), name);
    const [fittedX, loadedX] = [x.slice(), x.slice()];
    preprocessor.transformInputs(fittedX, FEATURES, 0, ROWS);
    loaded.transformInputs(loadedX, FEATURES, 0, ROWS);
    t.true(bytes(fittedX).equals(bytes(loadedX)), `${name}: inputs`);
    const [fittedY, loadedY] = [y.slice(), y.slice()];
    preprocessor.transformTargets(fittedY, 0, y.length);
    loaded.transformTargets(loadedY, 0, y.length);
    t.true(bytes(fittedY).equals(bytes(loadedY)), `${name}: targets`);
    t.is(loaded.inverseTarget(fittedY[3]!, 1), preprocessor.inverseTarget(fittedY[3]!, 1), `${name}: outputs back in the target's units`);
    t.is(loaded.lossUnit, preprocessor.lossUnit);
  }
});

/** A safetensors file with its __metadata__ edited (header re-padded to 8 bytes, tensors as they were). */
function editMetadata(file: Buffer, edit: (metadata: Record<string, string>) => void): Buffer {
  const length = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + length).toString('utf8')) as { __metadata__: Record<string, string> };
  edit(header.__metadata__);
  const text = Buffer.from(JSON.stringify(header));
  const padded = Buffer.concat([text, Buffer.alloc((8 - (text.length % 8)) % 8, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(padded.length));
  return Buffer.concat([prefix, padded, file.subarray(8 + length)]);
}

test('the JSON file and the safetensors metadata read their preprocessing with one parser: the same refusal of a bad field', async (t) => {
  const { x, y } = table();
  const shape: NetworkShape = { sizes: [FEATURES, 2, OUTPUTS], activation: 'relu', loss: 'mse' };
  const model = new Model(shape, new Float32Array(parameterLayout(shape).length), null, null, { preprocessor: fit(x, y) });
  const dir = await tempDir();
  const [json, safetensors] = [join(dir, 'm.json'), join(dir, 'm.safetensors')];
  await model.save(json);
  await model.save(safetensors);
  const short = { kind: 'standard', offset: [0], scale: [1] };
  await writeFile(json, JSON.stringify({ ...(JSON.parse(await readFile(json, 'utf8')) as object), normalization: short }));
  await writeFile(safetensors, editMetadata(await readFile(safetensors), (metadata) => (metadata.normalization = JSON.stringify(short))));
  await t.throwsAsync(loadModel(json), { message: /m\.json: normalization\.offset has 1 values, expected 4/ });
  await t.throwsAsync(loadModel(safetensors), { message: /m\.safetensors: __metadata__\.normalization\.offset has 1 values, expected 4/ });
});

test('train() fits the preprocessing after the seeded split: a changed validation row leaves the model\'s fills and scaling as they were', async (t) => {
  const dir = await tempDir();
  const options: Omit<TrainOptions, 'data'> = { labelColumn: 'cls', ignoreColumns: ['y1', 'y2'], missing: 'impute', kernels: 'typescript', threads: 1, epochs: 1, layers: [4], valSplit: 0.25 };
  const first = await train({ ...options, data: TABLE });
  const heldOut = first.model.heldOut!.rows[0]!;
  // The held-out row's x1 (the first cell of data line heldOut + 1, after the header) becomes huge.
  const lines = (await readFile(TABLE, 'utf8')).split('\n');
  lines[heldOut + 1] = `1e9${lines[heldOut + 1]!.slice(lines[heldOut + 1]!.indexOf(','))}`;
  const edited = join(dir, 'edited.csv');
  await writeFile(edited, lines.join('\n'));
  const second = await train({ ...options, data: edited });
  t.deepEqual(second.model.heldOut, first.model.heldOut);
  t.deepEqual(second.model.preprocessor.toJson(), first.model.preprocessor.toJson());
});

// The runs whose files the main build wrote into test/preprocess/ (gradpool train, --kernels
// typescript so that the bytes do not depend on the machine's kernel set).
const RUNS: readonly { out: string; args: readonly string[] }[] = [
  { out: 'classifier.json', args: ['--label-column', 'cls', '--ignore-columns', 'y1,y2', '--missing', 'impute', '--threads', '2', '--epochs', '3', '--layers', '8', '--val-split', '0.25', '--test-data', TABLE] },
  { out: 'regression.safetensors', args: ['--label-column', 'y1,y2', '--ignore-columns', 'cls', '--missing', 'impute', '--threads', '2', '--epochs', '3', '--layers', '8', '--val-split', '0.25', '--normalize', 'minmax'] },
  { out: 'continued.json', args: ['--init', join(REFERENCE, 'classifier.json'), '--label-column', 'cls', '--ignore-columns', 'y1,y2', '--missing', 'impute', '--threads', '3', '--epochs', '2', '--val-split', '0.25'] },
];

for (const run of RUNS) {
  test(`gradpool train writes ${run.out} byte for byte as the build before the Preprocessor did`, async (t) => {
    const dir = await tempDir();
    const out = join(dir, run.out);
    const result = await runCli(['train', '--data', TABLE, '--kernels', 'typescript', ...run.args, '--out', out]);
    t.is(result.code, 0, result.stderr);
    t.true((await readFile(out)).equals(await readFile(join(REFERENCE, run.out))));
  });
}

test('a Model takes the preprocessor alone: with a normalization or schema beside it, or not a Preprocessor, it is an InputError', (t) => {
  const shape: NetworkShape = { sizes: [FEATURES, 2, OUTPUTS], activation: 'relu', loss: 'mse' };
  const parameters = new Float32Array(parameterLayout(shape).length);
  const { x, y } = table();
  const preprocessor = fit(x, y);
  t.throws(() => new Model(shape, parameters, null, preprocessor.normalization, { preprocessor }), { instanceOf: InputError, message: /give it alone/ });
  t.throws(() => new Model(shape, parameters, null, null, { preprocessor, schema: SCHEMA }), { instanceOf: InputError, message: /give it alone/ });
  t.throws(() => new Model(shape, parameters, null, null, { preprocessor: preprocessor.toJson() as never }), { instanceOf: InputError, message: /preprocessor must be a Preprocessor/ });
  // A classification model keeps no target scaling, whatever it is given.
  const classifier = new Model({ ...shape, sizes: [FEATURES, 2, 1], loss: 'bce' }, new Float32Array(parameterLayout({ ...shape, sizes: [FEATURES, 2, 1], loss: 'bce' }).length), ['a', 'b'], null, { preprocessor });
  t.is(classifier.targetScaling, null);
  t.is(classifier.normalization, preprocessor.normalization);
});
