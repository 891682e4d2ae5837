// The versioned JSON model file. Weights are written as JSON numbers: a float32 widened to a
// double prints exactly and parses back to the same float32, so a save/load round trip is lossless.
import type { Normalization, TargetScaling } from '../data/normalize.js';
import { checkKeys, checkNumbers, isObject } from '../data/fields.js';
import { Preprocessor, preprocessingToJson } from '../data/preprocess.js';
import type { Schema } from '../data/schema.js';
import { InputError, describeValue } from '../errors.js';
import { HIDDEN_ACTIVATIONS, LOSSES, LOSS_KINDS, type HiddenActivation, type LossKind } from '../math/ops.js';
import { constants } from 'node:buffer';
import { activationParameter, layerViews, parameterCount, parameterLayout, type LayerViews, type NetworkShape } from './layout.js';
import { networkSizeProblem, schemaSizeProblem } from './limits.js';

/** What a model file holds, ready for `new Model(...)`. */
export interface ModelContents {
  shape: NetworkShape;
  parameters: Float32Array;
  labels: string[] | null;
  normalization: Normalization | null;
  /** Columns and their encoding (a model trained on a CSV file), or null (inputs by position). */
  schema: Schema | null;
  /** Regression targets as trained (outputs are mapped back through it), or null. */
  targetScaling: TargetScaling | null;
  /** The validation rows held out in training, or null. */
  heldOut: HeldOut | null;
}

/** The rows a training run held out for validation: drawn with `seed`, `fraction` of the data, as sorted 0-based rows of the data as read. */
export interface HeldOut {
  readonly seed: number;
  readonly fraction: number;
  readonly rows: readonly number[];
}

/** What a model carries besides its weights and labels: how rows become inputs and outputs become values. */
export interface ModelExtras {
  readonly schema: Schema | null;
  readonly targetScaling: TargetScaling | null;
  readonly heldOut?: HeldOut | null | undefined;
}

export const MODEL_FORMAT = 'gradpool-model';
export const MODEL_VERSION = 1;

interface LayerJson {
  inputs: number;
  outputs: number;
  activation: string;
  weight: number[];
  bias: number[];
}

interface ModelJson {
  format: string;
  version: number;
  loss: LossKind;
  labels: string[] | null;
  normalization: { kind: string; offset: number[]; scale: number[] } | null;
  schema?: unknown;
  targetScaling?: Record<string, unknown>;
  /** leaky-relu's slope (only for that activation). */
  leakySlope?: number;
  heldOut?: HeldOut;
  /** Per class, the loss weight training used (--class-weight balanced): the run's record. */
  classWeights?: number[];
  layers: LayerJson[];
}

/** The longest string Node can build: a JSON model file must fit in one, to be written and read back. */
export const MAX_JSON_MODEL_CHARS = constants.MAX_STRING_LENGTH;
/** The longest a float32 prints as a JSON number, with its comma ("-0.0000012345678901234567,"). */
const MAX_NUMBER_CHARS = 26;

/** An upper bound on the JSON text of a model of this shape, from its sizes alone. */
export function jsonModelBound(shape: NetworkShape, labels: readonly string[] | null = null): number {
  const numbers = parameterCount(shape) + 2 * shape.sizes[0]!;
  return numbers * MAX_NUMBER_CHARS + JSON.stringify(labels ?? []).length + 200 * shape.sizes.length + 1000;
}

/** Refuses (InputError, before the string is built) a model whose JSON text Node could not hold. */
function assertJsonFits(shape: NetworkShape, layers: readonly LayerViews[], labels: readonly string[] | null, normalization: Normalization | null, target: string): void {
  if (jsonModelBound(shape, labels) <= MAX_JSON_MODEL_CHARS) return;
  // Near the limit: count exactly, as JSON.stringify will print each number.
  let chars = JSON.stringify(labels ?? []).length + 200 * shape.sizes.length + 1000;
  const add = (values: ArrayLike<number>): void => {
    for (let i = 0; i < values.length; i++) chars += String(values[i]).length + 1;
  };
  for (const layer of layers) {
    add(layer.w);
    add(layer.b);
  }
  if (normalization) {
    add(normalization.offset);
    add(normalization.scale);
  }
  if (chars > MAX_JSON_MODEL_CHARS) {
    throw new InputError(`${target}: this model's JSON text would be about ${megabytes(chars)}, more than the ${megabytes(MAX_JSON_MODEL_CHARS)} Node can hold in one string; save it as .safetensors`);
  }
}

