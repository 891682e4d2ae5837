import test from 'ava';
import { batchCount, batchRange, effectiveBatchSize } from '../src/data/batches.js';
import { randomStream, shuffleInPlace } from '../src/data/random.js';

function epochOrder(rows: number, seed: number, epochs: number): Int32Array[] {
  const order = Int32Array.from({ length: rows }, (_, i) => i);
  const random = randomStream(seed, 'shuffle');
  return Array.from({ length: epochs }, () => {
    shuffleInPlace(order, random);
    return order.slice();
  });
}

test('every sample is used exactly once per epoch, in ⌈m/B⌉ batches with only the last one smaller', (t) => {
  for (const [rows, batchSize] of [[1000, 64], [64, 64], [65, 64], [7, 1], [513, 512], [10, 100]] as const) {
    const size = effectiveBatchSize('minibatch', batchSize, rows);
    const batches = batchCount(rows, size);
    t.is(batches, Math.ceil(rows / size));
    for (const order of epochOrder(rows, 3, 2)) {
      const seen = new Uint8Array(rows);
      for (let b = 0; b < batches; b++) {
        const [start, end] = batchRange(b, rows, size);
        if (b < batches - 1) t.is(end - start, size);
        else t.true(end - start >= 1 && end - start <= size);
        for (let i = start; i < end; i++) seen[order[i]!]!++;
      }
      t.true(seen.every((count) => count === 1), `rows ${rows}, batch ${batchSize}`);
    }
  }
});

test('batch mode is one batch of the whole set and sgd is batches of one', (t) => {
  t.is(effectiveBatchSize('batch', 64, 1234), 1234);
  t.is(batchCount(1234, effectiveBatchSize('batch', 64, 1234)), 1);
  t.is(effectiveBatchSize('sgd', 64, 1234), 1);
  t.is(batchCount(1234, effectiveBatchSize('sgd', 64, 1234)), 1234);
});

test('the same seed shuffles identically and another seed differently', (t) => {
  const a = epochOrder(500, 42, 3);
  const b = epochOrder(500, 42, 3);
  const c = epochOrder(500, 43, 3);
  t.deepEqual(a, b);
  t.notDeepEqual(a[0], c[0]);
  t.notDeepEqual(a[0], a[1], 'each epoch draws a new permutation');
});
