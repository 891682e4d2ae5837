// The safetensors model file, readable by PyTorch and Hugging Face tools:
//   u64 little-endian header length N | N bytes of JSON header, space-padded to a multiple of 8 | raw data.
// Tensor names are those of torch.nn.Sequential(Linear, Act, Linear, Act, ..., Linear): Linear k is
// module 2k, so its parameters are "2k.weight" [outputs, inputs] and "2k.bias" [outputs]. Our weight
// layout is already PyTorch's (row-major [outputs × inputs]), so tensors are written as they are.
import type { Normalization, TargetScaling } from '../data/normalize.js';
import { Preprocessor, preprocessingToJson } from '../data/preprocess.js';
import type { Schema } from '../data/schema.js';
import { InputError, describeValue } from '../errors.js';
import { HIDDEN_ACTIVATIONS, LOSS_KINDS, type HiddenActivation, type LossKind } from '../math/ops.js';
import { MODEL_FORMAT, MODEL_VERSION, heldOutToJson, parseHeldOut, parseClassWeights, parseLeakySlope, type HeldOut, type ModelContents, type ModelExtras } from './json-file.js';
import { activationParameter, layerViews, parameterCount, parameterLayout, type LayerViews, type NetworkShape } from './layout.js';
import { networkSizeProblem, schemaSizeProblem } from './limits.js';

const LENGTH_BYTES = 8;
const FLOAT_BYTES = 4;
/** The reference implementation refuses headers over 100 MB; so do we, before decoding one. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
const METADATA_KEYS = ['format', 'version', 'sizes', 'activation', 'loss', 'labels', 'normalization'] as const;
/** Present only in models that have them (trained on a CSV file; regression; held-out rows; leaky-relu). */
const OPTIONAL_METADATA_KEYS = ['schema', 'targetScaling', 'heldOut', 'leakySlope', 'classWeights'] as const;

type Metadata = Record<(typeof METADATA_KEYS)[number], string>;

