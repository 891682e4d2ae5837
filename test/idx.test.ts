// IDX (MNIST) loading: files written here by a tiny writer, plain and gzipped, and every refusal.
import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isIdxDirectory, loadIdxDataset, loadIdxDirectory, loadIdxImages, loadIdxLabels } from '../src/data/idx.js';
import { loadDataset, loadTrainingData, type LoadOptions } from '../src/data/load.js';
import { InputError } from '../src/errors.js';
import { tempDir } from './helpers/files.js';

/** A big-endian IDX file: magic, one u32 per dimension, then the u8 body. */
function idxBytes(magic: number, dims: number[], body: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, body]);
}

/** `count` images of rows×cols whose pixel i of image n is (n·7 + i) mod 256, and labels n mod classes. */
function imagesBody(count: number, rows: number, cols: number): Uint8Array {
  return Uint8Array.from({ length: count * rows * cols }, (_, i) => (Math.floor(i / (rows * cols)) * 7 + (i % (rows * cols))) % 256);
}

async function writeIdx(dir: string, name: string, bytes: Buffer, gzip = false): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, gzip ? gzipSync(bytes) : bytes);
  return path;
}

async function writeSet(dir: string, prefix: string, count: number, classes: number, gzip: boolean): Promise<void> {
  const suffix = gzip ? '.gz' : '';
  await writeIdx(dir, `${prefix}-images-idx3-ubyte${suffix}`, idxBytes(0x803, [count, 3, 2], imagesBody(count, 3, 2)), gzip);
  await writeIdx(dir, `${prefix}-labels-idx1-ubyte${suffix}`, idxBytes(0x801, [count], Uint8Array.from({ length: count }, (_, n) => n % classes)), gzip);
}

const loadOptions: LoadOptions = { labels: 'classes', builtin: { seed: 1 } };

