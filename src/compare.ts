// Batch GD, mini-batch GD at several batch sizes, and SGD on the same network, data and seed:
// the runs behind `compare-modes` and its report.
import type { Mode } from './data/batches.js';
import { InputError } from './errors.js';
import type { TrainOptions } from './options.js';
import type { CompareRun } from './report/compare-report.js';
import { train } from './train.js';

export type { CompareRun } from './report/compare-report.js';

export interface CompareOptions extends TrainOptions {
  /** Mini-batch sizes to try, in order; each gives one run between batch GD and SGD. */
  batchSizes: number[];
  /** Called before each run starts (for a heading on the terminal). */
  onRun?: ((run: { label: string; mode: Mode }, index: number, count: number) => void) | undefined;
}

/**
 * Trains once per mode with everything else equal: the same seed gives every run the same initial
 * weights, validation split and shuffling stream. Files a single run would write (--out,
 * checkpoints) are not written, and --resume does not apply: each run starts from scratch.
 * Stops early, returning the runs so far, when options.signal fires.
 */
export async function compareModes(options: CompareOptions): Promise<CompareRun[]> {
  const { batchSizes, onRun, ...common } = options;
  if (batchSizes.length === 0) throw new InputError('--batch-sizes: give at least one mini-batch size, e.g. 32,128');
  for (const size of batchSizes) {
    if (!Number.isInteger(size) || size < 1) throw new InputError(`--batch-sizes: every size must be a positive integer, got "${batchSizes.join(',')}"`);
  }
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
    onRun?.({ label: plan.label, mode: plan.mode }, index, plans.length);
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
