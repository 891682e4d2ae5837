// piscina entry for `tune`: one cross-validation run per task (train on some rows, score the rest),
// single-threaded; the work itself lives in src/tune.ts.
import { fitFold, type FoldOutcome, type FoldTask } from '../src/tune.js';

export default function runFold(task: FoldTask): Promise<FoldOutcome> {
  return fitFold(task);
}