for (const gzip of [false, true]) {
  const kind = gzip ? 'gzipped' : 'plain';

  test(`${kind} IDX images load into one flat Float32Array scaled to [0, 1]`, async (t) => {
    const dir = await tempDir();
    // The name never says .gz: gzip is recognised by its magic bytes.
    const path = await writeIdx(dir, 'images', idxBytes(0x803, [4, 3, 2], imagesBody(4, 3, 2)), gzip);
    const images = await loadIdxImages(path);
    t.deepEqual([images.count, images.rows, images.cols], [4, 3, 2]);
    t.true(images.pixels instanceof Float32Array);
    t.is(images.pixels.length, 24);
    t.deepEqual(Array.from(images.pixels.subarray(6, 12)), [7, 8, 9, 10, 11, 12].map((v) => Math.fround(v / 255)));
  });

  test(`a ${kind} images + labels pair is a dataset whose class index is the label value`, async (t) => {
    const dir = await tempDir();
    await writeSet(dir, 'train', 10, 4, gzip);
    const suffix = gzip ? '.gz' : '';
    const data = await loadIdxDataset(join(dir, `train-images-idx3-ubyte${suffix}`), join(dir, `train-labels-idx1-ubyte${suffix}`));
    t.is(data.rows, 10);
    t.is(data.features, 6);
    t.is(data.x.length, 60);
    t.deepEqual(data.targets.kind === 'classes' && [...data.targets.names], ['0', '1', '2', '3']);
    t.deepEqual(data.targets.kind === 'classes' && Array.from(data.targets.index), [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
  });

  test(`a ${kind} MNIST directory gives training and test sets sharing the label names`, async (t) => {
    const dir = await tempDir();
    await writeSet(dir, 'train', 12, 3, gzip);
    await writeSet(dir, 't10k', 5, 5, gzip); // the test set has labels 3 and 4, the training set not
    t.true(await isIdxDirectory(dir));
    const { training, test: testSet } = await loadIdxDirectory(dir);
    t.is(training.rows, 12);
    t.is(testSet?.rows, 5);
    const names = (d: typeof training | undefined) => (d?.targets.kind === 'classes' ? [...d.targets.names] : undefined);
    t.deepEqual(names(training), ['0', '1', '2', '3', '4']);
    t.deepEqual(names(testSet), names(training));
  });
}

test('a directory without t10k files has no test set; one without train files is not an IDX directory', async (t) => {
  const dir = await tempDir();
  t.false(await isIdxDirectory(dir));
  t.false(await isIdxDirectory(join(dir, 'nowhere')));
  await writeSet(dir, 'train', 6, 2, false);
  const { training, test: testSet } = await loadIdxDirectory(dir);
  t.is(training.rows, 6);
  t.is(testSet, undefined);
});

test('loadDataset reads an IDX directory as its training set, and an IDX images file with labelsFile', async (t) => {
  const dir = await tempDir();
  await writeSet(dir, 'train', 8, 2, true);
  await writeSet(dir, 't10k', 4, 2, false);
  const fromDir = await loadDataset(dir, loadOptions);
  t.is(fromDir.rows, 8);
  const fromFile = await loadDataset(join(dir, 't10k-images-idx3-ubyte'), { ...loadOptions, labelsFile: join(dir, 't10k-labels-idx1-ubyte') });
  t.is(fromFile.rows, 4);
  t.is(fromFile.features, 6);
  const both = await loadTrainingData(dir, loadOptions);
  t.deepEqual([both.training.rows, both.test?.rows], [8, 4]);
  const csv = join(dir, 'data.csv');
  await writeFile(csv, 'a,label\n1,x\n2,y\n');
  const fromCsv = await loadTrainingData(csv, loadOptions);
  t.deepEqual([fromCsv.training.rows, fromCsv.test], [2, undefined]);
});

test('loadDataset maps IDX labels onto known class names, or refuses a label outside them', async (t) => {
  const dir = await tempDir();
  await writeSet(dir, 'train', 6, 3, false);
  const mapped = await loadDataset(dir, { ...loadOptions, classNames: ['2', '1', '0'] });
  t.deepEqual(mapped.targets.kind === 'classes' && Array.from(mapped.targets.index), [2, 1, 0, 2, 1, 0]);
  const error = await t.throwsAsync(loadDataset(dir, { ...loadOptions, classNames: ['0', '1'] }), { instanceOf: InputError });
  t.regex(error!.message, /image 2 has label "2", which was not among the training labels/);
  const wrongWidth = await t.throwsAsync(loadDataset(dir, { ...loadOptions, features: 784 }), { instanceOf: InputError });
  t.regex(wrongWidth!.message, /has 6 features .* trained on 784/);
});

test('an IDX images file without labels is refused, unless unlabelled data is allowed', async (t) => {
  const dir = await tempDir();
  await writeSet(dir, 'train', 4, 2, false);
  const images = join(dir, 'train-images-idx3-ubyte');
  const error = await t.throwsAsync(loadDataset(images, loadOptions), { instanceOf: InputError });
  t.regex(error!.message, /needs its labels: pass labels/);
  const unlabelled = await loadDataset(images, { ...loadOptions, allowUnlabelled: true });
  t.is(unlabelled.targets.kind, 'none');
  const labelsAsData = await t.throwsAsync(loadDataset(join(dir, 'train-labels-idx1-ubyte'), loadOptions), { instanceOf: InputError });
  t.regex(labelsAsData!.message, /is an IDX labels file/);
});

const broken: [string, Buffer | (() => Buffer), 'images' | 'labels', RegExp][] = [
  ['the labels magic in an images file', idxBytes(0x801, [2, 2, 2], new Uint8Array(8)), 'images', /magic number 0x00000801 at byte 0, expected 0x00000803/],
  ['the images magic in a labels file', idxBytes(0x803, [2], new Uint8Array(2)), 'labels', /magic number 0x00000803 at byte 0, expected 0x00000801/],
  ['a truncated body', idxBytes(0x803, [3, 2, 2], new Uint8Array(10)), 'images', /truncated: expected 12 bytes .*found 10/],
  ['a truncated header', Buffer.from([0, 0, 8, 3, 0, 0]), 'images', /truncated: expected a 16-byte header, found 6 bytes/],
  ['zero images', idxBytes(0x803, [0, 28, 28], new Uint8Array(0)), 'images', /zero images/],
  ['trailing bytes', idxBytes(0x801, [2], new Uint8Array(5)), 'labels', /3 unexpected bytes after the 2 labels/],
  ['a corrupt gzip stream', () => { const gz = gzipSync(idxBytes(0x801, [2], new Uint8Array(2))); gz[gz.length - 6]! ^= 0xff; return gz; }, 'labels', /corrupt gzip stream/],
  ['a cut-off gzip stream', () => gzipSync(idxBytes(0x803, [20, 4, 4], imagesBody(20, 4, 4))).subarray(0, 30), 'images', /corrupt gzip stream/],
];

for (const [name, content, kind, pattern] of broken) {
  test(`an IDX file with ${name} is refused naming the file`, async (t) => {
    const path = await writeIdx(await tempDir(), 'broken-idx', typeof content === 'function' ? content() : content);
    const error = await t.throwsAsync(kind === 'images' ? loadIdxImages(path) : loadIdxLabels(path), { instanceOf: InputError });
    t.regex(error!.message, pattern);
    t.true(error!.message.startsWith(`${path}: `), error!.message);
    t.false(error!.message.includes('\n'));
  });
}

test('a missing IDX file is refused naming it', async (t) => {
  const path = join(await tempDir(), 'train-images-idx3-ubyte');
  const error = await t.throwsAsync(loadIdxImages(path), { instanceOf: InputError });
  t.is(error!.message, `${path}: missing`);
});

test('images and labels with different counts are refused naming both files', async (t) => {
  const dir = await tempDir();
  const images = await writeIdx(dir, 'images', idxBytes(0x803, [3, 2, 2], new Uint8Array(12)));
  const labels = await writeIdx(dir, 'labels', idxBytes(0x801, [4], new Uint8Array(4)));
  const error = await t.throwsAsync(loadIdxDataset(images, labels), { instanceOf: InputError });
  t.is(error!.message, `${labels}: holds 4 labels, but ${images} holds 3 images`);
});

test('a directory with test images but no test labels is refused naming the missing file', async (t) => {
  const dir = await tempDir();
  await writeSet(dir, 'train', 4, 2, false);
  await mkdir(join(dir, 'unrelated'));
  await writeIdx(dir, 't10k-images-idx3-ubyte.gz', idxBytes(0x803, [1, 3, 2], new Uint8Array(6)), true);
  const error = await t.throwsAsync(loadIdxDirectory(dir), { instanceOf: InputError });
  t.regex(error!.message, /t10k-labels-idx1-ubyte: missing/);
});

test('--labels with a CSV is refused, and IDX labels become numbers for regression', async (t) => {
  const dir = await tempDir();
  await writeSet(dir, 'train', 4, 3, false);
  const csv = join(dir, 'data.csv');
  await writeFile(csv, 'a,label\n1,x\n');
  const error = await t.throwsAsync(loadDataset(csv, { ...loadOptions, labelsFile: join(dir, 'train-labels-idx1-ubyte') }), { instanceOf: InputError });
  t.regex(error!.message, /^labels .*train-labels-idx1-ubyte: only goes with an IDX images file, and .*data\.csv is not one$/);
  const regression = await loadDataset(dir, { ...loadOptions, labels: 'values' });
  t.deepEqual(regression.targets.kind === 'values' && Array.from(regression.targets.values), [0, 1, 2, 0]);
});
