// Every method of every kernel set against the TypeScript reference, in every mode: both
// accumulate modes of denseBackwardParams, the SGD update with and without weight decay, the slab
// reduction in its fixed tree order, and outputs whose logits would overflow exp without the
// max shift. (test/wasm-kernels.test.ts adds the wasm module's memory safety: guard words, views
// at the end of memory, odd alignments.)
import test from 'ava';
import type { ExecutionContext } from 'ava';
import seedrandom from 'seedrandom';
import { HIDDEN_ACTIVATIONS, LOSS_KINDS, referenceKernels, type Kernels } from '../src/math/kernels.js';
import { treeReduce } from '../src/optim/reduce.js';
import { RESERVED_BYTES } from '../src/parallel/arena.js';
import { loadKernelSet } from '../src/parallel/kernel-set.js';
import { FAST_KERNEL_SETS, KERNEL_SETS } from './helpers/kernel-sets.js';

// One shared memory, as the trainer makes it (the wasm set runs only on views over it).
const PAGES = 1024;
const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES, shared: true });
const sets = new Map<string, Kernels>(KERNEL_SETS.map((name) => [name, loadKernelSet(name, memory)]));

/** Views over `memory` above the reserved MiB, each at a 4-byte but usually not 16-byte aligned address. */
class Arena {
  private word = RESERVED_BYTES / 4;
  constructor(private readonly rng: () => number) {}
  take(length: number, fill: (i: number) => number): Float32Array {
    this.word = Math.ceil(this.word / 16) * 16 + 16 + Math.floor(this.rng() * 16);
    const view = new Float32Array(memory.buffer, this.word * 4, length);
    this.word += length;
    if (this.word * 4 > memory.buffer.byteLength) throw new Error('test arena too small');
    for (let i = 0; i < length; i++) view[i] = fill(i);
    return view;
  }
}

const copy = (v: Float32Array): Float32Array => Float32Array.from(v);
const abs = (v: Float32Array): Float32Array => v.map(Math.abs);
const U = 2 ** -24;
/** Two float32 sums of the same n products in different orders differ by at most (2n + 8)·u·Σ|terms| (see wasm-kernels.test.ts). */
const productTolerance = (n: number, absSum: number): number => (2 * n + 8) * U * absSum + 1e-30;
/** Elementwise results computed in f64 by both sides: an ulp or two apart (different exp/log/tanh). */
const ulpTolerance = (scale: number): number => 4 * U * scale + 1e-37;

function expectClose(t: ExecutionContext, what: string, actual: Float32Array, expected: Float32Array, tolerance: (i: number) => number): void {
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) ? Number.isNaN(a) : Math.abs(a - e) <= tolerance(i)) continue;
    t.fail(`${what}[${i}]: ${a}, reference ${e}, tolerance ${tolerance(i)}`);
    return;
  }
  t.pass();
}

function expectBitwise(t: ExecutionContext, what: string, actual: Float32Array, expected: Float32Array): void {
  const a = new Uint32Array(copy(actual).buffer);
  const e = new Uint32Array(copy(expected).buffer);
  const i = e.findIndex((bits, j) => a[j] !== bits);
  if (i < 0) t.pass();
  else t.fail(`${what}[${i}]: ${actual[i]} (0x${a[i]!.toString(16)}), reference ${expected[i]} (0x${e[i]!.toString(16)})`);
}

const uniform = (rng: () => number) => (): number => 2 * rng() - 1;
/** A third exact zeros, as after relu′. */
const sparse = (rng: () => number) => (): number => (rng() < 1 / 3 ? 0 : 2 * rng() - 1);

// rows × inputs × outputs: single elements, odd sizes, the tests' and benchmarks' real layers.
const SHAPES: ReadonlyArray<readonly [number, number, number]> = [[1, 1, 1], [1, 3, 2], [5, 7, 3], [17, 33, 9], [64, 40, 400], [27, 400, 3], [64, 784, 128], [3, 128, 64], [70, 37, 37]];

