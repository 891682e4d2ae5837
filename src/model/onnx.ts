// The ONNX model file (write only): a standard graph that onnxruntime, onnxruntime-web and other
// ONNX tools run as they are.
//
//   input [batch, features]
//   → Sub(offset) → Mul(scale)                      only for a model trained with --normalize
//   → Gemm(W, b, transB=1) → activation             each hidden layer (its nodes: ACTIVATIONS in math/ops.ts)
//   → Gemm(W, b, transB=1)                          the output layer
//   → Sigmoid (bce) | Softmax(axis=1) (cross-entropy) | nothing (mse)   (LOSSES in math/ops.ts)
//   → probabilities [batch, outputs]  (or output, for mse)
//
// Weights are stored [outputs, inputs] as nn.Linear stores them (hence transB=1), under the same
// names as in the safetensors file. The normalization stays two explicit nodes rather than being
// folded into the first Gemm: folding (W·diag(s), b − W·(o·s)) cancels large terms in float32 when
// |offset·scale| is large, e.g. a standardized feature whose mean is many standard deviations from
// 0, and would then lose digits that gradpool itself keeps; the explicit nodes compute exactly
// gradpool's (x − offset)·scale, and two element-wise ops cost nothing next to a Gemm. The
// metadata_props repeat the safetensors metadata (labels, normalization, … as JSON strings).
import type { Normalization } from '../data/normalize.js';
import { ACTIVATIONS, LOSSES, type LossKind, type LossOp, type OnnxGraphBuilder } from '../math/ops.js';
import { ProtoWriter, float32LittleEndian } from '../io/protobuf.js';
import { activationParameter, type LayerViews, type NetworkShape } from './layout.js';
import type { ModelExtras } from './json-file.js';
import { describeModel, tensorNames } from './safetensors.js';

/** ONNX 1.12's pair: opset 17 with IR version 8, run by onnxruntime ≥ 1.12 and onnxruntime-web. */
export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
export const ONNX_INPUT = 'input';
/** The symbolic batch dimension of the input and output. */
export const ONNX_BATCH = 'batch';

/** A classifier's output holds probabilities; a regression model's holds values. */
export function onnxOutputName(loss: LossKind): string {
  return loss === 'mse' ? 'output' : 'probabilities';
}

// Field numbers from onnx/onnx.proto.
const MODEL = { irVersion: 1, producerName: 2, docString: 6, graph: 7, opsetImport: 8, metadataProps: 14 } as const;
const OPSET_ID = { domain: 1, version: 2 } as const;
const ENTRY = { key: 1, value: 2 } as const;
const GRAPH = { node: 1, name: 2, initializer: 5, docString: 10, input: 11, output: 12 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5 } as const;
const ATTRIBUTE = { name: 1, f: 2, i: 3, type: 20 } as const;
const ATTRIBUTE_TYPE_FLOAT = 1;
const ATTRIBUTE_TYPE_INT = 2;
const TENSOR = { dims: 1, dataType: 2, name: 8, rawData: 9 } as const;
const TENSOR_FLOAT = 1;
const VALUE_INFO = { name: 1, type: 2, docString: 3 } as const;
const TYPE = { tensorType: 1 } as const;
const TENSOR_TYPE = { elemType: 1, shape: 2 } as const;
const SHAPE = { dim: 1 } as const;
const DIMENSION = { dimValue: 1, dimParam: 2 } as const;

/**
 * The input is the feature vector as gradpool's first layer sees it before normalization: for a CSV
 * model with categorical columns, the one-hot and imputed encoding the `schema` metadata describes.
 * A regression model trained on standardised targets returns them in the original units.
 */
