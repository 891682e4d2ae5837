// The agreement checks every kernel set (wasm SIMD, wasm relaxed SIMD, native at each instruction-set
// level) must pass against the TypeScript reference: random and odd shapes, guard words around every
// view, views that end exactly at the end of memory, tolerances derived from the summation order.
// registerAgreementTests registers them as ava tests for one kernel set.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import seedrandom from 'seedrandom';
import { HIDDEN_ACTIVATIONS, LOSS_KINDS, referenceKernels } from '../../src/math/kernels.js';
import type { Kernels, LossKind } from '../../src/math/kernels.js';
import { ACTIVATIONS, OPTIMIZERS, OPTIMIZERS_BY_NAME, UPDATE_COEFFICIENTS } from '../../src/math/ops.js';

// One shared memory as the trainer makes it; the first MiB belongs to the wasm module.
export const PAGES = 300;
const PAGE = 65536;
export const RESERVED = 1 << 20;
export const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES, shared: true });
const memEnd = PAGES * PAGE;
const words = new Uint32Array(memory.buffer);

// ---- layout: views at deliberately unaligned addresses, fenced by guard words ----

const GUARD = 16; // floats of guard before and after every view
const GUARD_WORD = 0x7fc0dead; // a NaN payload no kernel can produce by arithmetic

interface ViewSpec {
  readonly name: string;
  readonly size: number;
  readonly output: boolean;
  fill(rng: () => number, i: number): number;
}

interface Placed {
  views: Float32Array[];
  /** Word ranges [from, to) snapshotted before the call: everything the test put down plus the module's MiB. */
  regions: Array<[number, number]>;
}

/**
 * Places every view in the arena above 1 MiB at an address that is 4-byte aligned but, by chance,
 * usually not 16-byte aligned, with guard words around it; the view numbered `top` is placed instead so
 * that it ends exactly at the end of memory, where any read or write past its end would trap.
 */
function place(rng: () => number, specs: readonly ViewSpec[], top: number): Placed {
  const views: Float32Array[] = [];
  let word = RESERVED / 4;
  const topSize = specs[top]?.size ?? 0;
  const topStart = memEnd / 4 - topSize;
  for (const [index, spec] of specs.entries()) {
    let start: number;
    if (index === top) {
      start = topStart;
    } else {
      word = (Math.ceil((word + GUARD) / 16) * 16) + Math.floor(rng() * 16);
      start = word;
      word += spec.size + GUARD;
    }
    words.fill(GUARD_WORD, start - GUARD, start);
    words.fill(GUARD_WORD, start + spec.size, Math.min(start + spec.size + GUARD, memEnd / 4));
    const view = new Float32Array(memory.buffer, start * 4, spec.size);
    for (let i = 0; i < spec.size; i++) view[i] = spec.fill(rng, i);
    views.push(view);
  }
  if (word + GUARD >= topStart - GUARD) throw new Error('test arena too small');
  return { views, regions: [[0, word + GUARD], [topStart - GUARD, memEnd / 4]] };
}

/** Runs `call` and fails the test if it changed any word outside the output views. */
function checkWritesOnlyOutputs(t: ExecutionContext, what: string, specs: readonly ViewSpec[], placed: Placed, call: () => void): void {
  const before = placed.regions.map(([from, to]) => words.slice(from, to));
  call();
  const outputRanges = placed.views
    .filter((_, i) => specs[i]!.output)
    .map((v) => [v.byteOffset / 4, v.byteOffset / 4 + v.length] as const);
  for (const [r, [from, to]] of placed.regions.entries()) {
    const old = before[r]!;
    for (let i = from; i < to; i++) {
      if (words[i] === old[i - from]) continue;
      if (outputRanges.some(([s, e]) => i >= s && i < e)) continue;
      t.fail(`${what}: word ${i} (byte ${i * 4}) outside the output views changed from ${old[i - from]!.toString(16)} to ${words[i]!.toString(16)}`);
      return;
    }
  }
}

/** A plain (non-shared) copy, so the reference works on exactly the same inputs. */
const copy = (v: Float32Array): Float32Array => Float32Array.from(v);
const abs = (v: Float32Array): Float32Array => v.map(Math.abs);

