// Sizes a dataset may declare, checked before anything is allocated for it: a header, a flag or a
// file's line count must not be able to ask for more memory than one run can hold.
import { InputError } from '../errors.js';

/**
 * Feature and target values one run may hold: half of the 4 GiB a shared arena can address (the
 * other half is left for the network, the optimizer state and the per-thread buffers).
 */
export const MAX_VALUES = 2 ** 29;

/** Classes a label column may have (one output unit each). */
export const MAX_CLASSES = 10_000;

/** Levels a categorical column may one-hot into (--categorical can ask for more than the automatic 50). */
export const MAX_LEVELS = 10_000;

/**
 * Refuses `rows` rows of `width` values each (features plus one target) when they exceed MAX_VALUES.
 * `what` completes "…" in the message: which flag or header asked for them.
 */
export function checkValues(source: string, rows: number, width: number, what: string): void {
  const values = rows * width;
  if (!(values <= MAX_VALUES)) {
    throw new InputError(`${source}: ${what} ${rows.toLocaleString('en-US')} rows × ${width} values (features and target) = ${values.toLocaleString('en-US')} values; at most ${MAX_VALUES.toLocaleString('en-US')} (2 GiB of float32) fit in one run`);
  }
}