export function serializeOnnx(shape: NetworkShape, layers: readonly LayerViews[], labels: readonly string[] | null, normalization: Normalization | null, extras: ModelExtras = { schema: null, targetScaling: null }): Uint8Array {
  const graph = new ProtoWriter().string(GRAPH.name, 'gradpool');
  const features = shape.sizes[0]!;
  const outputs = shape.sizes[shape.sizes.length - 1]!;
  const outputName = onnxOutputName(shape.loss);
  const initializers: ProtoWriter[] = [];
  let current = ONNX_INPUT;

  if (normalization) {
    initializers.push(tensor('normalize.offset', [features], normalization.offset), tensor('normalize.scale', [features], normalization.scale));
    graph.message(GRAPH.node, node('Sub', 'normalize.sub', [current, 'normalize.offset'], ['normalize.centered']));
    graph.message(GRAPH.node, node('Mul', 'normalize.mul', ['normalize.centered', 'normalize.scale'], ['normalized']));
    current = 'normalized';
  }
  /**
   * Writes the nodes a registry lowering asks for. A lowering of one node names it `prefix`, of more
   * `prefix.k.op`; the last node's output is `output` when given (the graph's output).
   */
  const lower = (prefix: string, build: (g: OnnxGraphBuilder) => string, output?: string): string => {
    const pending: { op: string; inputs: readonly string[]; name: string; floats: Readonly<Record<string, number>>; ints: Readonly<Record<string, number>> }[] = [];
    const builder: OnnxGraphBuilder = {
      node(op, inputs, floats = {}, ints = {}) {
        const name = `${prefix}#${pending.length}`;
        pending.push({ op, inputs, name, floats, ints });
        return name;
      },
      constant(value) {
        const name = `${prefix}.constant${initializers.length}`;
        initializers.push(tensor(name, [1], Float32Array.of(value)));
        return name;
      },
    };
    const result = build(builder);
    const scoped = (name: string): string => {
      const k = pending.findIndex((p) => p.name === name);
      if (k < 0) return name;
      if (name === result && output) return output;
      return pending.length === 1 ? prefix : `${prefix}.${k}.${pending[k]!.op.toLowerCase()}`;
    };
    for (const p of pending) graph.message(GRAPH.node, node(p.op, scoped(p.name), p.inputs.map(scoped), [scoped(p.name)], p.ints, p.floats));
    return scoped(result);
  };
  const last = layers.length - 1;
  const parameter = activationParameter(shape);
  layers.forEach((layer, l) => {
    const names = tensorNames(l);
    const [inputs, units] = [shape.sizes[l]!, shape.sizes[l + 1]!];
    initializers.push(tensor(names.weight, [units, inputs], layer.w), tensor(names.bias, [units], layer.b));
    const linear = l === last && shape.loss === 'mse' && !extras.targetScaling ? outputName : `${2 * l}.linear`;
    graph.message(GRAPH.node, node('Gemm', `${2 * l}.gemm`, [current, names.weight, names.bias], [linear], { transB: 1 }));
    current = linear;
    if (l < last) current = lower(`${2 * l + 1}.${shape.activation}`, (g) => ACTIVATIONS[shape.activation].onnx(g, current, parameter));
  });
  if (shape.loss === 'mse' && extras.targetScaling) {
    // Trained on (y − offset) · scale: back to the target's units, as Model.predict answers.
    // one offset and scale per output (several targets), broadcast over the rows
    const perTarget = extras.targetScaling.perTarget ?? [extras.targetScaling];
    initializers.push(tensor('target.scale', [perTarget.length], Float32Array.from(perTarget, (p) => p.scale)), tensor('target.offset', [perTarget.length], Float32Array.from(perTarget, (p) => p.offset)));
    graph.message(GRAPH.node, node('Div', 'target.div', [current, 'target.scale'], ['target.unscaled']));
    graph.message(GRAPH.node, node('Add', 'target.add', ['target.unscaled', 'target.offset'], [outputName]));
  }
  const outputOp = (LOSSES[shape.loss] as LossOp).onnx;
  if (outputOp) lower('output', (g) => outputOp(g, current), outputName);

  for (const initializer of initializers) graph.message(GRAPH.initializer, initializer);
  graph.string(GRAPH.docString, graphDescription(shape, labels, normalization));
  const encoded = extras.schema ? ' (encoded as the schema in the metadata says: one-hot categories, imputed cells)' : '';
  graph.message(GRAPH.input, valueInfo(ONNX_INPUT, features, `${normalization ? 'features, as given to gradpool (normalized inside the graph)' : 'features'}${encoded}`));
  graph.message(GRAPH.output, valueInfo(outputName, outputs, outputDescription(shape.loss, labels)));

  const model = new ProtoWriter()
    .varint(MODEL.irVersion, ONNX_IR_VERSION)
    .string(MODEL.producerName, 'gradpool')
    .string(MODEL.docString, 'A fully-connected network trained with gradpool.')
    .message(MODEL.graph, graph)
    .message(MODEL.opsetImport, new ProtoWriter().string(OPSET_ID.domain, '').varint(OPSET_ID.version, ONNX_OPSET));
  for (const [key, value] of Object.entries(describeModel(shape, labels, normalization, extras))) {
    model.message(MODEL.metadataProps, new ProtoWriter().string(ENTRY.key, key).string(ENTRY.value, value));
  }
  return model.finish();
}

