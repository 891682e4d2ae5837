// Preprocessing as one fitted object, as scikit-learn's ColumnTransformer: the table's columns and
// their encoding (the schema), imputation of missing numbers, input scaling and, for regression,
// target scaling. Fitted on the training rows only (after the seeded validation split), it is what
// the model carries and writes into its file, and what transforms every row the model sees later
// (validation, test, evaluate, predict), so they are all prepared exactly as training prepared its own.
import { describeValue } from '../errors.js';
import type { LossKind } from '../math/ops.js';
import { checkKeys, checkNumbers, isObject } from './fields.js';
import { NORMALIZATIONS, applyImputation, applyNormalization, applyTargetScaling, fitImputation, fitNormalization, fitTargetScaling, unscaleTarget, type Normalization, type NormalizationKind, type TargetScaling } from './normalize.js';
import { encodeValues, featureColumns, fillValues, parseSchema, scaledInputs, schemaToJson, withFills, type CellValue, type Schema } from './schema.js';

/** What a Preprocessor holds, each part optional (null: that step does nothing). */
export interface PreprocessorParts {
  /** The training file's columns and their encoding, with the imputation fills (null: inputs by position). */
  readonly schema?: Schema | null | undefined;
  /** Input scaling x ← (x − offset) · scale. */
  readonly normalization?: Normalization | null | undefined;
  /** Regression: target scaling y ← (y − offset) · scale. */
  readonly targetScaling?: TargetScaling | null | undefined;
}

/** How to fit: the schema as the data was read (imputation not yet fitted), the scaling asked for, and whether targets are values. */
export interface FitChoices {
  readonly schema: Schema | null;
  readonly normalize: NormalizationKind;
  /** Regression: the targets are scaled too (`outputs` per row). */
  readonly regression: boolean;
}

/** The preprocessing fields of a model file, in the order the file writes them (the JSON file and the safetensors metadata alike). */
export interface PreprocessingJson {
  normalization: { kind: string; offset: number[]; scale: number[] } | null;
  schema?: unknown;
  targetScaling?: Record<string, unknown>;
}

export class Preprocessor {
  readonly schema: Schema | null;
  readonly normalization: Normalization | null;
  readonly targetScaling: TargetScaling | null;
  /** Per input, what a missing (NaN) input becomes (--missing impute; NaN where none), or null. */
  private readonly fills: Float32Array | null;

  constructor(parts: PreprocessorParts = {}) {
    this.schema = parts.schema ?? null;
    this.normalization = parts.normalization ?? null;
    this.targetScaling = parts.targetScaling ?? null;
    this.fills = this.schema ? fillValues(this.schema) : null;
  }

  /**
   * Fits on rows `rows` of x (rows × features) and y (rows × outputs), reading nothing else: the
   * training mean of each input for imputation (--missing impute), then the scaling of the inputs as
   * imputed, then the targets' (regression). x and y are left as they are (transform them after).
   * `notes` are sentences for the user: inputs or a target whose spread float32 cannot scale.
   */
  static fit(x: Float32Array, y: Float32Array, features: number, outputs: number, rows: ArrayLike<number>, choices: FitChoices): { preprocessor: Preprocessor; notes: string[] } {
    const notes: string[] = [];
    const { schema } = choices;
    const fills = schema?.missing === 'impute' ? fitImputation(x, features, rows) : null;
    const fitted = schema && fills ? withFills(schema, fills) : schema;
    // A spread float32 cannot scale by (0 and 1e-44) is treated as none, with a note.
    const constantInputs: number[] = [];
    const normalization = fitNormalization(choices.normalize, x, features, rows, schema ? scaledInputs(schema) : null, constantInputs, fills);
    if (constantInputs.length > 0) notes.push(`${inputNames(constantInputs, fitted, features)} ${constantInputs.length === 1 ? 'varies' : 'vary'} too little for float32 scaling (a negligible spread): treated as constant`);
    let targetScaling: TargetScaling | null = null;
    if (choices.regression) {
      const constantTarget = { value: false };
      targetScaling = fitTargetScaling(y, rows, constantTarget, outputs);
      if (constantTarget.value) notes.push('the target varies too little for float32 scaling (a negligible spread): treated as constant, so the model predicts about its mean');
    }
    return { preprocessor: new Preprocessor({ schema: fitted, normalization, targetScaling }), notes };
  }

  /** Rows [fromRow, toRow) of x (rows × features), in place: missing inputs imputed, then scaled. */
  transformInputs(x: Float32Array, features: number, fromRow: number, toRow: number): void {
    applyImputation(this.fills, x, features, fromRow, toRow);
    applyNormalization(this.normalization, x, features, fromRow, toRow);
  }

  /** Values [from, to) of y (whole rows of the targets, row-major), in place: scaled as in training. */
  transformTargets(y: Float32Array, from: number, to: number): void {
    applyTargetScaling(this.targetScaling, y, from, to);
  }

  /** A scaled output of target `o` back in the target's units. */
  inverseTarget(value: number, o = 0): number {
    return unscaleTarget(this.targetScaling, value, o);
  }

  /** Whether a missing (NaN) input f is imputed (else it is an error to give one). */
  imputes(f: number): boolean {
    const fill = this.fills?.[f];
    return fill !== undefined && fill === fill;
  }

  /** Writes one row of raw values (one per feature column) as the schema encodes them; returns a problem, or null. */
  encodeRow(values: readonly CellValue[], out: Float32Array, offset: number): string | null {
    if (!this.schema) return 'has values by column, but the model reads plain inputs by position';
    return encodeValues(this.schema, values, out, offset);
  }

