// Threads beyond shards: a team of participants shares one shard — rows split on tile boundaries
// for the forward pass and every dZ, output neurons split for dW/db — and the weights keep every bit
// whatever the thread count, in every kernel set.
import test from 'ava';
import { createHash } from 'node:crypto';
import { train, type TrainOptions } from '../src/index.js';
import { tempDir } from './helpers/files.js';
import { nativeIsaLevels } from '../src/math/native-kernels.js';
import { TILE_ROWS } from '../src/model/network.js';
import { pieceRows } from '../src/parallel/engine.js';
import { Coordinator } from '../src/parallel/coordinator.js';
import { resolveKernelSet } from '../src/parallel/kernel-set.js';
import type { NetworkShape } from '../src/model/layout.js';
import { KERNEL_SETS, kernelVariants } from './helpers/kernel-sets.js';

process.env.GRADPOOL_THREADS_BEYOND_CORES = '1';

// 512-128-10: 67 002 parameters, so a shard is at least 64 rows and a batch of 64 is one shard.
const workload: TrainOptions = { data: 'builtin:blobs', samples: 448, features: 512, classes: 10, layers: [128], epochs: 1, lr: 0.05, seed: 11, valSplit: 0 };

const weightHash = (parameters: Float32Array): string => createHash('sha256').update(new Uint8Array(parameters.buffer, parameters.byteOffset, parameters.byteLength)).digest('hex');

test('the pieces of a shard cover its rows exactly once, each starting on a tile boundary', (t) => {
  for (let rows = 1; rows <= 64; rows++) {
    for (let pieces = 1; pieces <= 16; pieces++) {
      let next = 0;
      for (let piece = 0; piece < pieces; piece++) {
        const [from, to] = pieceRows(rows, piece, pieces);
        t.is(from, next, `rows ${rows}, pieces ${pieces}, piece ${piece}`);
        t.is(from % TILE_ROWS, 0);
        t.true(to >= from);
        next = to;
      }
      t.is(next, rows, `rows ${rows}, pieces ${pieces}`);
    }
  }
});

test('a weight gradient over a split of the output neurons has the bits of one full call, in every kernel variant', (t) => {
  const [rows, inputs, outputs] = [13, 37, 23];
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 64, shared: true });
  const floats = new Float32Array(memory.buffer);
  let cursor = (1 << 20) / 4; // past the wasm module's reserved first MiB
  const take = (length: number): Float32Array => {
    const view = floats.subarray(cursor, cursor + length);
    cursor += Math.ceil(length / 16) * 16;
    return view;
  };
  const dz = take(rows * outputs);
  const a = take(rows * inputs);
  // values with full mantissas and some exact zeros (relu's), so rounding would show
  for (let i = 0; i < dz.length; i++) dz[i] = i % 7 === 0 ? 0 : Math.sin(i * 1.7) * 3.1;
  for (let i = 0; i < a.length; i++) a[i] = Math.cos(i * 0.9) * 2.3;
  const [dwFull, dbFull, dwSplit, dbSplit] = [take(outputs * inputs), take(outputs), take(outputs * inputs), take(outputs)];
  for (const { name, kernels } of kernelVariants(memory)) {
    for (const accumulate of [false, true]) {
      dwFull.fill(0.25);
      dbFull.fill(0.25);
      dwSplit.fill(0.25);
      dbSplit.fill(0.25);
      kernels.denseBackwardParams(dwFull, dbFull, dz, a, rows, inputs, outputs, accumulate);
      for (const [from, to] of [[0, 5], [5, 6], [6, 17], [17, 23]] as const) kernels.denseBackwardParams(dwSplit, dbSplit, dz, a, rows, inputs, outputs, accumulate, from, to);
      t.deepEqual(new Uint32Array(dwSplit.slice().buffer), new Uint32Array(dwFull.slice().buffer), `${name}, accumulate ${accumulate}: dw`);
      t.deepEqual(new Uint32Array(dbSplit.slice().buffer), new Uint32Array(dbFull.slice().buffer), `${name}, accumulate ${accumulate}: db`);
    }
  }
});

