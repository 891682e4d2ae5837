// Synchronous data parallelism on real worker threads: the thread count changes who computes a
// shard, never the arithmetic, so losses and weights agree across thread counts.
import test from 'ava';
import { createHash } from 'node:crypto';
import { train, type TrainOptions } from '../src/index.js';

// Large enough per batch (≈50 MFLOP) that the coordinator really hands shards to several workers.
const workload: TrainOptions = { data: 'builtin:blobs', samples: 2048, features: 256, classes: 10, layers: [128], batchSize: 256, epochs: 3, lr: 0.05, seed: 5, valSplit: 0.1 };

const weightHash = (parameters: Float32Array): string => createHash('sha256').update(new Uint8Array(parameters.buffer, parameters.byteOffset, parameters.byteLength)).digest('hex');

test('threads 1 and 4 give the same loss after every epoch and the same weights', async (t) => {
  const one = await train({ ...workload, threads: 1 });
  const four = await train({ ...workload, threads: 4 });
  t.is(one.history.length, 3);
  t.true(four.history.every((entry) => entry.threads > 1), 'steps were shared by several workers');
  t.true(one.history.every((entry) => entry.threads === 1));
  for (let e = 0; e < 3; e++) {
    const a = one.history[e]!;
    const b = four.history[e]!;
    t.true(Math.abs(a.loss - b.loss) <= 1e-5 * Math.abs(a.loss), `epoch ${e + 1}: ${a.loss} vs ${b.loss}`);
    t.is(a.valLoss, b.valLoss);
  }
  t.is(weightHash(one.model.parameters), weightHash(four.model.parameters));
  t.true(one.history[2]!.loss < one.history[0]!.loss, 'it learns');
});

test('batch and sgd modes also agree across thread counts', async (t) => {
  for (const mode of ['batch', 'sgd'] as const) {
    const options: TrainOptions = { ...workload, samples: mode === 'sgd' ? 300 : 2048, epochs: 2, mode };
    const one = await train({ ...options, threads: 1 });
    const three = await train({ ...options, threads: 3 });
    t.is(weightHash(one.model.parameters), weightHash(three.model.parameters), mode);
  }
});
