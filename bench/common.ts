// Shared by the benchmark scripts: the workloads, flag parsing, machine facts, tables, results files.
// Not a benchmark itself; see bench/README.md.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import yargs, { type Options } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { train, type TrainOptions } from '../src/index.js';
import { multiplyAddsPerSample, trainingFlopsPerSample as layoutTrainingFlops, type NetworkShape } from '../src/model/layout.js';
import { WORKLOAD_FEATURES, WORKLOADS, workloadSizes, type Workload } from '../src/model/workloads.js';
import { KERNEL_OPTIONS, resolveKernelSet, type KernelOption } from '../src/parallel/kernel-set.js';
import { workloadRun } from '../src/throughput.js';

/** The repository root (this file runs as dist/bench/common.js). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

export const DEFAULT_SAMPLES = 60_000;
export const SEED = 1;
export const LR = 0.1;

// The standard workloads and their train() options are shared with `gradpool bench` (src/).
export { WORKLOADS, type Workload } from '../src/model/workloads.js';
export const FEATURES = WORKLOAD_FEATURES;
export const sizesOf = workloadSizes;

const shapeOf = (w: Workload): NetworkShape => ({ sizes: workloadSizes(w), activation: w.activation, loss: w.loss });

/** Weights (no biases) = multiply-adds of one sample's forward pass. */
export function weightCount(w: Workload): number {
  return multiplyAddsPerSample(shapeOf(w));
}

/**
 * Flops of one training sample, counting what is computed: 6W − 2W₀ (src/model/layout.ts): the
 * forward pass 2W, the weight gradients 2W, the input gradients of every layer but the first 2(W − W₀).
 */
export function trainingFlopsPerSample(w: Workload): number {
  return layoutTrainingFlops(shapeOf(w));
}

export const FLOPS_FORMULA = '(6W − 2W₀) × samples/s, W = weights, W₀ = first-layer weights (its input gradient is never computed)';

export function gflops(w: Workload, samplesPerSec: number): number {
  return (trainingFlopsPerSample(w) * samplesPerSec) / 1e9;
}

/** 1..N when N ≤ 8; otherwise the powers of two below N, and N. */
export function defaultThreads(): number[] {
  const n = os.availableParallelism();
  if (n <= 8) return Array.from({ length: n }, (_, i) => i + 1);
  const list: number[] = [];
  for (let t = 1; t < n; t *= 2) list.push(t);
  list.push(n);
  return list;
}

export interface BenchFlags {
  threads: number[];
  workloads: Workload[];
  epochs: number;
  samples: number;
  /** Passed to train(); auto = wasm SIMD when it loads. */
  kernels: KernelOption;
  /** What `kernels` resolves to on this machine. */
  kernelsUsed: string;
  save: boolean;
  /** Run even on a dirty tree or a busy machine (the results record why it was refused). */
  force: boolean;
}

function parseThreadList(text: string): number[] {
  const list = text.split(',').map((part) => Number(part.trim()));
  if (text.trim() === '' || list.some((t) => !Number.isInteger(t) || t < 1 || t > 1024)) {
    throw new Error(`--threads must be comma-separated positive integers such as 1,2,4, got "${text}"`);
  }
  return [...new Set(list)];
}

function parseWorkloads(text: string): Workload[] {
  const ids = text.split(',').map((part) => part.trim().toUpperCase());
  return ids.map((id) => {
    const w = WORKLOADS.find((candidate) => candidate.id === id);
    if (!w) throw new Error(`--workloads: unknown workload "${id}" (choose from ${WORKLOADS.map((c) => c.id).join(', ')})`);
    return w;
  });
}

/**
 * --threads 1,2,4 --workloads M1,M3 --epochs N --samples N [--no-save], or the same as
 * BENCH_THREADS, BENCH_WORKLOADS, BENCH_EPOCHS, BENCH_SAMPLES, BENCH_SAVE in the environment.
 */
