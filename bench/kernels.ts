// Kernel benchmark, one thread: the native kernels at every instruction-set level this CPU runs, the wasm
// SIMD builds (relaxed and plain) and the TypeScript reference, side by side in one run, with the
// machine's BLAS (PyTorch's torch.mm, one thread) on the same product shapes where /usr/bin/python3 has torch.
//   npm run bench:kernels            (builds first)
//   node dist/bench/kernels.js [re]  (only the rows whose name matches the regular expression re)
//   BENCH_TRIALS=400 BENCH_NO_BLAS=1 BENCH_NO_REFERENCE=1 …
// Products count 2·rows·inputs·outputs flops; elementwise kernels report millions of elements per second.
//
// Timing: every row is timed the same way, here and in the Python child: a warm-up, then BENCH_TRIALS
// trials, each long enough (≥ 0.2 ms) for the clock, of back-to-back calls. The table gives the best
// trial (what the kernel does when it has the core to itself: the figure to compare on a shared, noisy
// machine) and the median. Every view lives in one shared WebAssembly.Memory, as in training.
// Node 20 validates relaxed SIMD only with --experimental-wasm-relaxed-simd: this script reruns itself
// with that flag when it can, so the wasm-relaxed-simd column is measured too.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { referenceKernels, type Kernels } from '../src/math/kernels.js';
import { HIDDEN_ACTIVATIONS, LOSS_KINDS, OPTIMIZERS, OPTIMIZERS_BY_NAME, UPDATE_COEFFICIENTS } from '../src/math/ops.js';
import { loadNativeKernels, nativeIsaLevels, nativeUnavailableReason } from '../src/math/native-kernels.js';
import { loadWasmKernels, relaxedWasmKernelsAvailable, wasmKernelsAvailable } from '../src/math/wasm-kernels.js';

const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';
if (wasmKernelsAvailable() && !relaxedWasmKernelsAvailable() && !process.execArgv.includes(RELAXED_FLAG)) {
  const rerun = spawnSync(process.execPath, [...process.execArgv, RELAXED_FLAG, ...process.argv.slice(1)], { stdio: 'inherit' });
  // 9: this node does not know the flag (it shipped relaxed SIMD and dropped it): measure without
  if (rerun.status !== 9) process.exit(rerun.status ?? 1);
}

const filter = new RegExp(process.argv[2] ?? '.');
const TRIALS = Number(process.env.BENCH_TRIALS ?? 200);
const TRIAL_NS = 200_000n;
const PYTHON = '/usr/bin/python3';

const memory = new WebAssembly.Memory({ initial: 1024, maximum: 1024, shared: true });
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

const kernelSets: Kernels[] = nativeIsaLevels().map((isa) => loadNativeKernels(memory, { isa }));
if (kernelSets.length === 0) console.log(`native kernels unavailable: ${nativeUnavailableReason()}`);
if (relaxedWasmKernelsAvailable()) kernelSets.push(loadWasmKernels(memory, { relaxedSimd: true }));
if (wasmKernelsAvailable()) kernelSets.push(loadWasmKernels(memory, { relaxedSimd: false }));
else console.log('wasm kernels unavailable: run npm run build:wasm');
if (!process.env.BENCH_NO_REFERENCE) kernelSets.push(referenceKernels);

interface Timing { best: number; median: number }

/** Seconds per call: the best and the median of TRIALS trials. */
function time(fn: () => void): Timing {
  const warmEnd = performance.now() + 50; // V8 tiers wasm up once a function is hot
  let calls = 0;
  while (performance.now() < warmEnd) { fn(); calls++; }
  const start = process.hrtime.bigint();
  fn();
  const once = Number(process.hrtime.bigint() - start) || 1;
  const reps = Math.max(1, Math.ceil(Number(TRIAL_NS) / once));
  const perCall: number[] = [];
  for (let t = 0; t < TRIALS; t++) {
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < reps; r++) fn();
    perCall.push(Number(process.hrtime.bigint() - t0) / reps / 1e9);
  }
  perCall.sort((x, y) => x - y);
  return { best: perCall[0]!, median: perCall[Math.floor(perCall.length / 2)]! };
}

type Product = 'forward' | 'backward params' | 'backward input';
const PRODUCT_SHAPES: ReadonlyArray<readonly [number, number, number]> = [
  // rows, inputs, outputs: shard shapes of the trainer (the first layer of an MNIST-sized net, hidden layers, outputs)
  [64, 784, 128], [256, 784, 512], [64, 512, 256], [64, 256, 10], [64, 128, 64], [64, 64, 10], [64, 128, 1], [17, 784, 128],
];
const PRODUCTS: readonly Product[] = ['forward', 'backward params', 'backward input'];

