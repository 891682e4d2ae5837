// A trained network: inference on the main thread, evaluation, and saving.
import { targetCount, writeTarget, type Dataset } from '../data/dataset.js';
import type { Normalization, TargetScaling } from '../data/normalize.js';
import { Preprocessor } from '../data/preprocess.js';
import { featureColumns, labelColumns, type CellValue, type FeatureColumn, type Schema } from '../data/schema.js';
import { InputError, describeValue } from '../errors.js';
import { referenceKernels, type Kernels } from '../math/kernels.js';
import { MAX_JSON_MODEL_CHARS, jsonModelBound, megabytes, parseModel, serializeModel, type HeldOut, type ModelExtras } from './json-file.js';
import { looksLikeOnnx, serializeOnnx } from './onnx.js';
import { looksLikeSafetensors, parseSafetensors, serializeSafetensors } from './safetensors.js';
import { layerViews, parameterCount, parameterLayout, type LayerViews, type NetworkShape, type ParameterLayout } from './layout.js';
import { ConfusionMatrix, predictedClass, regressionMetrics, type ClassMetrics, type MajorityBaseline, type RegressionMetrics } from './metrics.js';
import { chunkBufferLayout, countCorrect, forwardLoss, forwardOutputs, type ChunkBuffers } from './network.js';
import { WriteError, writeFileAtomic } from '../io/atomic.js';
import { openBounded, readBounded } from '../io/read.js';
import { INFERENCE_ROWS, MAX_PARAMETERS } from './limits.js';

export interface Evaluation {
  loss: number;
  /** null for regression. */
  accuracy: number | null;
  samples: number;
  /** Classification only: counts[actual][predicted], in label order. */
  confusion: number[][] | null;
  perClass: ClassMetrics[] | null;
  /** Classification: always predicting the most common class of these rows, the accuracy to beat. */
  baseline: MajorityBaseline | null;
  /** Regression, in the target's units (null for classification). */
  r2: number | null;
  rmse: number | null;
  mae: number | null;
  /** Regression: each target's R², RMSE and MAE (one entry for a single target). */
  perTarget: RegressionMetrics['perTarget'] | null;
}

/** How a model reads rows and writes values, besides its weights (all optional). */
export interface ModelPreprocessing {
  /**
   * The fitted preprocessing as one object (what train() fits): then the normalization argument is
   * null and `schema` and `targetScaling` are left out, as the object holds them.
   */
  readonly preprocessor?: Preprocessor | undefined;
  /** The training file's columns and their encoding: files are then read by column name. */
  readonly schema?: Schema | null | undefined;
  /** Regression: the target as trained; outputs are mapped back to its units. */
  readonly targetScaling?: TargetScaling | null | undefined;
  /** The validation rows training held out (seeded), recorded with the model. */
  readonly heldOut?: HeldOut | null | undefined;
}

/** One row for Model.predict: numbers (the inputs), or one value per column (in `columns` order), or values by column name. */
export type PredictRow = readonly CellValue[] | Readonly<Record<string, CellValue>>;

export class Model {
  readonly layout: ParameterLayout;
  readonly layers: readonly LayerViews[];
  /** How rows become inputs and outputs become values: schema, imputation, scaling (fitted on the training rows). */
  readonly preprocessor: Preprocessor;
  /** The validation rows held out in training (seed, fraction, sorted 0-based rows of the data), or null. */
  readonly heldOut: HeldOut | null;

  /**
   * @param parameters laid out by parameterLayout(shape) (copied, so the model owns its weights)
   * @param labels class names in output order, or null for regression
   * @param normalization applied to every input row before the first layer (fitted on the training rows);
   *   null where `preprocessing.preprocessor` holds it
   */
  constructor(
    readonly shape: NetworkShape,
    parameters: Float32Array,
    readonly labels: readonly string[] | null,
    normalization: Normalization | null = null,
    preprocessing: ModelPreprocessing = {},
  ) {
    const given = preprocessing.preprocessor;
    if (given !== undefined && !(given instanceof Preprocessor)) throw new InputError(`model: preprocessor must be a Preprocessor, got ${describeValue(given)}`);
    if (given && (normalization || preprocessing.schema || preprocessing.targetScaling)) throw new InputError('model: a preprocessor holds the normalization, schema and target scaling; give it alone');
    const preprocessor = given ?? new Preprocessor({ schema: preprocessing.schema, normalization, targetScaling: preprocessing.targetScaling });
    // Only a regression model maps its outputs back through a target scaling.
    this.preprocessor = shape.loss === 'mse' && labels === null ? preprocessor : preprocessor.withoutTargetScaling();
    this.heldOut = preprocessing.heldOut ?? null;
    this.layout = parameterLayout(shape);
    if (parameters.length !== this.layout.length) throw new Error(`model: expected ${this.layout.length} parameters, got ${parameters.length}`);
    this.parameters = Float32Array.from(parameters);
    this.layers = layerViews(this.layout, this.parameters);
  }

