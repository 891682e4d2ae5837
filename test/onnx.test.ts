// ONNX export: the file's structure, onnxruntime-node running it with gradpool's predictions, and
// the CLI writing (and refusing to read) .onnx files.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Normalization } from '../src/data/normalize.js';
import { encodeVarint } from '../src/io/protobuf.js';
import { HIDDEN_ACTIVATIONS, LOSS_KINDS, type HiddenActivation, type LossKind } from '../src/math/kernels.js';
import { layerViews, parameterLayout, type NetworkShape } from '../src/model/layout.js';
import { loadModel, Model } from '../src/model/model.js';
import { ONNX_IR_VERSION, ONNX_OPSET } from '../src/model/onnx.js';
import { tempDir } from './helpers/files.js';
import { runCli } from './helpers/cli.js';
import { ints, messages, readFields, strings } from './helpers/protobuf.js';
import { sideProject } from './helpers/side-project.js';

/** The part of onnxruntime-node these tests use (it lives in test/onnx-runtime/, a project of its own, so its types are not at hand when gradpool compiles). */
interface OrtTensor {
  readonly dims: readonly number[];
  readonly data: unknown;
}
interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(file: string | Uint8Array): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
}

// onnxruntime writes files of its own to the temporary folder (mat-debug-<pid>.log, .ses): give it
// one of the test's, removed with them.
process.env.TMPDIR = await tempDir();