interface Row { name: string; unit: string; rates: Map<string, Timing & { work: number }> }
const rows: Row[] = [];

for (const [r, inputs, outputs] of PRODUCT_SHAPES) {
  const a = view(r * inputs, random);
  const w = view(outputs * inputs, () => random() * 0.1);
  const b = view(outputs, random);
  const z = view(r * outputs, () => 0);
  const dz = view(r * outputs, random); // dense: no zeros for the reference to skip
  const dw = view(outputs * inputs, () => 0);
  const db = view(outputs, () => 0);
  const da = view(r * inputs, () => 0);
  const flops = 2 * r * inputs * outputs;
  for (const product of PRODUCTS) {
    const name = `${product} ${r}×${inputs}×${outputs}`;
    if (!filter.test(name)) continue;
    const row: Row = { name, unit: 'GFLOP/s', rates: new Map() };
    for (const k of kernelSets) {
      // the reference takes seconds on the big shapes: time it on the small ones only
      if (k === referenceKernels && flops > 2e7) continue;
      const fn = product === 'forward' ? () => k.denseForward(z, a, w, b, r, inputs, outputs)
        : product === 'backward params' ? () => k.denseBackwardParams(dw, db, dz, a, r, inputs, outputs, true)
          : () => k.denseBackwardInput(da, dz, w, r, inputs, outputs);
      row.rates.set(k.name, { ...time(fn), work: flops / 1e9 });
    }
    rows.push(row);
  }
}

{
  const count = 64 * 128;
  const values = view(count, () => random() * 4);
  const a = view(count, () => Math.abs(random()) * 0.99);
  const grad = view(count, random);
  for (const act of HIDDEN_ACTIVATIONS) {
    for (const direction of ['forward', 'backward'] as const) {
      const name = `${act} ${direction} 64×128`;
      if (!filter.test(name)) continue;
      const row: Row = { name, unit: 'Melem/s', rates: new Map() };
      // forward in place on values that stay in range: the activations of them are fine inputs again
      for (const k of kernelSets) row.rates.set(k.name, { ...time(direction === 'forward' ? () => k.activationForward(act, values, values, count, 0.01) : () => k.activationBackward(act, grad, a, count, 0.01)), work: count / 1e6 });
      rows.push(row);
    }
  }
  const r = 64, outputs = 10;
  const logits = view(r * outputs, () => 0);
  const source = view(r * outputs, () => random() * 5);
  const dzOut = view(r * outputs, () => 0);
  const y = view(r * outputs, (i) => (i % outputs === 3 ? 1 : 0));
  for (const loss of LOSS_KINDS) {
    const name = `${loss} output loss 64×10`;
    if (!filter.test(name)) continue;
    const row: Row = { name, unit: 'Melem/s', rates: new Map() };
    for (const k of kernelSets) {
      row.rates.set(k.name, { ...time(() => { logits.set(source); k.outputLoss(loss, logits, dzOut, y, r, outputs); }), work: r * outputs / 1e6 });
    }
    rows.push(row);
  }
  const params = 16 * 1024; // one update block
  const pw = view(params, random), pg = view(params, random), m1 = view(params, random), m2 = view(params, () => Math.abs(random()));
  const updates: Array<[string, (k: Kernels) => void]> = [
    ['addInto 16Ki', (k) => k.addInto(pw, pg, 0, params)],
    ...OPTIMIZERS.map((optimizer): [string, (k: Kernels) => void] => {
      const h = new Float64Array(UPDATE_COEFFICIENTS);
      OPTIMIZERS_BY_NAME[optimizer].coefficients(h, { momentum: 0.9, beta1: 0.9, beta2: 0.999, alpha: 0.99, epsilon: 1e-8, weightDecay: 0 }, { lr: 1e-9, invBatch: 1 / 64, step: 3 });
      return [`${optimizer} update 16Ki`, (k) => k.optimizerUpdate(optimizer, pw, pg, m1, m2, 0, params, h)];
    }),
  ];
  for (const [name, run] of updates) {
    if (!filter.test(name)) continue;
    const row: Row = { name, unit: 'Melem/s', rates: new Map() };
    for (const k of kernelSets) row.rates.set(k.name, { ...time(() => run(k)), work: params / 1e6 });
    rows.push(row);
  }
}

// ---- the machine's BLAS on the same products: torch.mm on one thread, timed the same way ----