interface TensorInfo {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Module names as nn.Sequential numbers them: the activations take the odd indexes. */
export function tensorNames(layer: number): { weight: string; bias: string } {
  return { weight: `${2 * layer}.weight`, bias: `${2 * layer}.bias` };
}

/** The architecture, labels, normalization and schema as string metadata (JSON where not a plain word); the ONNX file reuses it. */
export function describeModel(shape: NetworkShape, labels: readonly string[] | null, normalization: Normalization | null, extras: ModelExtras = { schema: null, targetScaling: null }): Metadata {
  const preprocessing = preprocessingToJson({ normalization, schema: extras.schema, targetScaling: extras.targetScaling });
  const metadata: Metadata & Partial<Record<(typeof OPTIONAL_METADATA_KEYS)[number], string>> = {
    format: MODEL_FORMAT,
    version: String(MODEL_VERSION),
    sizes: JSON.stringify(shape.sizes),
    activation: shape.activation,
    loss: shape.loss,
    labels: JSON.stringify(labels ?? null),
    // the fields of the JSON file, each as its JSON text (data/preprocess.ts)
    normalization: JSON.stringify(preprocessing.normalization),
    ...(preprocessing.schema ? { schema: JSON.stringify(preprocessing.schema) } : {}),
    ...(preprocessing.targetScaling ? { targetScaling: JSON.stringify(preprocessing.targetScaling) } : {}),
    ...(shape.activation === 'leaky-relu' ? { leakySlope: String(activationParameter(shape)) } : {}),
    ...(extras.heldOut ? { heldOut: JSON.stringify(heldOutToJson(extras.heldOut)) } : {}),
    ...(shape.classWeights ? { classWeights: JSON.stringify(shape.classWeights) } : {}),
  };
  return metadata;
}

/**
 * The normalization (x ← (x − offset) · scale, before the first Linear) goes into the metadata as
 * JSON, not into tensors, so that the tensors load strictly into a plain nn.Sequential.
 */
export function serializeSafetensors(shape: NetworkShape, layers: readonly LayerViews[], labels: readonly string[] | null, normalization: Normalization | null, extras: ModelExtras = { schema: null, targetScaling: null }): Uint8Array {
  const header: Record<string, unknown> = { [METADATA_KEY]: describeModel(shape, labels, normalization, extras) };
  const tensors: Float32Array[] = [];
  let offset = 0;
  layers.forEach((layer, l) => {
    const names = tensorNames(l);
    const [inputs, outputs] = [shape.sizes[l]!, shape.sizes[l + 1]!];
    for (const [name, values, dims] of [[names.weight, layer.w, [outputs, inputs]], [names.bias, layer.b, [outputs]]] as const) {
      header[name] = { dtype: 'F32', shape: dims, data_offsets: [offset, offset + values.length * FLOAT_BYTES] };
      offset += values.length * FLOAT_BYTES;
      tensors.push(values);
    }
  });
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Padding to 8 bytes keeps the data section aligned, so readers may view it as float32 in place.
  const headerLength = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(LENGTH_BYTES + headerLength + offset);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  bytes.set(json, LENGTH_BYTES);
  bytes.fill(0x20, LENGTH_BYTES + json.length, LENGTH_BYTES + headerLength);
  let position = LENGTH_BYTES + headerLength;
  for (const values of tensors) {
    for (let i = 0; i < values.length; i++, position += FLOAT_BYTES) view.setFloat32(position, values[i]!, true);
  }
  return bytes;
}

/**
 * True when `bytes` start like a safetensors file: a u64 length, then '{'. A JSON text never has a
 * zero byte among its first 8, while any real header length (< 2^56) has one.
 */
export function looksLikeSafetensors(bytes: Uint8Array): boolean {
  return bytes.length > LENGTH_BYTES && bytes[LENGTH_BYTES] === 0x7b && bytes.subarray(0, LENGTH_BYTES).includes(0);
}

export function parseSafetensors(bytes: Uint8Array, source: string): ModelContents {
  const fail = (what: string): never => {
    throw new InputError(`${source}: ${what}`);
  };
  if (bytes.length < LENGTH_BYTES) fail(`${bytes.length} bytes, too short for a safetensors file (it starts with an 8-byte header length)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  const available = bytes.length - LENGTH_BYTES;
  if (declared === 0n || declared > BigInt(MAX_HEADER_BYTES)) fail(`header length ${declared} is not a valid safetensors header length`);
  if (declared > BigInt(available)) fail(`header length ${declared} runs past the end of the file (${available} bytes follow the length)`);
  const headerLength = Number(declared);
  const header = parseHeader(bytes.subarray(LENGTH_BYTES, LENGTH_BYTES + headerLength), fail);
  const dataStart = LENGTH_BYTES + headerLength;
  const dataLength = bytes.length - dataStart;

  const metadata = parseMetadata(header[METADATA_KEY], fail);
  const shape: NetworkShape = { sizes: metadata.sizes, activation: metadata.activation, loss: metadata.loss, ...metadata.leakySlope, ...metadata.classWeights };
  // Check the claim against the bytes present before allocating for it: a tiny file must not be
  // able to ask for gigabytes.
  const needed = parameterCount(shape) * 4;
  if (needed > dataLength) fail(`sizes ${metadata.sizes.join(',')} need ${needed} bytes of weights, the file holds ${dataLength}`);
  const layout = parameterLayout(shape);
  const parameters = new Float32Array(layout.length);
  const expected = new Set([METADATA_KEY]);
  const ranges: [number, number, string][] = [];
  layerViews(layout, parameters).forEach((target, l) => {
    const names = tensorNames(l);
    const [inputs, outputs] = [shape.sizes[l]!, shape.sizes[l + 1]!];
    for (const [name, values, dims] of [[names.weight, target.w, [outputs, inputs]], [names.bias, target.b, [outputs]]] as const) {
      expected.add(name);
      const info = checkTensorInfo(header[name], name, dims, dataLength, fail);
      ranges.push([info.data_offsets[0], info.data_offsets[1], name]);
      readFloats(view, dataStart + info.data_offsets[0], values, name, fail);
    }
  });
  for (const key of Object.keys(header)) if (!expected.has(key)) fail(`unexpected key ${describeValue(key)} in the header (sizes ${JSON.stringify(shape.sizes)} name tensors ${[...expected].filter((k) => k !== METADATA_KEY).join(', ')})`);
  checkRanges(ranges, dataLength, fail);
  return { shape, parameters, labels: metadata.labels, normalization: metadata.normalization, schema: metadata.schema, targetScaling: metadata.targetScaling, heldOut: metadata.heldOut };
}

function parseHeader(headerBytes: Uint8Array, fail: (what: string) => never): Record<string, unknown> {
  if (headerBytes[0] !== 0x7b) fail('header does not start with "{" (not a safetensors file, or a wrong header length)');
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (error) {
    return fail(`header is not JSON (${(error as Error).message}); is the header length right?`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('header must be a JSON object');
  return json as Record<string, unknown>;
}

interface ParsedMetadata {
  sizes: number[];
  activation: HiddenActivation;
  loss: LossKind;
  labels: string[] | null;
  normalization: Normalization | null;
  schema: Schema | null;
  targetScaling: TargetScaling | null;
  leakySlope: { leakySlope?: number };
  classWeights: { classWeights?: number[] };
  heldOut: HeldOut | null;
}

function parseMetadata(value: unknown, fail: (what: string) => never): ParsedMetadata {
  if (value === undefined) return fail(`missing "${METADATA_KEY}" (a gradpool model records its sizes, activation, loss and labels there)`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(`"${METADATA_KEY}" must be an object of strings`);
  const metadata = value as Record<string, unknown>;
  for (const key of Object.keys(metadata)) if (![...METADATA_KEYS, ...OPTIONAL_METADATA_KEYS].includes(key as never)) fail(`${METADATA_KEY}: unexpected key ${describeValue(key)}`);
  for (const key of OPTIONAL_METADATA_KEYS) if (key in metadata && typeof metadata[key] !== 'string') fail(`${METADATA_KEY}.${key} must be a string (safetensors metadata holds strings only)`);
  for (const key of METADATA_KEYS) {
    if (!(key in metadata)) fail(`${METADATA_KEY}: missing key "${key}"`);
    if (typeof metadata[key] !== 'string') fail(`${METADATA_KEY}.${key} must be a string (safetensors metadata holds strings only)`);
  }
  const m = metadata as Metadata;
  if (m.format !== MODEL_FORMAT) fail(`${METADATA_KEY}.format is ${describeValue(m.format)}, expected "${MODEL_FORMAT}"`);
  if (m.version !== String(MODEL_VERSION)) fail(`${METADATA_KEY}.version ${describeValue(m.version)} is not supported (this gradpool reads version ${MODEL_VERSION})`);
  const sizes = parseJsonField(m.sizes, 'sizes', fail);
  if (!Array.isArray(sizes) || sizes.length < 2 || !sizes.every(isLayerSize)) fail(`${METADATA_KEY}.sizes must be a JSON array of at least 2 positive integers, got ${m.sizes}`);
  if (!HIDDEN_ACTIVATIONS.includes(m.activation as HiddenActivation)) fail(`${METADATA_KEY}.activation: unknown activation ${describeValue(m.activation)}`);
  if (!LOSS_KINDS.includes(m.loss as LossKind)) fail(`${METADATA_KEY}.loss: unknown loss ${describeValue(m.loss)}`);
  // From the sizes alone, before the bytes are compared with them or anything is allocated.
  const tooLarge = networkSizeProblem({ sizes: sizes as number[], activation: m.activation as HiddenActivation, loss: m.loss as LossKind });
  if (tooLarge) fail(tooLarge);
  const rawSchema = typeof metadata.schema === 'string' ? parseJsonField(metadata.schema, 'schema', fail) : undefined;
  const levels = rawSchema === undefined ? null : schemaSizeProblem(rawSchema);
  if (levels) fail(`${METADATA_KEY}.${levels}`);
  const labels = parseJsonField(m.labels, 'labels', fail);
  if (labels !== null && !(Array.isArray(labels) && labels.every((l) => typeof l === 'string'))) fail(`${METADATA_KEY}.labels must be "null" or a JSON array of strings`);
  if (Array.isArray(labels) && new Set(labels).size !== labels.length) fail(`${METADATA_KEY}.labels: a label appears more than once`);
  const outputs = (sizes as number[])[(sizes as number[]).length - 1]!;
  const names = labels as string[] | null;
  if (names !== null && names.length !== (outputs === 1 ? 2 : outputs)) fail(`${METADATA_KEY}.labels: ${names.length} names for ${outputs} outputs`);
  if (names === null && m.loss !== 'mse') fail(`${METADATA_KEY}.labels: a classification model needs its label names`);
  const prefixed = (what: string): never => fail(`${METADATA_KEY}.${what}`);
  // The preprocessing fields hold the JSON file's values as JSON texts: read by the same parser.
  const fields = { normalization: parseJsonField(m.normalization, 'normalization', fail), schema: rawSchema, targetScaling: typeof metadata.targetScaling === 'string' ? parseJsonField(metadata.targetScaling, 'targetScaling', fail) : undefined };
  const { normalization, schema, targetScaling } = Preprocessor.parse(fields, { inputs: (sizes as number[])[0]!, outputs, loss: m.loss as LossKind }, prefixed);
  const leakySlope = typeof metadata.leakySlope === 'string' ? parseLeakySlope(parseJsonField(metadata.leakySlope, 'leakySlope', fail), m.activation as HiddenActivation, prefixed) : {};
  const heldOut = typeof metadata.heldOut === 'string' ? parseHeldOut(parseJsonField(metadata.heldOut, 'heldOut', fail), prefixed) : null;
  const classWeights = typeof metadata.classWeights === 'string' ? parseClassWeights(parseJsonField(metadata.classWeights, 'classWeights', fail), names, prefixed) : {};
  return { sizes: sizes as number[], activation: m.activation as HiddenActivation, loss: m.loss as LossKind, labels: names, normalization, schema, targetScaling, heldOut, leakySlope, classWeights };
}

function parseJsonField(text: string, key: string, fail: (what: string) => never): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return fail(`${METADATA_KEY}.${key} is not JSON: ${JSON.stringify(text.slice(0, 60))}`);
  }
}

function isLayerSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= 1 << 20;
}

function checkTensorInfo(value: unknown, name: string, dims: readonly number[], dataLength: number, fail: (what: string) => never): TensorInfo {
  if (value === undefined) return fail(`missing tensor "${name}"`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(`${name}: must be an object with dtype, shape and data_offsets`);
  const info = value as Record<string, unknown>;
  for (const key of Object.keys(info)) if (!['dtype', 'shape', 'data_offsets'].includes(key)) fail(`${name}: unexpected key ${describeValue(key)}`);
  if (info.dtype !== 'F32') fail(`${name}: dtype ${describeValue(info.dtype)}, expected "F32"`);
  const shape: unknown = info.shape;
  const flat = Array.isArray(shape) && shape.length <= 8 && shape.every((d) => typeof d === 'number');
  if (!flat || shape.length !== dims.length || shape.some((d, i) => d !== dims[i])) {
    fail(`${name}: shape ${flat ? JSON.stringify(shape) : describeValue(shape)}, expected ${JSON.stringify(dims)} from the sizes in ${METADATA_KEY}`);
  }
  const offsets = info.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) fail(`${name}: data_offsets must be [begin, end] byte offsets`);
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) fail(`${name}: data_offsets [${begin}, ${end}] lie outside the ${dataLength} data bytes`);
  const bytes = dims.reduce((a, b) => a * b, 1) * FLOAT_BYTES;
  if (end - begin !== bytes) fail(`${name}: data_offsets [${begin}, ${end}] span ${end - begin} bytes, a ${JSON.stringify(dims)} F32 tensor needs ${bytes}`);
  return { dtype: 'F32', shape: [...dims], data_offsets: [begin, end] };
}

function readFloats(view: DataView, position: number, out: Float32Array, name: string, fail: (what: string) => never): void {
  for (let i = 0; i < out.length; i++, position += FLOAT_BYTES) {
    const value = view.getFloat32(position, true);
    if (!Number.isFinite(value)) fail(`${name}[${i}] is ${value}, not a finite number`);
    out[i] = value;
  }
}

/** Tensors may come in any order, but must tile the data section: no overlap, no gap, nothing after. */
function checkRanges(ranges: [number, number, string][], dataLength: number, fail: (what: string) => never): void {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let previous = '';
  for (const [begin, end, name] of sorted) {
    if (begin < covered) fail(`${name}: data_offsets [${begin}, ${end}] overlap ${previous}`);
    if (begin > covered) fail(`${name}: data_offsets start at ${begin}, leaving bytes ${covered}–${begin} unused`);
    covered = end;
    previous = name;
  }
  if (covered !== dataLength) fail(`${dataLength - covered} data bytes after the last tensor (the tensors cover ${covered} of ${dataLength})`);
}