  readonly parameters: Float32Array;

  /** The training file's columns (null: inputs by position, as builtin sets, IDX files and older model files). */
  get schema(): Schema | null {
    return this.preprocessor.schema;
  }

  /** Applied to every input row before the first layer (fitted on the training rows), or null. */
  get normalization(): Normalization | null {
    return this.preprocessor.normalization;
  }

  /** Regression: the target as trained (outputs are mapped back to its units), or null. */
  get targetScaling(): TargetScaling | null {
    return this.preprocessor.targetScaling;
  }

  get inputs(): number {
    return this.shape.sizes[0]!;
  }

  get outputs(): number {
    return this.shape.sizes[this.shape.sizes.length - 1]!;
  }

  /**
   * Regression: the name of each output, as predict writes its columns: the label columns of a
   * multi-output model ("target_1", … without a schema that names them), ["predicted"] for one.
   */
  get targetNames(): string[] | null {
    if (this.labels) return null;
    if (this.outputs === 1) return ['predicted'];
    const named = this.schema ? labelColumns(this.schema).map((c) => c.name) : [];
    return named.length === this.outputs ? named : Array.from({ length: this.outputs }, (_, o) => `target_${o + 1}`);
  }

  /** Names of the columns the model reads, in order (null when it reads plain inputs by position). */
  get columns(): string[] | null {
    return this.schema ? featureColumns(this.schema).map((c) => c.name) : null;
  }

  /**
   * Raw network outputs for `rows` rows of x: probabilities (sigmoid/softmax) or values (mse). A
   * non-finite output (weights or scaling that overflow for a row) is an InputError naming the row
   * (`rowName(r)`, by default "row r" from 0) and its largest input, never a NaN passed on.
   */
  outputsFor(x: Float32Array, rows: number, kernels: Kernels = referenceKernels, rowName: (row: number) => string = (row) => `row ${row}`): Float32Array {
    const result = new Float32Array(rows * this.outputs);
    const buffers = inferenceBuffers(this.shape, Math.min(rows, INFERENCE_ROWS));
    for (let start = 0; start < rows; start += buffers.capacity) {
      const count = Math.min(buffers.capacity, rows - start);
      this.loadInputs(buffers, x, start, count);
      const out = forwardOutputs(kernels, this.shape, this.layers, buffers, count);
      result.set(out.subarray(0, count * this.outputs), start * this.outputs);
    }
    return this.finishOutputs(result, () => x, rowName);
  }

  /** The network's outputs mapped back to the target's units (in place), each checked finite (`inputs`: the rows' inputs, for the message). */
  private finishOutputs(result: Float32Array, inputs: () => Float32Array, rowName: (row: number) => string): Float32Array {
    if (this.targetScaling) for (let i = 0; i < result.length; i++) result[i] = this.preprocessor.inverseTarget(result[i]!, i % this.outputs);
    for (let i = 0; i < result.length; i++) {
      if (!Number.isFinite(result[i]!)) this.failNonFinite(inputs(), Math.floor(i / this.outputs), result[i]!, rowName);
    }
    return result;
  }

  /** The name of input f in messages: its column (a model with a schema of numeric columns) or "input f". */
  private inputName(f: number): string {
    const columns = this.schema ? featureColumns(this.schema) : null;
    return columns && columns.length === this.inputs ? `column ${JSON.stringify(columns[f]!.name)}` : `input ${f}`;
  }

