// TensorFlow.js peer for bench/compare.ts: the same MLP, data, batch size, lr and epochs as gradpool.
//   node dist/bench/peers/tfjs.js --backend cpu|wasm --dir DIR --rows N --features 784 --classes 10
//        --layers 128,64 --activation relu --loss cross-entropy --batch-size 128 --epochs 4 --lr 0.1
// Reads DIR/x.f32 (float32 LE, rows × features) and DIR/y.i32 (int32 class indices) written by
// compare.ts. Model: tf.sequential of dense layers (logits out), plain SGD through
// optimizer.minimize (tf.variableGrads over the model's weights), reshuffled every epoch.
// Prints one JSON object as the last line of stdout: {peer, backend, version, ..., epochs: [...]},
// or {skipped: reason} when the packages are not installed, or {error} (exit 1).
//
// The packages are NOT dependencies of gradpool (too heavy for CI). Install them for a comparison:
//   npm install --no-save @tensorflow/tfjs @tensorflow/tfjs-backend-wasm
// They are loaded by dynamic import() with a computed name so that this file compiles without them.
// Single-threaded: the cpu backend is plain JavaScript on the main thread, and the wasm backend's
// threads never start in Node (tfjs reports WASM_HAS_MULTITHREAD_SUPPORT = false when IS_NODE).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { randomStream, shuffleInPlace } from '../../src/data/random.js';

const TFJS_INSTALL = 'npm install --no-save @tensorflow/tfjs @tensorflow/tfjs-backend-wasm';

// The few parts of the tfjs API used here (the real types live in the packages, which may be absent).
interface Tensor {
  dataSync(): ArrayLike<number>;
  dispose(): void;
}
interface Optimizer {
  minimize(f: () => Tensor, returnCost: true): Tensor | null;
}
interface Sequential {
  apply(input: Tensor): Tensor;
}
interface Tf {
  version: Record<string, string>;
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  env(): { getAsync(flag: string): Promise<unknown> };
  sequential(config: { layers: unknown[] }): Sequential;
  layers: { dense(config: { units: number; activation: string; inputShape?: number[] }): unknown };
  tensor2d(values: Float32Array, shape: [number, number], dtype: 'float32'): Tensor;
  tensor1d(values: Int32Array, dtype: 'int32'): Tensor;
  gather(x: Tensor, indices: Tensor): Tensor;
  oneHot(indices: Tensor, depth: number): Tensor;
  cast(x: Tensor, dtype: 'float32' | 'int32'): Tensor;
  argMax(x: Tensor, axis: number): Tensor;
  equal(a: Tensor, b: Tensor): Tensor;
  greater(a: Tensor, b: number): Tensor;
  sum(x: Tensor): Tensor;
  losses: {
    softmaxCrossEntropy(onehotLabels: Tensor, logits: Tensor): Tensor;
    sigmoidCrossEntropy(labels: Tensor, logits: Tensor): Tensor;
  };
  train: { sgd(lr: number): Optimizer };
  tidy<T>(fn: () => T): T;
  keep<T extends Tensor>(tensor: T): T;
}

export type TfjsResult =
  | { skipped: string }
  | { error: string }
  | {
      peer: string;
      backend: string;
      version: string;
      threads: number;
      simd: boolean | null;
      multithread: boolean | null;
      epochs: { epoch: number; samplesPerSec: number; loss: number; accuracy: number }[];
    };

