// One source of truth for where each layer's weights and bias live in the flat parameter buffer.
// The same layout describes the shared parameters and every gradient slab, so an update or a
// reduction is one flat loop over matching offsets.
import type { Floats } from '../math/kernels.js';
import { ACTIVATIONS, HYPER_PARAMETERS, type ActivationOp, type HiddenActivation, type LossKind } from '../math/ops.js';

/** The architecture: sizes[0] inputs, sizes[last] outputs, hidden sizes between. */
export interface NetworkShape {
  readonly sizes: readonly number[];
  readonly activation: HiddenActivation;
  readonly loss: LossKind;
  /** leaky-relu's slope for z < 0 (the default when absent; other activations have none). */
  readonly leakySlope?: number;
  /**
   * Per class, the weight of its rows' loss and output gradient (--class-weight balanced, fitted on
   * the training rows); absent: every row weighs 1. Training only: inference ignores it.
   */
  readonly classWeights?: readonly number[] | undefined;
}

/** The number the kernels take as the activation's `parameter`: its hyper-parameter, or 0. */
export function activationParameter(shape: NetworkShape): number {
  const name = (ACTIVATIONS[shape.activation] as ActivationOp).parameter;
  return name === undefined ? 0 : (shape[name] ?? HYPER_PARAMETERS[name].default);
}

export interface LayerSlot {
  readonly inputs: number;
  readonly outputs: number;
  /** Offsets in float32 elements from the start of the parameter buffer. */
  readonly weightOffset: number;
  readonly biasOffset: number;
}

export interface ParameterLayout {
  readonly layers: readonly LayerSlot[];
  /** Total float32 elements, including alignment padding. */
  readonly length: number;
}

/** Floats per alignment unit: 16 × 4 bytes = one 64-byte cache line, so SIMD loads never straddle. */
export const ALIGN_FLOATS = 16;

export function alignFloats(count: number): number {
  return Math.ceil(count / ALIGN_FLOATS) * ALIGN_FLOATS;
}

export function parameterLayout(shape: NetworkShape): ParameterLayout {
  const layers: LayerSlot[] = [];
  let offset = 0;
  for (let l = 1; l < shape.sizes.length; l++) {
    const inputs = shape.sizes[l - 1]!;
    const outputs = shape.sizes[l]!;
    const weightOffset = offset;
    offset += alignFloats(inputs * outputs);
    const biasOffset = offset;
    offset += alignFloats(outputs);
    layers.push({ inputs, outputs, weightOffset, biasOffset });
  }
  return { layers, length: offset };
}

/** Views of one layer's weight and bias inside a flat buffer laid out by `parameterLayout`. */
export interface LayerViews<F extends Floats = Float32Array> {
  readonly w: F;
  readonly b: F;
}

export function layerViews<F extends Floats>(layout: ParameterLayout, buffer: F): LayerViews<F>[] {
  return layout.layers.map((slot) => ({
    w: buffer.subarray(slot.weightOffset, slot.weightOffset + slot.inputs * slot.outputs) as F,
    b: buffer.subarray(slot.biasOffset, slot.biasOffset + slot.outputs) as F,
  }));
}

/** Multiply-adds of one sample's forward pass; forward + backward ≈ 3× this × 2 flops. */
export function multiplyAddsPerSample(shape: NetworkShape): number {
  let total = 0;
  for (let l = 1; l < shape.sizes.length; l++) total += shape.sizes[l - 1]! * shape.sizes[l]!;
  return total;
}

/**
 * Floating-point operations one training sample costs, as computed: the forward product (2W), the
 * weight gradient (2W) and the input gradient of every layer but the first, which is never needed
 * (2(W − W₀)), W being all weights and W₀ the first layer's. Activations and biases are left out.
 */
export function trainingFlopsPerSample(shape: NetworkShape): number {
  const weights = multiplyAddsPerSample(shape);
  const firstLayer = shape.sizes[0]! * shape.sizes[1]!;
  return 6 * weights - 2 * firstLayer;
}

export function parameterCount(shape: NetworkShape): number {
  let total = 0;
  for (let l = 1; l < shape.sizes.length; l++) total += (shape.sizes[l - 1]! + 1) * shape.sizes[l]!;
  return total;
}

/** Widest layer accepted: far beyond a useful width, and still one arena. */
export const MAX_LAYER_SIZE = 1 << 16;
