// Threads beyond shards: a team of participants shares one shard's step in phases — rows split on
// tile boundaries for the gather and the loss, every layer's neurons split on column tiles for its
// forward, backward and dW/db — and the weights keep every bit whatever the thread count, in every
// kernel set.
import test from 'ava';
import { createHash } from 'node:crypto';
import { train, type TrainOptions } from '../src/index.js';
import { tempDir } from './helpers/files.js';
import { nativeIsaLevels } from '../src/math/native-kernels.js';
import { TILE_COLUMNS, TILE_ROWS, tilePart } from '../src/model/network.js';
import { claimOrder } from '../src/parallel/engine.js';
import { Coordinator } from '../src/parallel/coordinator.js';
import { resolveKernelSet } from '../src/parallel/kernel-set.js';
import type { NetworkShape } from '../src/model/layout.js';
import { KERNEL_SETS, kernelVariants } from './helpers/kernel-sets.js';

process.env.GRADPOOL_THREADS_BEYOND_CORES = '1';

// 512-128-10: 67 002 parameters, so a shard is at least 64 rows and a batch of 64 is one shard.
const workload: TrainOptions = { data: 'builtin:blobs', samples: 448, features: 512, classes: 10, layers: [128], epochs: 1, lr: 0.05, seed: 11, valSplit: 0 };

const weightHash = (parameters: Float32Array): string => createHash('sha256').update(new Uint8Array(parameters.buffer, parameters.byteOffset, parameters.byteLength)).digest('hex');

test('the parts of a shard\'s rows and of a layer\'s neurons cover them exactly once, each starting on a tile boundary', (t) => {
  for (const tile of [TILE_ROWS, TILE_COLUMNS]) {
    for (let length = 1; length <= 70; length++) {
      for (let parts = 1; parts <= 32; parts++) {
        let next = 0;
        for (let part = 0; part < parts; part++) {
          const [from, to] = tilePart(length, tile, part, parts);
          t.is(from, next, `length ${length}, parts ${parts}, part ${part}`);
          t.is(from % tile, 0);
          t.true(to >= from);
          next = to;
        }
        t.is(next, length, `length ${length}, parts ${parts}`);
      }
    }
  }
});