/** Methods with a comparison below; a method added to Kernels must be added here with its test. */
const COVERED = ['denseForward', 'denseBackwardParams', 'denseBackwardInput', 'activationForward', 'activationBackward', 'outputLoss', 'addInto', 'sgdUpdate'];

test('every kernel method has a comparison with the reference in this file', (t) => {
  const methods = Object.keys(referenceKernels).filter((key) => typeof (referenceKernels as unknown as Record<string, unknown>)[key] === 'function');
  t.deepEqual(methods.filter((m) => !COVERED.includes(m)), [], 'kernel methods without a test here');
  t.true(KERNEL_SETS.includes('wasm'), `the wasm set loads (sets here: ${KERNEL_SETS.join(', ')})`);
});

for (const set of FAST_KERNEL_SETS) {
  const kernels = sets.get(set)!;

  test(`${set} denseForward matches the reference`, (t) => {
    const rng = seedrandom(`${set} forward`);
    for (const [rows, inputs, outputs] of SHAPES) {
      const arena = new Arena(rng);
      const z = arena.take(rows * outputs, () => Number.NaN);
      const a = arena.take(rows * inputs, uniform(rng));
      const w = arena.take(outputs * inputs, uniform(rng));
      const b = arena.take(outputs, uniform(rng));
      const expected = new Float32Array(rows * outputs);
      referenceKernels.denseForward(expected, copy(a), copy(w), copy(b), rows, inputs, outputs);
      const bound = new Float32Array(rows * outputs);
      referenceKernels.denseForward(bound, abs(a), abs(w), abs(b), rows, inputs, outputs);
      kernels.denseForward(z, a, w, b, rows, inputs, outputs);
      expectClose(t, `${rows}×${inputs}×${outputs} z`, z, expected, (i) => productTolerance(inputs + 1, bound[i]!));
    }
  });

  for (const accumulate of [true, false]) {
    test(`${set} denseBackwardParams ${accumulate ? 'adds to' : 'overwrites'} dw and db like the reference (accumulate = ${accumulate})`, (t) => {
      const rng = seedrandom(`${set} backward params ${accumulate}`);
      for (const [rows, inputs, outputs] of [...SHAPES, [0, 5, 3] as const]) {
        const arena = new Arena(rng);
        // Overwrite mode must not read what the slab held: NaN there would show.
        const old = accumulate ? uniform(rng) : () => Number.NaN;
        const dw = arena.take(outputs * inputs, old);
        const db = arena.take(outputs, old);
        const dz = arena.take(rows * outputs, sparse(rng));
        const a = arena.take(rows * inputs, uniform(rng));
        const expectedW = copy(dw);
        const expectedB = copy(db);
        referenceKernels.denseBackwardParams(expectedW, expectedB, copy(dz), copy(a), rows, inputs, outputs, accumulate);
        const boundW = accumulate ? abs(dw) : new Float32Array(dw.length);
        const boundB = accumulate ? abs(db) : new Float32Array(db.length);
        referenceKernels.denseBackwardParams(boundW, boundB, abs(dz), abs(a), rows, inputs, outputs, true);
        kernels.denseBackwardParams(dw, db, dz, a, rows, inputs, outputs, accumulate);
        expectClose(t, `${rows}×${inputs}×${outputs} dw`, dw, expectedW, (i) => productTolerance(rows + 1, boundW[i]!));
        expectClose(t, `${rows}×${inputs}×${outputs} db`, db, expectedB, (i) => productTolerance(rows + 1, boundB[i]!));
      }
    });
  }

  test(`${set} denseBackwardInput overwrites da with the reference's dz·w`, (t) => {
    const rng = seedrandom(`${set} backward input`);
    for (const [rows, inputs, outputs] of SHAPES) {
      const arena = new Arena(rng);
      const da = arena.take(rows * inputs, () => Number.NaN);
      const dz = arena.take(rows * outputs, sparse(rng));
      const w = arena.take(outputs * inputs, uniform(rng));
      const expected = new Float32Array(rows * inputs);
      referenceKernels.denseBackwardInput(expected, copy(dz), copy(w), rows, inputs, outputs);
      const bound = new Float32Array(rows * inputs);
      referenceKernels.denseBackwardInput(bound, abs(dz), abs(w), rows, inputs, outputs);
      kernels.denseBackwardInput(da, dz, w, rows, inputs, outputs);
      expectClose(t, `${rows}×${inputs}×${outputs} da`, da, expected, (i) => productTolerance(outputs, bound[i]!));
    }
  });

  test(`${set} activations forward and backward match the reference`, (t) => {
    const rng = seedrandom(`${set} activations`);
    for (const activation of HIDDEN_ACTIVATIONS) {
      for (const count of [1, 3, 4, 7, 64, 1031]) {
        const arena = new Arena(rng);
        // Across every regime: zeros, tiny values, saturation.
        const values = arena.take(count, (i) => [0, -0, 1e-7, -30, 30][i % 9] ?? (rng() - 0.5) * 12);
        const expected = copy(values);
        referenceKernels.activationForward(activation, expected, count);
        kernels.activationForward(activation, values, count);
        expectClose(t, `${activation} forward ${count}`, values, expected, (i) => ulpTolerance(Math.abs(expected[i]!)));
        const grad = arena.take(count, uniform(rng));
        const expectedGrad = copy(grad);
        referenceKernels.activationBackward(activation, expectedGrad, copy(values), count);
        kernels.activationBackward(activation, grad, values, count);
        expectClose(t, `${activation} backward ${count}`, grad, expectedGrad, (i) => ulpTolerance(Math.abs(expectedGrad[i]!)));
      }
    }
  });

  test(`${set} outputLoss matches the reference in outputs, dz and the loss for every loss`, (t) => {
    const rng = seedrandom(`${set} loss`);
    for (const loss of LOSS_KINDS) {
      for (const [rows, outputs] of [[1, 1], [3, 7], [64, 10], [64, 1], [17, 3]] as const) {
        const width = loss === 'bce' ? 1 : outputs;
        const arena = new Arena(rng);
        const out = arena.take(rows * width, () => (rng() - 0.5) * 10);
        const dz = arena.take(rows * width, () => Number.NaN);
        const y = arena.take(rows * width, (i) => (loss === 'mse' ? rng() - 0.5 : loss === 'bce' ? Math.round(rng()) : i % width === (Math.floor(i / width) * 7) % width ? 1 : 0));
        const expectedOut = copy(out);
        const expectedDz = copy(dz);
        const expectedLoss = referenceKernels.outputLoss(loss, expectedOut, expectedDz, copy(y), rows, width);
        const total = kernels.outputLoss(loss, out, dz, y, rows, width);
        t.true(Math.abs(total - expectedLoss) <= 1e-6 * (Math.abs(expectedLoss) + rows), `${loss} ${rows}×${width}: loss ${total}, reference ${expectedLoss}`);
        expectClose(t, `${loss} ${rows}×${width} out`, out, expectedOut, (i) => ulpTolerance(Math.abs(expectedOut[i]!)));
        expectClose(t, `${loss} ${rows}×${width} dz`, dz, expectedDz, (i) => ulpTolerance(Math.abs(expectedOut[i]!) + Math.abs(y[i]!)));
      }
    }
  });

  test(`${set} addInto adds exactly like the reference over [from, to) only`, (t) => {
    const rng = seedrandom(`${set} addInto`);
    for (const [count, from, to] of [[1, 0, 1], [7, 2, 7], [64, 0, 64], [1031, 5, 1030], [40000, 16384, 32768]] as const) {
      const arena = new Arena(rng);
      const into = arena.take(count, () => rng() - 0.5);
      const add = arena.take(count, () => (rng() - 0.5) * 1e-3);
      const expected = copy(into);
      referenceKernels.addInto(expected, copy(add), from, to);
      kernels.addInto(into, add, from, to);
      // One float32 addition rounds the same everywhere: bit for bit, and nothing outside the range.
      expectBitwise(t, `addInto ${count} [${from}, ${to})`, into, expected);
    }
  });

  for (const decay of [0, 1e-3]) {
    test(`${set} sgdUpdate takes the reference's step over [from, to) only (lr·λ = ${decay})`, (t) => {
      const rng = seedrandom(`${set} sgd ${decay}`);
      for (const [count, from, to] of [[1, 0, 1], [7, 2, 7], [64, 0, 64], [1031, 5, 1030], [40000, 16384, 32768]] as const) {
        const arena = new Arena(rng);
        const w = arena.take(count, () => rng() - 0.5);
        const g = arena.take(count, () => (rng() - 0.5) * 50);
        const lrMean = 0.1 / 2900;
        const expected = copy(w);
        const scale = w.map((wi, i) => Math.abs(wi) + Math.abs(g[i]! * lrMean));
        referenceKernels.sgdUpdate(expected, copy(g), from, to, lrMean, decay);
        kernels.sgdUpdate(w, g, from, to, lrMean, decay);
        // The reference rounds like the SIMD kernel; a fused multiply-add may differ by one rounding.
        expectClose(t, `sgdUpdate ${count} [${from}, ${to})`, w, expected, (i) => 2 * U * scale[i]! + 1e-37);
      }
    });
  }
}

