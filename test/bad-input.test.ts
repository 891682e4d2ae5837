// The bad-input contract, through the real CLI: every bad file or flag gets exit code 2, exactly one
// line on stderr naming the file (with line/column where the input has them) or the flag, no stack
// trace, and nothing in the working directory changes: a pre-existing --out file keeps its bytes
// and no temporary file is left behind.
//
// One table, one test per row. Rows marked `knownBug` describe a bug in a file outside this test's
// remit; they run as test.failing() so that the suite stays green until the fix lands, and then
// ava reports them as passing unexpectedly: remove the `knownBug` field at that point.
import test from 'ava';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { tempDir } from './helpers/files.js';
import { runCli, type CliResult } from './helpers/cli.js';

type Command = 'train' | 'evaluate' | 'predict';

/** One row's private directory, with helpers to put files into it. */
interface Ctx {
  readonly dir: string;
  /** The pre-existing --out file ("precious"), passed as --out unless the row passes its own. */
  readonly out: string;
  /** Writes `content` to dir/name (creating parent folders) and returns the path. */
  file(name: string, content: string | Uint8Array): Promise<string>;
  /** A good 2-feature, 2-class CSV (columns a, b, label). */
  goodCsv(name?: string): Promise<string>;
  /** A good JSON model for goodCsv's data: 2 inputs, 3 tanh units, a sigmoid output, labels x/y. */
  goodModel(name?: string, edit?: (json: ModelJson) => unknown): Promise<string>;
}

interface Row {
  name: string;
  command?: Command;
  args(c: Ctx): Promise<string[]>;
  /** The one stderr line must match this (after the "gradpool: " prefix). */
  expect(c: Ctx): RegExp;
  /** Why this row fails today (a bug in a file this suite does not own). */
  knownBug?: string;
}

// ---------- tiny inputs ----------

const GOOD_CSV = 'a,b,label\n0.1,0.2,x\n0.3,0.4,y\n0.5,0.6,x\n0.7,0.8,y\n';

interface ModelJson {
  format: unknown;
  version: unknown;
  loss: unknown;
  labels: unknown;
  normalization: unknown;
  layers: { inputs: unknown; outputs: unknown; activation: unknown; weight: unknown; bias: unknown }[];
  [key: string]: unknown;
}

function goodModelJson(): ModelJson {
  return {
    format: 'gradpool-model',
    version: 1,
    loss: 'bce',
    labels: ['x', 'y'],
    normalization: null,
    layers: [
      { inputs: 2, outputs: 3, activation: 'tanh', weight: [0.5, -0.25, 0.125, 1, -1, 0.75], bias: [0, 0.5, -0.5] },
      { inputs: 3, outputs: 1, activation: 'sigmoid', weight: [1, -1, 0.5], bias: [0.25] },
    ],
  };
}

/** A big-endian IDX file: magic, one u32 per dimension, then the u8 body. */
function idx(magic: number, dims: number[], bodyBytes: number): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(Array.from({ length: bodyBytes }, (_, i) => (i * 37) % 256))]);
}
const IMAGES = 0x00000803;
const LABELS = 0x00000801;
/** `count` images of 3×2 pixels. */
const images = (count: number, body = count * 6): Buffer => idx(IMAGES, [count, 3, 2], body);
/** `count` labels alternating 0/1. */
const labels = (count: number): Buffer => Buffer.concat([idx(LABELS, [count], 0), Buffer.from(Array.from({ length: count }, (_, i) => i % 2))]);

/** A safetensors file: u64 LE header length, the header text space-padded to 8 bytes, then `data`. */
function safetensors(header: string, data: Uint8Array = new Uint8Array(0)): Buffer {
  const text = Buffer.from(header, 'utf8');
  const padded = Math.ceil(text.length / 8) * 8;
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(padded));
  return Buffer.concat([length, text, Buffer.alloc(padded - text.length, 0x20), data]);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `path:line[:column]` not followed by another digit, then the rest of the line. */