export function megabytes(count: number): string {
  return `${Math.round(count / 2 ** 20)} MiB`;
}

export function serializeModel(shape: NetworkShape, layers: readonly LayerViews[], labels: readonly string[] | null, normalization: Normalization | null, extras: ModelExtras = { schema: null, targetScaling: null }, target = 'model'): string {
  assertJsonFits(shape, layers, labels, normalization, target);
  const last = layers.length - 1;
  const json: ModelJson = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    loss: shape.loss,
    labels: labels ? [...labels] : null,
    // normalization, then the schema and target scaling when present (data/preprocess.ts)
    ...preprocessingToJson({ normalization, schema: extras.schema, targetScaling: extras.targetScaling }),
    // the activation is recorded per hidden layer: without one there is no slope to keep either
    ...(shape.activation === 'leaky-relu' && shape.sizes.length > 2 ? { leakySlope: activationParameter(shape) } : {}),
    ...(extras.heldOut ? { heldOut: heldOutToJson(extras.heldOut) } : {}),
    ...(shape.classWeights ? { classWeights: [...shape.classWeights] } : {}),
    layers: layers.map((layer, l) => ({
      inputs: shape.sizes[l]!,
      outputs: shape.sizes[l + 1]!,
      activation: l === last ? LOSSES[shape.loss].output : shape.activation,
      weight: Array.from(layer.w),
      bias: Array.from(layer.b),
    })),
  };
  return JSON.stringify(json) + '\n';
}

export function parseModel(text: string, source: string): ModelContents {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // V8 quotes the offending text, newlines and all: keep the message on one line.
    throw new InputError(`${source}: not a JSON model file (${(error as Error).message})`);
  }
  const fail = (what: string): never => {
    throw new InputError(`${source}: ${what}`);
  };
  if (!isObject(json)) return fail('not a gradpool model (expected a JSON object)');
  checkKeys(json, ['format', 'version', 'loss', 'labels', 'normalization', 'layers'], 'model', fail, ['schema', 'targetScaling', 'heldOut', 'leakySlope', 'classWeights']);
  if (json.format !== MODEL_FORMAT) fail(`format is ${describeValue(json.format)}, expected "${MODEL_FORMAT}"`);
  if (json.version !== MODEL_VERSION) fail(`version ${describeValue(json.version)} is not supported (this gradpool reads version ${MODEL_VERSION})`);
  const loss = json.loss as LossKind;
  if (!LOSS_KINDS.includes(loss)) fail(`unknown loss ${describeValue(json.loss)}`);
  const labels = json.labels as string[] | null;
  if (labels !== null && !(Array.isArray(labels) && labels.every((l) => typeof l === 'string'))) fail('labels must be null or an array of strings');
  if (labels !== null) {
    const seen = new Set<string>();
    for (const label of labels) {
      if (seen.has(label)) fail(`labels: ${describeValue(label)} appears more than once`);
      seen.add(label);
    }
  }
  const layers = json.layers;
  if (!Array.isArray(layers) || layers.length === 0) return fail('layers must be a non-empty array');

  const sizes: number[] = [];
  let activation: HiddenActivation = 'relu';
  layers.forEach((layer: unknown, l) => {
    if (!isObject(layer)) return fail(`layers[${l}] must be an object`);
    checkKeys(layer, ['inputs', 'outputs', 'activation', 'weight', 'bias'], `layers[${l}]`, fail);
    const { inputs, outputs } = layer;
    if (!isPositiveInteger(inputs) || !isPositiveInteger(outputs)) return fail(`layers[${l}]: inputs and outputs must be positive integers`);
    if (l === 0) sizes.push(inputs);
    else if (inputs !== sizes[l]) fail(`layers[${l}]: inputs ${inputs} do not match the previous layer's outputs ${sizes[l]}`);
    sizes.push(outputs);
    const expectedActivation = l === layers.length - 1 ? LOSSES[loss].output : layer.activation;
    if (l < layers.length - 1) {
      if (!HIDDEN_ACTIVATIONS.includes(layer.activation as HiddenActivation)) fail(`layers[${l}]: unknown activation ${describeValue(layer.activation)}`);
      if (l > 0 && layer.activation !== activation) fail(`layers[${l}]: all hidden layers must share one activation`);
      activation = layer.activation as HiddenActivation;
    } else if (layer.activation !== expectedActivation) {
      fail(`layers[${l}]: output activation ${describeValue(layer.activation)} does not match loss "${loss}" (expected "${expectedActivation}")`);
    }
  });
  // From the sizes alone, before the weights are checked or anything is allocated for them.
  const tooLarge = networkSizeProblem({ sizes, activation, loss }) ?? (json.schema === undefined ? null : schemaSizeProblem(json.schema));
  if (tooLarge) fail(tooLarge);
  layers.forEach((layer: LayerJson, l) => {
    checkNumbers(layer.weight, sizes[l]! * sizes[l + 1]!, `layers[${l}].weight`, fail);
    checkNumbers(layer.bias, sizes[l + 1]!, `layers[${l}].bias`, fail);
  });
  const outputs = sizes[sizes.length - 1]!;
  if (labels !== null && labels.length !== (outputs === 1 ? 2 : outputs)) fail(`labels: ${labels.length} names for ${outputs} outputs`);
  if (labels === null && loss !== 'mse') fail('labels: a classification model needs its label names');

  const { normalization, schema, targetScaling } = Preprocessor.parse({ normalization: json.normalization, schema: json.schema, targetScaling: json.targetScaling }, { inputs: sizes[0]!, outputs, loss }, fail);
  const heldOut = json.heldOut === undefined ? null : parseHeldOut(json.heldOut, fail);
  const shape: NetworkShape = { sizes, activation, loss, ...parseLeakySlope(json.leakySlope, activation, fail), ...parseClassWeights(json.classWeights, labels, fail) };
  const layout = parameterLayout(shape);
  const parameters = new Float32Array(layout.length);
  layerViews(layout, parameters).forEach((views, l) => {
    const layer = layers[l] as LayerJson;
    views.w.set(layer.weight);
    views.b.set(layer.bias);
  });
  return { shape, parameters, labels: labels as string[] | null, normalization, schema, targetScaling, heldOut };
}

