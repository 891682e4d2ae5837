// What every data source produces: one description of a dataset (sizes, schema, targets, and a way to
// write its features into memory it is given). Training writes it straight into the shared arena;
// loadDataset writes it into an array of its own. A Dataset is the same thing with its features
// already in memory (what the library returns, and what a caller may hand to train()).
import { InputError } from '../errors.js';
import type { NormalizationKind } from './normalize.js';
import type { Schema } from './schema.js';

export type Targets =
  /** Class labels: index into `names` per row (names sorted: numerically when all are numbers). */
  | { readonly kind: 'classes'; readonly index: Int32Array; readonly names: readonly string[] }
  /** Numeric regression targets, one per row. */
  | { readonly kind: 'values'; readonly values: Float32Array }
  /** No label column (data given to predict only). */
  | { readonly kind: 'none' };

export interface Dataset {
  /** Where it came from, for messages: a path or builtin:NAME. */
  readonly source: string;
  readonly rows: number;
  readonly features: number;
  /** rows × features inputs, row-major; NaN marks a missing number the model fills (--missing impute). */
  readonly x: Float32Array;
  readonly targets: Targets;
  /** What each column of a table became (CSV); absent or null for plain numeric inputs. */
  readonly schema?: Schema | null | undefined;
  /** Sentences for the user: columns ignored, the loss chosen, rows dropped, columns not used. */
  readonly notes?: readonly string[] | undefined;
}

/** A dataset whose features are written on demand into memory the caller provides. */
export interface DataDescription {
  readonly source: string;
  readonly rows: number;
  readonly features: number;
  readonly targets: Targets;
  readonly schema: Schema | null;
  /** What --normalize auto means here: standard for a table's numeric columns, none otherwise. */
  readonly autoNormalize: NormalizationKind;
  readonly notes: readonly string[];
  /** Writes rows × features values, row-major, into the start of `into`. */
  writeFeatures(into: Float32Array): void;
  /** The features, when the source holds them in memory already (a parsed CSV file): no copy needed. */
  readonly x?: Float32Array | undefined;
}

/** A Dataset handed in by a library user, checked for what the loaders guarantee, as a description. */
export function describeDataset(dataset: Dataset): DataDescription {
  if (typeof dataset !== 'object' || dataset === null) throw new InputError('data: a Dataset must be an object');
  const { rows, features, x, targets } = dataset;
  if (!(x instanceof Float32Array) || !Number.isInteger(rows) || !Number.isInteger(features) || rows < 1 || features < 1 || x.length !== rows * features) {
    throw new InputError('data: a Dataset needs x as a Float32Array of rows × features values');
  }
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) throw new InputError(`data: x[${i}] (row ${Math.floor(i / features)}) is not finite`);
  if (typeof targets !== 'object' || targets === null) throw new InputError('data: a Dataset needs targets');
  if (targets.kind === 'classes' && (!(targets.index instanceof Int32Array) || targets.index.length !== rows || targets.index.some((c) => c < 0 || c >= targets.names.length))) throw new InputError('data: targets.index needs one class index in [0, names.length) per row');
  if (targets.kind === 'values' && (!(targets.values instanceof Float32Array) || targets.values.length !== rows)) throw new InputError('data: targets.values needs one value per row');
  if (targets.kind === 'values' && !targets.values.every(Number.isFinite)) throw new InputError('data: targets.values must all be finite');
  return {
    source: typeof dataset.source === 'string' ? dataset.source : 'data',
    rows,
    features,
    targets,
    schema: null,
    autoNormalize: 'none',
    notes: [],
    writeFeatures: (into) => into.set(x),
    x,
  };
}

/** The description as a Dataset: its features in memory (those it holds, or written into a new array). */
export function materialize(description: DataDescription): Dataset {
  let x = description.x;
  if (!x) {
    x = new Float32Array(description.rows * description.features);
    description.writeFeatures(x);
  }
  const { source, rows, features, targets, schema, notes } = description;
  return { source, rows, features, x, targets, schema, notes };
}

/** Width of the network's output for these targets under a loss. */
export function outputWidth(targets: Targets, loss: 'bce' | 'cross-entropy' | 'mse'): number {
  if (targets.kind !== 'classes') return 1;
  return loss === 'bce' ? 1 : targets.names.length;
}

/**
 * Writes row `row`'s target vector into `out` (width `width`): one-hot for softmax/MSE over classes,
 * 0/1 for a single sigmoid unit, the value itself for regression.
 */
export function writeTarget(targets: Targets, row: number, out: Float32Array, offset: number, width: number): void {
  if (targets.kind === 'values') {
    out[offset] = targets.values[row]!;
    return;
  }
  if (targets.kind === 'none') throw new Error('writeTarget: dataset has no labels');
  const label = targets.index[row]!;
  if (width === 1) {
    out[offset] = label;
    return;
  }
  out.fill(0, offset, offset + width);
  out[offset + label] = 1;
}

/** What the caller already knows about a dataset it opens: a model's, or the training set's. */
export interface TargetExpectation {
  /** classes, values (regression), or auto (the source decides). */
  readonly target?: 'classes' | 'values' | 'auto' | undefined;
  /** Class names in output order: a label outside them is an error. */
  readonly classNames?: readonly string[] | null | undefined;
  /** The input count rows must have. */
  readonly features?: number | undefined;
}

/**
 * Targets of a source whose labels are small integers (builtin sets, IDX files): label L is the
 * class named "L" (names sorted numerically, so L is its own index), or the class of that name among
 * `expect.classNames`; as numbers for regression.
 */
export function integerTargets(source: string, labels: Uint8Array | Int32Array, classCount: number, expect: TargetExpectation, unit: string): Targets {
  if (expect.target === 'values') return { kind: 'values', values: Float32Array.from(labels) };
  const own = Array.from({ length: classCount }, (_, c) => String(c));
  if (!expect.classNames) return { kind: 'classes', index: labels instanceof Int32Array ? labels : Int32Array.from(labels), names: own };
  const names = expect.classNames;
  const known = new Map(names.map((name, i) => [name, i]));
  const lookup = Int32Array.from(own, (name) => known.get(name) ?? -1);
  const index = new Int32Array(labels.length);
  for (let r = 0; r < labels.length; r++) {
    const mapped = lookup[labels[r]!]!;
    if (mapped < 0) throw new InputError(`${source}: ${unit} ${r} has label "${labels[r]}", which was not among the training labels (${names.slice(0, 20).join(', ')}${names.length > 20 ? ', …' : ''})`);
    index[r] = mapped;
  }
  return { kind: 'classes', index, names: [...names] };
}
