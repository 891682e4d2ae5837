// Batch GD, mini-batch GD at several batch sizes, and SGD on the same network, data and seed:
// the runs behind `compare-modes` and its report.
import type { Mode } from './data/batches.js';
import type { Dataset } from './data/dataset.js';
import type { EpochEntry } from './run/history.js';
import { resolveOptions, type OptionsInput } from './options/resolve.js';
import { train, type TrainCallbacks } from './train.js';

export interface CompareRun {
  /** Legend and table name, e.g. "mini-batch B=64". */
  label: string;
  mode: Mode;
  /** Rows per step as trained: the training-set size for batch, 1 for SGD. */
  batchSize: number;
  history: EpochEntry[];
  /** Wall-clock training time of the whole run. */
  seconds: number;
}

/** The table's options for compare-modes (batchSizes: the mini-batch sizes, each one run), and callbacks. */
export type CompareOptions = OptionsInput<'compare-modes'> &
  TrainCallbacks & {
    data: string | Dataset;
    /** Called before each run starts (for a heading on the terminal). */
    onRun?: ((run: { label: string; mode: Mode }, index: number, count: number) => unknown) | undefined;
  };

/**
 * Trains once per mode with everything else equal: the same seed gives every run the same initial
 * weights, validation split and shuffling stream. Files a single run would write (--out,
 * checkpoints) are not written, and --resume does not apply: each run starts from scratch.
 * Stops early, returning the runs so far, when options.signal fires.
 */
/** Keys compare-modes takes besides the table's options. */
export const COMPARE_CALLBACKS: readonly string[] = ['onRun', 'onStart', 'onData', 'onLoadProgress', 'onEpoch', 'onProgress', 'signal'];

export async function compareModes(options: CompareOptions): Promise<CompareRun[]> {
  const { batchSizes } = resolveOptions('compare-modes', options, COMPARE_CALLBACKS);
  const { batchSizes: _sizes, onRun, ...common } = options;
  const plans: { label: string; mode: Mode; batchSize?: number }[] = [
    { label: 'batch GD', mode: 'batch' },
    ...batchSizes.map((size) => ({ label: `mini-batch B=${size}`, mode: 'minibatch' as const, batchSize: size })),
    { label: 'SGD', mode: 'sgd' },
  ];
  const runs: CompareRun[] = [];
  // train() reports the training-set size only as onProgress's total; batch GD's batch size is that.
  let trainRows = 0;
  for (const [index, plan] of plans.entries()) {
    if (common.signal?.aborted) break;
    await onRun?.({ label: plan.label, mode: plan.mode }, index, plans.length);
    const started = performance.now();
    const result = await train({
      ...common,
      mode: plan.mode,
      batchSize: plan.batchSize ?? common.batchSize,
      out: undefined,
      checkpointDir: undefined,
      resume: undefined,
      onProgress: (done, total, epoch) => {
        trainRows = total;
        common.onProgress?.(done, total, epoch);
      },
    });
    const { history } = result;
    runs.push({
      label: plan.label,
      mode: plan.mode,
      batchSize: plan.mode === 'batch' ? trainRows : plan.mode === 'sgd' ? 1 : Math.min(plan.batchSize!, trainRows || plan.batchSize!),
      history,
      // The training time, as on the charts' x axis; a run stopped before its first epoch has only the wall clock.
      seconds: history.length > 0 ? history[history.length - 1]!.seconds : (performance.now() - started) / 1000,
    });
    if (result.aborted) break;
  }
  return runs;
}