export function heldOutToJson(heldOut: HeldOut): { seed: number; fraction: number; rows: number[] } {
  return { seed: heldOut.seed, fraction: heldOut.fraction, rows: [...heldOut.rows] };
}

/** { seed, fraction, rows } of the held-out validation rows, as in the JSON file and the safetensors metadata. */
export function parseHeldOut(value: unknown, fail: (what: string) => never): HeldOut {
  if (!isObject(value)) return fail('heldOut must be an object with seed, fraction and rows');
  checkKeys(value, ['seed', 'fraction', 'rows'], 'heldOut', fail);
  const { seed, fraction, rows } = value;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) fail('heldOut.seed must be a whole number ≥ 0');
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction < 1)) fail('heldOut.fraction must be a number between 0 and 1');
  if (!Array.isArray(rows) || !rows.every((r, i) => typeof r === 'number' && Number.isInteger(r) && r >= 0 && (i === 0 || r > (rows[i - 1] as number)))) fail('heldOut.rows must be increasing 0-based row numbers');
  return { seed: seed as number, fraction: fraction as number, rows: rows as number[] };
}

/** leaky-relu's slope as a file records it (absent: the default), for the JSON file and the safetensors metadata. */
export function parseLeakySlope(value: unknown, activation: HiddenActivation, fail: (what: string) => never): { leakySlope?: number } {
  if (value === undefined) return {};
  if (activation !== 'leaky-relu') return fail(`leakySlope: only a leaky-relu model has one (this one uses ${activation})`);
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) return fail(`leakySlope must be a number ≥ 0 and < 1, got ${describeValue(value)}`);
  return { leakySlope: value };
}

/** The per-class loss weights a file records (absent: none), for the JSON file and the safetensors metadata. */
export function parseClassWeights(value: unknown, labels: readonly string[] | null, fail: (what: string) => never): { classWeights?: number[] } {
  if (value === undefined) return {};
  if (labels === null) return fail('classWeights: only a classification model has class weights');
  if (!Array.isArray(value) || value.length !== labels.length || !value.every((w) => typeof w === 'number' && Number.isFinite(w) && w > 0)) return fail(`classWeights must be ${labels.length} positive numbers, one per label`);
  return { classWeights: value as number[] };
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= 1 << 20;
}