/** onnxruntime-node, or why it cannot load here (the only reason these tests may skip). */
const runtime: Ort | string = await sideProject('onnx-runtime')
  .then((dir) => import(pathToFileURL(createRequire(join(dir, 'package.json')).resolve('onnxruntime-node')).href) as Promise<Ort>)
  .then(
  (ort) => ort,
  (error: unknown) => `onnxruntime-node cannot load: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
);
const ortTest = typeof runtime === 'string' ? test.skip : test;
const skipNote = typeof runtime === 'string' ? ` (skipped: ${runtime})` : '';

const TOLERANCE = 1e-5;

function exampleModel(shape: NetworkShape, normalization: Normalization | null): Model {
  const layout = parameterLayout(shape);
  const parameters = new Float32Array(layout.length);
  let i = 0;
  for (const views of layerViews(layout, parameters)) {
    for (const values of [views.w, views.b]) values.forEach((_, k) => (values[k] = Math.fround(Math.sin(i++ * 1.7 + 0.3) * 0.8)));
  }
  const outputs = shape.sizes[shape.sizes.length - 1]!;
  const labels = shape.loss === 'mse' ? null : outputs === 1 ? ['no', 'yes'] : Array.from({ length: outputs }, (_, c) => `class ${c}`);
  return new Model(shape, parameters, labels, normalization);
}

function exampleRows(features: number, rows: number, around = 0, spread = 2): number[][] {
  return Array.from({ length: rows }, (_, r) => Array.from({ length: features }, (_, f) => Math.fround(around + Math.cos(r * 3.1 + f) * spread)));
}

/** Rows through onnxruntime, as per-row arrays of the model's output tensor. */
async function runOnnx(ort: Ort, file: string | Uint8Array, rows: readonly (readonly number[])[]): Promise<{ name: string; values: number[][] }> {
  const session = typeof file === 'string' ? await ort.InferenceSession.create(file) : await ort.InferenceSession.create(file);
  try {
    const features = rows[0]!.length;
    const input = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, features]);
    const name = session.outputNames[0]!;
    const result = (await session.run({ [session.inputNames[0]!]: input }))[name]!;
    const width = result.dims[1]!;
    const data = result.data as Float32Array;
    return { name, values: rows.map((_, r) => Array.from(data.subarray(r * width, (r + 1) * width))) };
  } finally {
    await session.release();
  }
}

/** gradpool's predict, in the ONNX output's layout: a bce model's ONNX output is p(second label) alone. */
function expected(model: Model, rows: readonly (readonly number[])[]): number[][] {
  return model.predict(rows).map((row) => (model.shape.loss === 'bce' ? [row[1]!] : row));
}

function assertClose(t: { true(value: boolean, message?: string): void; is(a: unknown, b: unknown, message?: string): void }, ours: number[][], theirs: number[][], what: string): number {
  t.is(theirs.length, ours.length, `${what}: row count`);
  let worst = 0;
  ours.forEach((row, r) => {
    t.is(theirs[r]!.length, row.length, `${what} row ${r}: width`);
    row.forEach((value, c) => {
      const difference = Math.abs(value - theirs[r]![c]!);
      worst = Math.max(worst, difference);
      t.true(difference <= TOLERANCE, `${what} row ${r} output ${c}: gradpool ${value}, onnxruntime ${theirs[r]![c]}`);
    });
  });
  return worst;
}

async function saved(model: Model, name: string): Promise<string> {
  const path = join(await tempDir(), `${name}.onnx`);
  await model.save(path);
  return path;
}

test('protobuf varints are base-128, least significant group first, and a negative int64 takes 10 bytes', (t) => {
  t.deepEqual(Array.from(encodeVarint(0n)), [0]);
  t.deepEqual(Array.from(encodeVarint(300n)), [0xac, 0x02]);
  t.deepEqual(Array.from(encodeVarint(BigInt.asUintN(64, -1n))), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
});

test('an .onnx file is a ModelProto: IR 8, opset 17, a named input and output with a symbolic batch, Gemm with transB, metadata as JSON', async (t) => {
  const normalization: Normalization = { kind: 'standard', offset: Float32Array.of(1, 2, 3), scale: Float32Array.of(0.5, 0.25, 2) };
  const model = exampleModel({ sizes: [3, 5, 4], activation: 'tanh', loss: 'cross-entropy' }, normalization);
  const fields = readFields(await readFile(await saved(model, 'structure')));
  t.deepEqual(ints(fields, 1), [ONNX_IR_VERSION]);
  t.deepEqual([ONNX_IR_VERSION, ONNX_OPSET], [8, 17]);
  t.deepEqual(strings(fields, 2), ['gradpool']);
  const [opset] = messages(fields, 8);
  t.deepEqual([strings(opset!, 1), ints(opset!, 2)], [[''], [17]]);

  const [graph] = messages(fields, 7);
  const nodes = messages(graph!, 1).map((n) => ({ op: strings(n, 4)[0], inputs: strings(n, 1), outputs: strings(n, 2), attributes: messages(n, 5).map((a) => [strings(a, 1)[0], ints(a, 3)[0], ints(a, 20)[0]]) }));
  t.deepEqual(nodes, [
    { op: 'Sub', inputs: ['input', 'normalize.offset'], outputs: ['normalize.centered'], attributes: [] },
    { op: 'Mul', inputs: ['normalize.centered', 'normalize.scale'], outputs: ['normalized'], attributes: [] },
    { op: 'Gemm', inputs: ['normalized', '0.weight', '0.bias'], outputs: ['0.linear'], attributes: [['transB', 1, 2]] },
    { op: 'Tanh', inputs: ['0.linear'], outputs: ['1.tanh'], attributes: [] },
    { op: 'Gemm', inputs: ['1.tanh', '2.weight', '2.bias'], outputs: ['2.linear'], attributes: [['transB', 1, 2]] },
    { op: 'Softmax', inputs: ['2.linear'], outputs: ['probabilities'], attributes: [['axis', 1, 2]] },
  ]);
  const initializers = messages(graph!, 5).map((i) => ({ name: strings(i, 8)[0], dims: ints(i, 1), type: ints(i, 2)[0], bytes: (i.find((f) => f.field === 9)!.value as Uint8Array).length }));
  t.deepEqual(initializers, [
    { name: 'normalize.offset', dims: [3], type: 1, bytes: 12 },
    { name: 'normalize.scale', dims: [3], type: 1, bytes: 12 },
    { name: '0.weight', dims: [5, 3], type: 1, bytes: 60 },
    { name: '0.bias', dims: [5], type: 1, bytes: 20 },
    { name: '2.weight', dims: [4, 5], type: 1, bytes: 80 },
    { name: '2.bias', dims: [4], type: 1, bytes: 16 },
  ]);
  // raw_data is float32 little-endian, row-major [outputs, inputs], exactly the model's weights.
  const weight = messages(graph!, 5)[2]!.find((f) => f.field === 9)!.value as Uint8Array;
  t.deepEqual(Array.from(new Float32Array(Uint8Array.from(weight).buffer)), Array.from(model.layers[0]!.w));

  const shapeOf = (valueInfo: ReturnType<typeof readFields>) => {
    const tensorType = messages(messages(valueInfo, 2)[0]!, 1)[0]!;
    const dims = messages(messages(tensorType, 2)[0]!, 1).map((d) => strings(d, 2)[0] ?? ints(d, 1)[0]);
    return { name: strings(valueInfo, 1)[0], elemType: ints(tensorType, 1)[0], dims };
  };
  t.deepEqual(messages(graph!, 11).map(shapeOf), [{ name: 'input', elemType: 1, dims: ['batch', 3] }]);
  t.deepEqual(messages(graph!, 12).map(shapeOf), [{ name: 'probabilities', elemType: 1, dims: ['batch', 4] }]);

  const metadata = Object.fromEntries(messages(fields, 14).map((entry) => [strings(entry, 1)[0], strings(entry, 2)[0]]));
  t.deepEqual(Object.keys(metadata), ['format', 'version', 'sizes', 'activation', 'loss', 'labels', 'normalization']);
  t.deepEqual(JSON.parse(metadata.labels!), ['class 0', 'class 1', 'class 2', 'class 3']);
  t.deepEqual(JSON.parse(metadata.normalization!), { kind: 'standard', offset: [1, 2, 3], scale: [0.5, 0.25, 2] });
  t.is(metadata.loss, 'cross-entropy');
});

const normalizations: [string, Normalization | null][] = [
  ['', null],
  [' with minmax normalization', { kind: 'minmax', offset: Float32Array.of(-2, -1, 0, 1), scale: Float32Array.of(0.25, 0.5, 1, 2) }],
];

for (const activation of HIDDEN_ACTIVATIONS as readonly HiddenActivation[]) {
  for (const loss of LOSS_KINDS as readonly LossKind[]) {
    for (const [suffix, normalization] of normalizations) {
      ortTest(`onnxruntime-node runs a ${activation} / ${loss} model${suffix} and matches model.predict within 1e-5${skipNote}`, async (t) => {
        const outputs = loss === 'cross-entropy' ? 3 : 1;
        const model = exampleModel({ sizes: [4, 8, 6, outputs], activation, loss }, normalization);
        const rows = exampleRows(4, 17);
        const { name, values } = await runOnnx(runtime as Ort, await saved(model, `${activation}-${loss}`), rows);
        t.is(name, loss === 'mse' ? 'output' : 'probabilities');
        const worst = assertClose(t, expected(model, rows), values, `${activation}/${loss}`);
        t.log(`largest difference ${worst.toExponential(2)}`);
      });
    }
  }
}

ortTest(`a standardization far from zero (mean 1000, std 0.01) still matches within 1e-5, as the graph normalizes with explicit Sub/Mul${skipNote}`, async (t) => {
  const normalization: Normalization = { kind: 'standard', offset: Float32Array.of(1000, -1000, 1000), scale: Float32Array.of(100, 100, 100) };
  const model = exampleModel({ sizes: [3, 16, 2], activation: 'sigmoid', loss: 'cross-entropy' }, normalization);
  const rows = exampleRows(3, 20, 1000, 0.02).map((row) => [row[0]!, -row[1]!, row[2]!]);
  const { values } = await runOnnx(runtime as Ort, await saved(model, 'far'), rows);
  assertClose(t, expected(model, rows), values, 'far from zero');
});

ortTest(`train --out model.onnx and export --format onnx write models that onnxruntime runs as gradpool predicts${skipNote}`, async (t) => {
  const ort = runtime as Ort;
  const dir = await tempDir();
  const flags = ['--data', 'builtin:moons', '--samples', '400', '--layers', '16,8', '--epochs', '3', '--normalize', 'standard', '--threads', '1', '--seed', '7', '--quiet'];
  const [json, onnx, exported] = ['model.json', 'model.onnx', 'exported.onnx'].map((name) => join(dir, name)) as [string, string, string];
  for (const out of [json, onnx]) {
    const trained = await runCli(['train', ...flags, '--out', out]);
    t.is(trained.code, 0, trained.stderr);
  }
  const exportRun = await runCli(['export', '--model', json, '--format', 'onnx', '--out', exported]);
  t.is(exportRun.code, 0, exportRun.stderr);
  t.deepEqual(await readFile(exported), await readFile(onnx), 'the same seed trains the same weights, so both files are byte-identical');

  const model = await loadModel(json);
  const rows = exampleRows(2, 50, 0.5, 1.5);
  const { name, values } = await runOnnx(ort, exported, rows);
  t.is(name, 'probabilities');
  const ours = expected(model, rows);
  assertClose(t, ours, values, 'trained moons');
  t.log(`first rows, gradpool p(1) vs onnxruntime: ${ours.slice(0, 3).map((row, r) => `${row[0]!.toFixed(7)} / ${values[r]![0]!.toFixed(7)}`).join(', ')}`);
});

test('evaluate and predict refuse an .onnx model with one line saying that gradpool does not read ONNX back', async (t) => {
  const dir = await tempDir();
  const onnx = await saved(exampleModel({ sizes: [2, 4, 1], activation: 'relu', loss: 'bce' }, null), 'refused');
  for (const [command, path] of [['evaluate', onnx], ['predict', onnx]] as const) {
    const args = [command, '--model', path, '--data', 'builtin:moons', '--samples', '20', ...(command === 'predict' ? ['--out', join(dir, 'p.csv')] : [])];
    const result = await runCli(args);
    t.is(result.code, 2, result.stderr);
    t.regex(result.stderr, /an ONNX model, which gradpool writes but does not read back; use the \.json or \.safetensors file/);
    t.is(result.stderr.trim().split('\n').length, 1);
  }
  // A renamed ONNX file is recognised by its content.
  const renamed = join(dir, 'model.bin');
  await import('node:fs/promises').then((fs) => fs.copyFile(onnx, renamed));
  await t.throwsAsync(loadModel(renamed), { message: /an ONNX model/ });
});

test('export --format onnx refuses an --out that does not end in .onnx', async (t) => {
  const dir = await tempDir();
  const json = join(dir, 'model.json');
  await exampleModel({ sizes: [2, 3, 1], activation: 'relu', loss: 'bce' }, null).save(json);
  const result = await runCli(['export', '--model', json, '--format', 'onnx', '--out', join(dir, 'model.json2')]);
  t.is(result.code, 2);
  t.regex(result.stderr, /--out: .*must end in \.onnx, got .*model\.json2/);
});
