// Synchronous data parallelism on real worker threads: the thread count changes who computes a
// shard, never the arithmetic, so losses and weights agree across thread counts bit for bit.
import test from 'ava';
import { createHash } from 'node:crypto';
import { train, type TrainOptions } from '../src/index.js';
import { nativeIsaLevels } from '../src/math/native-kernels.js';
import { participantsThatComputed } from './helpers/participants.js';

// Run every thread count asked for, even beyond this machine's cores: the point is to push many
// participants through the shard claiming, the barrier and the update blocks.
process.env.GRADPOOL_THREADS_BEYOND_CORES = '1';

// Large enough per batch (≈50 MFLOP) that the coordinator really hands shards to several workers;
// 34 186 parameters, i.e. three update blocks shared between participants.
const workload: TrainOptions = { data: 'builtin:blobs', samples: 2048, features: 256, classes: 10, layers: [128], batchSize: 256, epochs: 3, lr: 0.05, seed: 5, valSplit: 0.1 };

const weightHash = (parameters: Float32Array): string => createHash('sha256').update(new Uint8Array(parameters.buffer, parameters.byteOffset, parameters.byteLength)).digest('hex');

test('threads 1 and 4 give the same loss after every epoch and the same weights', async (t) => {
  const one = await train({ ...workload, threads: 1 });
  const four = await train({ ...workload, threads: 4 });
  t.is(one.history.length, 3);
  // Who computed, not who was planned: at 4 threads at least two participants took shards.
  t.true(participantsThatComputed(four.shardsByParticipant) >= 2, `shards per participant: ${four.shardsByParticipant.join(', ')}`);
  // 1 843 training rows: per epoch 7 steps of 256 rows (8 shards of 32 each) and one of 51 (2 shards).
  const shards = 3 * (7 * 8 + 2);
  t.deepEqual(one.shardsByParticipant, [shards], 'one thread: the coordinator computed every shard');
  t.is(four.shardsByParticipant.reduce((a, b) => a + b, 0), shards, 'every shard computed exactly once');
  t.deepEqual(four.history.map((e) => [e.loss, e.valLoss]), one.history.map((e) => [e.loss, e.valLoss]), 'the same losses, to the last bit');
  t.is(weightHash(one.model.parameters), weightHash(four.model.parameters));
  t.true(one.history[2]!.loss < one.history[0]!.loss, 'it learns');
});

// auto runs the native kernels where they built; each kernel set, and each native instruction-set level
// (GRADPOOL_NATIVE_ISA), must keep the bits on any thread count. Serial: they set process.env.
const KERNEL_SETS = [...nativeIsaLevels().map((isa) => ({ kernels: 'native' as const, isa })), { kernels: 'wasm' as const, isa: '' }];
for (const { kernels, isa } of KERNEL_SETS) {
  test.serial(`${kernels}${isa ? `-${isa}` : ''} kernels give byte-identical weights and losses on 1, 2 and 3 threads, computed by several participants`, async (t) => {
    const options: TrainOptions = { ...workload, epochs: 2, valSplit: 0, kernels };
    const runs = [];
    for (const threads of [1, 2, 3]) {
      process.env.GRADPOOL_NATIVE_ISA = isa; // read when the run starts; its workers load the coordinator's level
      try {
        runs.push(await train({ ...options, threads }));
      } finally {
        delete process.env.GRADPOOL_NATIVE_ISA;
      }
    }
    t.is<string, string>(runs[0]!.kernelSet, isa ? `native-${isa}` : runs[0]!.kernelSet);
    t.true(runs[0]!.kernelSet.startsWith(kernels), runs[0]!.kernelSet);
    for (const [i, run] of runs.entries()) {
      t.is(run.kernelSet, runs[0]!.kernelSet);
      t.is(weightHash(run.model.parameters), weightHash(runs[0]!.model.parameters), `${i + 1} threads`);
      t.deepEqual(run.history.map((e) => e.loss), runs[0]!.history.map((e) => e.loss), `${i + 1} threads`);
    }
    t.true(participantsThatComputed(runs[2]!.shardsByParticipant) >= 2, `shards per participant: ${runs[2]!.shardsByParticipant.join(', ')}`);
  });
}

