// Reference kernels: plain TypeScript over Float32Array views, no I/O, no allocation.
// Layout conventions (row-major, like PyTorch's nn.Linear):
//   activations a: [rows × inputs], weights w: [outputs × inputs], bias b: [outputs],
//   pre-activations z / outputs: [rows × outputs].
// Argument order follows llm.c: outputs first, then inputs, dimensions last; gradients are prefixed d.
import { GELU_CUBIC, GELU_SCALE, type HiddenActivation, type LossKind, type OptimizerName } from './ops.js';

// Every kernel reads only the first rows × width elements of its views, so one view sized for the
// largest chunk serves every smaller chunk.

/** Either float width: training runs in float32; the gradient check runs the same code in float64. */
export type Floats = Float32Array | Float64Array;

/** The kernel set the network runs on; the wasm SIMD and the native kernels implement it for Float32Array. */
export interface Kernels<F extends Floats = Float32Array> {
  readonly name: string;
  /**
   * z[rows×outputs] = a[rows×inputs] · wᵀ + b, only for the output neurons [from, to) (default: all).
   * Every element is its own dot product, computed alike whatever the range: split on multiples of
   * TILE_COLUMNS (the wasm kernel pairs neurons from the start of its range), a split gives the bits
   * of one full call.
   */
  denseForward(z: F, a: F, w: F, b: F, rows: number, inputs: number, outputs: number, from?: number, to?: number): void;
  /**
   * dw[outputs×inputs] (+)= dzᵀ · a;  db[outputs] (+)= Σ_rows dz — adding when accumulate, else overwriting;
   * only for the output neurons [from, to) (default: all). Every element is summed over the rows in the
   * same order whatever the range, so a split of the neurons gives the bits of one full call.
   */
  denseBackwardParams(dw: F, db: F, dz: F, a: F, rows: number, inputs: number, outputs: number, accumulate: boolean, from?: number, to?: number): void;
  /** da[rows×inputs] = dz[rows×outputs] · w */
  denseBackwardInput(da: F, dz: F, w: F, rows: number, inputs: number, outputs: number): void;
  /**
   * out ← act(z) (out may be z itself: in place) for `count` elements taken as runs of `columns`
   * consecutive elements, `stride` apart (a block of a row-major matrix's columns; default: one run).
   * `parameter` is the activation's hyper-parameter (leaky-relu's slope; ignored by the others).
   */
  activationForward(activation: HiddenActivation, out: F, z: F, count: number, parameter: number, columns?: number, stride?: number): void;
  /** grad ← grad ⊙ act′, act′ computed from `saved`: the output a or the input z, as ACTIVATIONS[activation].backwardFrom says (runs as activationForward's). */
  activationBackward(activation: HiddenActivation, grad: F, saved: F, count: number, parameter: number, columns?: number, stride?: number): void;
  /** Output layer and loss fused: z → probabilities/outputs in place, dz = out − y; returns Σ loss over rows. */
  outputLoss(loss: LossKind, out: F, dz: F, y: F, rows: number, outputs: number): number;
  /** into[i] += add[i] for i in [from, to): the gradient-slab reduction. */
  addInto(into: F, add: F, from: number, to: number): void;
  /**
   * Rows [at, at + rows) of `into` ← rows order[start], …, order[start + rows − 1] of `data`, rows of
   * `width` floats: a batch's rows, in the epoch's order, into a scratch area (a RangeError for an
   * order entry that is not a row of `data`).
   */
  gatherRows(into: F, at: number, data: F, order: Int32Array, start: number, rows: number, width: number): void;
  /**
   * One optimizer step over [from, to): w from g (gradient sums) and the optimizer's state buffers
   * (`first`, `second`: unused ones may be any view), with the coefficients OPTIMIZERS_BY_NAME[optimizer]
   * writes for this step.
   */
  optimizerUpdate(optimizer: OptimizerName, w: F, g: F, first: F, second: F, from: number, to: number, coefficients: Float64Array): void;
}

// The ops themselves are declared in ops.ts; these names are re-exported for the kernels' users.
export { HIDDEN_ACTIVATIONS, LOSS_KINDS, OPTIMIZERS, type HiddenActivation, type LossKind, type OptimizerName } from './ops.js';

// ---- dense layer: forward beside its two backward halves ----

