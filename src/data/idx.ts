// IDX files, the format of MNIST and Fashion-MNIST: a big-endian header (magic, then one u32 per
// dimension) followed by raw u8 values. Images become one flat Float32Array scaled to [0, 1];
// files may be gzipped, which we detect from the content, not the name. The sizes a header declares
// are checked against the limits before anything is allocated or decompressed for them, and a gzip
// stream is decompressed no further than its header's claim.
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createGunzip, gunzip } from 'node:zlib';
import { InputError } from '../errors.js';
import { integerTargets, materialize, type DataDescription, type Dataset, type TargetExpectation } from './dataset.js';
import { checkValues } from './limits.js';

/** 0x08 = unsigned bytes; the low byte is the number of dimensions. */
export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;

const IMAGES_HEADER_BYTES = 16;
const LABELS_HEADER_BYTES = 8;
const GZIP_MAGIC = [0x1f, 0x8b] as const;

const gunzipAsync = promisify(gunzip);

/** Pixel value v ↦ v/255, computed once: a table lookup beats a division per pixel. */
const PIXEL_SCALE = Float32Array.from({ length: 256 }, (_, v) => v / 255);

export interface IdxImages {
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  /** count × (rows·cols) pixels in [0, 1], image after image, row-major within an image. */
  readonly pixels: Float32Array;
}

/** An images file read and checked, its pixels still bytes: converted where they are written. */
interface IdxImageBytes {
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  /** Writes count × rows·cols pixels scaled to [0, 1] into the start of `into`. */
  writePixels(into: Float32Array): void;
}

export async function loadIdxImages(file: string): Promise<IdxImages> {
  return parseIdxImages(await readIdxBytes(file, 'images'), file);
}

async function openIdxImages(file: string): Promise<IdxImageBytes> {
  return checkIdxImages(await readIdxBytes(file, 'images'), file);
}

export async function loadIdxLabels(file: string): Promise<Uint8Array> {
  return parseIdxLabels(await readIdxBytes(file, 'labels'), file);
}

/** One labelled set: label value L is class index L, names "0" … String(max label). */
export async function loadIdxDataset(imagesFile: string, labelsFile: string): Promise<Dataset> {
  return materialize(await openIdxDataset(imagesFile, labelsFile));
}

export async function openIdxDataset(imagesFile: string, labelsFile: string, expect: TargetExpectation = {}): Promise<DataDescription> {
  const [images, labels] = await Promise.all([openIdxImages(imagesFile), loadIdxLabels(labelsFile)]);
  return idxDescription(imagesFile, images, labelsFile, labels, maxOf(labels) + 1, expect);
}

/** An images file without labels (predict). */
export async function openIdxImagesFile(imagesFile: string, expect: TargetExpectation = {}): Promise<DataDescription> {
  const images = await openIdxImages(imagesFile);
  checkFeatures(imagesFile, images, expect);
  return { source: imagesFile, rows: images.count, features: images.rows * images.cols, targets: { kind: 'none' }, schema: null, autoNormalize: 'none', notes: [], writeFeatures: images.writePixels };
}

/** The standard MNIST file names; Kaggle's copies spell the first dash as a dot. */
const SET_FILES = {
  training: { images: ['train-images-idx3-ubyte', 'train-images.idx3-ubyte'], labels: ['train-labels-idx1-ubyte', 'train-labels.idx1-ubyte'] },
  test: { images: ['t10k-images-idx3-ubyte', 't10k-images.idx3-ubyte'], labels: ['t10k-labels-idx1-ubyte', 't10k-labels.idx1-ubyte'] },
} as const;

/** True when `path` is a directory holding the training images and labels (plain or .gz). */
export async function isIdxDirectory(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isDirectory()) return false;
  } catch {
    return false;
  }
  const [images, labels] = await Promise.all([findFile(path, SET_FILES.training.images), findFile(path, SET_FILES.training.labels)]);
  return images !== undefined && labels !== undefined;
}

export interface IdxFilePair {
  readonly images: string;
  readonly labels: string;
}

/** Paths of the training pair and, when both t10k files are there, the test pair. */
export async function idxDirectoryFiles(dir: string): Promise<{ training: IdxFilePair; test: IdxFilePair | undefined }> {
  const trainingImages = await findFile(dir, SET_FILES.training.images);
  const trainingLabels = await findFile(dir, SET_FILES.training.labels);
  if (!trainingImages || !trainingLabels) {
    const missing = !trainingImages ? SET_FILES.training.images[0] : SET_FILES.training.labels[0];
    throw new InputError(`${join(dir, missing)}: missing (an IDX directory needs train-images-idx3-ubyte and train-labels-idx1-ubyte, optionally .gz)`);
  }
  const testImages = await findFile(dir, SET_FILES.test.images);
  const testLabels = await findFile(dir, SET_FILES.test.labels);
  if ((testImages === undefined) !== (testLabels === undefined)) {
    const missing = testImages ? SET_FILES.test.labels[0] : SET_FILES.test.images[0];
    throw new InputError(`${join(dir, missing)}: missing (the test set needs both t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte)`);
  }
  const test = testImages && testLabels ? { images: testImages, labels: testLabels } : undefined;
  return { training: { images: trainingImages, labels: trainingLabels }, test };
}

