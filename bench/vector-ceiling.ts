// One process's rate of the matrix product a training step is made of (forward 64×784×128 with the
// kernel set train() picks), for about --seconds. bench/scaling.ts runs it alone and then in as
// many processes at once as it has threads: the ratio is what the machine allows for such work.
// (On a VM whose vCPUs share a physical core's vector units, two at once add little.)
//   node dist/bench/vector-ceiling.js [--seconds 2]
import { loadKernelSet, resolveKernelSet } from '../src/parallel/kernel-set.js';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] ?? 2) || 2;
const [rows, inputs, outputs] = [64, 784, 128];
const memory = new WebAssembly.Memory({ initial: 64, maximum: 64, shared: true });
const kernels = loadKernelSet(resolveKernelSet('auto'), memory);
const floats = new Float32Array(memory.buffer);
let cursor = (1 << 20) / 4; // past the wasm module's first MiB
const take = (length: number): Float32Array => floats.subarray(cursor, (cursor += Math.ceil(length / 16) * 16));
const [a, w, b, z] = [take(rows * inputs), take(outputs * inputs), take(outputs), take(rows * outputs)];
a.fill(0.5);
w.fill(0.25);
let calls = 0;
const started = performance.now();
while (performance.now() - started < seconds * 1000) {
  for (let i = 0; i < 100; i++) kernels.denseForward(z, a, w, b, rows, inputs, outputs);
  calls += 100;
}
const elapsed = (performance.now() - started) / 1000;
console.log(JSON.stringify({ kernels: kernels.name, gflops: (calls * 2 * rows * inputs * outputs) / elapsed / 1e9 }));