export function denseForward(z: Floats, a: Floats, w: Floats, b: Floats, rows: number, inputs: number, outputs: number, from = 0, to = outputs): void {
  for (let r = 0; r < rows; r++) {
    const aRow = r * inputs;
    const zRow = r * outputs;
    for (let o = from; o < to; o++) {
      const wRow = o * inputs;
      let sum = 0;
      for (let k = 0; k < inputs; k++) sum += a[aRow + k]! * w[wRow + k]!;
      z[zRow + o] = sum + b[o]!;
    }
  }
}

export function denseBackwardParams(dw: Floats, db: Floats, dz: Floats, a: Floats, rows: number, inputs: number, outputs: number, accumulate: boolean, from = 0, to = outputs): void {
  // Overwriting saves zeroing the slab before the first chunk of a shard.
  if (!accumulate) {
    dw.fill(0, from * inputs, to * inputs);
    db.fill(0, from, to);
  }
  for (let r = 0; r < rows; r++) {
    const aRow = r * inputs;
    const dzRow = r * outputs;
    for (let o = from; o < to; o++) {
      const g = dz[dzRow + o]!;
      db[o] = db[o]! + g;
      if (g === 0) continue; // relu zeroes many entries; skipping them is exact
      const wRow = o * inputs;
      for (let k = 0; k < inputs; k++) dw[wRow + k] = dw[wRow + k]! + g * a[aRow + k]!;
    }
  }
}

export function denseBackwardInput(da: Floats, dz: Floats, w: Floats, rows: number, inputs: number, outputs: number): void {
  da.fill(0, 0, rows * inputs);
  for (let r = 0; r < rows; r++) {
    const daRow = r * inputs;
    const dzRow = r * outputs;
    for (let o = 0; o < outputs; o++) {
      const g = dz[dzRow + o]!;
      if (g === 0) continue;
      const wRow = o * inputs;
      for (let k = 0; k < inputs; k++) da[daRow + k] = da[daRow + k]! + g * w[wRow + k]!;
    }
  }
}

// ---- hidden activations: forward beside backward ----

export function activationForward(activation: HiddenActivation, out: Floats, z: Floats, count: number, parameter: number, columns = count, stride = columns): void {
  if (!(columns > 0)) return;
  for (let start = 0, done = 0; done < count; start += stride, done += columns) activationForwardRun(activation, out, z, start, start + columns, parameter);
}

/** One run: elements [start, end). */
function activationForwardRun(activation: HiddenActivation, out: Floats, z: Floats, start: number, end: number, parameter: number): void {
  switch (activation) {
    case 'relu':
      for (let i = start; i < end; i++) out[i] = z[i]! > 0 ? z[i]! : 0; // NaN and −0 → +0
      return;
    case 'sigmoid':
      for (let i = start; i < end; i++) out[i] = sigmoid(z[i]!);
      return;
    case 'tanh':
      for (let i = start; i < end; i++) out[i] = Math.tanh(z[i]!);
      return;
    case 'leaky-relu':
      for (let i = start; i < end; i++) out[i] = z[i]! > 0 ? z[i]! : z[i]! * parameter;
      return;
    case 'gelu':
      for (let i = start; i < end; i++) { const x = z[i]!; out[i] = 0.5 * x * (1 + Math.tanh(GELU_SCALE * (x + GELU_CUBIC * x * x * x))); }
      return;
    case 'silu':
      for (let i = start; i < end; i++) { const x = z[i]!; out[i] = x * sigmoid(x); }
      return;
  }
}

export function activationBackward(activation: HiddenActivation, grad: Floats, saved: Floats, count: number, parameter: number, columns = count, stride = columns): void {
  if (!(columns > 0)) return;
  for (let start = 0, done = 0; done < count; start += stride, done += columns) activationBackwardRun(activation, grad, saved, start, start + columns, parameter);
}