  private failNonFinite(x: Float32Array, row: number, value: number, rowName: (row: number) => string): never {
    let largest = 0;
    for (let f = 1; f < this.inputs; f++) if (Math.abs(x[row * this.inputs + f]!) > Math.abs(x[row * this.inputs + largest]!)) largest = f;
    throw new InputError(`${rowName(row)}: the model's output is ${value} (its weights or scaling overflow for this row; its largest input is ${this.inputName(largest)} = ${x[row * this.inputs + largest]})`);
  }

  /** Copies rows [start, start+count) of x into the input buffer, imputed and normalized as in training. */
  private loadInputs(buffers: ChunkBuffers, x: Float32Array, start: number, count: number): void {
    const input = buffers.activations[0]!;
    input.set(x.subarray(start * this.inputs, (start + count) * this.inputs));
    this.preprocessor.transformInputs(input, this.inputs, 0, count);
  }

  /**
   * Class probabilities per row (one entry per label; a single sigmoid unit gives [1 − p, p]), or
   * [value] for a regression model, in the target's units. A row is the model's inputs as numbers;
   * a model trained on a CSV file also takes one raw value per column (see `columns`: numbers, dates,
   * category texts; null for a missing cell), as an array or an object by column name.
   */
  predict(rows: readonly PredictRow[]): number[][] {
    if (!Array.isArray(rows)) throw new InputError(`predict: rows must be an array of rows, got ${describeValue(rows)}`);
    const x = new Float32Array(rows.length * this.inputs);
    const columns = this.schema ? featureColumns(this.schema) : null;
    rows.forEach((row, r) => {
      const offset = r * this.inputs;
      if (typeof row !== 'object' || row === null) throw new InputError(`predict: row ${r} must be an array of values or an object by column name, got ${describeValue(row)}`);
      if (Array.isArray(row) && row.length === this.inputs && row.every((v) => typeof v === 'number') && (!columns || columns.length !== this.inputs || columns.every((c) => c.kind === 'numeric'))) {
        x.set(row as number[], offset);
      } else if (columns) {
        const values = Array.isArray(row) ? (row as readonly CellValue[]) : valuesByName(row as Readonly<Record<string, CellValue>>, columns, this.schema!, r);
        const problem = this.preprocessor.encodeRow(values, x, offset);
        if (problem) throw new InputError(`predict: row ${r} ${problem}`);
      } else {
        throw new InputError(`predict: row ${r} has ${Array.isArray(row) ? `${row.length} values` : 'named values'}, the model expects ${this.inputs} numbers`);
      }
      for (let i = offset; i < offset + this.inputs; i++) {
        const v = x[i]!;
        if (v !== v && !this.preprocessor.imputes(i - offset)) throw new InputError(`predict: row ${r} has a missing value (${this.inputName(i - offset)}), and the model was trained without --missing impute`);
        if (v === Infinity || v === -Infinity) throw new InputError(`predict: row ${r}, ${this.inputName(i - offset)}: ${v} is not a finite float32 value`);
      }
    });
    const outputs = this.outputsFor(x, rows.length, referenceKernels, (row) => `predict: row ${row}`);
    return rows.map((_, r) => this.probabilities(outputs, r));
  }

  /** Row r of outputsFor(...) as per-class probabilities. */
  probabilities(outputs: Float32Array, r: number): number[] {
    if (this.labels && this.outputs === 1) {
      const p = outputs[r]!;
      return [1 - p, p];
    }
    return Array.from(outputs.subarray(r * this.outputs, (r + 1) * this.outputs));
  }