export function parseBenchFlags(
  script: string,
  defaults: { epochs: number; threads?: string; workloads?: string },
  extra: Record<string, Options> = {},
  usage: { what: string; examples: ReadonlyArray<readonly [string, string]> } = { what: '', examples: [] },
): BenchFlags & Record<string, unknown> {
  let parser = yargs(hideBin(process.argv))
    .scriptName(script)
    .usage(`node dist/bench/${script}.js [flags]   (or: npm run ${script === 'throughput' ? 'bench' : `bench:${script}`} -- [flags])\n\n${usage.what}\n\nRefuses to run (exit 2) on a work tree with uncommitted changes, on an unknown commit, or when the 1-minute load average exceeds the cores, unless --force. Every flag can also be set as BENCH_<NAME> (BENCH_THREADS=1,2).`)
    .env('BENCH')
    .option('threads', { type: 'string', default: defaults.threads, describe: 'comma-separated thread counts (default: 1..cores; powers of two above 8 cores)' })
    .option('workloads', { type: 'string', default: defaults.workloads ?? WORKLOADS.map((w) => w.id).join(','), describe: 'comma-separated workload ids' })
    .option('epochs', { type: 'number', default: defaults.epochs, describe: 'epochs per run; the first one is a warm-up and not counted when there are two or more' })
    .option('samples', { type: 'number', default: DEFAULT_SAMPLES, describe: 'rows of builtin:blobs' })
    .option('kernels', { choices: KERNEL_OPTIONS, default: 'auto', describe: "gradpool's matrix kernels (train()'s kernels option)" })
    .option('save', { type: 'boolean', default: true, describe: 'write bench/results/*.json (--no-save: print only)' })
    .option('force', { type: 'boolean', default: false, describe: 'run even on a dirty tree, an unknown commit or a busy machine; the results record it' })
    .options(extra)
    .strict()
    .version(false)
    .help();
  for (const [command, description] of usage.examples) parser = parser.example(command, description);
  const argv = parser.parseSync() as Record<string, unknown>;
  const epochs = argv.epochs as number;
  const samples = argv.samples as number;
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`--epochs must be a positive integer, got ${String(epochs)}`);
  if (!Number.isInteger(samples) || samples < 10) throw new Error(`--samples must be an integer ≥ 10, got ${String(samples)}`);
  return {
    ...argv,
    threads: typeof argv.threads === 'string' ? parseThreadList(argv.threads) : typeof argv.threads === 'number' ? parseThreadList(String(argv.threads)) : defaultThreads(),
    workloads: parseWorkloads(String(argv.workloads)),
    epochs,
    samples,
    kernels: argv.kernels as KernelOption,
    kernelsUsed: resolveKernelSet(argv.kernels as KernelOption),
    save: argv.save !== false,
    force: argv.force === true,
  };
}

/** Why these numbers should not be trusted as they stand; empty when the run is clean. */
export interface Preflight {
  problems: string[];
  /** True when there were problems and --force ran the benchmark anyway. */
  forced: boolean;
}

/**
 * Refuses (one line on stderr, exit 2) to measure a tree whose code no commit names, or a machine
 * already busy: such numbers cannot be reproduced or compared. --force runs anyway and the
 * problems go into the results and the printed header.
 */
export function preflight(script: string, machine: MachineInfo, force: boolean): Preflight {
  const problems: string[] = [];
  if (machine.gradpoolCommit === null) problems.push('the gradpool commit is unknown (not a git checkout? set GRADPOOL_COMMIT)');
  if (machine.gradpoolDirty) problems.push('the work tree has uncommitted changes (commit them, so that the results name the code they measured)');
  const load = machine.loadAverage[0] ?? 0;
  if (load > machine.availableParallelism) problems.push(`the machine is busy (1-minute load average ${load} above its ${machine.availableParallelism} cores)`);
  if (problems.length > 0 && !force) {
    process.stderr.write(`${script}: refused: ${problems.join('; ')}; --force runs anyway and records this\n`);
    process.exit(2);
  }
  if (problems.length > 0) note(`WARNING (--force): ${problems.join('; ')}`);
  return { problems, forced: problems.length > 0 };
}

export interface GradpoolRun {
  /** samplesPerSec of each epoch, from the library's history. */
  perEpoch: number[];
  /** Median of epochs 2..N. */
  samplesPerSec: number;
  /** Most workers that shared one step (the coordinator may use fewer than asked for small batches). */
  workers: number;
  finalLoss: number;
  finalAccuracy: number | null;
  /** Wall seconds of the whole train() call, data generation and pool start-up included. */
  wallSeconds: number;
}

/** The train() options of one benchmark run of workload `w`: the same as `gradpool bench` uses. */
export function workloadTrainOptions(w: Workload, threads: number, epochs: number, samples: number, kernels: KernelOption): TrainOptions {
  return workloadRun(w, threads, epochs, samples, kernels);
}