for (const set of KERNEL_SETS) {
  const kernels = sets.get(set)!;

  test(`${set} softmax and sigmoid outputs stay exact for logits of ±1000 (the max shift; exp(1000) overflows even float64)`, (t) => {
    const arena = new Arena(seedrandom('huge'));
    // rows: [1000, 0, −1000] → p = (1, 0, 0); [800, 800, −5] → (½, ½, 0)
    const out = arena.take(6, (i) => [1000, 0, -1000, 800, 800, -5][i]!);
    const dz = arena.take(6, () => Number.NaN);
    const y = arena.take(6, (i) => [0, 0, 1, 1, 0, 0][i]!);
    const loss = kernels.outputLoss('cross-entropy', out, dz, y, 2, 3);
    t.true(Math.abs(loss - (2000 + Math.LN2)) < 1e-9, `loss ${loss}, expected 2000 + ln 2`);
    t.deepEqual([...out], [1, 0, 0, 0.5, 0.5, 0]);
    t.deepEqual([...dz], [1, 0, -1, -0.5, 0.5, 0]);
    const logit = arena.take(2, (i) => [1000, -1000][i]!);
    const dzB = arena.take(2, () => Number.NaN);
    const target = arena.take(2, () => 0);
    t.is(kernels.outputLoss('bce', logit, dzB, target, 2, 1), 1000);
    t.deepEqual([...logit], [1, 0]);
  });

  test(`${set} kernels add the slabs in the fixed pairwise tree, bit for bit`, (t) => {
    // The order is what makes results independent of the thread count: (0+1)(2+3)…, then (0+2)(4+6)…
    const rng = seedrandom(`${set} tree`);
    for (const count of [1, 2, 3, 5, 8, 13, 32]) {
      const arena = new Arena(rng);
      const length = 1000;
      // Magnitudes spread over 2^±20, so that different orders round differently.
      const slabs = Array.from({ length: count }, () => arena.take(length, () => (rng() - 0.5) * 2 ** Math.floor(rng() * 40 - 20)));
      const expected = slabs.map(copy);
      for (let stride = 1; stride < count; stride *= 2) {
        for (let target = 0; target + stride < count; target += 2 * stride) {
          for (let i = 0; i < length; i++) expected[target]![i] = Math.fround(expected[target]![i]! + expected[target + stride]![i]!);
        }
      }
      // Over two slices, as two participants would reduce it.
      treeReduce(kernels, slabs, count, 0, 384);
      treeReduce(kernels, slabs, count, 384, length);
      expectBitwise(t, `${count} slabs`, slabs[0]!, expected[0]!);
    }
  });
}
