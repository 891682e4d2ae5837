// Training throughput of gradpool by thread count: samples/s, speedup, parallel efficiency, GFLOP/s.
//   npm run bench                                   (builds first; all workloads, threads 1..cores)
//   node dist/bench/throughput.js --threads 1,2 --workloads M1 --epochs 2 --samples 4000 --no-save
// Each run is a real train() through the library on seeded builtin:blobs (784 features).
// samples/s = median of the per-epoch samplesPerSec of epochs 2..N (epoch 1 warms up).
// Writes bench/results/throughput-<ISO date>.json and prints the table as markdown at the end.
import {
  LR,
  SEED,
  FEATURES,
  fmtFixed,
  fmtInt,
  gflops,
  machineInfo,
  machineLine,
  markdownTable,
  note,
  parseBenchFlags,
  runGradpool,
  saveResults,
  textTable,
  weightCount,
  type Align,
} from './common.js';

interface Row {
  workload: string;
  title: string;
  threads: number;
  workers: number;
  samplesPerSec: number;
  speedup: number | null;
  efficiency: number | null;
  gflops: number;
  weights: number;
  perEpochSamplesPerSec: number[];
  finalLoss: number;
  finalAccuracy: number | null;
  wallSeconds: number;
}

const flags = parseBenchFlags('throughput', { epochs: 4 });
const machine = machineInfo();
note(`gradpool throughput: ${flags.workloads.map((w) => w.id).join(',')} × threads ${flags.threads.join(',')}, ${flags.samples} samples, ${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'}`);
note(machineLine(machine));

const rows: Row[] = [];
for (const w of flags.workloads) {
  let baseline: number | null = null;
  for (const threads of flags.threads) {
    const run = await runGradpool(w, threads, flags.epochs, flags.samples, flags.kernels);
    if (threads === 1) baseline = run.samplesPerSec;
    const speedup = baseline === null ? null : run.samplesPerSec / baseline;
    rows.push({
      workload: w.id,
      title: w.title,
      threads,
      workers: run.workers,
      samplesPerSec: run.samplesPerSec,
      speedup,
      efficiency: speedup === null ? null : speedup / threads,
      gflops: gflops(w, run.samplesPerSec),
      weights: weightCount(w),
      perEpochSamplesPerSec: run.perEpoch,
      finalLoss: run.finalLoss,
      finalAccuracy: run.finalAccuracy,
      wallSeconds: run.wallSeconds,
    });
    note(`  ${w.id} threads ${threads}: ${fmtInt(run.samplesPerSec)} samples/s (epochs ${run.perEpoch.map((r) => fmtInt(r)).join(', ')}), loss ${run.finalLoss.toFixed(4)}, ${run.wallSeconds.toFixed(1)} s`);
  }
}

// With no 1-thread run in --threads there is nothing to compare with: speedup shows as —.
const headers = ['workload', 'threads', 'workers', 'samples/s', 'speedup', 'efficiency', 'GFLOP/s', 'final loss'];
const align: Align[] = ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'];
const cells = rows.map((r) => [
  r.workload,
  String(r.threads),
  String(r.workers),
  fmtInt(r.samplesPerSec),
  fmtFixed(r.speedup, 2, '×'),
  r.efficiency === null ? '—' : `${Math.round(r.efficiency * 100)}%`,
  fmtFixed(r.gflops, 2),
  fmtFixed(r.finalLoss, 4),
]);
const legend = flags.workloads.map((w) => `${w.id}: ${w.title}, ${fmtInt(weightCount(w))} weights`).join('; ');
const settings = `builtin:blobs ${flags.samples} × ${FEATURES}, seed ${SEED}, plain SGD lr ${LR}, ${flags.kernelsUsed} kernels (--kernels ${flags.kernels}), ${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'}, samples/s = ${flags.epochs > 2 ? `median of epochs 2..${flags.epochs}` : flags.epochs === 2 ? 'epoch 2' : 'epoch 1 (no warm-up epoch excluded)'}`;

console.log(textTable(headers, cells, align));
console.log(`\n${legend}\n${settings}`);

if (flags.save) {
  const path = saveResults('throughput', machine.date, {
    benchmark: 'throughput',
    machine,
    settings: { data: 'builtin:blobs', samples: flags.samples, features: FEATURES, seed: SEED, lr: LR, optimizer: 'sgd', epochs: flags.epochs, threads: flags.threads, kernels: flags.kernels, kernelsUsed: flags.kernelsUsed },
    workloads: flags.workloads.map((w) => ({ ...w, weights: weightCount(w) })),
    rows,
  });
  note(`saved ${path}`);
}

console.log('\n<!-- markdown -->');
console.log(`**gradpool training throughput** — ${machineLine(machine)}\n`);
console.log(markdownTable(headers, cells, align));
console.log(`\n${legend}. ${settings}. workers = most worker threads that shared one step (fewer than asked when a batch is too small to split); efficiency = speedup / threads; GFLOP/s = 6 × weights × samples/s.`);