function loc(path: string, line?: number, column?: number): RegExp {
  const where = escape(path) + (line === undefined ? '' : `:${line}`) + (column === undefined ? '' : `:${column}`);
  return new RegExp(`${where}(?!\\d)`);
}

/** One pattern that must match in full order: e.g. seq(/--out/, loc(dir)). */
function seq(...parts: (RegExp | string)[]): RegExp {
  return new RegExp(parts.map((p) => (typeof p === 'string' ? escape(p) : p.source)).join('.*'));
}

// ---------- the table ----------

const csvRow = (name: string, csv: string, expect: (path: string) => RegExp, extra: string[] = []): Row => ({
  name,
  async args(c) {
    return ['--data', await c.file('data.csv', csv), ...extra];
  },
  expect: (c) => expect(join(c.dir, 'data.csv')),
});

const modelRow = (name: string, edit: (json: ModelJson) => unknown, expect: (path: string) => RegExp, command: Command = 'predict', knownBug?: string): Row => ({
  name: `${command} --model: ${name}`,
  command,
  async args(c) {
    return ['--model', await c.goodModel('model.json', edit), '--data', await c.goodCsv()];
  },
  expect: (c) => expect(join(c.dir, 'model.json')),
  ...(knownBug ? { knownBug } : {}),
});

const safetensorsRow = (name: string, bytes: () => Uint8Array, expect: (path: string) => RegExp, knownBug?: string): Row => ({
  name: `predict --model safetensors: ${name}`,
  command: 'predict',
  async args(c) {
    return ['--model', await c.file('model.safetensors', bytes()), '--data', await c.goodCsv()];
  },
  expect: (c) => expect(join(c.dir, 'model.safetensors')),
  ...(knownBug ? { knownBug } : {}),
});

const flagRow = (name: string, args: string[], flag: RegExp, command: Command = 'train', knownBug?: string): Row => ({
  name: `${command} ${name}`,
  command,
  async args(c) {
    const data = ['--data', 'builtin:moons', ...(args.includes('--samples') ? [] : ['--samples', '40'])];
    return command === 'train' ? [...data, ...args] : ['--model', await c.goodModel(), ...data, ...args];
  },
  expect: () => flag,
  ...(knownBug ? { knownBug } : {}),
});

const idxDirRow = (name: string, files: Record<string, Buffer>, expect: (dir: string) => RegExp): Row => ({
  name: `IDX directory: ${name}`,
  async args(c) {
    for (const [file, bytes] of Object.entries(files)) await c.file(join('mnist', file), bytes);
    return ['--data', join(c.dir, 'mnist')];
  },
  expect: (c) => expect(join(c.dir, 'mnist')),
});