  /** Loss in the target's units per loss on the scaled target: 1 / scale² (1 without target scaling; several targets: each in its own units, so 1). */
  get lossUnit(): number {
    return this.targetScaling && !this.targetScaling.perTarget ? 1 / (this.targetScaling.scale * this.targetScaling.scale) : 1;
  }

  /** The same inputs without target scaling (a classification model has none). */
  withoutTargetScaling(): Preprocessor {
    return this.targetScaling ? new Preprocessor({ schema: this.schema, normalization: this.normalization }) : this;
  }

  /** The model file's preprocessing fields. */
  toJson(): PreprocessingJson {
    return preprocessingToJson(this);
  }

  /**
   * Reads the preprocessing fields of a model file (as toJson() wrote them, the JSON file's values or
   * the safetensors metadata's parsed texts; an absent optional field is undefined) for a network
   * of `inputs` inputs and `outputs` outputs trained with `loss`. A bad field goes to `fail`.
   */
  static parse(json: { normalization: unknown; schema?: unknown; targetScaling?: unknown }, network: { inputs: number; outputs: number; loss: LossKind }, fail: (what: string) => never): Preprocessor {
    const normalization = parseNormalization(json.normalization, network.inputs, fail);
    const schema = json.schema === undefined ? null : parseSchema(json.schema, network.inputs, fail, network.outputs);
    const targetScaling = json.targetScaling === undefined ? null : parseTargetScaling(json.targetScaling, network.loss, fail, network.outputs);
    return new Preprocessor({ schema, normalization, targetScaling });
  }
}

/**
 * The preprocessing fields as a model file writes them: normalization always (null when none), the
 * schema and target scaling only when present, so that a model without them is the file older
 * versions read.
 */
export function preprocessingToJson(parts: PreprocessorParts): PreprocessingJson {
  const { normalization, schema, targetScaling } = parts;
  return {
    normalization: normalization ? { kind: normalization.kind, offset: Array.from(normalization.offset), scale: Array.from(normalization.scale) } : null,
    ...(schema ? { schema: schemaToJson(schema) } : {}),
    ...(targetScaling ? { targetScaling: targetScalingToJson(targetScaling) } : {}),
  };
}

/** A target scaling as the files write it (perTarget only for several targets). */
export function targetScalingToJson(scaling: TargetScaling): Record<string, unknown> {
  return { offset: scaling.offset, scale: scaling.scale, ...(scaling.perTarget ? { perTarget: scaling.perTarget.map((p) => ({ offset: p.offset, scale: p.scale })) } : {}) };
}

/** { offset, scale } of a regression model's target (scale ≠ 0), as in the JSON file and the safetensors metadata. */
export function parseTargetScaling(value: unknown, loss: LossKind, fail: (what: string) => never, outputs = 1): TargetScaling {
  if (!isObject(value)) return fail('targetScaling must be an object with offset and scale');
  checkKeys(value, ['offset', 'scale'], 'targetScaling', fail, ['perTarget']);
  const { offset, scale, perTarget } = value;
  const pair = (o: unknown, s: unknown, where: string): { offset: number; scale: number } => {
    if (typeof o !== 'number' || !Number.isFinite(o) || typeof s !== 'number' || !Number.isFinite(s) || s === 0) fail(`${where}: offset and scale must be finite numbers, scale not 0`);
    return { offset: o as number, scale: s as number };
  };
  const own = pair(offset, scale, 'targetScaling');
  if (loss !== 'mse') fail('targetScaling: only a regression (mse) model scales its target');
  if (perTarget === undefined) return own;
  if (!Array.isArray(perTarget) || perTarget.length !== outputs || outputs < 2) return fail(`targetScaling.perTarget must hold one { offset, scale } per output (${outputs})`);
  return { ...own, perTarget: perTarget.map((entry: unknown, o) => (isObject(entry) ? pair(entry.offset, entry.scale, `targetScaling.perTarget[${o}]`) : fail(`targetScaling.perTarget[${o}] must be an object`))) };
}

/** { kind, offset, scale } of the input scaling (one float32 per input), or null. */
function parseNormalization(value: unknown, features: number, fail: (what: string) => never): Normalization | null {
  if (value === null) return null;
  if (!isObject(value)) return fail('normalization must be null or an object');
  checkKeys(value, ['kind', 'offset', 'scale'], 'normalization', fail);
  if (value.kind === 'none' || !NORMALIZATIONS.includes(value.kind as Normalization['kind'])) fail(`normalization: unknown kind ${describeValue(value.kind)}`);
  checkNumbers(value.offset, features, 'normalization.offset', fail);
  checkNumbers(value.scale, features, 'normalization.scale', fail);
  return { kind: value.kind as Normalization['kind'], offset: Float32Array.from(value.offset as number[]), scale: Float32Array.from(value.scale as number[]) };
}

/** "column x" / "inputs 3, 7" for a note: column names where each input is one numeric column. */
function inputNames(inputs: readonly number[], schema: Schema | null, features: number): string {
  const columns = schema ? featureColumns(schema) : null;
  const named = columns && columns.length === features ? inputs.map((f) => columns[f]!.name) : null;
  const list = (named ?? inputs.map((f) => String(f))).slice(0, 5).join(', ') + (inputs.length > 5 ? `, … (${inputs.length})` : '');
  return named ? `column${inputs.length === 1 ? '' : 's'} ${list}` : `input${inputs.length === 1 ? '' : 's'} ${list}`;
}