  /** Mean loss and accuracy over a labelled dataset. */
  evaluate(dataset: Dataset, kernels: Kernels = referenceKernels): Evaluation {
    if (dataset.targets.kind === 'none') throw new InputError(`${dataset.source}: has no label column to evaluate against`);
    if (dataset.features !== this.inputs) throw new InputError(`${dataset.source}: has ${dataset.features} features, the model expects ${this.inputs}`);
    if (dataset.targets.kind === 'values' && targetCount(dataset.targets) !== this.outputs) throw new InputError(`${dataset.source}: has ${targetCount(dataset.targets)} target${targetCount(dataset.targets) === 1 ? '' : 's'} per row, the model predicts ${this.outputs}`);
    const buffers = inferenceBuffers(this.shape, Math.min(dataset.rows, INFERENCE_ROWS));
    let lossSum = 0;
    let correct = 0;
    const { targets } = dataset;
    const confusion = this.labels && targets.kind === 'classes' ? new ConfusionMatrix(this.labels) : null;
    const predictedValues = targets.kind === 'values' ? new Float64Array(dataset.rows * this.outputs) : null;
    for (let start = 0; start < dataset.rows; start += buffers.capacity) {
      const count = Math.min(buffers.capacity, dataset.rows - start);
      this.loadInputs(buffers, dataset.x, start, count);
      for (let r = 0; r < count; r++) writeTarget(dataset.targets, start + r, buffers.targets, r * this.outputs, this.outputs);
      this.preprocessor.transformTargets(buffers.targets, 0, count * this.outputs);
      lossSum += forwardLoss(kernels, this.shape, this.layers, buffers, count);
      const outputs = buffers.activations[this.shape.sizes.length - 1]!;
      // An output that is not a finite float32 in the target's units is an error, as in predict.
      for (let i = 0; i < count * this.outputs; i++) {
        const value = this.targetScaling ? Math.fround(this.preprocessor.inverseTarget(outputs[i]!, i % this.outputs)) : outputs[i]!;
        if (!Number.isFinite(value)) this.failNonFinite(buffers.activations[0]!, Math.floor(i / this.outputs), value, (row) => `${dataset.source}: row ${start + row + 1}`);
        if (predictedValues) predictedValues[start * this.outputs + i] = value;
      }
      if (!Number.isFinite(lossSum * this.lossUnit)) {
        throw new InputError(`${dataset.source}: the loss over rows ${start + 1}..${start + count} is ${lossSum} (the model's outputs overflow the loss)`);
      }
      correct += countCorrect(outputs, buffers.targets, count, this.outputs);
      if (confusion && targets.kind === 'classes') {
        for (let r = 0; r < count; r++) confusion.add(targets.index[start + r]!, predictedClass(outputs, r, this.outputs));
      }
    }
    return {
      // Regression: mean squared error in the target's own units (½‖out − y‖², as training reports it).
      loss: (lossSum * this.lossUnit) / dataset.rows,
      accuracy: this.labels ? correct / dataset.rows : null,
      samples: dataset.rows,
      confusion: confusion?.counts ?? null,
      perClass: confusion?.perClass() ?? null,
      baseline: confusion?.baseline() ?? null,
      ...regressionFields(predictedValues && targets.kind === 'values' ? regressionMetrics(predictedValues, targets.values, dataset.rows, this.outputs) : null),
    };
  }

  /**
   * Scores over rows prepared as training prepares them (targets as the arena holds them: one-hot, 0/1
   * or scaled values), from the network's own outputs for those rows (computed in train's arena with the
   * run's kernels: milliseconds where the TypeScript reference took seconds); `inputs` gives the rows'
   * prepared inputs, read only to name one in the error for a non-finite output.
   */
  scoreNetworkOutputs(outputs: Float32Array, y: Float32Array, rows: number, inputs: () => Float32Array, rowName: (row: number) => string): Omit<Evaluation, 'loss' | 'accuracy' | 'samples'> {
    return this.scoreOutputs(this.finishOutputs(outputs, inputs, rowName), y, rows);
  }

  /** Scores of outputs already in the target's units. */
  private scoreOutputs(outputs: Float32Array, y: Float32Array, rows: number): Omit<Evaluation, 'loss' | 'accuracy' | 'samples'> {
    const width = this.outputs;
    if (this.labels) {
      const confusion = new ConfusionMatrix(this.labels);
      for (let r = 0; r < rows; r++) confusion.add(predictedClass(y, r, width), predictedClass(outputs, r, width));
      return { confusion: confusion.counts, perClass: confusion.perClass(), baseline: confusion.baseline(), ...regressionFields(null) };
    }
    const actual = Float64Array.from(y.subarray(0, rows * width), (v, i) => this.preprocessor.inverseTarget(v, i % width));
    return { confusion: null, perClass: null, baseline: null, ...regressionFields(regressionMetrics(outputs, actual, rows, width)) };
  }

  /** What the model files carry besides weights, labels and normalization. */
  private get extras(): ModelExtras {
    return { schema: this.schema, targetScaling: this.targetScaling, heldOut: this.heldOut };
  }

  /** Loss in the target's units per loss on the scaled target: 1 / scale² (1 without target scaling). */
  get lossUnit(): number {
    return this.preprocessor.lossUnit;
  }

