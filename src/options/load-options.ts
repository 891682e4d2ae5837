// loadDataset's options, checked as train() checks its own: own properties only, an unknown key
// refused, and each option that train() also takes (labelColumn, delimiter, missing, categorical, …)
// held to the option table's row, so that the same value gets the same InputError naming it.
import { loadDataset as load, loadTrainingData as loadBoth, type LoadOptions } from '../data/load.js';
import type { Dataset } from '../data/dataset.js';
import { InputError, describeValue, optionRef } from '../errors.js';
import { checkOption, type OptionSpec } from './spec.js';
import { OPTIONS } from './table.js';

/** Options of loadDataset that are rows of the option table, checked by them. */
const TABLE_ROWS = ['labelColumn', 'delimiter', 'decimal', 'thousands', 'encoding', 'comment', 'skipRows', 'skipFooter', 'dayfirst', 'header', 'naValues', 'missing', 'categorical', 'numeric', 'ignoreColumns', 'threads'] as const;
/** builtin: { … } holds the table's rows for builtin sets. */
const BUILTIN_ROWS = ['samples', 'features', 'classes', 'noise', 'seed'] as const;

/** The options loadDataset has of its own (what a model or the training set fixes), each with its check. */
const OWN: Record<string, { what: string; ok: (value: unknown) => boolean }> = {
  labels: { what: "'classes', 'values' or 'auto'", ok: (v) => v === 'classes' || v === 'values' || v === 'auto' },
  labelsFile: { what: 'a path (an IDX labels file)', ok: (v) => typeof v === 'string' && v !== '' },
  classNames: { what: 'an array of class names', ok: (v) => Array.isArray(v) && v.every((n) => typeof n === 'string') },
  features: { what: 'a whole number ≥ 1', ok: (v) => typeof v === 'number' && Number.isInteger(v) && v >= 1 },
  schema: { what: "a model's schema or null", ok: (v) => v === null || (typeof v === 'object' && !Array.isArray(v)) },
  allowUnlabelled: { what: 'true or false', ok: (v) => typeof v === 'boolean' },
  ignoreLabels: { what: 'true or false', ok: (v) => typeof v === 'boolean' },
  owner: { what: 'text', ok: (v) => typeof v === 'string' },
  onProgress: { what: 'a function', ok: (v) => typeof v === 'function' },
  builtin: { what: 'an object of samples, features, classes, noise, seed', ok: (v) => typeof v === 'object' && v !== null && !Array.isArray(v) },
};

/** Checked options (undefined values dropped), or an InputError naming the first wrong one. */
export function checkLoadOptions(who: string, spec: unknown, given: unknown): LoadOptions {
  if (typeof spec !== 'string' || spec === '') throw new InputError(`${who}: the data must be builtin:NAME, a CSV file or an IDX directory, got ${describeValue(spec)}`);
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new InputError(`${who}: options must be an object, got ${describeValue(given)}`);
  const checked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined) continue;
    if ((TABLE_ROWS as readonly string[]).includes(key)) checked[key] = checkOption(key, OPTIONS[key as (typeof TABLE_ROWS)[number]] as OptionSpec<unknown>, value);
    else if (Object.hasOwn(OWN, key)) {
      if (!OWN[key]!.ok(value)) throw new InputError(`${optionRef(key)} needs ${OWN[key]!.what}, got ${describeValue(value)}`);
      checked[key] = key === 'builtin' ? checkBuiltin(value as Record<string, unknown>) : value;
    } else throw new InputError(`${who}: unknown option ${describeValue(key)} (it takes ${[...TABLE_ROWS, ...Object.keys(OWN)].join(', ')})`);
  }
  return checked as LoadOptions;
}

function checkBuiltin(given: Record<string, unknown>): Record<string, unknown> {
  const checked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given)) {
    if (!(BUILTIN_ROWS as readonly string[]).includes(key)) throw new InputError(`${optionRef('builtin')}: unknown key ${describeValue(key)} (it takes ${BUILTIN_ROWS.join(', ')})`);
    if (value !== undefined) checked[key] = checkOption(key, OPTIONS[key as (typeof BUILTIN_ROWS)[number]] as OptionSpec<unknown>, value);
  }
  checked.seed ??= 1;
  return checked;
}

/** The dataset a spec names, its options checked first (the public loadDataset). */
export async function loadDataset(spec: string, options: LoadOptions = {}): Promise<Dataset> {
  return load(spec, checkLoadOptions('loadDataset', spec, options));
}

/** The training set and an IDX directory's test set, its options checked first (the public loadTrainingData). */
export async function loadTrainingData(spec: string, options: LoadOptions = {}): Promise<{ training: Dataset; test: Dataset | undefined }> {
  return loadBoth(spec, checkLoadOptions('loadTrainingData', spec, options));
}