function activationBackwardRun(activation: HiddenActivation, grad: Floats, saved: Floats, start: number, end: number, parameter: number): void {
  switch (activation) {
    case 'relu': // relu′(z) = 1 where a > 0
      for (let i = start; i < end; i++) if (!(saved[i]! > 0)) grad[i] = 0;
      return;
    case 'sigmoid': { // σ′(z) = a(1 − a)
      for (let i = start; i < end; i++) { const ai = saved[i]!; grad[i] = grad[i]! * ai * (1 - ai); }
      return;
    }
    case 'tanh': { // tanh′(z) = 1 − a²
      for (let i = start; i < end; i++) { const ai = saved[i]!; grad[i] = grad[i]! * (1 - ai * ai); }
      return;
    }
    case 'leaky-relu': // 1 where a > 0, else the slope
      for (let i = start; i < end; i++) if (!(saved[i]! > 0)) grad[i] = grad[i]! * parameter;
      return;
    case 'gelu': // from z: ½(1 + t) + ½·z·(1 − t²)·√(2/π)·(1 + 3·0.044715·z²), t = tanh(u)
      for (let i = start; i < end; i++) {
        const x = saved[i]!;
        const t = Math.tanh(GELU_SCALE * (x + GELU_CUBIC * x * x * x));
        grad[i] = grad[i]! * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_SCALE * (1 + 3 * GELU_CUBIC * x * x));
      }
      return;
    case 'silu': // from z: σ(z)·(1 + z·(1 − σ(z)))
      for (let i = start; i < end; i++) { const x = saved[i]!; const s = sigmoid(x); grad[i] = grad[i]! * (s * (1 + x * (1 - s))); }
      return;
  }
}