const BLAS_SCRIPT = `
import json, sys, time
import torch
torch.set_num_threads(1)
shapes, trials = json.loads(sys.argv[1]), int(sys.argv[2])
def timing(fn):
    end = time.perf_counter() + 0.05
    while time.perf_counter() < end: fn()
    t0 = time.perf_counter_ns(); fn(); once = max(time.perf_counter_ns() - t0, 1)
    reps = max(1, -(-200000 // once))
    per = []
    for _ in range(trials):
        t0 = time.perf_counter_ns()
        for _ in range(reps): fn()
        per.append((time.perf_counter_ns() - t0) / reps / 1e9)
    per.sort()
    return {"best": per[0], "median": per[len(per) // 2]}
g = torch.Generator().manual_seed(1)
out = {}
for rows, inputs, outputs in shapes:
    a = torch.rand(rows, inputs, generator=g); w = torch.rand(outputs, inputs, generator=g)
    dz = torch.rand(rows, outputs, generator=g); dw = torch.zeros(outputs, inputs); da = torch.zeros(rows, inputs); z = torch.zeros(rows, outputs)
    key = f"{rows}×{inputs}×{outputs}"
    out["forward " + key] = timing(lambda: torch.mm(a, w.t(), out=z))
    out["backward params " + key] = timing(lambda: dw.addmm_(dz.t(), a))
    out["backward input " + key] = timing(lambda: torch.mm(dz, w, out=da))
blas = "unknown"
try:
    from threadpoolctl import threadpool_info
    blas = ", ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} threads={i.get('num_threads')}" for i in threadpool_info())
except Exception:
    pass
print(json.dumps({"torch": torch.__version__, "blas": blas, "results": out}))
`;

let blasNote = '';
if (!process.env.BENCH_NO_BLAS && existsSync(PYTHON)) {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  // set on some machines for old OpenBLAS builds; they slow a current one down: unset for this child only
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const shapes = PRODUCT_SHAPES.filter(([r, i, o]) => PRODUCTS.some((p) => filter.test(`${p} ${r}×${i}×${o}`)));
  const child = spawnSync(PYTHON, ['-c', BLAS_SCRIPT, JSON.stringify(shapes), String(TRIALS)], { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (child.status === 0) {
    const parsed = JSON.parse(child.stdout) as { torch: string; blas: string; results: Record<string, Timing> };
    blasNote = `sgemm: torch ${parsed.torch} torch.mm, 1 thread (OPENBLAS_NUM_THREADS=1; BLAS: ${parsed.blas})`;
    for (const row of rows) {
      const timing = parsed.results[row.name];
      const work = row.rates.values().next().value?.work;
      if (timing && work !== undefined) row.rates.set('sgemm', { ...timing, work });
    }
  } else {
    blasNote = `sgemm: not measured (${PYTHON}: ${(child.stderr || child.error?.message || '').trim().split('\n').at(-1)})`;
  }
} else {
  blasNote = process.env.BENCH_NO_BLAS ? 'sgemm: skipped (BENCH_NO_BLAS)' : `sgemm: not measured (no ${PYTHON})`;
}

// ---- the table ----

const columns = [...kernelSets.map((k) => k.name), 'sgemm'].filter((c) => rows.some((r) => r.rates.has(c)));
const bestNative = (row: Row): number => Math.max(0, ...[...row.rates].filter(([c]) => c.startsWith('native-')).map(([, t]) => t.work / t.best));
console.log(`node ${process.version} (V8 ${process.versions.v8}), ${os.cpus()[0]?.model ?? 'unknown cpu'}, ${os.cpus().length} logical cpus, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`one thread; best of ${TRIALS} trials (median in parentheses); ${blasNote}\n`);
const cell = (t: (Timing & { work: number }) | undefined): string => {
  if (!t) return '—'.padStart(16);
  const f = (x: number): string => x.toFixed(x < 10 ? 2 : x < 1000 ? 1 : 0);
  return `${f(t.work / t.best)} (${f(t.work / t.median)})`.padStart(16);
};
console.log(`${'kernel'.padEnd(32)} ${'unit'.padEnd(8)}${columns.map((c) => c.padStart(17)).join('')}${columns.includes('sgemm') ? '  native/sgemm' : ''}`);
for (const row of rows) {
  const sgemm = row.rates.get('sgemm');
  const ratio = sgemm && bestNative(row) > 0 ? `  ×${(bestNative(row) / (sgemm.work / sgemm.best)).toFixed(2)}` : '';
  console.log(`${row.name.padEnd(32)} ${row.unit.padEnd(8)}${columns.map((c) => ` ${cell(row.rates.get(c))}`).join('')}${ratio}`);
}
