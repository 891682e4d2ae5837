// What bit-exact results cost: gradients go to one slab per shard (the shard count depends on the
// batch size only) and are added in a fixed tree, where a per-thread design would add just one
// slab per thread. This times that reduction with the wasm kernels for the benchmark workloads,
// both ways, and relates the difference to a measured training step of the same workload.
//   npm run build && node dist/bench/determinism.js
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { loadWasmKernels } from '../src/math/wasm-kernels.js';
import { parameterLayout } from '../src/model/layout.js';
import { treeReduce } from '../src/optim/reduce.js';
import { RESERVED_BYTES } from '../src/parallel/arena.js';
import { shardCount, shardRowsFor } from '../src/parallel/shards.js';
import { WORKLOADS, runGradpool, sizesOf } from './common.js';

const THREADS = Math.min(2, os.availableParallelism());

function reductionMicroseconds(kernels: ReturnType<typeof loadWasmKernels>, slabs: Float32Array[], count: number, length: number): number {
  for (let i = 0; i < 100; i++) treeReduce(kernels, slabs, count, 0, length);
  const rounds = 500;
  const started = performance.now();
  for (let i = 0; i < rounds; i++) treeReduce(kernels, slabs, count, 0, length);
  return ((performance.now() - started) * 1000) / rounds;
}

console.log(`cost of determinism — ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${THREADS} threads\n`);
for (const workload of WORKLOADS) {
  const length = parameterLayout({ sizes: sizesOf(workload), activation: workload.activation, loss: workload.loss }).length;
  const shards = shardCount(workload.batchSize, shardRowsFor(workload.batchSize, parameterLayout({ sizes: sizesOf(workload), activation: workload.activation, loss: workload.loss }).length));
  const pages = Math.ceil((RESERVED_BYTES + shards * length * 4) / 65536);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const kernels = loadWasmKernels(memory);
  const slabs = Array.from({ length: shards }, (_, s) => new Float32Array(memory.buffer, RESERVED_BYTES + s * length * 4, length).fill(1));
  const perShard = reductionMicroseconds(kernels, slabs, shards, length);
  const perThread = reductionMicroseconds(kernels, slabs, THREADS, length);
  const run = await runGradpool(workload, THREADS, 3, 20_000, 'auto');
  const stepMicroseconds = (workload.batchSize / run.samplesPerSec) * 1e6;
  // The reduction is split over the threads, so its wall time is the single-thread time / THREADS.
  const extra = (perShard - perThread) / THREADS;
  console.log(
    `${workload.id}: ${shards} shard slabs ${perShard.toFixed(0)} µs vs ${THREADS} thread slabs ${perThread.toFixed(0)} µs (one thread); ` +
      `step ${stepMicroseconds.toFixed(0)} µs at ${THREADS} threads → determinism costs ≈ ${((100 * extra) / stepMicroseconds).toFixed(1)} %`,
  );
}