function sigmoid(x: number): number {
  // Branching keeps exp's argument ≤ 0, so it never overflows.
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

// ---- output layer + loss, fused: forward and the start of backward in one pass ----

/**
 * For each row: turns the logits in `out` into outputs in place, writes dz = out − y and returns the summed loss.
 * bce:            sigmoid output, loss = −[y log p + (1−y) log(1−p)], computed from the logit (no log(0)).
 * cross-entropy:  softmax output, loss = −Σ y log p, with log-sum-exp so large logits cannot overflow.
 * mse:            linear output, loss = ½‖out − y‖², whose gradient is exactly out − y.
 * In all three, ∂loss/∂z = out − y: the cancellation that makes these pairings canonical.
 */
export function outputLoss(loss: LossKind, out: Floats, dz: Floats, y: Floats, rows: number, outputs: number): number {
  let total = 0;
  const count = rows * outputs;
  switch (loss) {
    case 'bce':
      for (let i = 0; i < count; i++) {
        const z = out[i]!;
        const t = y[i]!;
        // −[t log σ(z) + (1−t) log(1−σ(z))] = max(z,0) − z·t + log(1 + e^−|z|)
        total += Math.max(z, 0) - z * t + Math.log1p(Math.exp(-Math.abs(z)));
        const p = sigmoid(z);
        out[i] = p;
        dz[i] = p - t;
      }
      return total;
    case 'cross-entropy':
      for (let r = 0; r < rows; r++) {
        const row = r * outputs;
        const logSumExp = rowLogSumExp(out, row, outputs);
        for (let o = 0; o < outputs; o++) {
          const z = out[row + o]!;
          const t = y[row + o]!;
          if (t !== 0) total += t * (logSumExp - z);
          const p = Math.exp(z - logSumExp);
          out[row + o] = p;
          dz[row + o] = p - t;
        }
      }
      return total;
    case 'mse':
      for (let i = 0; i < count; i++) {
        const diff = out[i]! - y[i]!;
        total += 0.5 * diff * diff;
        dz[i] = diff;
      }
      return total;
  }
}

/** The output activation alone (inference: no targets, no loss). */
export function outputActivation(loss: LossKind, out: Floats, rows: number, outputs: number): void {
  const count = rows * outputs;
  if (loss === 'bce') {
    for (let i = 0; i < count; i++) out[i] = sigmoid(out[i]!);
  } else if (loss === 'cross-entropy') {
    for (let r = 0; r < rows; r++) {
      const row = r * outputs;
      const logSumExp = rowLogSumExp(out, row, outputs);
      for (let o = 0; o < outputs; o++) out[row + o] = Math.exp(out[row + o]! - logSumExp);
    }
  }
}

/** log Σ exp(z) over one row of logits, shifted by the row's maximum so that exp cannot overflow. */
function rowLogSumExp(z: Floats, row: number, width: number): number {
  let max = -Infinity;
  for (let o = 0; o < width; o++) max = Math.max(max, z[row + o]!);
  let sumExp = 0;
  for (let o = 0; o < width; o++) sumExp += Math.exp(z[row + o]! - max);
  return max + Math.log(sumExp);
}

export function addInto(into: Floats, add: Floats, from: number, to: number): void {
  for (let i = from; i < to; i++) into[i] = into[i]! + add[i]!;
}

export function gatherRows(into: Floats, at: number, data: Floats, order: Int32Array, start: number, rows: number, width: number): void {
  const dataRows = Math.floor(data.length / width);
  for (let r = 0; r < rows; r++) {
    const row = order[start + r]!;
    if (!(row >= 0 && row < dataRows)) throw new RangeError(`order[${start + r}] = ${row} is not a row of the data (${dataRows} rows)`);
    const from = row * width;
    const base = (at + r) * width;
    for (let i = 0; i < width; i++) into[base + i] = data[from + i]!;
  }
}

/**
 * The update rules, switched on the optimizer (h: its coefficients, see OPTIMIZERS_BY_NAME in ops.ts).
 * SGD steps in float32 in the same order as the SIMD kernels, so all give the same bits; the others
 * compute in f64 and store float32, and the native and wasm kernels repeat this arithmetic operation
 * for operation (same order, no fused multiply-add), so they give the same bits too.
 */
export function optimizerUpdate(optimizer: OptimizerName, w: Floats, g: Floats, first: Floats, second: Floats, from: number, to: number, h: Float64Array): void {
  switch (optimizer) {
    case 'sgd': { // w ← w·(1 − lr·λ) − g·lr/rows
      const mean = Math.fround(h[0]!);
      const keep = Math.fround(1 - h[1]!);
      for (let i = from; i < to; i++) w[i] = Math.fround(Math.fround(w[i]! * keep) - Math.fround(g[i]! * mean));
      return;
    }
    case 'momentum': { // v ← μ·v + g/rows + λ·w;  w ← w − lr·v
      const lr = h[0]!, invBatch = h[1]!, decay = h[2]!, momentum = h[3]!;
      for (let i = from; i < to; i++) {
        const wi = w[i]!;
        const v = momentum * first[i]! + g[i]! * invBatch + decay * wi;
        first[i] = v;
        w[i] = wi - lr * v;
      }
      return;
    }
    case 'adam':
    case 'adamw': {
      // ĝ = g/rows (+ λ·w for adam);  m ← β1·m + (1−β1)·ĝ;  s ← β2·s + (1−β2)·ĝ²;
      // w ← w' − lr·(m / c1) / (√(s / c2) + ε), where w' = w (adam) or w·(1 − lr·λ) (adamw)
      const lr = h[0]!, invBatch = h[1]!, decay = h[2]!, beta1 = h[3]!, beta2 = h[4]!, epsilon = h[5]!, correction1 = h[6]!, correction2 = h[7]!;
      const coupled = optimizer === 'adam' ? decay : 0;
      const keep = optimizer === 'adamw' ? 1 - lr * decay : 1;
      for (let i = from; i < to; i++) {
        const wi = w[i]!;
        const gi = g[i]! * invBatch + coupled * wi;
        const m = beta1 * first[i]! + (1 - beta1) * gi;
        const s = beta2 * second[i]! + (1 - beta2) * gi * gi;
        first[i] = m;
        second[i] = s;
        w[i] = wi * keep - (lr * (m / correction1)) / (Math.sqrt(s / correction2) + epsilon);
      }
      return;
    }
    case 'rmsprop': { // ĝ = g/rows + λ·w;  s ← α·s + (1−α)·ĝ²;  w ← w − lr·ĝ / (√s + ε)
      const lr = h[0]!, invBatch = h[1]!, decay = h[2]!, alpha = h[3]!, epsilon = h[4]!;
      for (let i = from; i < to; i++) {
        const wi = w[i]!;
        const gi = g[i]! * invBatch + decay * wi;
        const s = alpha * first[i]! + (1 - alpha) * gi * gi;
        first[i] = s;
        w[i] = wi - (lr * gi) / (Math.sqrt(s) + epsilon);
      }
      return;
    }
  }
}

export const referenceKernels: Kernels<Floats> = {
  name: 'typescript',
  denseForward,
  denseBackwardParams,
  denseBackwardInput,
  activationForward,
  activationBackward,
  outputLoss,
  addInto,
  gatherRows,
  optimizerUpdate,
};