  /**
   * Writes the model atomically, in the format its extension names: .safetensors, .onnx (an
   * inference graph that gradpool does not read back), else the versioned JSON file. Through the
   * write guard (io/guard.ts): only a regular file or a new path is replaced. A JSON or safetensors
   * file is read back from disk before it replaces anything: a model gradpool could not load (or
   * whose weights differ) is never written.
   */
  async save(path: string): Promise<void> {
    if (typeof path !== 'string' || path === '') throw new InputError(`save: the path must be a non-empty string, got ${describeValue(path)}`);
    const args = [this.shape, this.layers, this.labels, this.normalization, this.extras] as const;
    const onnx = hasExtension(path, '.onnx');
    const contents = hasExtension(path, '.safetensors') ? serializeSafetensors(...args) : onnx ? serializeOnnx(...args) : serializeModel(...args, path);
    await writeFileAtomic(path, contents, { verify: onnx ? undefined : (temporary) => this.verifySaved(path, temporary) });
  }

  /** The written file loads back as this model's weights (and scaling), bit for bit. */
  private async verifySaved(path: string, temporary: string): Promise<void> {
    let loaded: Model;
    try {
      loaded = await loadModel(temporary);
    } catch (error) {
      throw new WriteError(path, new Error(`the model would not load back, so nothing was written (${error instanceof Error ? error.message.replace(temporary, 'the file') : String(error)})`));
    }
    // Value by value (JSON keeps no sign of a zero weight; -0 and 0 compute alike).
    const same = (a: Float32Array | undefined, b: Float32Array | undefined): boolean => {
      if (a === undefined || b === undefined) return a === b;
      if (a.length !== b.length) return false;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
      return true;
    };
    const layersSame = this.layers.every((layer, l) => same(layer.w, loaded.layers[l]?.w) && same(layer.b, loaded.layers[l]?.b));
    if (!layersSame || !same(loaded.normalization?.scale, this.normalization?.scale) || !same(loaded.normalization?.offset, this.normalization?.offset)) {
      throw new WriteError(path, new Error('the model read back differs from the one saved, so nothing was written'));
    }
  }
}

/**
 * Refuses, before training, a model file that could not be written: a JSON model whose text may
 * exceed the longest string Node can build (the file could be neither written nor read back).
 * `ref` names the option in the message.
 */
export function assertSavable(path: string, shape: NetworkShape, ref: string): void {
  if (hasExtension(path, '.safetensors') || hasExtension(path, '.onnx')) return;
  const bound = jsonModelBound(shape);
  if (bound > MAX_JSON_MODEL_CHARS) {
    throw new InputError(`${ref} ${path}: a JSON model of ${parameterCount(shape).toLocaleString('en-US')} parameters can reach ${megabytes(bound)} of text, beyond the ${megabytes(MAX_JSON_MODEL_CHARS)} Node can write and read back; use a .safetensors path`);
  }
}

/**
 * Reads a model file written by `Model.save` (or `gradpool train --out`). The format comes from the
 * content, so a renamed file still loads; the extension only decides whose error a corrupt file gets.
 */