/**
 * True when `bytes` start as an ONNX ModelProto usually does: ir_version (field 1, varint) and then
 * another ModelProto field. Only used to give an .onnx file passed to evaluate/predict a clear refusal.
 */
export function looksLikeOnnx(bytes: Uint8Array): boolean {
  return bytes.length > 3 && bytes[0] === 0x08 && bytes[1]! > 0 && bytes[1]! < 0x80 && [0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72].includes(bytes[2]!);
}

function tensor(name: string, dims: readonly number[], values: Float32Array): ProtoWriter {
  const t = new ProtoWriter();
  for (const d of dims) t.varint(TENSOR.dims, d);
  return t.varint(TENSOR.dataType, TENSOR_FLOAT).string(TENSOR.name, name).bytes(TENSOR.rawData, float32LittleEndian(values));
}

function node(opType: string, name: string, inputs: readonly string[], outputs: readonly string[], intAttributes: Record<string, number> = {}, floatAttributes: Readonly<Record<string, number>> = {}): ProtoWriter {
  const n = new ProtoWriter();
  for (const input of inputs) n.string(NODE.input, input);
  for (const output of outputs) n.string(NODE.output, output);
  n.string(NODE.name, name).string(NODE.opType, opType);
  for (const [key, value] of Object.entries(intAttributes)) {
    n.message(NODE.attribute, new ProtoWriter().string(ATTRIBUTE.name, key).varint(ATTRIBUTE.i, value).varint(ATTRIBUTE.type, ATTRIBUTE_TYPE_INT));
  }
  for (const [key, value] of Object.entries(floatAttributes)) {
    n.message(NODE.attribute, new ProtoWriter().string(ATTRIBUTE.name, key).float(ATTRIBUTE.f, value).varint(ATTRIBUTE.type, ATTRIBUTE_TYPE_FLOAT));
  }
  return n;
}

/** A float tensor [batch, width] with a symbolic batch dimension. */
function valueInfo(name: string, width: number, description: string): ProtoWriter {
  const shape = new ProtoWriter()
    .message(SHAPE.dim, new ProtoWriter().string(DIMENSION.dimParam, ONNX_BATCH))
    .message(SHAPE.dim, new ProtoWriter().varint(DIMENSION.dimValue, width));
  const tensorType = new ProtoWriter().varint(TENSOR_TYPE.elemType, TENSOR_FLOAT).message(TENSOR_TYPE.shape, shape);
  return new ProtoWriter().string(VALUE_INFO.name, name).message(VALUE_INFO.type, new ProtoWriter().message(TYPE.tensorType, tensorType)).string(VALUE_INFO.docString, description);
}

function outputDescription(loss: LossKind, labels: readonly string[] | null): string {
  if (loss === 'mse' || !labels) return 'predicted values';
  if (loss === 'bce') return `p(${JSON.stringify(labels[1])}); p(${JSON.stringify(labels[0])}) is 1 − p`;
  return `class probabilities in the order ${JSON.stringify(labels)}`;
}

function graphDescription(shape: NetworkShape, labels: readonly string[] | null, normalization: Normalization | null): string {
  const parts = [`sizes ${shape.sizes.join('-')}, ${shape.activation} hidden layers, ${shape.loss} output`];
  if (labels) parts.push(`labels ${JSON.stringify(labels)}`);
  if (normalization) parts.push(`${normalization.kind} normalization applied in the graph`);
  return parts.join('; ');
}