/**
 * An MNIST-style directory: train-* is the training set, t10k-* (optional) the test set. Both sets
 * share one list of class names, long enough for the largest label in either, so a class index
 * means the same in both.
 */
export async function loadIdxDirectory(dir: string): Promise<{ training: Dataset; test: Dataset | undefined }> {
  const { training, test } = await openIdxDirectory(dir);
  return { training: materialize(training), test: test && materialize(test) };
}

export async function openIdxDirectory(dir: string, expect: TargetExpectation = {}): Promise<{ training: DataDescription; test: DataDescription | undefined }> {
  const files = await idxDirectoryFiles(dir);
  const [trainX, trainY, testX, testY] = await Promise.all([
    openIdxImages(files.training.images),
    loadIdxLabels(files.training.labels),
    files.test ? openIdxImages(files.test.images) : undefined,
    files.test ? loadIdxLabels(files.test.labels) : undefined,
  ]);
  const classes = Math.max(maxOf(trainY), testY ? maxOf(testY) : 0) + 1;
  const training = idxDescription(files.training.images, trainX, files.training.labels, trainY, classes, expect);
  if (!files.test || !testX || !testY) return { training, test: undefined };
  if (testX.rows !== trainX.rows || testX.cols !== trainX.cols) {
    throw new InputError(`${files.test.images}: images are ${testX.rows}×${testX.cols}, the training images ${trainX.rows}×${trainX.cols}`);
  }
  // The test set's labels are named as the training set's (the same names, or the model's).
  const names = training.targets.kind === 'classes' ? training.targets.names : null;
  return { training, test: idxDescription(files.test.images, testX, files.test.labels, testY, classes, { ...expect, classNames: expect.classNames ?? names }) };
}

