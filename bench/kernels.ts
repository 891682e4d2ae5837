// Kernel benchmark: the wasm SIMD kernels against the TypeScript reference, one thread.
//   npm run bench:kernels            (builds first)
//   node dist/bench/kernels.js [re]  (only the benchmarks whose name matches the regular expression re)
// Every view lives in one shared WebAssembly.Memory, as in training; both kernel sets run on the same views.
// Products count 2·rows·inputs·outputs flops; elementwise kernels report millions of elements per second.

import os from 'node:os';
import Benchmark from 'benchmark';
import { referenceKernels } from '../src/math/kernels.js';
import type { Kernels } from '../src/math/kernels.js';
import { loadWasmKernels, wasmKernelsAvailable } from '../src/math/wasm-kernels.js';

const filter = new RegExp(process.argv[2] ?? '.');
const MAX_TIME = Number(process.env.BENCH_MAX_TIME ?? 0.5); // seconds of sampling per benchmark

const memory = new WebAssembly.Memory({ initial: 256, maximum: 256, shared: true });
let next = 1 << 20; // the first MiB belongs to the wasm module
function view(count: number, fill: (i: number) => number): Float32Array {
  const v = new Float32Array(memory.buffer, next, count);
  next += Math.ceil((count * 4) / 64) * 64;
  for (let i = 0; i < count; i++) v[i] = fill(i);
  return v;
}
// a small deterministic generator: values in [−1, 1)
let state = 0x9e3779b9;
const random = (): number => {
  state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
  return (state >>> 0) / 2 ** 31 - 1;
};

const kernelSets: Kernels[] = [];
if (wasmKernelsAvailable()) kernelSets.push(loadWasmKernels(memory));
else console.log('wasm kernels unavailable: run npm run build:wasm');
kernelSets.push(referenceKernels);

interface Result { name: string; kernels: string; unit: string; rate: number; rme: number; samples: number }
const results: Result[] = [];
const suite = new Benchmark.Suite('kernels');
const warmups: Array<() => void> = [];

function add(name: string, k: Kernels, unit: 'GFLOP/s' | 'Melem/s', work: number, fn: () => void): void {
  const full = `${name} [${k.name}]`;
  if (!filter.test(full)) return;
  warmups.push(fn);
  suite.add(full, fn, {
    maxTime: MAX_TIME,
    minSamples: 5,
    onComplete(this: Benchmark) {
      const rate = (this.stats.mean > 0 ? work / this.stats.mean : 0) / (unit === 'GFLOP/s' ? 1e9 : 1e6);
      results.push({ name, kernels: k.name, unit, rate, rme: this.stats.rme, samples: this.stats.sample.length });
    },
  });
}

const PRODUCT_SHAPES: ReadonlyArray<readonly [number, number, number, boolean]> = [
  // rows, inputs, outputs, also the two backward products
  [64, 784, 128, true],
  [64, 128, 64, true],
  [64, 64, 10, true],
  [256, 784, 512, false],
];

for (const [rows, inputs, outputs, backward] of PRODUCT_SHAPES) {
  const a = view(rows * inputs, random);
  const w = view(outputs * inputs, () => random() * 0.1);
  const b = view(outputs, random);
  const z = view(rows * outputs, () => 0);
  const dz = view(rows * outputs, random); // dense: no zeros for the reference to skip
  const dw = view(outputs * inputs, () => 0);
  const db = view(outputs, () => 0);
  const da = view(rows * inputs, () => 0);
  const flops = 2 * rows * inputs * outputs;
  const shape = `${rows}×${inputs}×${outputs}`;
  for (const k of kernelSets) {
    add(`dense forward ${shape}`, k, 'GFLOP/s', flops, () => k.denseForward(z, a, w, b, rows, inputs, outputs));
    if (!backward) continue;
    add(`dense backward params ${shape}`, k, 'GFLOP/s', flops, () => k.denseBackwardParams(dw, db, dz, a, rows, inputs, outputs, true));
    add(`dense backward input ${shape}`, k, 'GFLOP/s', flops, () => k.denseBackwardInput(da, dz, w, rows, inputs, outputs));
  }
}

{
  const count = 64 * 128;
  const values = view(count, (i) => random() * 4);
  const a = view(count, () => Math.abs(random()) * 0.99);
  const grad = view(count, random);
  for (const k of kernelSets) {
    for (const act of ['relu', 'sigmoid', 'tanh'] as const) {
      // forward in place on values that stay in range: relu/sigmoid/tanh of them are fine inputs again
      add(`${act} forward 64×128`, k, 'Melem/s', count, () => k.activationForward(act, values, count));
      add(`${act} backward 64×128`, k, 'Melem/s', count, () => k.activationBackward(act, grad, a, count));
    }
  }
  const rows = 64, outputs = 10;
  const logits = view(rows * outputs, () => 0);
  const source = view(rows * outputs, () => random() * 5);
  const dzOut = view(rows * outputs, () => 0);
  const y = view(rows * outputs, (i) => (i % outputs === 3 ? 1 : 0));
  for (const k of kernelSets) {
    for (const loss of ['bce', 'cross-entropy', 'mse'] as const) {
      add(`${loss} output loss 64×10`, k, 'Melem/s', rows * outputs, () => {
        logits.set(source); // outputLoss overwrites its logits
        k.outputLoss(loss, logits, dzOut, y, rows, outputs);
      });
    }
  }
}

console.log(`node ${process.version} (V8 ${process.versions.v8}), ${os.cpus()[0]?.model ?? 'unknown cpu'}, ${os.cpus().length} logical cpus`);
console.log(`kernels: ${kernelSets.map((k) => k.name).join(', ')}; ${MAX_TIME} s per benchmark; single thread\n`);

suite.on('cycle', (event: Benchmark.Event) => {
  const r = results[results.length - 1];
  if (!r) return;
  console.log(`${String(event.target.name).padEnd(52)} ${r.rate.toFixed(r.rate < 10 ? 2 : 1).padStart(8)} ${r.unit} ±${r.rme.toFixed(1)}% (${r.samples} samples)`);
});
suite.on('complete', () => {
  const wasm = results.filter((r) => r.kernels !== referenceKernels.name);
  if (wasm.length === 0) return;
  console.log('\nspeedup of wasm over the TypeScript reference:');
  for (const r of wasm) {
    const ref = results.find((s) => s.name === r.name && s.kernels === referenceKernels.name);
    if (ref && ref.rate > 0) console.log(`  ${r.name.padEnd(40)} ×${(r.rate / ref.rate).toFixed(1)}`);
  }
});
// V8 first runs wasm through its baseline compiler and swaps in optimized code once a function is hot:
// warm every benchmark up for a moment so that the samples time the optimized code.
for (const fn of warmups) {
  const end = performance.now() + 100;
  while (performance.now() < end) fn();
}
suite.run();