const rows: Row[] = [
  // --- CSV training data ---
  {
    name: 'missing data file',
    async args(c) {
      return ['--data', join(c.dir, 'nope.csv')];
    },
    expect: (c) => seq(loc(join(c.dir, 'nope.csv')), /ENOENT|missing|cannot read/),
  },
  {
    name: '--data is a directory',
    async args(c) {
      await mkdir(join(c.dir, 'folder'));
      return ['--data', join(c.dir, 'folder')];
    },
    expect: (c) => seq(loc(join(c.dir, 'folder')), /not a file/),
  },
  csvRow('empty CSV file', '', (p) => seq(loc(p), /empty/)),
  csvRow('CSV with a header and no rows', 'a,b,label\n', (p) => seq(loc(p), /no data rows/)),
  csvRow('CSV with only a label column', 'label\nx\ny\n', (p) => seq(loc(p, 1), /feature column/)),
  csvRow('ragged CSV row', 'a,b,label\n1,2,x\n3,4,y\n5,z\n', (p) => seq(loc(p, 4), /3 columns.*found 2/)),
  csvRow('non-numeric feature cell', 'a,b,label\n1,2,x\n3,abc,y\n', (p) => seq(loc(p, 3, 2), /"b".*abc/)),
  csvRow('NaN feature cell', 'a,b,label\n1,2,x\nNaN,4,y\n', (p) => seq(loc(p, 3, 1), /NaN/)),
  csvRow('Infinity feature cell', 'a,b,label\n1,2,x\n3,-Infinity,y\n', (p) => seq(loc(p, 3, 2), /Infinity/)),
  csvRow('empty feature cell', 'a,b,label\n1,2,x\n3,,y\n', (p) => loc(p, 3, 2)),
  // A double that is finite but overflows float32 used to become Infinity in the dataset.
  csvRow('feature beyond float32 range (1e39)', 'a,b,label\n1,2,x\n3,1e39,y\n', (p) => seq(loc(p, 3, 2), /1e39/)),
  csvRow('empty label', 'a,b,label\n1,2,x\n3,4,\n', (p) => seq(loc(p, 3, 3), /empty label/)),
  csvRow('non-numeric label with --loss mse', 'a,b,target\n1,2,0.5\n3,4,big\n', (p) => seq(loc(p, 3, 3), /big/), ['--loss', 'mse']),
  csvRow('regression label beyond float32 range', 'a,b,target\n1,2,0.5\n3,4,-1e40\n', (p) => loc(p, 3, 3), ['--loss', 'mse']),
  // A quoted cell may hold a newline: the message must still be one line.
  csvRow('non-numeric cell holding a quoted newline', 'a,b,label\n1,2,x\n"3\nq",4,y\n', (p) => seq(loc(p), /:\d+:1(?!\d)/, /"a"/)),
  csvRow('header name holding a quoted newline', 'a,"b\nc",label\n1,2,x\n3,oops,y\n', (p) => seq(loc(p), /:\d+:2(?!\d)/, /oops/)),
  csvRow('unclosed quote', 'a,b,label\n1,2,x\n"3,4,y\n', (p) => seq(loc(p), /:\d+(?!\d)/, /quote/i)),
  // csv-parse names this one INVALID_OPENING_QUOTE, without the CSV_ prefix of its other codes.
  csvRow('a quote inside an unquoted cell', 'a,b,label\n1,2,x\n3,4"q",y\n', (p) => seq(loc(p), /:\d+(?!\d)/, /quote/i)),
  csvRow('garbage after a closing quote', 'a,b,label\n1,2,x\n"3"z,4,y\n', (p) => seq(loc(p), /:\d+(?!\d)/)),
  csvRow('only one distinct label', 'a,b,label\n1,2,x\n3,4,x\n', (p) => seq(loc(p), /1 distinct label/)),
  csvRow('label column that does not exist', GOOD_CSV, (p) => seq(/--label-column/, /"species"/, loc(p, 1)), ['--label-column', 'species']),
  csvRow('label column index out of range', GOOD_CSV, (p) => seq(/--label-column/, /"7"/, loc(p, 1)), ['--label-column', '7']),
  csvRow('--labels with CSV data', GOOD_CSV, (p) => seq(/--labels/, loc(p)), ['--labels', 'whatever']),

  // --- --test-data ---
  // Test data is read by column name, as the training file was (an extra column is only noted), so
  // what breaks it is a column the training data had and the test data lacks.
  {
    name: '--test-data without a column of the training data',
    async args(c) {
      return ['--data', await c.goodCsv(), '--test-data', await c.file('test.csv', 'a,c,label\n1,3,x\n4,6,y\n')];
    },
    expect: (c) => seq(loc(join(c.dir, 'test.csv'), 1), /missing column "b"/),
  },
  {
    name: '--test-data with a label unseen in training',
    async args(c) {
      return ['--data', await c.goodCsv(), '--test-data', await c.file('test.csv', 'a,b,label\n1,2,x\n4,5,zebra\n')];
    },
    expect: (c) => seq(loc(join(c.dir, 'test.csv'), 3, 3), /"zebra"/),
  },
  {
    name: '--test-data with an unseen label holding a quoted newline',
    async args(c) {
      return ['--data', await c.goodCsv(), '--test-data', await c.file('test.csv', 'a,b,label\n1,2,x\n4,5,"zeb\nra"\n')];
    },
    expect: (c) => seq(loc(join(c.dir, 'test.csv')), /:\d+:3(?!\d)/, /zeb\\nra/),
  },
  {
    name: '--test-data file missing',
    async args(c) {
      return ['--data', await c.goodCsv(), '--test-data', join(c.dir, 'gone.csv')];
    },
    expect: (c) => loc(join(c.dir, 'gone.csv')),
  },

  // --- IDX ---
  idxDirRow('images with a wrong magic number', { 'train-images-idx3-ubyte': idx(0x00000802, [4, 3, 2], 24), 'train-labels-idx1-ubyte': labels(4) }, (d) =>
    seq(loc(join(d, 'train-images-idx3-ubyte')), /magic/),
  ),
  idxDirRow('labels with a wrong magic number', { 'train-images-idx3-ubyte': images(4), 'train-labels-idx1-ubyte': images(4) }, (d) =>
    seq(loc(join(d, 'train-labels-idx1-ubyte')), /magic/),
  ),
  idxDirRow('images with a truncated body', { 'train-images-idx3-ubyte': images(4, 20), 'train-labels-idx1-ubyte': labels(4) }, (d) =>
    seq(loc(join(d, 'train-images-idx3-ubyte')), /truncated/),
  ),
  idxDirRow('images with a truncated header', { 'train-images-idx3-ubyte': images(4).subarray(0, 10), 'train-labels-idx1-ubyte': labels(4) }, (d) =>
    seq(loc(join(d, 'train-images-idx3-ubyte')), /truncated/),
  ),
  idxDirRow('images with trailing bytes', { 'train-images-idx3-ubyte': images(4, 25), 'train-labels-idx1-ubyte': labels(4) }, (d) =>
    seq(loc(join(d, 'train-images-idx3-ubyte')), /unexpected bytes/),
  ),
  idxDirRow('image and label counts differ', { 'train-images-idx3-ubyte': images(4), 'train-labels-idx1-ubyte': labels(3) }, (d) =>
    seq(loc(join(d, 'train-labels-idx1-ubyte')), /3 labels.*4 images/),
  ),
  idxDirRow('a corrupt gzip file', { 'train-images-idx3-ubyte.gz': Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7]), 'train-labels-idx1-ubyte': labels(4) }, (d) =>
    seq(loc(join(d, 'train-images-idx3-ubyte.gz')), /gzip/),
  ),
  idxDirRow('t10k images without t10k labels', { 'train-images-idx3-ubyte': images(4), 'train-labels-idx1-ubyte': labels(4), 't10k-images-idx3-ubyte': images(2) }, (d) =>
    seq(loc(join(d, 't10k-labels-idx1-ubyte')), /missing/),
  ),
  idxDirRow(
    't10k images of another size',
    { 'train-images-idx3-ubyte': images(4), 'train-labels-idx1-ubyte': labels(4), 't10k-images-idx3-ubyte': idx(IMAGES, [2, 2, 2], 8), 't10k-labels-idx1-ubyte': labels(2) },
    (d) => seq(loc(join(d, 't10k-images-idx3-ubyte')), /2×2/),
  ),
  {
    name: 'IDX images file with --labels: counts differ',
    async args(c) {
      return ['--data', await c.file('imgs', images(4)), '--labels', await c.file('lbls', labels(5))];
    },
    expect: (c) => seq(loc(join(c.dir, 'lbls')), /5 labels.*4 images/),
  },
  {
    name: 'IDX images file with --labels: labels file has a wrong magic number',
    async args(c) {
      return ['--data', await c.file('imgs', images(4)), '--labels', await c.file('lbls', idx(0x00000901, [4], 4))];
    },
    expect: (c) => seq(loc(join(c.dir, 'lbls')), /magic/),
  },
  {
    name: 'IDX images file with --labels: labels file missing',
    async args(c) {
      return ['--data', await c.file('imgs', images(4)), '--labels', join(c.dir, 'gone')];
    },
    expect: (c) => seq(loc(join(c.dir, 'gone')), /missing/),
  },
  {
    name: 'IDX images file without --labels',
    async args(c) {
      return ['--data', await c.file('imgs', images(4))];
    },
    expect: (c) => seq(loc(join(c.dir, 'imgs')), /--labels/),
  },
  {
    name: 'IDX labels file given as the data',
    async args(c) {
      return ['--data', await c.file('lbls', labels(4))];
    },
    expect: (c) => seq(loc(join(c.dir, 'lbls')), /labels file/),
  },

  // --- model files (predict has an --out to protect; evaluate is covered by a few rows) ---
  {
    name: 'predict --model: missing file',
    command: 'predict',
    async args(c) {
      return ['--model', join(c.dir, 'gone.json'), '--data', await c.goodCsv()];
    },
    expect: (c) => seq(loc(join(c.dir, 'gone.json')), /ENOENT/),
  },
  modelRow('not JSON', () => 'this is not JSON', (p) => seq(loc(p), /not a JSON model/)),
  // V8 quotes the bad text in its JSON.parse message, newlines included: still one line.
  modelRow('not JSON, over several lines', () => '{\n  "format": x\n  y\n}', (p) => seq(loc(p), /not a JSON model/)),
  modelRow('a JSON array', () => [], (p) => seq(loc(p), /JSON object/)),
  modelRow('the wrong format', (j) => ({ ...j, format: 'keras' }), (p) => seq(loc(p), /format.*"keras"/)),
  modelRow('the wrong version', (j) => ({ ...j, version: 2 }), (p) => seq(loc(p), /version 2/)),
  modelRow('an unknown loss', (j) => ({ ...j, loss: 'hinge' }), (p) => seq(loc(p), /loss.*"hinge"/)),
  modelRow('a weight array too short', (j) => (j.layers[0]!.weight = [1, 2, 3], j), (p) => seq(loc(p), /layers\[0\]\.weight has 3 values, expected 6/)),
  modelRow('a bias array too long', (j) => (j.layers[1]!.bias = [1, 2], j), (p) => seq(loc(p), /layers\[1\]\.bias has 2 values, expected 1/)),
  modelRow('layer sizes that do not chain', (j) => (j.layers[1]!.inputs = 4, j), (p) => seq(loc(p), /layers\[1\]/)),
  modelRow('labels that do not fit the outputs', (j) => ({ ...j, labels: ['x', 'y', 'z'] }), (p) => seq(loc(p), /labels/)),
  modelRow('an infinite weight (1e999)', () => JSON.stringify(goodModelJson()).replace('0.125', '1e999'), (p) => seq(loc(p), /weight\[2\].*finite/)),
  modelRow('a weight beyond float32 range', (j) => ((j.layers[0]!.weight as number[])[1] = 1e39, j), (p) => seq(loc(p), /weight\[1\].*finite/)),
  modelRow('a weight that is a string', (j) => ((j.layers[1]!.weight as unknown[])[0] = 'NaN', j), (p) => seq(loc(p), /layers\[1\]\.weight\[0\]/)),
  modelRow('a null weight (how NaN serializes)', (j) => ((j.layers[1]!.bias as unknown[])[0] = null, j), (p) => seq(loc(p), /layers\[1\]\.bias\[0\]/)),
  modelRow('a top-level __proto__ key', () => JSON.stringify(goodModelJson()).replace('{', '{"__proto__":{"polluted":true},'), (p) => seq(loc(p), /unexpected key "__proto__"/)),
  modelRow('a __proto__ key in a layer', () => JSON.stringify(goodModelJson()).replace('{"inputs"', '{"__proto__":null,"inputs"'), (p) => seq(loc(p), /layers\[0\].*"__proto__"/)),
  modelRow('an unexpected key', (j) => ({ ...j, optimizer: 'adam' }), (p) => seq(loc(p), /unexpected key "optimizer"/)),
  modelRow('a missing key', ({ normalization: _n, ...rest }) => rest, (p) => seq(loc(p), /missing key "normalization"/)),
  modelRow('duplicate labels', (j) => ({ ...j, labels: ['x', 'x'] }), (p) => seq(loc(p), /labels.*"x"/)),
  modelRow('a value nested 100 000 arrays deep', () => JSON.stringify(goodModelJson()).replace('"bce"', `${'['.repeat(100_000)}${']'.repeat(100_000)}`), (p) => seq(loc(p), /loss/)),
  modelRow('a normalization of the wrong length', (j) => ({ ...j, normalization: { kind: 'standard', offset: [0], scale: [1] } }), (p) => seq(loc(p), /normalization\.offset/)),
  modelRow('not JSON', () => '{"format"', (p) => seq(loc(p), /not a JSON model/), 'evaluate'),
  modelRow('a __proto__ key', () => JSON.stringify(goodModelJson()).replace('{', '{"__proto__":{},'), (p) => seq(loc(p), /"__proto__"/), 'evaluate'),
  {
    name: 'predict: data with another feature count than the model',
    command: 'predict',
    async args(c) {
      return ['--model', await c.goodModel(), '--data', await c.file('wide.csv', 'a,b,c,label\n1,2,3,x\n')];
    },
    expect: (c) => seq(loc(join(c.dir, 'wide.csv'), 1), /3 feature columns.*2/),
  },
  {
    name: 'evaluate: data with a label the model does not know',
    command: 'evaluate',
    async args(c) {
      return ['--model', await c.goodModel(), '--data', await c.file('new.csv', 'a,b,label\n1,2,x\n3,4,zebra\n')];
    },
    expect: (c) => seq(loc(join(c.dir, 'new.csv'), 3, 3), /"zebra"/),
  },
  safetensorsRow('too short for its length prefix', () => Buffer.from([1, 2, 3]), (p) => seq(loc(p), /too short/)),
  safetensorsRow('header length past the end of the file', () => safetensors('{}').subarray(0, 12), (p) => seq(loc(p), /header length/)),
  safetensorsRow('a JSON model renamed .safetensors', () => Buffer.from(JSON.stringify(goodModelJson())), (p) => loc(p)),
  safetensorsRow('no __metadata__', () => safetensors('{}'), (p) => seq(loc(p), /__metadata__/)),
  safetensorsRow(
    'a header that is not JSON, over several lines',
    () => safetensors('{"a": x\ny}'),
    (p) => seq(loc(p), /not JSON/),
  ),
  safetensorsRow(
    'metadata declaring 2^40 parameters in a 200-byte file',
    () =>
      safetensors(
        JSON.stringify({
          __metadata__: { format: 'gradpool-model', version: '1', sizes: '[1048576,1048576]', activation: 'relu', loss: 'mse', labels: 'null', normalization: 'null' },
        }),
      ),
    (p) => seq(loc(p), /tensor|parameters|bytes/),
  ),

  // --- flags ---
  flagRow('--lr 0', ['--lr', '0'], /--lr/),
  flagRow('--lr -1', ['--lr', '-1'], /--lr/),
  flagRow('--lr abc', ['--lr', 'abc'], /--lr/),
  flagRow('--batch-size 0', ['--batch-size', '0'], /--batch-size/),
  flagRow('--threads 0', ['--threads', '0'], /--threads/),
  flagRow('--threads 100000', ['--threads', '100000'], /--threads/),
  flagRow('--layers a,b', ['--layers', 'a,b'], /--layers.*"a,b"/),
  flagRow('--layers 0', ['--layers', '0'], /--layers/),
  flagRow('--val-split 1.5', ['--val-split', '1.5'], /--val-split/),
  flagRow('--epochs 0', ['--epochs', '0'], /--epochs/),
  flagRow('--activation swish', ['--activation', 'swish'], /activation.*swish/),
  flagRow('--mode fast', ['--mode', 'fast'], /mode.*fast/),
  flagRow('--loss hinge', ['--loss', 'hinge'], /loss.*hinge/),
  flagRow('--optimizer lion', ['--optimizer', 'lion'], /optimizer.*lion/),
  flagRow('--momentum 1', ['--momentum', '1'], /--momentum/),
  flagRow('--patience without --val-split', ['--patience', '3'], /--patience/),
  flagRow('an unknown flag', ['--lrr', '0.1'], /lrr/),
  flagRow('--samples 1e12', ['--samples', '1e12'], /--samples/, 'evaluate'),
  flagRow('--seed abc', ['--seed', 'abc'], /--seed/, 'evaluate'),
  {
    name: 'train: unknown builtin set',
    async args() {
      return ['--data', 'builtin:nope'];
    },
    expect: () => /builtin:nope/,
  },

  // --- output paths ---
  {
    name: 'train --out in a directory that does not exist',
    async args(c) {
      return ['--data', 'builtin:moons', '--samples', '40', '--out', join(c.dir, 'missing', 'model.json')];
    },
    expect: (c) => seq(/--out/, loc(join(c.dir, 'missing'))),
  },
  // Tests run as root, which chmod cannot stop: a parent that is a regular file is unwritable for anyone.
  {
    name: 'train --out whose parent is a regular file',
    async args(c) {
      return ['--data', 'builtin:moons', '--samples', '40', '--out', join(await c.file('plain', 'x'), 'model.json')];
    },
    expect: (c) => seq(/--out/, loc(join(c.dir, 'plain')), /not a directory/),
  },
  {
    name: 'train --out that is a directory',
    async args(c) {
      await mkdir(join(c.dir, 'adir'));
      return ['--data', 'builtin:moons', '--samples', '40', '--out', join(c.dir, 'adir')];
    },
    expect: (c) => seq(/--out/, loc(join(c.dir, 'adir')), /directory/),
  },
  {
    name: 'predict --out in a directory that does not exist',
    command: 'predict',
    async args(c) {
      return ['--model', await c.goodModel(), '--data', await c.goodCsv(), '--out', join(c.dir, 'missing', 'preds.csv')];
    },
    expect: (c) => seq(/--out/, loc(join(c.dir, 'missing'))),
  },
  {
    name: 'train --log-json whose parent is a regular file',
    async args(c) {
      return ['--data', 'builtin:moons', '--samples', '40', '--log-json', join(await c.file('plain', 'x'), 'log.jsonl')];
    },
    expect: (c) => seq(/--log-json/, loc(join(c.dir, 'plain'))),
  },
  {
    name: 'train --checkpoint-dir whose parent is a regular file',
    async args(c) {
      return ['--data', 'builtin:moons', '--samples', '40', '--layers', '2', '--checkpoint-dir', join(await c.file('plain', 'x'), 'ckpt')];
    },
    expect: (c) => seq(/--checkpoint-dir/, loc(join(c.dir, 'plain'))),
  },
  {
    name: 'train --resume from a directory without a checkpoint',
    async args(c) {
      await mkdir(join(c.dir, 'empty'));
      return ['--data', 'builtin:moons', '--samples', '40', '--resume', join(c.dir, 'empty')];
    },
    expect: (c) => seq(/--resume/, loc(join(c.dir, 'empty'))),
  },
];

