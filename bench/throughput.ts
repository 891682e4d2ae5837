// Training throughput of gradpool by thread count: samples/s, speedup, parallel efficiency, GFLOP/s.
//   npm run bench                                   (builds first; all workloads, threads 1..cores)
//   node dist/bench/throughput.js --threads 1,2 --workloads M1 --epochs 2 --samples 4000 --no-save --force
// Each run is a real train() through the library on seeded builtin:blobs (784 features).
// A run's samples/s = median of the per-epoch samplesPerSec of epochs 2..N (epoch 1 warms up);
// the table shows the median over --repeat rounds (and the min–max), in which the thread counts are
// interleaved in rotating order. GFLOP/s counts (6W − 2W₀) flops per sample: see trainingFlopsPerSample.
// Writes bench/results/throughput-<ISO date>.json and prints the table as markdown at the end.
import {
  FLOPS_FORMULA,
  LR,
  SEED,
  FEATURES,
  fmtFixed,
  fmtInt,
  gflops,
  machineInfo,
  machineLine,
  markdownTable,
  median,
  note,
  parseBenchFlags,
  preflight,
  rotate,
  runGradpool,
  saveResults,
  textTable,
  trainingFlopsPerSample,
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
  /** Flops of one training sample as computed: 6W − 2W₀. */
  flopsPerSample: number;
  /** samples/s of each round. */
  roundSamplesPerSec: number[];
  finalLoss: number;
  finalAccuracy: number | null;
  wallSeconds: number;
}

const flags = parseBenchFlags(
  'throughput',
  { epochs: 4 },
  { repeat: { type: 'number', default: 3, describe: 'rounds; each round runs every thread count once, interleaved, and samples/s is the median over rounds' } },
  {
    what: "gradpool's training speed by thread count: one train() per (workload, thread count, round), samples/s as the median over rounds with its min–max, speedup, efficiency and GFLOP/s.",
    examples: [
      ['node dist/bench/throughput.js', 'every workload, threads 1..cores, 3 rounds (numbers worth keeping: an idle machine, a clean tree)'],
      ['node dist/bench/throughput.js --threads 1,2 --workloads M1 --epochs 2 --samples 4000 --no-save --force', 'a quick check that the script runs'],
    ],
  },
);
const repeat = flags.repeat as number;
if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat must be a positive integer, got ${String(repeat)}`);
const machine = machineInfo();
const checks = preflight('throughput', machine, flags.force);
note(`gradpool throughput: ${flags.workloads.map((w) => w.id).join(',')} × threads ${flags.threads.join(',')}, ${flags.samples} samples, ${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'}`);
note(machineLine(machine));

const rows: Row[] = [];
for (const w of flags.workloads) {
  // Shared VMs drift by tens of percent over minutes: interleaving the thread counts within each
  // round, and taking medians over rounds, keeps that drift out of the speedup column.
  const runs = new Map<number, Awaited<ReturnType<typeof runGradpool>>[]>(flags.threads.map((t) => [t, []]));
  for (let round = 1; round <= repeat; round++) {
    // Each round starts one thread count later, so that no count always runs first (or last).
    for (const threads of rotate(flags.threads, round - 1)) {
      const run = await runGradpool(w, threads, flags.epochs, flags.samples, flags.kernels);
      runs.get(threads)!.push(run);
      note(`  ${w.id} round ${round} threads ${threads}: ${fmtInt(run.samplesPerSec)} samples/s`);
    }
  }
  let baseline: number | null = null;
  for (const threads of flags.threads) {
    const all = runs.get(threads)!;
    const run = { ...all.at(-1)!, samplesPerSec: median(all.map((r) => r.samplesPerSec)), perEpoch: all.map((r) => r.samplesPerSec) };
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
      flopsPerSample: trainingFlopsPerSample(w),
      roundSamplesPerSec: run.perEpoch,
      finalLoss: run.finalLoss,
      finalAccuracy: run.finalAccuracy,
      wallSeconds: run.wallSeconds,
    });
    note(`  ${w.id} threads ${threads}: median ${fmtInt(run.samplesPerSec)} samples/s over rounds (${run.perEpoch.map((r) => fmtInt(r)).join(', ')}), loss ${run.finalLoss.toFixed(4)}`);
  }
}

// With no 1-thread run in --threads there is nothing to compare with: speedup shows as —.
const headers = ['workload', 'threads', 'workers', 'samples/s', `min–max over ${repeat} round${repeat === 1 ? '' : 's'}`, 'speedup', 'efficiency', 'GFLOP/s', 'final loss'];
const align: Align[] = ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'];
const cells = rows.map((r) => [
  r.workload,
  String(r.threads),
  String(r.workers),
  fmtInt(r.samplesPerSec),
  `${fmtInt(Math.min(...r.roundSamplesPerSec))}–${fmtInt(Math.max(...r.roundSamplesPerSec))}`,
  fmtFixed(r.speedup, 2, '×'),
  r.efficiency === null ? '—' : `${Math.round(r.efficiency * 100)}%`,
  fmtFixed(r.gflops, 2),
  fmtFixed(r.finalLoss, 4),
]);
const legend = flags.workloads.map((w) => `${w.id}: ${w.title}, ${fmtInt(weightCount(w))} weights, ${fmtInt(trainingFlopsPerSample(w))} flops per sample`).join('; ');
const settings = `builtin:blobs ${flags.samples} × ${FEATURES}, seed ${SEED}, plain SGD lr ${LR}, ${flags.kernelsUsed} kernels (--kernels ${flags.kernels}), ${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'}, samples/s = ${flags.epochs > 2 ? `median of epochs 2..${flags.epochs}` : flags.epochs === 2 ? 'epoch 2' : 'epoch 1 (no warm-up epoch excluded)'}, then the median over ${repeat} interleaved round${repeat === 1 ? '' : 's'}`;

console.log(textTable(headers, cells, align));
console.log(`\n${legend}\n${settings}\nGFLOP/s = ${FLOPS_FORMULA}${checks.forced ? `\nWARNING (--force): ${checks.problems.join('; ')}` : ''}`);

if (flags.save) {
  const path = saveResults('throughput', machine.date, {
    benchmark: 'throughput',
    machine,
    preflight: checks,
    settings: { data: 'builtin:blobs', samples: flags.samples, features: FEATURES, seed: SEED, lr: LR, optimizer: 'sgd', epochs: flags.epochs, threads: flags.threads, rounds: repeat, kernels: flags.kernels, kernelsUsed: flags.kernelsUsed, gflops: FLOPS_FORMULA },
    workloads: flags.workloads.map((w) => ({ ...w, weights: weightCount(w), flopsPerSample: trainingFlopsPerSample(w) })),
    rows,
  });
  note(`saved ${path}`);
}

console.log('\n<!-- markdown -->');
console.log(`**gradpool training throughput** — ${machineLine(machine)}\n`);
console.log(markdownTable(headers, cells, align));
console.log(`\n${legend}. ${settings}. workers = most worker threads that shared one step (fewer than asked when a batch is too small to split); efficiency = speedup / threads; GFLOP/s = ${FLOPS_FORMULA}.${checks.forced ? ` Run with --force: ${checks.problems.join('; ')}.` : ''}`);