// Every kernel set, each native instruction-set level on its own (serial: GRADPOOL_NATIVE_ISA is read at start).
const VARIANTS = KERNEL_SETS.flatMap<{ kernels: (typeof KERNEL_SETS)[number]; isa: string }>((kernels) => (kernels === 'native' ? nativeIsaLevels().map((isa) => ({ kernels, isa: isa as string })) : [{ kernels, isa: '' }]));
for (const { kernels, isa } of VARIANTS) {
  test.serial(`${kernels}${isa ? `-${isa}` : ''}: threads 1 to 7 give byte-identical weights at batch 16, 64 and 1000, with teams sharing the small batches' shards`, async (t) => {
    for (const batchSize of [16, 64, 1000]) {
      const options: TrainOptions = { ...workload, batchSize, samples: batchSize === 1000 ? 1100 : workload.samples, kernels };
      process.env.GRADPOOL_NATIVE_ISA = isa;
      try {
        const reference = await train({ ...options, threads: 1 });
        t.true(reference.kernelSet.startsWith(kernels), reference.kernelSet);
        for (let threads = 2; threads <= 7; threads++) {
          const result = await train({ ...options, threads });
          const label = `batch ${batchSize}, ${threads} threads`;
          t.is(weightHash(result.model.parameters), weightHash(reference.model.parameters), label);
          t.deepEqual(result.history.map((e) => e.loss), reference.history.map((e) => e.loss), label);
          // who ran which rows depends on who claimed them first (test below): only the bits may not
          t.is(result.rowsByParticipant.reduce((sum, rows) => sum + rows, 0), options.samples!, `${label}: every row run once`);
        }
      } finally {
        delete process.env.GRADPOOL_NATIVE_ISA;
      }
    }
  });
}

test('at batch 64 on 4 threads a team shares the one shard: within a few hundred steps several participants run rows of the same step, every row once, and the shard is counted once', async (t) => {
  const shape: NetworkShape = { sizes: [512, 128, 10], activation: 'relu', loss: 'cross-entropy' };
  const sgd = { name: 'sgd', momentum: 0, beta1: 0.9, beta2: 0.999, alpha: 0.99, epsilon: 1e-8, weightDecay: 0 } as const;
  const coordinator = new Coordinator({ shape, rows: 640, threads: 4, optimizer: sgd, kernels: resolveKernelSet('auto') });
  try {
    const { x, y, order, parameters } = coordinator.views;
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37);
    for (let r = 0; r < 640; r++) { order[r] = r; y[r * 10 + (r % 10)] = 1; }
    for (let i = 0; i < parameters.length; i++) parameters[i] = Math.cos(i * 0.11) * 0.05;
    await coordinator.ready();
    let shared: number[] | undefined;
    for (let step = 0; step < 400 && !shared; step++) {
      const from = (step % 9) * 64;
      const stats = await coordinator.trainStep(from, from + 64, 1e-6, step + 1);
      t.true(stats.team > 1, `step ${step}: team ${stats.team}`);
      const rows = coordinator.lastRowsByParticipant();
      t.is(rows.reduce((a, b) => a + b, 0), 64, `step ${step}: rows ${rows.join(', ')}`);
      t.is(coordinator.lastShardsByParticipant().reduce((a, b) => a + b, 0), 1);
      if (rows.filter((r) => r > 0).length >= 2) shared = rows;
    }
    t.truthy(shared, 'no step was shared by two participants');
    t.log(`rows per participant in the first shared step: ${shared?.join(', ')}`);
  } finally {
    await coordinator.close();
  }
});

test('a run checkpointed on 3 threads and resumed on 5 (teams of 3 and 5 per shard) gives the weights of one uninterrupted thread', async (t) => {
  const dir = await tempDir();
  const options: TrainOptions = { ...workload, batchSize: 64, optimizer: 'adam', lr: 0.002, epochs: 3 };
  const straight = await train({ ...options, threads: 1 });
  await train({ ...options, epochs: 2, threads: 3, checkpointDir: dir });
  const resumed = await train({ ...options, threads: 5, resume: dir });
  t.deepEqual(resumed.history.map((e) => e.loss), straight.history.map((e) => e.loss));
  t.is(weightHash(resumed.model.parameters), weightHash(straight.model.parameters));
});
