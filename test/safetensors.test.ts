// safetensors model files: round trip, refusals, and (where torch is installed) PyTorch reading them.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Normalization } from '../src/data/normalize.js';
import { InputError } from '../src/errors.js';
import { layerViews, parameterLayout, type NetworkShape } from '../src/model/layout.js';
import { loadModel, Model } from '../src/model/model.js';
import { parseSafetensors, serializeSafetensors } from '../src/model/safetensors.js';
import { tempDir } from './helpers/files.js';

const PYTHON = '/usr/bin/python3';

interface Example {
  name: string;
  shape: NetworkShape;
  labels: string[] | null;
  normalization: Normalization | null;
}

const examples: Example[] = [
  { name: 'relu-softmax', shape: { sizes: [4, 8, 6, 3], activation: 'relu', loss: 'cross-entropy' }, labels: ['cat', 'dog', 'emu'], normalization: null },
  { name: 'sigmoid-bce', shape: { sizes: [3, 5, 1], activation: 'sigmoid', loss: 'bce' }, labels: ['no', 'yes'], normalization: null },
  {
    name: 'tanh-mse-normalized',
    shape: { sizes: [4, 7, 1], activation: 'tanh', loss: 'mse' },
    labels: null,
    normalization: { kind: 'standard', offset: Float32Array.of(0.5, -1, 2, 0), scale: Float32Array.of(2, 0.5, 1, 3) },
  },
];

/** Deterministic, varied float32 weights (no RNG needed: the test wants reproducible files). */
function exampleModel(example: Example): Model {
  const layout = parameterLayout(example.shape);
  const parameters = new Float32Array(layout.length);
  // Only the weights and biases: the alignment padding between them stays 0, as after training.
  let i = 0;
  for (const views of layerViews(layout, parameters)) {
    for (const values of [views.w, views.b]) values.forEach((_, k) => (values[k] = Math.fround(Math.sin(i++ * 1.7 + 0.3) * 0.8)));
  }
  return new Model(example.shape, parameters, example.labels, example.normalization);
}

/** A few input rows per model, also deterministic. */
function exampleInputs(model: Model): number[][] {
  return Array.from({ length: 5 }, (_, r) => Array.from({ length: model.inputs }, (_, f) => Math.fround(Math.cos(r * 3.1 + f) * 2)));
}

async function savedFile(example: Example): Promise<{ path: string; model: Model }> {
  const model = exampleModel(example);
  const path = join(await tempDir(), `${example.name}.safetensors`);
  await model.save(path);
  return { path, model };
}

test('a .safetensors file has a u64 length, a space-padded JSON header with string metadata, and F32 data', async (t) => {
  const { path } = await savedFile(examples[0]!);
  const bytes = await readFile(path);
  const length = Number(bytes.readBigUInt64LE(0));
  t.is(length % 8, 0);
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }> & { __metadata__: Record<string, string> };
  t.deepEqual(Object.keys(header), ['__metadata__', '0.weight', '0.bias', '2.weight', '2.bias', '4.weight', '4.bias']);
  t.deepEqual(header.__metadata__, {
    format: 'gradpool-model',
    version: '1',
    sizes: '[4,8,6,3]',
    activation: 'relu',
    loss: 'cross-entropy',
    labels: '["cat","dog","emu"]',
    normalization: 'null',
  });
  t.deepEqual(header['2.weight'], { dtype: 'F32', shape: [6, 8], data_offsets: [(32 + 8) * 4, (32 + 8 + 48) * 4] });
  t.is(bytes.length, 8 + length + (4 * 8 + 8 + 8 * 6 + 6 + 6 * 3 + 3) * 4);
});

for (const example of examples) {
  test(`a ${example.name} model round-trips through safetensors with identical parameters and predictions`, async (t) => {
    const { path, model } = await savedFile(example);
    const loaded = await loadModel(path);
    t.deepEqual(loaded.shape, model.shape);
    t.deepEqual(loaded.labels, model.labels);
    t.deepEqual(loaded.normalization, model.normalization);
    t.deepEqual(Array.from(loaded.parameters), Array.from(model.parameters));
    const inputs = exampleInputs(model);
    t.deepEqual(loaded.predict(inputs), model.predict(inputs));
  });
}

test('the format is read from the content, so a renamed safetensors file still loads', async (t) => {
  const { path, model } = await savedFile(examples[1]!);
  const renamed = join(path, '..', 'model.bin');
  await rename(path, renamed);
  t.deepEqual(Array.from((await loadModel(renamed)).parameters), Array.from(model.parameters));
});

