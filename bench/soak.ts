// Memory soak: trains builtin:blobs for many epochs and reports RSS and heap after epoch 1 and at
// the end, peak RSS, and how much the process grew against the size of the dataset.
//   npm run bench:soak                                (builds first; M1, 60 000 × 784, threads 1 and 4, 30 epochs)
//   node dist/bench/soak.js --threads 1,4 --epochs 100 --workloads M3
//   node dist/bench/soak.js --threads 1,2 --epochs 3 --samples 4000 --no-save      (a quick check)
//
// How it measures: one child process per thread count, each running this same file with --child,
// which calls the library's train() in-process and samples process.memoryUsage() itself.
//  - a fresh process per thread count, so that neither the RSS nor the kernel's high-water mark
//    (process.resourceUsage().maxRSS) carries anything over from the previous run;
//  - the library rather than the CLI (dist/src/cli.js train), because the CLI has no way to report
//    memory, while train()'s onEpoch / onProgress callbacks give exact points to sample at;
//  - the child runs with --expose-gc and collects garbage before each epoch-end sample, so that
//    heapUsed and arrayBuffers show what is alive rather than when V8 last collected.
// RSS covers the whole process, worker threads included; heapUsed is the main thread's heap only;
// arrayBuffers counts ArrayBuffer backing stores (the generated Dataset's Float32Array, for one)
// but not the WebAssembly.Memory arena that holds the rows train() copied for the workers.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  FEATURES,
  LR,
  SEED,
  fmtFixed,
  fmtInt,
  machineInfo,
  machineLine,
  markdownTable,
  note,
  parseBenchFlags,
  preflight,
  saveResults,
  textTable,
  workloadTrainOptions,
  type Align,
  type Workload,
} from './common.js';
import { train } from '../src/index.js';
import type { KernelOption } from '../src/parallel/kernel-set.js';

const MB = 1024 * 1024;

interface MemorySample {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

interface ChildReport {
  threads: number;
  workers: number;
  epochs: number;
  /** Before train(): the library is imported, nothing allocated for training yet. */
  before: MemorySample;
  /** At the first step: data generated and copied into the arena, pool started. */
  ready: MemorySample | null;
  /** After each epoch (garbage collected first when --expose-gc is on). */
  perEpoch: MemorySample[];
  /** Highest RSS seen by a 100 ms sampler during training. */
  peakRssTraining: number;
  /** The kernel's high-water mark for the whole child (data generation included), bytes. */
  maxRss: number;
  samplesPerSec: number[];
  gcExposed: boolean;
}

function sample(): MemorySample {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

async function child(w: Workload, threads: number, epochs: number, samples: number, kernels: KernelOption): Promise<ChildReport> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = sample();
  let ready: MemorySample | null = null;
  let peak = before.rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 100);
  const perEpoch: MemorySample[] = [];
  try {
    const result = await train({
      ...workloadTrainOptions(w, threads, epochs, samples, kernels),
      onProgress: () => {
        ready ??= sample();
      },
      onEpoch: () => {
        gc?.();
        const m = sample();
        peak = Math.max(peak, m.rss);
        perEpoch.push(m);
      },
    });
    return {
      threads,
      workers: Math.max(1, ...result.history.map((e) => e.threads)),
      epochs,
      before,
      ready,
      perEpoch,
      peakRssTraining: peak,
      maxRss: process.resourceUsage().maxRSS * 1024,
      samplesPerSec: result.history.map((e) => e.samplesPerSec),
      gcExposed: gc !== undefined,
    };
  } finally {
    clearInterval(sampler);
  }
}

function runChild(args: string[]): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const script = fileURLToPath(import.meta.url);
    const proc = spawn(process.execPath, ['--expose-gc', script, '--child', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`soak child ${args.join(' ')} exited ${String(code)}: ${last}`));
      else resolve(JSON.parse(last) as ChildReport);
    });
  });
}

/** Least-squares slope of ys against 0, 1, 2, … */
function slope(ys: readonly number[]): number {
  const n = ys.length;
  if (n < 2) return Number.NaN;
  const meanX = (n - 1) / 2;
  const meanY = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  });
  return num / den;
}

const flags = parseBenchFlags(
  'soak',
  { epochs: 30, threads: '1,4', workloads: 'M1' },
  { child: { type: 'boolean', default: false, hidden: true } },
  {
    what: 'Memory over a long run: one fresh child process per thread count trains one workload and samples its RSS (worker threads included) and heap after every epoch.',
    examples: [
      ['node dist/bench/soak.js', 'M1, threads 1 and 4, 30 epochs'],
      ['node dist/bench/soak.js --threads 1,2 --epochs 3 --samples 8000 --no-save --force', 'a quick check that the script runs'],
    ],
  },
);
const workload = flags.workloads[0]!;
if (flags.workloads.length !== 1) throw new Error('--workloads: the soak trains one workload at a time');