// ---- tolerances ----
//
// The wasm and the reference add the same float32 products in different orders (the reference one by
// one, the wasm in four-lane partial sums joined by a horizontal sum). Each result of n terms then has
// the classic worst-case error bound |ŝ − s| ≤ γ·Σ|terms| with γ ≈ (chain length + 1)·u, u = 2⁻²⁴; the
// reference's chain is n long and the wasm's ≤ n/4 + 3, so the two differ by at most (2n + 8)·u·Σ|terms|
// (1.3e-7·Σ|terms| for n = 1, 9.4e-5·Σ|terms| for n = 784). This bound holds for every input, so the test
// cannot flake, yet a single dropped or doubled term (about Σ|terms|/n) exceeds it by a wide margin for
// every n used here (n ≤ 785: 1/n ≥ 1.3e-3 > 9.4e-5).
const U = 2 ** -24;
const productTolerance = (n: number, absSum: number): number => (2 * n + 8) * U * absSum + 1e-30;

/** Elementwise float32 results computed in f64 by both sides: at most an ulp or two apart from different exp/log/tanh implementations. */
const ulpTolerance = (scale: number): number => 4 * U * scale + 1e-37;

function expectClose(t: ExecutionContext, what: string, actual: Float32Array, expected: Float32Array, tolerance: (i: number) => number): void {
  t.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) ? Number.isNaN(a) : Math.abs(a - e) <= tolerance(i)) continue;
    t.fail(`${what}[${i}]: kernels ${a}, reference ${e}, tolerance ${tolerance(i)}`);
    return;
  }
  t.pass();
}

/** Bit-for-bit equality (so +0 and −0 differ), with the first difference in the message. */
function expectBitwise(t: ExecutionContext, what: string, actual: Float32Array, expected: Float32Array): void {
  t.is(actual.length, expected.length, `${what}: length`);
  const a = new Uint32Array(Float32Array.from(actual).buffer);
  const e = new Uint32Array(Float32Array.from(expected).buffer);
  for (let i = 0; i < e.length; i++) {
    if (a[i] === e[i]) continue;
    t.fail(`${what}[${i}]: kernels ${actual[i]} (0x${a[i]!.toString(16)}), reference ${expected[i]} (0x${e[i]!.toString(16)})`);
    return;
  }
  t.pass();
}

// ---- shapes ----

const REAL_SHAPES: ReadonlyArray<readonly [number, number, number]> = [
  [64, 784, 128], [16, 128, 64], [1, 64, 10], [64, 64, 10], [32, 128, 1], [3, 256, 512], [17, 512, 256],
  // rows 1, 3, 17, 64 against inputs 1, 7, 784 and widths that no vector width divides
  [1, 784, 128], [3, 7, 10], [17, 784, 64], [64, 1, 3], [64, 7, 1], [17, 200, 37], [5, 129, 70], [64, 100, 33],
];

function oddShapes(seed: string, count: number): Array<[number, number, number]> {
  const rng = seedrandom(seed);
  const shapes: Array<[number, number, number]> = [[1, 1, 1], [1, 3, 2], [4, 4, 4], [5, 7, 3], [70, 37, 37], [2, 16, 5], [3, 20, 33]];
  while (shapes.length < count) {
    shapes.push([1 + Math.floor(rng() * 70), 1 + Math.floor(rng() * 37), 1 + Math.floor(rng() * 37)]);
  }
  return shapes;
}

const uniform = (rng: () => number): number => 2 * rng() - 1;
/** Like a gradient after relu′: a third of the entries exactly zero. */
const sparse = (rng: () => number): number => (rng() < 1 / 3 ? 0 : 2 * rng() - 1);

const input = (name: string, size: number, fill: ViewSpec['fill'] = uniform): ViewSpec => ({ name, size, output: false, fill });
const output = (name: string, size: number, fill: ViewSpec['fill'] = uniform): ViewSpec => ({ name, size, output: true, fill });

interface DenseCase {
  specs(rows: number, inputs: number, outputs: number): ViewSpec[];
  /** Runs the kernel on `views`; returns the output views to compare (kernels under test and reference alike). */
  run(k: Kernels, views: Float32Array[], rows: number, inputs: number, outputs: number): Float32Array[];
  /** Per output view, per element: the tolerance given the (copied) inputs. */
  tolerances(views: Float32Array[], rows: number, inputs: number, outputs: number): Array<(i: number) => number>;
}