/**
 * One quiet train() on builtin:blobs. train() takes a data spec, not a Dataset, so each call
 * generates the (seeded, identical) rows again; that time is outside every epoch's samplesPerSec.
 */
export async function runGradpool(w: Workload, threads: number, epochs: number, samples: number, kernels: KernelOption): Promise<GradpoolRun> {
  const started = performance.now();
  const result = await train(workloadTrainOptions(w, threads, epochs, samples, kernels));
  const perEpoch = result.history.map((e) => e.samplesPerSec);
  const last = result.history[result.history.length - 1];
  return {
    perEpoch,
    samplesPerSec: steadyRate(perEpoch),
    workers: Math.max(1, ...result.history.map((e) => e.threads)),
    finalLoss: last?.loss ?? Number.NaN,
    finalAccuracy: last?.accuracy ?? null,
    wallSeconds: (performance.now() - started) / 1000,
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `list` rotated left by `by`: round r of an interleaved benchmark visits its cells in this order. */
export function rotate<T>(list: readonly T[], by: number): T[] {
  const k = list.length === 0 ? 0 : by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/** "median [min–max]" of a positive rate, for tables. */
export function fmtSpread(values: readonly number[]): string {
  if (values.length === 0 || !values.every(Number.isFinite)) return '—';
  if (values.length === 1) return fmtInt(values[0]);
  return `${fmtInt(median(values))} [${fmtInt(Math.min(...values))}–${fmtInt(Math.max(...values))}]`;
}

/** The median of epochs 2..N (epoch 1 warms up); with a single epoch, that epoch. */
export function steadyRate(perEpoch: readonly number[]): number {
  return median(perEpoch.length > 1 ? perEpoch.slice(1) : perEpoch);
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  availableParallelism: number;
  totalMemoryGiB: number;
  loadAverage: number[];
  platform: string;
  node: string;
  date: string;
  gradpoolCommit: string | null;
  /** True when the work tree had uncommitted changes (the numbers are then for those changes). */
  gradpoolDirty: boolean | null;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    date: new Date().toISOString(),
    // A copy without .git (a tarball, another machine) can name its commit in GRADPOOL_COMMIT.
    gradpoolCommit: git(['rev-parse', '--short', 'HEAD']) ?? process.env.GRADPOOL_COMMIT ?? null,
    gradpoolDirty: (() => {
      // Untracked files count (a new source file changes what runs); earlier results files do not.
      const status = git(['status', '--porcelain', '--untracked-files=normal', '--', '.', ':(exclude)bench/results']);
      return status === null ? null : status !== '';
    })(),
  };
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export function machineLine(m: MachineInfo): string {
  const commit = m.gradpoolCommit === null ? 'unknown commit' : `gradpool ${m.gradpoolCommit}${m.gradpoolDirty ? ' (+ uncommitted changes)' : m.gradpoolDirty === null ? ' (tree state unknown)' : ''}`;
  return `${m.cpu}, ${m.cores} cores (${m.availableParallelism} available), ${m.totalMemoryGiB} GiB, ${m.platform}, Node ${m.node}, ${commit}, load avg ${m.loadAverage.join(' ')} at start, ${m.date}`;
}

/** Writes bench/results/<name>-<ISO date>.json and returns its path. */
export function saveResults(name: string, date: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  // Colons are not allowed in Windows file names; keep the ISO order and drop the milliseconds.
  const stamp = date.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const path = `${RESULTS_DIR}${name}-${stamp}.json`;
  writeFileSync(path, JSON.stringify(data, null, 2) + '\n');
  return path;
}

export type Align = 'l' | 'r';

/** A plain-text table with aligned columns. */
export function textTable(headers: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, c) => (align[c] === 'r' ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The same table as GitHub markdown. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[]): string {
  const escape = (cell: string): string => cell.replace(/\|/g, '\\|');
  return [
    `| ${headers.map(escape).join(' | ')} |`,
    `| ${align.map((a) => (a === 'r' ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(escape).join(' | ')} |`),
  ].join('\n');
}

export function fmtInt(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : Math.round(value).toLocaleString('en-US');
}

export function fmtFixed(value: number | null | undefined, digits: number, suffix = ''): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : `${value.toFixed(digits)}${suffix}`;
}

/** The value after `--name` on the command line, or `fallback`. */
export function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1]! : fallback;
}

/** Progress goes to stderr so that stdout stays the tables. */
export function note(message: string): void {
  process.stderr.write(`${message}\n`);
}
