// What every variant of every kernel set must get right beyond agreeing with the reference kernel by
// kernel (test/helpers/kernel-agreement.ts, run by the wasm and native kernel tests): outputs whose
// logits would overflow exp without the max shift, and the slab reduction in its fixed tree order.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import seedrandom from 'seedrandom';
import { treeReduce } from '../src/optim/reduce.js';
import { RESERVED_BYTES } from '../src/parallel/arena.js';
import { KERNEL_SETS, kernelVariants } from './helpers/kernel-sets.js';

// One shared memory, as the trainer makes it (the wasm set runs only on views over it).
const PAGES = 256;
const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES, shared: true });
const variants = kernelVariants(memory);

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

function expectBitwise(t: ExecutionContext, what: string, actual: Float32Array, expected: Float32Array): void {
  const a = new Uint32Array(Float32Array.from(actual).buffer);
  const e = new Uint32Array(Float32Array.from(expected).buffer);
  const i = e.findIndex((bits, j) => a[j] !== bits);
  if (i < 0) t.pass();
  else t.fail(`${what}[${i}]: ${actual[i]} (0x${a[i]!.toString(16)}), expected ${expected[i]} (0x${e[i]!.toString(16)})`);
}

test('every kernel set that this build offers loads, with all its variants', (t) => {
  t.true(KERNEL_SETS.includes('wasm') && KERNEL_SETS.includes('typescript'), `sets: ${KERNEL_SETS.join(', ')}`);
  t.log(`variants: ${variants.map((v) => v.name).join(', ')}`);
  t.deepEqual(variants.map((v) => v.kernels.name), variants.map((v) => v.name));
});

for (const { name, kernels } of variants) {
  test(`${name} softmax and sigmoid outputs stay exact for logits of ±1000 (the max shift; exp(1000) overflows even float64)`, (t) => {
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

  test(`${name} kernels add the slabs in the fixed pairwise tree, bit for bit`, (t) => {
    // The order is what makes results independent of the thread count: (0+1)(2+3)…, then (0+2)(4+6)…
    const rng = seedrandom(`${name} tree`);
    for (const count of [1, 2, 3, 5, 8, 13, 32]) {
      const arena = new Arena(rng);
      const length = 1000;
      // Magnitudes spread over 2^±20, so that different orders round differently.
      const slabs = Array.from({ length: count }, () => arena.take(length, () => (rng() - 0.5) * 2 ** Math.floor(rng() * 40 - 20)));
      const expected = slabs.map((slab) => Float32Array.from(slab));
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

for (const { name, kernels } of variants) {
  test(`${name} kernels gather rows in the order given, into the rows asked, and refuse an order entry outside the data`, (t) => {
    const rng = seedrandom(`${name} gather`);
    const arena = new Arena(rng);
    for (const width of [1, 3, 10, 784]) {
      const dataRows = 50;
      const data = arena.take(dataRows * width, () => rng());
      const orderView = new Int32Array(memory.buffer, arena.take(40, () => 0).byteOffset, 40);
      for (let i = 0; i < orderView.length; i++) orderView[i] = Math.floor(rng() * dataRows);
      const into = arena.take(20 * width, () => Number.NaN);
      // rows order[7..18) into rows [5, 16); the rows around them stay untouched
      kernels.gatherRows(into, 5, data, orderView, 7, 11, width);
      const expected = Float32Array.from({ length: 20 * width }, () => Number.NaN);
      for (let r = 0; r < 11; r++) expected.set(data.subarray(orderView[7 + r]! * width, (orderView[7 + r]! + 1) * width), (5 + r) * width);
      t.deepEqual([...into], [...expected], `width ${width}`);
      orderView[9] = dataRows;
      t.throws(() => kernels.gatherRows(into, 0, data, orderView, 7, 11, width), { instanceOf: RangeError, message: /order\[9\] = 50 is not a row of the data/ });
    }
  });
}
