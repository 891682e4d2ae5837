// Optimizers, schedules, early stopping, checkpoints and normalization, on real worker threads.
import test from 'ava';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel, train, type TrainOptions } from '../src/index.js';
import { tempDir } from './helpers/files.js';
import { participantsThatComputed } from './helpers/participants.js';

const hash = (parameters: Float32Array): string => createHash('sha256').update(new Uint8Array(parameters.buffer, parameters.byteOffset, parameters.byteLength)).digest('hex');

// ≈50 MFLOP per batch, so steps really are shared by several workers.
const workload: TrainOptions = { data: 'builtin:blobs', samples: 1536, features: 256, classes: 10, layers: [128], batchSize: 256, epochs: 3, lr: 0.02, seed: 9, valSplit: 0.25 };

for (const optimizer of ['momentum', 'adam'] as const) {
  test(`${optimizer} learns and gives identical weights on 1 and 3 threads`, async (t) => {
    const options: TrainOptions = { ...workload, optimizer, lr: optimizer === 'adam' ? 0.002 : 0.02, weightDecay: 1e-4, lrSchedule: 'cosine' };
    const one = await train({ ...options, threads: 1 });
    const three = await train({ ...options, threads: 3 });
    t.true(participantsThatComputed(three.shardsByParticipant) >= 2, `shards per participant: ${three.shardsByParticipant.join(', ')}`);
    t.is(hash(one.model.parameters), hash(three.model.parameters));
    t.true(one.history[2]!.loss < one.history[0]!.loss);
    t.true(one.history[2]!.lr < options.lr!, 'cosine lowered the learning rate');
  });
}

test('resuming from a checkpoint gives the same weights as an uninterrupted run, on another thread count', async (t) => {
  const dir = await tempDir();
  const options: TrainOptions = { ...workload, optimizer: 'adam', lr: 0.002, epochs: 4 };
  const straight = await train({ ...options, threads: 2 });
  await train({ ...options, epochs: 2, threads: 1, checkpointDir: dir });
  const resumed = await train({ ...options, threads: 3, resume: dir });
  t.is(resumed.history.length, 4);
  t.deepEqual(resumed.history.map((e) => e.loss), straight.history.map((e) => e.loss));
  t.is(hash(resumed.model.parameters), hash(straight.model.parameters));
});

test('resuming with different options is refused', async (t) => {
  const dir = await tempDir();
  await train({ ...workload, epochs: 1, threads: 1, checkpointDir: dir });
  await t.throwsAsync(train({ ...workload, lr: 0.5, threads: 1, resume: dir }), { message: /different data, options or kernels/ });
});

test('early stopping keeps the best validation weights', async (t) => {
  // A large learning rate makes validation loss rise after a few epochs.
  const result = await train({ data: 'builtin:moons', samples: 400, layers: [32], valSplit: 0.5, lr: 3, epochs: 200, patience: 3, threads: 1 });
  t.is(result.stopReason, 'early-stopped');
  t.true(result.history.length < 200);
  const best = Math.min(...result.history.map((e) => e.valLoss!));
  const bestEpoch = result.history.findIndex((e) => e.valLoss === best);
  t.is(result.history.length, bestEpoch + 1 + 3, 'stopped exactly patience epochs after the best');
  t.regex(result.message!, /kept the weights of epoch/);
});

test('a diverging run stops with the epoch and step and keeps finite weights', async (t) => {
  const dir = await tempDir();
  const out = join(dir, 'model.json');
  const result = await train({ data: 'builtin:blobs', samples: 512, features: 32, layers: [64], lr: 1e6, epochs: 5, out, threads: 1 });
  t.is(result.stopReason, 'diverged');
  t.regex(result.message!, /epoch \d+, step \d+.*lower learning rate/);
  t.true(result.model.parameters.every(Number.isFinite));
  const saved = await loadModel(out);
  t.true(saved.parameters.every(Number.isFinite));
});

test('normalization statistics come from the training rows and travel with the model', async (t) => {
  const dir = await tempDir();
  const csv = join(dir, 'scaled.csv');
  const lines = ['big,small,label'];
  for (let i = 0; i < 400; i++) {
    const a = (i * 7919) % 400;
    lines.push(`${1e4 + a * 100},${(a % 17) * 1e-3},${a < 200 ? 'low' : 'high'}`);
  }
  await writeFile(csv, lines.join('\n'));
  const out = join(dir, 'model.json');
  const { model, history } = await train({ data: csv, normalize: 'standard', layers: [8], epochs: 20, lr: 0.5, valSplit: 0, out, threads: 1 });
  t.true(history.at(-1)!.accuracy! > 0.95, 'features on wildly different scales train once standardized');
  const saved = JSON.parse(await readFile(out, 'utf8'));
  t.is(saved.normalization.kind, 'standard');
  t.true(Math.abs(saved.normalization.offset[0] - (1e4 + 199.5 * 100)) < 1);
  const loaded = await loadModel(out);
  t.deepEqual(loaded.predict([[1e4 + 10 * 100, 0.001]]), model.predict([[1e4 + 10 * 100, 0.001]]));
  const high = loaded.labels!.indexOf('high');
  t.true(loaded.predict([[1e4 + 390 * 100, 0]])[0]![high]! > 0.5, 'raw inputs are normalized at predict time');
  t.true(loaded.predict([[1e4 + 10 * 100, 0]])[0]![high]! < 0.5);
});
