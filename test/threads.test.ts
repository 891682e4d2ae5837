// Synchronous data parallelism on real worker threads: the thread count changes who computes a
// shard, never the arithmetic, so losses and weights agree across thread counts.
import test from 'ava';
import { createHash } from 'node:crypto';
import { train, type TrainOptions } from '../src/index.js';
import { nativeIsaLevels } from '../src/math/native-kernels.js';

// Run every thread count asked for, even beyond this machine's cores: the point is to push many
// participants through the shard claiming, the barrier and the update blocks.
process.env.GRADPOOL_THREADS_BEYOND_CORES = '1';

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

// auto runs the native kernels where they built; each kernel set, and each native instruction-set level
// (GRADPOOL_NATIVE_ISA), must keep the bits on any thread count. Serial: they set process.env.
const KERNEL_SETS = [...nativeIsaLevels().map((isa) => ({ kernels: 'native' as const, isa })), { kernels: 'wasm' as const, isa: '' }];
for (const { kernels, isa } of KERNEL_SETS) {
  test.serial(`${kernels}${isa ? `-${isa}` : ''} kernels give byte-identical weights and losses on 1, 2 and 3 threads`, async (t) => {
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
    t.is(runs[0]!.kernelSet, isa ? `native-${isa}` : runs[0]!.kernelSet);
    t.true(runs[0]!.kernelSet.startsWith(kernels), runs[0]!.kernelSet);
    for (const [i, run] of runs.entries()) {
      t.is(run.kernelSet, runs[0]!.kernelSet);
      t.is(weightHash(run.model.parameters), weightHash(runs[0]!.model.parameters), `${i + 1} threads`);
      t.deepEqual(run.history.map((e) => e.loss), runs[0]!.history.map((e) => e.loss), `${i + 1} threads`);
    }
    t.true(runs[2]!.history.some((e) => e.threads > 1), 'several threads really shared the steps');
  });
}

for (const mode of ['minibatch', 'batch', 'sgd'] as const) {
  test(`${mode} mode gives byte-identical weights and losses on 1, 2, 3, 4 and 7 threads`, async (t) => {
    // sgd steps are single rows: fewer samples keep the run short.
    const options: TrainOptions = { ...workload, samples: mode === 'sgd' ? 300 : 2048, epochs: 2, mode, valSplit: 0 };
    const runs = [];
    for (const threads of [1, 2, 3, 4, 7]) runs.push({ threads, result: await train({ ...options, threads }) });
    const reference = runs[0]!.result;
    for (const { threads, result } of runs.slice(1)) {
      t.is(weightHash(result.model.parameters), weightHash(reference.model.parameters), `${threads} threads`);
      t.deepEqual(result.history.map((e) => e.loss), reference.history.map((e) => e.loss), `${threads} threads`);
    }
    if (mode !== 'sgd') t.true(runs.at(-1)!.result.history.some((e) => e.threads > 1), 'several threads really shared the steps');
  });
}