const DENSE: Record<'forward' | 'backward params' | 'backward params (overwrite)' | 'backward input', DenseCase> = {
  forward: {
    specs: (rows, inputs, outputs) => [output('z', rows * outputs), input('a', rows * inputs), input('w', outputs * inputs), input('b', outputs)],
    run(k, [z, a, w, b], rows, inputs, outputs) {
      k.denseForward(z!, a!, w!, b!, rows, inputs, outputs);
      return [z!];
    },
    tolerances([, a, w, b], rows, inputs, outputs) {
      const s = new Float32Array(rows * outputs);
      referenceKernels.denseForward(s, abs(a!), abs(w!), abs(b!), rows, inputs, outputs);
      return [(i) => productTolerance(inputs + 1, s[i]!)];
    },
  },
  'backward params': {
    specs: (rows, inputs, outputs) => [output('dw', outputs * inputs), output('db', outputs), input('dz', rows * outputs, sparse), input('a', rows * inputs)],
    run(k, [dw, db, dz, a], rows, inputs, outputs) {
      k.denseBackwardParams(dw!, db!, dz!, a!, rows, inputs, outputs, true);
      return [dw!, db!];
    },
    tolerances([dw, db, dz, a], rows, inputs, outputs) {
      const sw = abs(dw!);
      const sb = abs(db!);
      referenceKernels.denseBackwardParams(sw, sb, abs(dz!), abs(a!), rows, inputs, outputs, true);
      return [(i) => productTolerance(rows + 1, sw[i]!), (i) => productTolerance(rows + 1, sb[i]!)];
    },
  },
  'backward params (overwrite)': {
    specs: (rows, inputs, outputs) => [output('dw', outputs * inputs), output('db', outputs), input('dz', rows * outputs, sparse), input('a', rows * inputs)],
    run(k, [dw, db, dz, a], rows, inputs, outputs) {
      k.denseBackwardParams(dw!, db!, dz!, a!, rows, inputs, outputs, false);
      return [dw!, db!];
    },
    tolerances([, , dz, a], rows, inputs, outputs) {
      const sw = new Float32Array(outputs * inputs);
      const sb = new Float32Array(outputs);
      referenceKernels.denseBackwardParams(sw, sb, abs(dz!), abs(a!), rows, inputs, outputs, false);
      return [(i) => productTolerance(rows, sw[i]!), (i) => productTolerance(rows, sb[i]!)];
    },
  },
  'backward input': {
    specs: (rows, inputs, outputs) => [output('da', rows * inputs), input('dz', rows * outputs, sparse), input('w', outputs * inputs)],
    run(k, [da, dz, w], rows, inputs, outputs) {
      k.denseBackwardInput(da!, dz!, w!, rows, inputs, outputs);
      return [da!];
    },
    tolerances([, dz, w], rows, inputs, outputs) {
      const s = new Float32Array(rows * inputs);
      referenceKernels.denseBackwardInput(s, abs(dz!), abs(w!), rows, inputs, outputs);
      return [(i) => productTolerance(outputs, s[i]!)];
    },
  },
};

/**
 * Checks one dense kernel on one shape: once with the views in the arena and once more for each view
 * placed at the very end of memory (an over-read or over-write there traps), comparing each run with
 * the reference and checking that nothing outside the outputs was written.
 */
function checkDense(t: ExecutionContext, kernels: Kernels, kind: keyof typeof DENSE, rng: () => number, rows: number, inputs: number, outputs: number): void {
  const c = DENSE[kind];
  const specs = c.specs(rows, inputs, outputs);
  for (let top = -1; top < specs.length; top++) {
    const placed = place(rng, specs, top);
    const copies = placed.views.map(copy);
    const expected = c.run(referenceKernels, copies, rows, inputs, outputs);
    const tolerances = c.tolerances(placed.views.map(copy), rows, inputs, outputs);
    const what = `${kind} ${rows}×${inputs}×${outputs}${top >= 0 ? ` (${specs[top]!.name} at the end of memory)` : ''}`;
    checkWritesOnlyOutputs(t, what, specs, placed, () => {
      c.run(kernels, placed.views, rows, inputs, outputs);
    });
    const outputs_ = placed.views.filter((_, i) => specs[i]!.output);
    outputs_.forEach((actual, j) => expectClose(t, `${what} ${specs.filter((s) => s.output)[j]!.name}`, actual, expected[j]!, tolerances[j]!));
  }
}

/** Activation inputs: ordinary values, exact zeros, −0, tiny values, and large magnitudes where exp saturates. */
function activationValue(rng: () => number, i: number): number {
  switch (i % 11) {
    case 0: return 0;
    case 1: return -0;
    case 2: return (rng() - 0.5) * 200;
    case 3: return (rng() - 0.5) * 1e-4 * 10 ** (-8 * rng()); // down to 1e-12, across tanh's 1e-5 switch
    case 4: return (rng() - 0.5) * 50; // across tanh's saturation at |x| = 20
    default: return (rng() - 0.5) * 8;
  }
}