// ---------- the harness ----------

/** Node starts are the cost here (~0.7 s of CPU each, half of it importing vega): a few in flight, not all at once. */
const limit = concurrency(2 * availableParallelism());

function concurrency(max: number): <T>(run: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (run) => {
    if (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await run();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

async function makeCtx(command: Command): Promise<Ctx> {
  const dir = await tempDir();
  const out = join(dir, command === 'predict' ? 'precious.csv' : 'precious.json');
  const file = async (name: string, content: string | Uint8Array): Promise<string> => {
    const path = join(dir, name);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, content);
    return path;
  };
  return {
    dir,
    out,
    file,
    goodCsv: (name = 'good.csv') => file(name, GOOD_CSV),
    goodModel: (name = 'good-model.json', edit) => {
      const json = goodModelJson();
      const edited = edit ? edit(json) : json;
      return file(name, typeof edited === 'string' ? edited : JSON.stringify(edited));
    },
  };
}

/** Every file under dir (relative path → bytes, as base64), to prove a failed run changed nothing. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true })) {
    const path = join(dir, entry);
    result[entry] = (await stat(path)).isDirectory() ? '<dir>' : (await readFile(path)).toString('base64');
  }
  return result;
}

function withDefaults(command: Command, args: string[], ctx: Ctx): string[] {
  const full = [command, ...args];
  if (command !== 'evaluate' && !args.includes('--out')) full.push('--out', ctx.out);
  if (command === 'train' && !args.includes('--epochs')) full.push('--epochs', '1');
  return full;
}

for (const row of rows) {
  const command = row.command ?? 'train';
  const define = row.knownBug ? test.failing : test;
  define(`bad input: ${row.name}${row.knownBug ? ` [known bug: ${row.knownBug}]` : ''}`, async (t) => {
    const ctx = await makeCtx(command);
    await writeFile(ctx.out, 'precious');
    const args = withDefaults(command, await row.args(ctx), ctx);
    const before = await snapshot(ctx.dir);
    const result: CliResult = await limit(() => runCli(args, { timeoutMs: 60_000 }));
    const report = `gradpool ${args.join(' ')}\nexit ${result.code}\nstderr: ${JSON.stringify(result.stderr)}`;

    t.is(result.code, 2, report);
    t.notRegex(result.stderr, /^\s+at /m, `no stack trace\n${report}`);
    const lines = result.stderr.replace(/\n$/, '').split('\n');
    t.is(lines.length, 1, `exactly one line on stderr\n${report}`);
    t.regex(lines[0]!, /^gradpool: \S/, report);
    t.regex(lines[0]!, row.expect(ctx), report);
    t.is(await readFile(ctx.out, 'utf8'), 'precious', `--out is left untouched\n${report}`);
    t.deepEqual(await snapshot(ctx.dir), before, `no file was created, changed or removed\n${report}`);
  });
}

// The controls: the good inputs every row corrupts do work, so each row fails for its own reason.
test('control: the good CSV trains and the good model predicts', async (t) => {
  const ctx = await makeCtx('predict');
  const trained = await limit(() => runCli(['train', '--data', 'builtin:moons', '--samples', '40', '--epochs', '1', '--threads', '1', '--layers', '2', '--quiet']));
  t.is(trained.code, 0, trained.stderr);
  const csv = await ctx.goodCsv();
  const fromCsv = await limit(() => runCli(['train', '--data', csv, '--epochs', '1', '--threads', '1', '--layers', '2', '--quiet', '--out', join(ctx.dir, 'm.json')]));
  t.is(fromCsv.code, 0, fromCsv.stderr);
  const model = await ctx.goodModel();
  const predicted = await limit(() => runCli(['predict', '--model', model, '--data', csv, '--out', ctx.out]));
  t.is(predicted.code, 0, predicted.stderr);
  t.regex(await readFile(ctx.out, 'utf8'), /^predicted,prob_x,prob_y\n/);
  const evaluated = await limit(() => runCli(['evaluate', '--model', model, '--data', csv, '--json']));
  t.is(evaluated.code, 0, evaluated.stderr);
  t.is(JSON.parse(evaluated.stdout).samples, 4);
});

test('control: the good IDX files train, as a directory and with --labels', async (t) => {
  const ctx = await makeCtx('train');
  await ctx.file(join('mnist', 'train-images-idx3-ubyte'), images(4));
  await ctx.file(join('mnist', 'train-labels-idx1-ubyte'), labels(4));
  const common = ['--epochs', '1', '--threads', '1', '--layers', '2', '--quiet'];
  const fromDir = await limit(() => runCli(['train', '--data', join(ctx.dir, 'mnist'), ...common]));
  t.is(fromDir.code, 0, fromDir.stderr);
  const imgs = await ctx.file('imgs', images(4));
  const lbls = await ctx.file('lbls', labels(4));
  const fromFiles = await limit(() => runCli(['train', '--data', imgs, '--labels', lbls, ...common]));
  t.is(fromFiles.code, 0, fromFiles.stderr);
});