function isMissingModule(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/** Imports a package by a name TypeScript does not resolve at compile time. */
async function importOptional(name: string): Promise<unknown> {
  const module = (await import(name)) as { default?: unknown };
  return module.default ?? module;
}

async function run(): Promise<TfjsResult> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string' },
      dir: { type: 'string' },
      rows: { type: 'string' },
      features: { type: 'string' },
      classes: { type: 'string' },
      layers: { type: 'string' },
      activation: { type: 'string' },
      loss: { type: 'string' },
      'batch-size': { type: 'string' },
      epochs: { type: 'string' },
      lr: { type: 'string' },
      seed: { type: 'string', default: '1' },
    },
  });
  const need = (name: keyof typeof values): string => {
    const value = values[name];
    if (typeof value !== 'string') throw new Error(`--${name} is required`);
    return value;
  };
  const backend = need('backend');
  if (backend !== 'cpu' && backend !== 'wasm') throw new Error(`--backend must be cpu or wasm, got ${backend}`);
  const dir = need('dir');
  const rows = Number(need('rows'));
  const features = Number(need('features'));
  const classes = Number(need('classes'));
  const hidden = need('layers').split(',').map(Number);
  const activation = need('activation');
  const loss = need('loss');
  const batchSize = Number(need('batch-size'));
  const epochs = Number(need('epochs'));
  const lr = Number(need('lr'));
  const seed = Number(need('seed'));

  let tf: Tf;
  try {
    tf = (await importOptional('@tensorflow/tfjs')) as Tf;
    if (backend === 'wasm') await importOptional('@tensorflow/tfjs-backend-wasm');
  } catch (error) {
    if (isMissingModule(error)) return { skipped: `not installed: ${TFJS_INSTALL}` };
    throw error;
  }
  if (!(await tf.setBackend(backend))) return { error: `tf.setBackend('${backend}') failed` };
  await tf.ready();
  const simd = backend === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : null;
  const multithread = backend === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) : null;

  const xBytes = await readFile(join(dir, 'x.f32'));
  const yBytes = await readFile(join(dir, 'y.i32'));
  // Copy into aligned typed arrays (a Buffer's byteOffset need not be a multiple of 4).
  const x = new Float32Array(new Uint8Array(xBytes).buffer);
  const labels = new Int32Array(new Uint8Array(yBytes).buffer);
  if (x.length !== rows * features || labels.length !== rows) throw new Error(`data files hold ${x.length} floats and ${labels.length} labels, expected ${rows} × ${features} and ${rows}`);

  const bce = loss === 'bce';
  const outputs = bce ? 1 : classes;
  const layers: unknown[] = [];
  let width = features;
  for (const units of hidden) {
    layers.push(tf.layers.dense({ units, activation, inputShape: [width] }));
    width = units;
  }
  layers.push(tf.layers.dense({ units: outputs, activation: 'linear', inputShape: [width] }));
  const model = tf.sequential({ layers });
  const optimizer = tf.train.sgd(lr);

  const X = tf.tensor2d(x, [rows, features], 'float32');
  const labelTensor = tf.tensor1d(labels, 'int32');
  // Targets once: one-hot for softmax cross-entropy, a 0/1 column for sigmoid + BCE.
  const Y = bce ? tf.tensor2d(new Float32Array(labels), [rows, 1], 'float32') : tf.tidy(() => tf.oneHot(labelTensor, classes));

  const order = Int32Array.from({ length: rows }, (_, i) => i);
  const shuffle = randomStream(seed, 'tfjs-shuffle');
  const history: { epoch: number; samplesPerSec: number; loss: number; accuracy: number }[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    shuffleInPlace(order, shuffle);
    const started = performance.now();
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < rows; start += batchSize) {
      const end = Math.min(rows, start + batchSize);
      const batch = end - start;
      tf.tidy(() => {
        const index = tf.tensor1d(order.subarray(start, end), 'int32');
        const xb = tf.gather(X, index);
        const yb = tf.gather(Y, index);
        let logits: Tensor | undefined;
        const cost = optimizer.minimize(() => {
          // Kept past minimize()'s own tidy for the accuracy count below; disposed there.
          logits = tf.keep(model.apply(xb));
          return bce ? tf.losses.sigmoidCrossEntropy(yb, logits) : tf.losses.softmaxCrossEntropy(yb, logits);
        }, true);
        // gradpool reports loss and accuracy for every step; do the same work here.
        lossSum += (cost?.dataSync()[0] ?? Number.NaN) * batch;
        if (logits) {
          const hits = bce ? tf.sum(tf.cast(tf.equal(tf.cast(tf.greater(logits, 0), 'float32'), yb), 'int32')) : tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(yb, 1)), 'int32'));
          correct += hits.dataSync()[0] ?? 0;
          logits.dispose();
        }
      });
    }
    const seconds = (performance.now() - started) / 1000;
    history.push({ epoch, samplesPerSec: rows / seconds, loss: lossSum / rows, accuracy: correct / rows });
  }
  return {
    peer: `tfjs-${backend}`,
    backend: tf.getBackend(),
    version: tf.version['tfjs-core'] ?? tf.version.tfjs ?? 'unknown',
    threads: 1,
    simd,
    multithread,
    epochs: history,
  };
}

run().then(
  (result) => {
    console.log(JSON.stringify(result));
    if ('error' in result) process.exitCode = 1;
  },
  (error: unknown) => {
    console.log(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
    process.exitCode = 1;
  },
);