function lossSpecs(loss: LossKind, rows: number, outputs: number): ViewSpec[] {
  const count = rows * outputs;
  // logits, with some far outside exp's comfortable range to exercise the safe forms
  const logit = (rng: () => number, i: number): number => (i % 13 === 5 ? (rng() - 0.5) * 400 : (rng() - 0.5) * 10);
  let target: ViewSpec['fill'];
  if (loss === 'bce') target = (rng) => (rng() < 0.8 ? Math.round(rng()) : rng());
  else if (loss === 'cross-entropy') {
    // one-hot rows, and every fifth row a soft label
    let hot = 0;
    target = (rng, i) => {
      const row = Math.floor(i / outputs);
      if (row % 5 === 4) return 1 / outputs;
      if (i % outputs === 0) hot = Math.floor(rng() * outputs);
      return i % outputs === hot ? 1 : 0;
    };
  } else target = uniform;
  return [output('out', count, logit), output('dz', count), input('y', count, target)];
}

/** Registers every agreement test for `kernels`, titled `${label} …`. */
export function registerAgreementTests(label: string, kernels: Kernels): void {
  for (const kind of Object.keys(DENSE) as Array<keyof typeof DENSE>) {
    test(`${label} dense ${kind} matches the reference on odd shapes and writes only its outputs`, (t) => {
      const rng = seedrandom(`odd ${kind}`);
      for (const [rows, inputs, outputs] of oddShapes(`shapes ${kind}`, 40)) checkDense(t, kernels, kind, rng, rows, inputs, outputs);
    });

    test(`${label} dense ${kind} matches the reference on the network's real shapes and writes only its outputs`, (t) => {
      const rng = seedrandom(`real ${kind}`);
      for (const [rows, inputs, outputs] of REAL_SHAPES) checkDense(t, kernels, kind, rng, rows, inputs, outputs);
    });
  }

  test(`${label} dense backward params accumulates into dw and db rather than overwriting them`, (t) => {
    const rows = 3, inputs = 5, outputs = 2;
    const rng = seedrandom('accumulate');
    const specs = DENSE['backward params'].specs(rows, inputs, outputs);
    const { views: [dw, db, dz, a] } = place(rng, specs, -1);
    dw!.fill(10);
    db!.fill(-10);
    const before = copy(dw!);
    kernels.denseBackwardParams(dw!, db!, dz!, a!, rows, inputs, outputs, true);
    kernels.denseBackwardParams(dw!, db!, dz!, a!, rows, inputs, outputs, true);
    const expected = copy(before);
    const expectedB = new Float32Array(outputs).fill(-10);
    referenceKernels.denseBackwardParams(expected, expectedB, copy(dz!), copy(a!), rows, inputs, outputs, true);
    referenceKernels.denseBackwardParams(expected, expectedB, copy(dz!), copy(a!), rows, inputs, outputs, true);
    expectClose(t, 'dw', dw!, expected, () => 1e-5);
    expectClose(t, 'db', db!, expectedB, () => 1e-5);
  });

  test(`${label} dense backward input overwrites da whatever it held`, (t) => {
    const rng = seedrandom('overwrite');
    const specs = DENSE['backward input'].specs(2, 6, 3);
    const { views: [da, dz, w] } = place(rng, specs, -1);
    da!.fill(Number.NaN);
    kernels.denseBackwardInput(da!, dz!, w!, 2, 6, 3);
    const expected = new Float32Array(12);
    referenceKernels.denseBackwardInput(expected, copy(dz!), copy(w!), 2, 6, 3);
    expectClose(t, 'da', da!, expected, () => 1e-6);
    // and with no outputs at all da becomes zero, like the reference's fill(0)
    kernels.denseBackwardInput(da!, dz!, w!, 2, 6, 0);
    t.deepEqual([...da!], new Array(12).fill(0));
  });

  // leaky-relu's slope; the others ignore the parameter
  const PARAMETER = 0.1;
  for (const activation of HIDDEN_ACTIVATIONS) {
    // relu-like activations are exact comparisons and one product: bit for bit; the others call exp/tanh
    const exact = activation === 'relu' || activation === 'leaky-relu';
    test(`${label} ${activation} forward matches the reference elementwise, in place and into another buffer, and writes only its output`, (t) => {
      const rng = seedrandom(`act forward ${activation}`);
      for (const count of [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 63, 640, 8192, 8195]) {
        for (const inPlace of [true, false]) {
          const specs = inPlace ? [output('values', count, activationValue)] : [output('out', count), input('z', count, activationValue)];
          for (const top of inPlace ? [-1, 0] : [-1, 0, 1]) {
            const placed = place(rng, specs, top);
            const out = placed.views[0]!;
            const z = placed.views[inPlace ? 0 : 1]!;
            const expected = copy(out);
            referenceKernels.activationForward(activation, expected, inPlace ? expected : copy(z), count, PARAMETER);
            const what = `${activation} forward ${count}${inPlace ? ' in place' : ''}`;
            checkWritesOnlyOutputs(t, what, specs, placed, () => kernels.activationForward(activation, out, z, count, PARAMETER));
            if (exact) expectBitwise(t, what, out, expected);
            else expectClose(t, what, out, expected, (i) => ulpTolerance(Math.abs(expected[i]!)));
          }
        }
      }
    });

    const fromZ = ACTIVATIONS[activation].backwardFrom === 'z';
    test(`${label} ${activation} backward (from ${fromZ ? 'z' : 'a'}) matches the reference${fromZ ? ' to an ulp' : ' bit for bit'} and writes only the gradient`, (t) => {
      const rng = seedrandom(`act backward ${activation}`);
      for (const count of [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 63, 640, 8192, 8195]) {
        // saved is an activation output (relu ≥ 0 with zeros, sigmoid in (0, 1), tanh in (−1, 1)) or a z
        const aFill = fromZ ? activationValue : activation === 'relu' ? (r: () => number) => Math.max(0, uniform(r)) : activation === 'sigmoid' ? (r: () => number) => r() : uniform;
        const specs = [output('grad', count), input('saved', count, aFill)];
        for (const top of [-1, 0, 1]) {
          const placed = place(rng, specs, top);
          const [grad, saved] = placed.views;
          const before = copy(grad!);
          const expected = copy(grad!);
          referenceKernels.activationBackward(activation, expected, copy(saved!), count, PARAMETER);
          const what = `${activation} backward ${count}`;
          checkWritesOnlyOutputs(t, what, specs, placed, () => kernels.activationBackward(activation, grad!, saved!, count, PARAMETER));
          // exp/tanh differ by an ulp of f64 between implementations; relative to the incoming gradient
          if (fromZ) expectClose(t, what, grad!, expected, (i) => ulpTolerance(Math.abs(expected[i]!) + Math.abs(before[i]!)));
          else expectBitwise(t, what, grad!, expected);
        }
      }
    });
  }

  for (const loss of LOSS_KINDS) {
    test(`${label} ${loss} output loss matches the reference in outputs, dz and the loss sum, writing only out and dz`, (t) => {
      const rng = seedrandom(`loss ${loss}`);
      const shapes: Array<[number, number]> = [[1, 1], [1, 10], [3, 7], [64, 10], [64, 1], [17, 3], [70, 37]];
      for (const [rows, outputs] of shapes) {
        const specs = lossSpecs(loss, rows, outputs);
        for (let top = -1; top < specs.length; top++) {
          const placed = place(rng, specs, top);
          const [out, dz, y] = placed.views;
          const eOut = copy(out!);
          const eDz = copy(dz!);
          const eY = copy(y!);
          const expectedTotal = referenceKernels.outputLoss(loss, eOut, eDz, eY, rows, outputs);
          let total = Number.NaN;
          const what = `${loss} ${rows}×${outputs}`;
          checkWritesOnlyOutputs(t, what, specs, placed, () => { total = kernels.outputLoss(loss, out!, dz!, y!, rows, outputs); });
          t.true(Number.isFinite(total), `${what}: loss ${total}`);
          // f64 sums of the same terms in the same order: only exp/log1p/log differ, by an ulp or so of f64
          t.true(Math.abs(total - expectedTotal) <= 1e-12 * (Math.abs(expectedTotal) + rows * outputs), `${what}: loss ${total} vs ${expectedTotal}`);
          expectClose(t, `${what} out`, out!, eOut, (i) => ulpTolerance(Math.abs(eOut[i]!)));
          expectClose(t, `${what} dz`, dz!, eDz, (i) => ulpTolerance(Math.abs(eOut[i]!) + Math.abs(eY[i]!)));
        }
      }
    });
  }

  test(`${label} kernels refuse views that are not over their memory, and views too short for the shape`, (t) => {
    const rng = seedrandom('refuse');
    const { views: [z, a, w, b] } = place(rng, DENSE.forward.specs(2, 3, 4), -1);
    t.throws(() => kernels.denseForward(new Float32Array(8), a!, w!, b!, 2, 3, 4), { instanceOf: TypeError });
    t.throws(() => kernels.activationForward('relu', new Float32Array(4), new Float32Array(4), 4, 0), { instanceOf: TypeError });
    t.throws(() => kernels.denseForward(z!, a!, w!, b!, 3, 3, 4), { instanceOf: RangeError });
  });

  test(`${label} kernels do nothing for empty shapes`, (t) => {
    const rng = seedrandom('empty');
    const specs = DENSE.forward.specs(2, 3, 4);
    const placed = place(rng, specs, -1);
    const [z, a, w, b] = placed.views;
    const before = copy(z!);
    kernels.denseForward(z!, a!, w!, b!, 0, 3, 4);
    kernels.activationForward('sigmoid', z!, z!, 0, 0);
    t.is(kernels.outputLoss('mse', z!, z!, z!, 0, 4), 0);
    expectBitwise(t, 'z after empty calls', z!, before);
    // zero inputs: z = b, exactly as the reference
    kernels.denseForward(z!, a!, w!, b!, 2, 0, 4);
    t.deepEqual([...z!], [...b!, ...b!]);
  });

  test(`${label} addInto adds exactly like the reference over any range and writes only that range`, (t) => {
    const rng = seedrandom('addInto');
    for (const [count, from, to] of [[1, 0, 1], [7, 2, 7], [64, 0, 64], [1031, 5, 1030], [4096, 1024, 2048]] as const) {
      const specs = [output('into', count, () => rng() - 0.5), input('add', count, () => rng() - 0.5)];
      for (const top of [-1, 0, 1]) {
        const placed = place(rng, specs, top);
        const [into, add] = placed.views as [Float32Array, Float32Array];
        const expected = copy(into);
        referenceKernels.addInto(expected, copy(add), from, to);
        checkWritesOnlyOutputs(t, `addInto ${count} [${from}, ${to})`, specs, placed, () => kernels.addInto(into, add, from, to));
        // float32 addition rounds the same in both: they must agree bit for bit
        t.deepEqual([...into], [...expected]);
      }
    }
  });

  for (const optimizer of OPTIMIZERS) {
    test(`${label} ${optimizer} update matches the reference bit for bit over any range, three steps running, and writes only its buffers`, (t) => {
      const rng = seedrandom(`update ${optimizer}`);
      const value = (r: () => number): number => (r() - 0.5) * 4;
      const positive = (r: () => number): number => r() * 2;
      const h = new Float64Array(UPDATE_COEFFICIENTS);
      const hyper = { momentum: 0.9, beta1: 0.9, beta2: 0.999, alpha: 0.99, epsilon: 1e-8, weightDecay: 1e-2 };
      for (const [count, from, to] of [[1, 0, 1], [7, 2, 7], [64, 0, 64], [1031, 5, 1030], [4096, 1024, 2048]] as const) {
        const specs = [output('w', count, value), input('g', count, value), output('first', count, value), output('second', count, positive)];
        for (const top of [-1, 0, 1, 2, 3]) {
          const placed = place(rng, specs, top);
          const [w, g, first, second] = placed.views as [Float32Array, Float32Array, Float32Array, Float32Array];
          // a rule whose first state is a second moment needs it ≥ 0
          if (OPTIMIZERS_BY_NAME[optimizer].state[0] === 'square') first.set(second);
          const e = placed.views.map(copy) as [Float32Array, Float32Array, Float32Array, Float32Array];
          const what = `${optimizer} ${count} [${from}, ${to})`;
          for (let step = 1; step <= 3; step++) {
            OPTIMIZERS_BY_NAME[optimizer].coefficients(h, hyper, { lr: 0.01 * step, invBatch: 1 / 64, step });
            referenceKernels.optimizerUpdate(optimizer, e[0], e[1], e[2], e[3], from, to, h);
            checkWritesOnlyOutputs(t, `${what} step ${step}`, specs, placed, () => kernels.optimizerUpdate(optimizer, w, g, first, second, from, to, h));
          }
          expectBitwise(t, `w ${what}`, w, e[0]);
          expectBitwise(t, `first ${what}`, first, e[2]);
          expectBitwise(t, `second ${what}`, second, e[3]);
        }
      }
    });
  }
}