test('each team member tries its own units first, then every other unit once', (t) => {
  for (let team = 2; team <= 16; team++) {
    const units = 2 * team;
    for (let member = 0; member < team; member++) {
      const order = claimOrder(units, team, member);
      t.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: units }, (_, j) => j));
      t.deepEqual(order.slice(0, 2), [member, member + team]);
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

test('a forward and an activation over a split on column tiles have the bits of one full call, in every kernel variant', (t) => {
  const [rows, inputs, outputs] = [13, 37, 23];
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 64, shared: true });
  const floats = new Float32Array(memory.buffer);
  let cursor = (1 << 20) / 4;
  const take = (length: number): Float32Array => {
    const view = floats.subarray(cursor, cursor + length);
    cursor += Math.ceil(length / 16) * 16;
    return view;
  };
  const [a, w, b, dz] = [take(rows * inputs), take(outputs * inputs), take(outputs), take(rows * outputs)];
  for (let i = 0; i < a.length; i++) a[i] = Math.cos(i * 0.9) * 2.3;
  for (let i = 0; i < w.length; i++) w[i] = Math.sin(i * 0.37) * 0.8;
  for (let i = 0; i < b.length; i++) b[i] = i * 0.01 - 0.1;
  for (let i = 0; i < dz.length; i++) dz[i] = i % 7 === 0 ? 0 : Math.sin(i * 1.7) * 3.1;
  const [zFull, zSplit] = [take(rows * outputs), take(rows * outputs)];
  const bits = (v: Float32Array): Uint32Array => new Uint32Array(v.slice().buffer);
  for (const { name, kernels } of kernelVariants(memory)) {
    for (const parts of [2, 3, 5]) {
      zSplit.fill(NaN);
      kernels.denseForward(zFull, a, w, b, rows, inputs, outputs);
      for (let part = 0; part < parts; part++) kernels.denseForward(zSplit, a, w, b, rows, inputs, outputs, ...tilePart(outputs, TILE_COLUMNS, part, parts));
      t.deepEqual(bits(zSplit), bits(zFull), `${name}, ${parts} parts: z`);
      for (const activation of ['relu', 'tanh', 'gelu'] as const) {
        const [full, split, grad] = [zFull.slice(), zFull.slice(), dz.slice()];
        kernels.activationForward(activation, zFull, zFull, rows * outputs, 0.01);
        const expected = zFull.slice();
        zFull.set(full);
        for (let part = 0; part < parts; part++) {
          const [from, to] = tilePart(outputs, TILE_COLUMNS, part, parts);
          if (to > from) kernels.activationForward(activation, zSplit.subarray(from), zFull.subarray(from), rows * (to - from), 0.01, to - from, outputs);
        }
        t.deepEqual(bits(zSplit), bits(expected), `${name}, ${parts} parts: ${activation} forward`);
        zSplit.set(split);
        const backward = take(rows * outputs);
        backward.set(grad);
        kernels.activationBackward(activation, backward, zFull, rows * outputs, 0.01);
        const gradSplit = take(rows * outputs);
        gradSplit.set(grad);
        for (let part = 0; part < parts; part++) {
          const [from, to] = tilePart(outputs, TILE_COLUMNS, part, parts);
          if (to > from) kernels.activationBackward(activation, gradSplit.subarray(from), zFull.subarray(from), rows * (to - from), 0.01, to - from, outputs);
        }
        t.deepEqual(bits(gradSplit), bits(backward), `${name}, ${parts} parts: ${activation} backward`);
      }
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

// Two more shapes of the team step: a network whose two hidden layers are both split by neurons
// (gelu: its backward reads z, kept beside the output; dropout masks a block of neurons at a time),
// and a small network whose batch of 64 is two 32-row shards, so a team of several shards sums its
// slabs before the update.
const TEAM_SHAPES: { name: string; options: TrainOptions; batches: number[] }[] = [
  {
    name: 'two hidden layers split by neurons, gelu, dropout',
    options: { data: 'builtin:blobs', samples: 320, features: 300, classes: 5, layers: [256, 256], activation: 'gelu', dropout: 0.25, epochs: 1, lr: 0.02, seed: 5, valSplit: 0 },
    batches: [32, 64],
  },
  {
    name: 'two shards per batch (32-row shards of a network under 64 Ki weights, none split by neurons), adam',
    options: { data: 'builtin:blobs', samples: 320, features: 200, classes: 4, layers: [200], optimizer: 'adam', lr: 0.01, epochs: 1, seed: 9, valSplit: 0 },
    batches: [64],
  },
];
for (const { name, options, batches } of TEAM_SHAPES) {
  test.serial(`${name}: threads 1 to 7 give byte-identical weights, in every kernel set`, async (t) => {
    for (const kernels of KERNEL_SETS) {
      for (const batchSize of batches) {
        const reference = await train({ ...options, kernels, batchSize, threads: 1 });
        for (let threads = 2; threads <= 7; threads++) {
          const result = await train({ ...options, kernels, batchSize, threads });
          const label = `${kernels}, batch ${batchSize}, ${threads} threads`;
          t.is(weightHash(result.model.parameters), weightHash(reference.model.parameters), label);
          t.deepEqual(result.history.map((e) => e.loss), reference.history.map((e) => e.loss), label);
        }
      }
    }
  });
}

test('a team step takes the team path for both shapes above: several participants, more than one per shard', async (t) => {
  const sgd = { name: 'sgd', momentum: 0, beta1: 0.9, beta2: 0.999, alpha: 0.99, epsilon: 1e-8, weightDecay: 0 } as const;
  for (const [sizes, shards] of [[[300, 256, 256, 5], 1], [[200, 200, 4], 2]] as const) {
    const coordinator = new Coordinator({ shape: { sizes: [...sizes], activation: 'relu', loss: 'cross-entropy' }, rows: 64, threads: 6, optimizer: sgd, kernels: resolveKernelSet('auto') });
    try {
      await coordinator.ready();
      for (let r = 0; r < 64; r++) coordinator.views.order[r] = r;
      const stats = await coordinator.trainStep(0, 64, 1e-3, 1);
      t.is(stats.workers, 6, `${sizes.join('-')}`);
      t.is(stats.team, 6 / shards, `${sizes.join('-')}`);
      t.is(coordinator.lastShardsByParticipant().reduce((a, b) => a + b, 0), shards);
    } finally {
      await coordinator.close();
    }
  }
});