if (flags.child) {
  const threads = flags.threads[0]!;
  const report = await child(workload, threads, flags.epochs, flags.samples, flags.kernels);
  console.log(JSON.stringify(report));
} else {
  const machine = machineInfo();
  const checks = preflight('soak', machine, flags.force);
  const datasetBytes = flags.samples * FEATURES * 4;
  note(`soak: ${workload.id} (${workload.title}), builtin:blobs ${flags.samples} × ${FEATURES} (${fmtFixed(datasetBytes / MB, 1)} MB of features), ${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'}, threads ${flags.threads.join(',')}`);
  note(machineLine(machine));
  const reports: ChildReport[] = [];
  for (const threads of flags.threads) {
    const started = performance.now();
    const report = await runChild(['--threads', String(threads), '--epochs', String(flags.epochs), '--samples', String(flags.samples), '--workloads', workload.id, '--kernels', flags.kernels]);
    reports.push(report);
    note(`  threads ${threads}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }

  const mb = (bytes: number | undefined): string => fmtFixed(bytes === undefined ? undefined : bytes / MB, 0);
  const headers = ['threads', 'workers', 'RSS before', 'RSS epoch 1', 'RSS end', 'RSS end − epoch 1', 'RSS slope /epoch', 'heap epoch 1', 'heap end', 'arrayBuffers end', 'peak RSS training', 'max RSS process', 'growth ÷ dataset'];
  const align: Align[] = headers.map((_, c) => (c === 0 ? 'l' : 'r'));
  const rows = reports.map((r) => {
    const first = r.perEpoch[0];
    const last = r.perEpoch[r.perEpoch.length - 1];
    const rssSlope = slope(r.perEpoch.slice(1).map((m) => m.rss));
    return {
      report: r,
      summary: {
        rssBefore: r.before.rss,
        rssAfterEpoch1: first?.rss ?? null,
        rssEnd: last?.rss ?? null,
        rssDelta: first && last ? last.rss - first.rss : null,
        rssSlopePerEpoch: Number.isFinite(rssSlope) ? rssSlope : null,
        heapAfterEpoch1: first?.heapUsed ?? null,
        heapEnd: last?.heapUsed ?? null,
        arrayBuffersEnd: last?.arrayBuffers ?? null,
        peakRssTraining: r.peakRssTraining,
        maxRssProcess: r.maxRss,
        /** (RSS after epoch 1 − RSS before train()) ÷ the features' bytes: ≈ 1 when the rows exist once. */
        growthPerDataset: first ? (first.rss - r.before.rss) / datasetBytes : null,
      },
    };
  });
  const cells = rows.map(({ report: r, summary: s }) => [
    String(r.threads),
    String(r.workers),
    mb(s.rssBefore),
    mb(s.rssAfterEpoch1 ?? undefined),
    mb(s.rssEnd ?? undefined),
    s.rssDelta === null ? '—' : `${s.rssDelta >= 0 ? '+' : ''}${fmtFixed(s.rssDelta / MB, 1)}`,
    s.rssSlopePerEpoch === null ? '—' : `${s.rssSlopePerEpoch >= 0 ? '+' : ''}${fmtFixed(s.rssSlopePerEpoch / MB, 2)}`,
    mb(s.heapAfterEpoch1 ?? undefined),
    mb(s.heapEnd ?? undefined),
    mb(s.arrayBuffersEnd ?? undefined),
    mb(s.peakRssTraining),
    mb(s.maxRssProcess),
    fmtFixed(s.growthPerDataset, 2, '×'),
  ]);
  const legend = [
    `${workload.id}: ${workload.title}; builtin:blobs ${flags.samples} × ${FEATURES}: ${fmtFixed(datasetBytes / MB, 1)} MB of float32 features; ${flags.kernelsUsed} kernels; ${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'}; sizes in MB (2^20 bytes).`,
    'RSS before: the child before train(); epoch 1 / end: after the first / last epoch, garbage collected first. RSS slope: least squares over epochs 2..N (≈ 0 when memory is flat).',
    'heap: the main thread\'s V8 heapUsed. arrayBuffers: ArrayBuffer memory (the WebAssembly.Memory arena is not in it). peak RSS training: 100 ms sampler during train(); max RSS process: the kernel\'s high-water mark, data generation included.',
    'growth ÷ dataset: (RSS after epoch 1 − RSS before) ÷ the features\' bytes; about 1 when the rows exist once (in the shared arena), about 2 when a second copy stays alive. The same value at every thread count shows that workers share the rows rather than copying them.',
  ].join('\n');

  console.log(textTable(headers, cells, align));
  console.log(`\n${legend}${checks.forced ? `\nWARNING (--force): ${checks.problems.join('; ')}` : ''}`);
  for (const { report: r } of rows) {
    console.log(`threads ${r.threads}: RSS per epoch (MB) ${r.perEpoch.map((m) => fmtFixed(m.rss / MB, 0)).join(' ')}; samples/s ${r.samplesPerSec.map((v) => fmtInt(v)).join(' ')}`);
  }

  if (flags.save) {
    const path = saveResults('soak', machine.date, {
      benchmark: 'soak',
      machine,
      preflight: checks,
      settings: { data: 'builtin:blobs', samples: flags.samples, features: FEATURES, seed: SEED, lr: LR, epochs: flags.epochs, threads: flags.threads, kernels: flags.kernels, kernelsUsed: flags.kernelsUsed, workload, datasetBytes },
      rows: rows.map(({ report, summary }) => ({ ...summary, ...report })),
    });
    note(`saved ${path}`);
  }

  console.log('\n<!-- markdown -->');
  console.log(`**gradpool memory soak** — ${machineLine(machine)}\n`);
  console.log(markdownTable(headers, cells, align));
  console.log(`\n${legend.replace(/\n/g, ' ')}`);
}
