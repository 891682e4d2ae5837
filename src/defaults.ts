// Defaults chosen from the data read from a file (a CSV table, IDX images): the fixed defaults in the
// option table suit the builtin sets, and over- or under-fit small and wide tables (and overfit a
// small image set). Every choice here is only for an option the caller left out, and is said in one line.
import type { HiddenActivation } from './math/kernels.js';
import type { OptimizerName } from './optim/optimizers.js';

/** What the choice looks at: the training data's size. */
export interface DataFacts {
  /** Rows read (training + validation; the test set not included). */
  readonly rows: number;
  /** Network inputs (one-hot columns count one per level). */
  readonly features: number;
  /** Class count, or null for regression. */
  readonly classes: number | null;
  /** A CSV table or IDX images (said in the line). */
  readonly kind: 'table' | 'images';
}

/** The options a choice may set. */
export interface ChosenValues {
  valSplit?: number;
  patience?: number;
  epochs?: number;
  layers?: readonly number[];
  weightDecay?: number;
  optimizer?: OptimizerName;
  lr?: number;
  activation?: HiddenActivation;
}

export interface ChosenDefaults {
  /** Only options the caller left out. */
  readonly values: ChosenValues;
  /** One line for the user: what was chosen and why. */
  readonly line: string;
}

/** Below this many rows a table is "small": one narrow layer, stronger weight decay. */
export const SMALL_ROWS = 2000;
/** Fewer rows than this many per input make a table "wide": a narrow layer, strong weight decay. */
export const WIDE_ROWS_PER_INPUT = 4;
/** A validation split smaller than this is too noisy to stop on: no split is chosen. */
export const MIN_VALIDATION_ROWS = 10;
/** Early stopping looks at this many epochs without a better validation loss (scikit-learn's n_iter_no_change). */
export const DEFAULT_PATIENCE = 10;
/** The most epochs early stopping may run (scikit-learn's max_iter). */
export const DEFAULT_MAX_EPOCHS = 200;

/**
 * The defaults for a table, given its size and the options the caller gave (by library name). Adam
 * at 0.001 (scikit-learn's and Keras' default) trains any table's scale; a validation split with
 * early stopping and the best epoch's weights restored decides the epochs; width and weight decay
 * follow the rows per input: few rows per input (small or wide tables) get fewer weights and more
 * decay.
 */
export function chooseDefaults(facts: DataFacts, givenValues: Readonly<Record<string, unknown>>): ChosenDefaults {
  const given = new Set(Object.keys(givenValues).filter((name) => givenValues[name] !== undefined));
  const chosen: ChosenValues = {};
  const why: string[] = [];
  const { rows, features } = facts;
  const small = rows < SMALL_ROWS;
  const wide = rows < WIDE_ROWS_PER_INPUT * features;
  const size = `${rows.toLocaleString('en-US')} rows × ${features.toLocaleString('en-US')} inputs`;
  const set = <K extends keyof ChosenValues>(name: K, value: ChosenValues[K]): boolean => {
    if (given.has(name)) return false;
    chosen[name] = value;
    return true;
  };

  // Early stopping needs rows to judge by: a fifth of a small table, a tenth of a larger one; a
  // tiny table has too few to hold out, and trains the most epochs (cheap at its size).
  const split = small ? 0.2 : 0.1;
  const tiny = Math.round(rows * split) < MIN_VALIDATION_ROWS;
  const valSplit = given.has('valSplit') || tiny ? undefined : split;
  if (valSplit !== undefined) set('valSplit', valSplit);
  const validates = valSplit !== undefined || (typeof givenValues.valSplit === 'number' && givenValues.valSplit > 0);
  if (validates && !given.has('patience')) set('patience', DEFAULT_PATIENCE);
  if (validates || given.has('patience') || tiny) set('epochs', DEFAULT_MAX_EPOCHS);
  if (!given.has('optimizer') && !given.has('lr')) {
    set('optimizer', 'adam');
    set('lr', 0.001);
  }
  const layers = wide || small ? [64] : [128];
  set('layers', layers);
  // Measured on the bench tables (bench/defaults-vs-sklearn.ts): 0.1 on the wide one, 0.001 on small ones.
  const weightDecay = wide ? 0.1 : small ? 0.001 : 0.0001;
  set('weightDecay', weightDecay);

  if (tiny && !given.has('valSplit')) why.push(`too few rows to hold out ${MIN_VALIDATION_ROWS} for validation`);
  if (wide) why.push(`wide: under ${WIDE_ROWS_PER_INPUT} rows per input`);
  else if (small) why.push(`small: under ${SMALL_ROWS.toLocaleString('en-US')} rows`);
  const parts: string[] = [];
  if (chosen.optimizer) parts.push(`${chosen.optimizer} lr ${chosen.lr}`);
  if (chosen.layers) parts.push(`layers ${chosen.layers.join(',')}`);
  if (chosen.weightDecay !== undefined) parts.push(`weight decay ${chosen.weightDecay}`);
  if (chosen.valSplit !== undefined) parts.push(`val split ${chosen.valSplit}`);
  if (chosen.patience !== undefined) parts.push(`early stop after ${chosen.patience} epochs without a better val_loss, best weights kept`);
  if (chosen.epochs !== undefined) parts.push(`at most ${chosen.epochs} epochs`);
  const head = `defaults for ${facts.kind === 'images' ? 'images' : 'a table'} of ${size}${why.length ? ` (${why.join('; ')})` : ''}`;
  const line = parts.length === 0 ? `${head}: all given` : `${head}: ${parts.join(', ')}; flags override each`;
  return { values: chosen, line };
}