// minibatch: 2 steps of 1 024 rows (32 shards of 32 rows), long enough that workers woken on a busy
// machine still find shards to claim; batch: one step of 2 600 rows per epoch (32 shards of 82
// rows, each a 64-row and an 18-row chunk summed into one slab).
for (const mode of ['minibatch', 'batch'] as const) {
  test(`${mode} mode gives byte-identical weights and losses on 1, 2, 3, 4 and 7 threads, computed by several participants`, async (t) => {
    const options: TrainOptions = { ...workload, samples: mode === 'batch' ? 2600 : 2048, batchSize: 1024, epochs: 2, mode, valSplit: 0 };
    const runs = [];
    for (const threads of [1, 2, 3, 4, 7]) runs.push({ threads, result: await train({ ...options, threads }) });
    const reference = runs[0]!.result;
    for (const { threads, result } of runs.slice(1)) {
      t.is(weightHash(result.model.parameters), weightHash(reference.model.parameters), `${threads} threads`);
      t.deepEqual(result.history.map((e) => e.loss), reference.history.map((e) => e.loss), `${threads} threads`);
      t.true(participantsThatComputed(result.shardsByParticipant) >= 2, `${threads} threads: shards per participant ${result.shardsByParticipant.join(', ')}`);
    }
  });
}

// A one-row step is one shard, which the coordinator always computes itself: what this proves is
// that the threads option changes nothing in that case, not that workers agree.
test('sgd mode (one-row steps, always computed inline on the coordinator thread) gives byte-identical weights whatever the threads option', async (t) => {
  const options: TrainOptions = { ...workload, samples: 300, epochs: 2, mode: 'sgd', valSplit: 0 };
  const one = await train({ ...options, threads: 1 });
  const four = await train({ ...options, threads: 4 });
  t.is(weightHash(four.model.parameters), weightHash(one.model.parameters));
  t.deepEqual(four.history.map((e) => e.loss), one.history.map((e) => e.loss));
  t.deepEqual(four.shardsByParticipant.filter((shards, participant) => participant > 0 && shards > 0), [], 'no worker computed a shard');
  t.is(four.shardsByParticipant[0], 2 * 300);
});

// The newer ops through the same check, threads 1 to 7: each activation's forward/backward (gelu
// keeps z for its backward) and each optimizer's state is computed by whoever claims a shard or an
// update block, and must never change a bit.
const NEW_OPS: ReadonlyArray<{ name: string; options: Partial<TrainOptions> }> = [
  { name: 'leaky-relu (slope 0.2) with rmsprop', options: { activation: 'leaky-relu', leakySlope: 0.2, optimizer: 'rmsprop', lr: 0.002 } },
  { name: 'gelu with adamw (decoupled decay 0.1)', options: { activation: 'gelu', optimizer: 'adamw', lr: 0.002, weightDecay: 0.1 } },
  { name: 'silu with adam', options: { activation: 'silu', optimizer: 'adam', lr: 0.002 } },
];
for (const { name, options } of NEW_OPS) {
  test(`${name} gives byte-identical weights and losses on 1 to 7 threads, computed by several participants`, async (t) => {
    const run: TrainOptions = { ...workload, samples: 2048, batchSize: 1024, epochs: 2, valSplit: 0, ...options };
    const reference = await train({ ...run, threads: 1 });
    t.true(reference.history[1]!.loss < reference.history[0]!.loss, 'it learns');
    for (let threads = 2; threads <= 7; threads++) {
      const result = await train({ ...run, threads });
      t.is(weightHash(result.model.parameters), weightHash(reference.model.parameters), `${threads} threads`);
      t.deepEqual(result.history.map((e) => e.loss), reference.history.map((e) => e.loss), `${threads} threads`);
      t.true(participantsThatComputed(result.shardsByParticipant) >= 2, `${threads} threads: shards per participant ${result.shardsByParticipant.join(', ')}`);
    }
  });
}
