// Training throughput by thread count: what `gradpool bench` prints and the in-repo benchmarks
// build on. Every run is a real train() on seeded builtin:blobs, measured as the library reports it.
import { trainingFlopsPerSample } from './model/layout.js';
import { WORKLOADS, WORKLOAD_FEATURES, workloadSizes, type Workload } from './model/workloads.js';
import { resolveOptions, type OptionsInput } from './options/resolve.js';
import { train, type TrainOptions } from './train.js';

export interface ThroughputOptions extends OptionsInput<'bench'> {
  /** Called after every single run (a workload at a thread count in one round). */
  onRun?: ((run: { workload: string; threads: number; round: number; samplesPerSec: number }) => void) | undefined;
}

export interface ThroughputRow {
  workload: string;
  title: string;
  batchSize: number;
  threads: number;
  /** Most participants that shared one step (fewer than `threads` when a batch is too small to split). */
  participants: number;
  /** Median over rounds of each run's steady rate (the median of epochs 2..N). */
  samplesPerSec: number;
  roundSamplesPerSec: number[];
  /** Against the 1-thread row of the same workload and batch size (null without one). */
  speedup: number | null;
  /** speedup ÷ threads: 1 when every thread adds a whole thread's speed. */
  efficiency: number | null;
  /** Floating-point operations as computed (6W − 2W₀ per sample), per second. */
  gflops: number;
  /** The exact kernel set that ran (native-avx512, wasm-simd, …). */
  kernels: string;
}

export interface ThroughputSettings {
  data: string;
  samples: number;
  epochs: number;
  rounds: number;
  threads: number[];
  lr: number;
  optimizer: 'sgd';
}

const LR = 0.1;
const SEED = 1;

/** 1, 2, 4, … up to `most` (and `most` itself). */
export function threadSteps(most: number): number[] {
  const steps: number[] = [];
  for (let t = 1; t < most; t *= 2) steps.push(t);
  steps.push(most);
  return steps;
}

export async function measureThroughput(options: ThroughputOptions = {}): Promise<{ rows: ThroughputRow[]; settings: ThroughputSettings }> {
  const resolved = resolveOptions('bench', options, ['onRun']);
  // With --batch-sizes every workload runs at each: efficiency by batch size, i.e. by rows per thread.
  const batchSizes = resolved.batchSizes as number[] | undefined;
  const workloads = chosenWorkloads(resolved).flatMap((w) => (batchSizes ? batchSizes.map((batchSize) => ({ ...w, batchSize, title: w.title.replace(/, batch \d+/, '') })) : [w]));
  const threads = threadSteps(resolved.threads);
  const samples = resolved.samples ?? 60_000;
  const rows: ThroughputRow[] = [];
  for (const w of workloads) {
    // Shared machines drift by tens of percent over minutes: interleaving the thread counts within
    // each round, and taking medians over rounds, keeps that drift out of the speedup column.
    const runs = new Map<number, { rate: number; participants: number; kernels: string }[]>(threads.map((t) => [t, []]));
    for (let round = 1; round <= resolved.rounds; round++) {
      for (const t of threads) {
        const result = await train(workloadRun(w, t, resolved.epochs, samples, resolved.kernels));
        const rates = result.history.map((e) => e.samplesPerSec);
        const rate = median(rates.length > 1 ? rates.slice(1) : rates);
        runs.get(t)!.push({ rate, participants: Math.max(1, ...result.history.map((e) => e.threads)), kernels: result.kernelSet });
        options.onRun?.({ workload: w.id, threads: t, round, samplesPerSec: rate });
      }
    }
    const flops = trainingFlopsPerSample({ sizes: workloadSizes(w), activation: w.activation, loss: w.loss });
    let baseline: number | null = null;
    for (const t of threads) {
      const all = runs.get(t)!;
      const samplesPerSec = median(all.map((r) => r.rate));
      if (t === 1) baseline = samplesPerSec;
      const speedup = baseline === null ? null : samplesPerSec / baseline;
      rows.push({
        workload: w.id,
        title: w.title,
        batchSize: w.batchSize,
        threads: t,
        participants: Math.max(...all.map((r) => r.participants)),
        samplesPerSec,
        roundSamplesPerSec: all.map((r) => r.rate),
        speedup,
        efficiency: speedup === null ? null : speedup / t,
        gflops: (flops * samplesPerSec) / 1e9,
        kernels: all[0]!.kernels,
      });
    }
  }
  return { rows, settings: { data: `builtin:blobs ${samples} × ${WORKLOAD_FEATURES}`, samples, epochs: resolved.epochs, rounds: resolved.rounds, threads, lr: LR, optimizer: 'sgd' } };
}

/** The standard workloads asked for, or one custom network when layers are given. */
function chosenWorkloads(resolved: ReturnType<typeof resolveOptions<'bench'>>): Workload[] {
  // For bench, layers and batchSize have no default: absent, the standard workloads run.
  const layers = resolved.layers as number[] | undefined;
  const batchSize = resolved.batchSize as number | undefined;
  if (layers === undefined) {
    return WORKLOADS.filter((w) => resolved.workloads.includes(w.id)).map((w) => (batchSize === undefined ? w : { ...w, batchSize }));
  }
  const size = batchSize ?? 128;
  const title = `${[WORKLOAD_FEATURES, ...layers, 10].join('-')} ${resolved.activation}, softmax, batch ${size}`;
  return [{ id: 'custom', title, layers, activation: resolved.activation, classes: 10, loss: 'cross-entropy', batchSize: size }];
}

/** The train() options of one measured run: everything spelled out, so changed defaults change nothing. */
export function workloadRun(w: Workload, threads: number, epochs: number, samples: number, kernels: TrainOptions['kernels']): TrainOptions {
  return {
    data: 'builtin:blobs',
    samples,
    features: WORKLOAD_FEATURES,
    classes: w.classes,
    seed: SEED,
    layers: [...w.layers],
    activation: w.activation,
    loss: w.loss,
    batchSize: w.batchSize,
    epochs,
    lr: LR,
    optimizer: 'sgd',
    lrSchedule: 'constant',
    weightDecay: 0,
    normalize: 'none',
    kernels,
    threads,
    valSplit: 0,
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