// ---- refusals: rebuild a valid file with one thing broken ----

interface Parts {
  header: Record<string, unknown>;
  data: Buffer;
}

function splitFile(bytes: Buffer): Parts {
  const length = Number(bytes.readBigUInt64LE(0));
  return { header: JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')) as Record<string, unknown>, data: bytes.subarray(8 + length) };
}

function joinFile(headerText: string, data: Uint8Array, declaredLength?: bigint): Buffer {
  const json = Buffer.from(headerText);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(declaredLength ?? BigInt(json.length));
  return Buffer.concat([length, json, data]);
}

function withHeader(change: (header: Record<string, any>) => void): (bytes: Buffer) => Buffer {
  return (bytes) => {
    const { header, data } = splitFile(bytes);
    change(header);
    return joinFile(JSON.stringify(header), data);
  };
}

const corruptions: [string, (bytes: Buffer) => Buffer, RegExp][] = [
  ['fewer than 8 bytes', () => Buffer.from([1, 0, 0]), /3 bytes, too short for a safetensors file/],
  ['a header length beyond the file', (b) => { const c = Buffer.from(b); c.writeBigUInt64LE(BigInt(b.length)); return c; }, /header length \d+ runs past the end of the file/],
  ['an absurd header length', (b) => { const c = Buffer.from(b); c.writeBigUInt64LE(1n << 60n); return c; }, /header length \d+ is not a valid/],
  ['a header length 4 bytes too long', (b) => { const c = Buffer.from(b); c.writeBigUInt64LE(c.readBigUInt64LE(0) + 4n); return c; }, /header is not JSON/],
  ['a header that is not JSON', (b) => joinFile('{"__metadata__": nope}  ', splitFile(b).data), /header is not JSON/],
  ['a wrong dtype', withHeader((h) => (h['0.weight'].dtype = 'F16')), /0\.weight: dtype "F16", expected "F32"/],
  ['a wrong shape', withHeader((h) => (h['2.weight'].shape = [8, 6])), /2\.weight: shape \[8,6\], expected \[6,8\]/],
  ['overlapping offsets', withHeader((h) => (h['0.bias'].data_offsets = [0, 32])), /0\.bias: data_offsets \[0, 32\] overlap 0\.weight/],
  ['offsets beyond the data', withHeader((h) => (h['4.bias'].data_offsets = [h['4.bias'].data_offsets[0] + 8, h['4.bias'].data_offsets[1] + 8])), /4\.bias: data_offsets \[\d+, \d+\] lie outside the \d+ data bytes/],
  ['a cut-off data section', (b) => b.subarray(0, b.length - 4), /4\.bias: data_offsets .* lie outside|need \d+ bytes of weights, the file holds \d+/],
  ['trailing data', (b) => Buffer.concat([b, Buffer.alloc(8)]), /8 data bytes after the last tensor/],
  ['a NaN weight', (b) => { const c = Buffer.from(b); c.writeFloatLE(NaN, 8 + Number(c.readBigUInt64LE(0)) + 4 * 5); return c; }, /0\.weight\[5\] is NaN, not a finite number/],
  ['an infinite bias', (b) => { const c = Buffer.from(b); c.writeFloatLE(Infinity, c.length - 4); return c; }, /4\.bias\[2\] is Infinity/],
  ['an unexpected tensor', withHeader((h) => (h['6.weight'] = h['4.bias'])), /unexpected key "6\.weight"/],
  ['a missing tensor', withHeader((h) => delete h['2.bias']), /missing tensor "2\.bias"/],
  ['no metadata', withHeader((h) => delete h.__metadata__), /missing "__metadata__"/],
  ['metadata that is not a string', withHeader((h) => (h.__metadata__.version = 1)), /__metadata__\.version must be a string/],
  ['an unexpected metadata key', withHeader((h) => (h.__metadata__.author = 'me')), /__metadata__: unexpected key "author"/],
  ['an unknown activation', withHeader((h) => (h.__metadata__.activation = 'gelu')), /unknown activation "gelu"/],
  ['the wrong number of labels', withHeader((h) => (h.__metadata__.labels = '["a","b"]')), /2 names for 3 outputs/],
  ['sizes that do not match the tensors', withHeader((h) => (h.__metadata__.sizes = '[4,8,3]')), /2\.weight: shape \[6,8\], expected \[3,8\]/],
];

for (const [name, corrupt, pattern] of corruptions) {
  test(`a safetensors file with ${name} is refused with one line naming it`, async (t) => {
    const { path } = await savedFile(examples[0]!);
    await writeFile(path, corrupt(await readFile(path)));
    const error = await t.throwsAsync(loadModel(path), { instanceOf: InputError });
    t.regex(error!.message, pattern);
    t.true(error!.message.startsWith(`${path}: `), error!.message);
    t.false(error!.message.includes('\n'));
  });
}

test('tensors may be stored in any order as long as they tile the data', async (t) => {
  const model = exampleModel(examples[1]!);
  const bytes = Buffer.from(serializeSafetensors(model.shape, model.layers, model.labels, null));
  const { header, data } = splitFile(bytes);
  // Move 0.weight (15 floats) behind everything else.
  const infos = header as Record<string, { data_offsets: [number, number] }>;
  const weightBytes = 15 * 4;
  for (const [key, info] of Object.entries(infos)) {
    if (key === '__metadata__') continue;
    info.data_offsets = key === '0.weight' ? [data.length - weightBytes, data.length] : [info.data_offsets[0] - weightBytes, info.data_offsets[1] - weightBytes];
  }
  const reordered = joinFile(JSON.stringify(header), Buffer.concat([data.subarray(weightBytes), data.subarray(0, weightBytes)]));
  t.deepEqual(Array.from(parseSafetensors(reordered, 'reordered').parameters), Array.from(model.parameters));
});

// ---- PyTorch reads our files (only where torch is installed) ----

/** Reads each file with struct/json only (the safetensors package may be absent) into nn.Sequential. */
const TORCH_SCRIPT = String.raw`
import json, struct, sys
import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}

def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    meta = header.pop("__metadata__")
    body = bytearray(data[8 + length:])
    state = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", info
        begin, end = info["data_offsets"]
        state[name] = torch.frombuffer(body[begin:end], dtype=torch.float32).reshape(info["shape"]).clone()
    sizes = json.loads(meta["sizes"])
    modules = []
    for l in range(len(sizes) - 1):
        modules.append(nn.Linear(sizes[l], sizes[l + 1]))
        if l < len(sizes) - 2:
            modules.append(ACTIVATIONS[meta["activation"]]())
    net = nn.Sequential(*modules)
    net.load_state_dict(state, strict=True)
    return net, meta

results = []
for job in json.load(sys.stdin):
    net, meta = load(job["file"])
    x = torch.tensor(job["inputs"], dtype=torch.float32)
    norm = json.loads(meta["normalization"])
    if norm is not None:
        x = (x - torch.tensor(norm["offset"])) * torch.tensor(norm["scale"])
    with torch.no_grad():
        out = net(x)
        if meta["loss"] == "cross-entropy":
            out = torch.softmax(out, dim=1)
        elif meta["loss"] == "bce":
            p = torch.sigmoid(out)
            out = torch.cat([1 - p, p], dim=1)
    results.append(out.tolist())
print(json.dumps(results))
`;

const torchAvailable = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 }).status === 0;
const torchTest = torchAvailable ? test : test.skip;
const torchTitle = `PyTorch loads the safetensors files into nn.Sequential and predicts the same${torchAvailable ? '' : ' (skipped: python3 torch not installed)'}`;

torchTest(torchTitle, async (t) => {
  const jobs: { file: string; inputs: number[][] }[] = [];
  const models: Model[] = [];
  for (const example of examples) {
    const { path, model } = await savedFile(example);
    jobs.push({ file: path, inputs: exampleInputs(model) });
    models.push(model);
  }
  const run = spawnSync(PYTHON, ['-c', TORCH_SCRIPT], { input: JSON.stringify(jobs), encoding: 'utf8', timeout: 90_000 });
  t.is(run.status, 0, run.stderr);
  const torchOutputs = JSON.parse(run.stdout) as number[][][];
  models.forEach((model, m) => {
    const ours = model.predict(jobs[m]!.inputs);
    const theirs = torchOutputs[m]!;
    t.is(theirs.length, ours.length);
    ours.forEach((row, r) => {
      const theirRow = theirs[r]!;
      if (model.labels) t.is(argmax(theirRow), argmax(row), `${examples[m]!.name} row ${r}: predicted class`);
      row.forEach((value, c) => t.true(Math.abs(value - theirRow[c]!) <= 1e-5, `${examples[m]!.name} row ${r} output ${c}: ours ${value}, torch ${theirRow[c]}`));
    });
  });
});

function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