export async function loadModel(path: string): Promise<Model> {
  if (typeof path !== 'string' || path === '') throw new InputError(`loadModel: the path must be a non-empty string, got ${describeValue(path)}`);
  let bytes: Buffer;
  try {
    await refuseOversizedJson(path);
    bytes = await readBounded(path, { shown: path, maxBytes: MAX_MODEL_BYTES, what: 'model file' });
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`${path}: cannot read model (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const safetensors = looksLikeSafetensors(bytes) || hasExtension(path, '.safetensors');
  if (!safetensors && (hasExtension(path, '.onnx') || looksLikeOnnx(bytes))) {
    throw new InputError(`${path}: an ONNX model, which gradpool writes but does not read back; use the .json or .safetensors file it was exported from (or run the .onnx in onnxruntime)`);
  }
  // A byte-order mark (an editor's) is not JSON, but says nothing against the model after it.
  const text = (): string => bytes.toString('utf8', hasUtf8Bom(bytes) ? 3 : 0);
  if (!safetensors && looksLikeUtf16(bytes)) throw new InputError(`${path}: a UTF-16 text file; a JSON model is UTF-8 (convert it, e.g. iconv -f UTF-16 -t UTF-8)`);
  const { shape, parameters, labels, normalization, schema, targetScaling, heldOut } = safetensors ? parseSafetensors(bytes, path) : parseModel(text(), path);
  return new Model(shape, parameters, labels, normalization, { schema, targetScaling, heldOut });
}

/**
 * The largest model file read: a safetensors file of the most float32 parameters a network may have
 * (MAX_PARAMETERS), with room for its header (at most 100 MB). Larger files are refused unread.
 */
export const MAX_MODEL_BYTES = MAX_PARAMETERS * 4 + 128 * 2 ** 20;

function hasUtf8Bom(bytes: Buffer): boolean {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

function looksLikeUtf16(bytes: Buffer): boolean {
  return bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff));
}

/** A JSON model longer than the longest string Node can build cannot be parsed: refused before reading it. */
async function refuseOversizedJson(path: string): Promise<void> {
  const { handle, size } = await openBounded(path, { shown: path, maxBytes: MAX_MODEL_BYTES, what: 'model file' });
  try {
    if (size <= MAX_JSON_MODEL_CHARS || hasExtension(path, '.safetensors') || hasExtension(path, '.onnx')) return;
    const head = Buffer.alloc(16);
    await handle.read(head, 0, head.length, 0);
    if (looksLikeSafetensors(head) || looksLikeOnnx(head)) return;
    throw new InputError(`${path}: a JSON model of ${megabytes(size)} is beyond the ${megabytes(MAX_JSON_MODEL_CHARS)} of text Node can parse; models this large are saved as .safetensors`);
  } finally {
    await handle.close();
  }
}

function hasExtension(path: string, extension: string): boolean {
  return path.toLowerCase().endsWith(extension);
}

/**
 * One value per column the model reads from a row given by column name, as the CLI reads a file: a
 * key that names no column, or a column without a key, is an error naming it (null or undefined as
 * a value is a missing cell; so is an absent key for a model that imputes, --missing impute).
 * Columns the model ignores (or its label) may be there, as in a file.
 */
function valuesByName(row: Readonly<Record<string, CellValue>>, columns: readonly FeatureColumn[], schema: Schema, r: number): CellValue[] {
  const known = new Set(schema.columns.map((c) => c.name));
  const unknown = Object.keys(row).filter((key) => !known.has(key));
  const list = (names: readonly string[]): string => names.slice(0, 20).map((n) => JSON.stringify(n.slice(0, 60))).join(', ') + (names.length > 20 ? ', …' : '');
  const reads = columns.map((c) => c.name);
  if (unknown.length > 0) throw new InputError(`predict: row ${r} has ${unknown.length === 1 ? 'a key' : 'keys'} ${list(unknown)} that name${unknown.length === 1 ? 's' : ''} no column of the model (it reads ${list(reads)})`);
  // A model that imputes reads an absent key as a missing cell (a misspelt one is refused above).
  const missing = schema.missing === 'impute' ? [] : reads.filter((name) => !Object.hasOwn(row, name));
  if (missing.length > 0) throw new InputError(`predict: row ${r} has no ${missing.length === 1 ? 'column' : 'columns'} ${list(missing)} that the model reads (give null for a missing value)`);
  return reads.map((name) => row[name]);
}

/** An evaluation's regression fields from its metrics (all null for classification). */
export function regressionFields(metrics: RegressionMetrics | null): Pick<Evaluation, 'r2' | 'rmse' | 'mae' | 'perTarget'> {
  return metrics ? { r2: metrics.r2, rmse: metrics.rmse, mae: metrics.mae, perTarget: metrics.perTarget } : { r2: null, rmse: null, mae: null, perTarget: null };
}

/**
 * Floats one inference chunk may take: rows per chunk shrink for wide layers (a schema of many
 * one-hot levels), so that buffers stay bounded whatever the width, never rows × width.
 */
const INFERENCE_FLOATS = 1 << 24;

function inferenceBuffers(shape: NetworkShape, capacity: number): ChunkBuffers {
  const perRow = chunkBufferLayout(shape, 1).floats;
  const layout = chunkBufferLayout(shape, Math.max(1, Math.min(capacity, Math.floor(INFERENCE_FLOATS / perRow))));
  return layout.place(new Float32Array(layout.floats), 0);
}