/** The first 4 bytes of `file` (through gunzip when gzipped) as a big-endian u32, or undefined. */
export async function sniffIdxMagic(file: string): Promise<number | undefined> {
  let head: Buffer;
  try {
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(4096);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
  if (isGzip(head)) head = await gunzipPrefix(head);
  return head.length >= 4 ? head.readUInt32BE(0) : undefined;
}

export function parseIdxImages(bytes: Uint8Array, file: string): IdxImages {
  const { count, rows, cols, writePixels } = checkIdxImages(bytes, file);
  const pixels = new Float32Array(count * rows * cols);
  writePixels(pixels);
  return { count, rows, cols, pixels };
}

function checkIdxImages(bytes: Uint8Array, file: string): IdxImageBytes {
  const header = readHeader(bytes, file, IDX_IMAGES_MAGIC, 'images', IMAGES_HEADER_BYTES);
  const [count, rows, cols] = [header.getUint32(4), header.getUint32(8), header.getUint32(12)];
  if (count === 0) throw new InputError(`${file}: holds zero images`);
  if (rows === 0 || cols === 0) throw new InputError(`${file}: images are ${rows}×${cols} pixels`);
  const pixelCount = count * rows * cols;
  checkBodyLength(bytes, file, IMAGES_HEADER_BYTES, pixelCount, `${count} images of ${rows}×${cols}`);
  const writePixels = (into: Float32Array): void => {
    for (let i = 0, offset = IMAGES_HEADER_BYTES; i < pixelCount; i++, offset++) into[i] = PIXEL_SCALE[bytes[offset]!]!;
  };
  return { count, rows, cols, writePixels };
}

export function parseIdxLabels(bytes: Uint8Array, file: string): Uint8Array {
  const header = readHeader(bytes, file, IDX_LABELS_MAGIC, 'labels', LABELS_HEADER_BYTES);
  const count = header.getUint32(4);
  if (count === 0) throw new InputError(`${file}: holds zero labels`);
  checkBodyLength(bytes, file, LABELS_HEADER_BYTES, count, `${count} labels`);
  // A copy, not a view: a view would keep the whole file's buffer alive.
  return new Uint8Array(bytes.subarray(LABELS_HEADER_BYTES, LABELS_HEADER_BYTES + count));
}

function checkFeatures(file: string, images: IdxImageBytes, expect: TargetExpectation): void {
  const features = images.rows * images.cols;
  if (expect.features !== undefined && features !== expect.features) throw new InputError(`${file}: has ${features} features (pixels per image), but the model was trained on ${expect.features}`);
}

function idxDescription(imagesFile: string, images: IdxImageBytes, labelsFile: string, labels: Uint8Array, classes: number, expect: TargetExpectation): DataDescription {
  if (labels.length !== images.count) throw new InputError(`${labelsFile}: holds ${labels.length} labels, but ${imagesFile} holds ${images.count} images`);
  checkFeatures(imagesFile, images, expect);
  return {
    source: imagesFile,
    rows: images.count,
    features: images.rows * images.cols,
    targets: integerTargets(imagesFile, labels, classes, expect, 'image'),
    schema: null,
    autoNormalize: 'none',
    notes: [],
    writeFeatures: images.writePixels,
  };
}

/**
 * The whole file, gunzipped when it starts with the gzip magic bytes. The header's declared sizes are
 * checked first (against the limits, and a plain file against its length), and a gzip stream is
 * decompressed only up to the size its header declares, so a small file cannot make us allocate or
 * inflate gigabytes.
 */
async function readIdxBytes(file: string, kind: 'images' | 'labels'): Promise<Uint8Array> {
  const fail = (error: unknown): never => {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${file}: ${code === 'ENOENT' ? 'missing' : `cannot read (${code ?? String(error)})`}`);
  };
  let first: Buffer;
  try {
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(4096);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      first = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error) {
    return fail(error);
  }
  const gzipped = isGzip(first);
  // The claim is checked before the whole file is read (plain) or inflated (gzip).
  const declared = declaredBytes(gzipped ? await gunzipPrefix(first) : first, file, kind);
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (error) {
    return fail(error);
  }
  if (!gzipped) return raw;
  // A header that is not this kind's (or is cut short) needs only its first bytes to be reported.
  if (declared === undefined) return (await gunzipBounded(raw, file, 4096)) ?? (await gunzipPrefix(first));
  const bytes = await gunzipBounded(raw, file, declared);
  if (!bytes) throw new InputError(`${file}: decompresses to more than the ${declared.toLocaleString('en-US')} bytes its header declares (decompression stopped there)`);
  return bytes;
}

/** Header plus body bytes the header declares (checked against the limits), or undefined when the header is incomplete or not this kind's (the parser then says what is wrong). */
function declaredBytes(head: Uint8Array, file: string, kind: 'images' | 'labels'): number | undefined {
  const magic = kind === 'images' ? IDX_IMAGES_MAGIC : IDX_LABELS_MAGIC;
  const headerBytes = kind === 'images' ? IMAGES_HEADER_BYTES : LABELS_HEADER_BYTES;
  if (head.length < headerBytes) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (view.getUint32(0) !== magic) return undefined;
  const count = view.getUint32(4);
  if (kind === 'labels') {
    // Each label goes with an image of at least one value: a label count alone is bounded by half the limit.
    checkValues(file, count, 2, 'declares');
    return headerBytes + count;
  }
  const pixels = view.getUint32(8) * view.getUint32(12);
  checkValues(file, count, pixels + 1, 'declares');
  return headerBytes + count * pixels;
}

/** The gunzipped bytes, or undefined when they would exceed `limit` (decompression stops there). */
async function gunzipBounded(raw: Buffer, file: string, limit: number): Promise<Buffer | undefined> {
  try {
    // One byte more than the limit: enough to tell "more than" from "exactly".
    return await gunzipAsync(raw, { maxOutputLength: limit + 1 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) return undefined;
    throw new InputError(`${file}: corrupt gzip stream (${(error as Error).message})`);
  }
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

/** Whatever a gzip prefix decompresses to; a prefix ends mid-stream, so "unexpected end" is normal. */
function gunzipPrefix(prefix: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const stream = createGunzip();
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', () => resolve(Buffer.concat(chunks)));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.end(prefix);
  });
}

function readHeader(bytes: Uint8Array, file: string, magic: number, kind: string, headerBytes: number): DataView {
  if (bytes.length < 4) throw new InputError(`${file}: truncated: ${bytes.length} bytes, too short for an IDX ${kind} header (${headerBytes} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0);
  if (found !== magic) throw new InputError(`${file}: magic number ${hex(found)} at byte 0, expected ${hex(magic)} (IDX ${kind})`);
  if (bytes.length < headerBytes) throw new InputError(`${file}: truncated: expected a ${headerBytes}-byte header, found ${bytes.length} bytes`);
  return view;
}

function checkBodyLength(bytes: Uint8Array, file: string, headerBytes: number, expected: number, what: string): void {
  const found = bytes.length - headerBytes;
  if (found < expected) throw new InputError(`${file}: truncated: expected ${expected} bytes after the ${headerBytes}-byte header (${what}), found ${found}`);
  if (found > expected) throw new InputError(`${file}: ${found - expected} unexpected bytes after the ${what} (at byte offset ${headerBytes + expected})`);
}

async function findFile(dir: string, names: readonly string[]): Promise<string | undefined> {
  for (const name of names) {
    for (const candidate of [name, `${name}.gz`]) {
      const path = join(dir, candidate);
      try {
        if ((await stat(path)).isFile()) return path;
      } catch {
        // not this spelling; try the next
      }
    }
  }
  return undefined;
}

function maxOf(values: Uint8Array): number {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  return max;
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
