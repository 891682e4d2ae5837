// The short version of bench/soak.ts: 2 560 steps in a fresh process, shared by the coordinator
// and a worker thread, with the main thread's heap (after forced garbage collection) and the whole
// process's RSS (worker threads included) sampled after every epoch. A per-step allocation that
// survives, on any thread, would show as growth.
import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const EPOCHS = 40;
// 64 → 256 → 10 on batches of 64: ≈7 MFLOP per step, above the threshold at which a step is
// shared, so the worker really computes (checked below through shardsByParticipant).
const script = `
const { train } = await import(${JSON.stringify(fileURLToPath(new URL('../src/index.js', import.meta.url)))});
const heap = [];
const rss = [];
const result = await train({
  data: 'builtin:blobs', samples: 4096, features: 64, classes: 10, layers: [256], batchSize: 64, epochs: ${EPOCHS}, lr: 0.05, threads: 2,
  onEpoch: () => { globalThis.gc(); heap.push(process.memoryUsage().heapUsed); rss.push(process.memoryUsage().rss); },
});
console.log(JSON.stringify({ heap, rss, shardsByParticipant: result.shardsByParticipant }));
`;

const MB = 1e6;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

test('a long run on two threads keeps the heap and the process RSS flat', async (t) => {
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
    // two participants even on a one-core machine
    env: { ...process.env, GRADPOOL_THREADS_BEYOND_CORES: '1' },
  });
  let stdout = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  const code = await new Promise((resolve) => child.on('close', resolve));
  t.is(code, 0);
  const { heap, rss, shardsByParticipant } = JSON.parse(stdout.trim()) as { heap: number[]; rss: number[]; shardsByParticipant: number[] };
  t.is(heap.length, EPOCHS);
  // 4 096 rows / 64 = 64 steps of 2 shards (32 rows) per epoch, and the worker took a real share of them.
  t.is(shardsByParticipant.reduce((a, b) => a + b, 0), EPOCHS * 64 * 2);
  t.true(shardsByParticipant.length === 2 && Math.min(...shardsByParticipant) > EPOCHS * 64 * 2 * 0.01, `each participant computed at least 1 % of the shards: ${shardsByParticipant.join(', ')}`);
  // Early (epochs 4–8, after warm-up) against late (the last 5): medians, so that one sample
  // caught mid-allocation does not decide.
  const early = { heap: median(heap.slice(3, 8)), rss: median(rss.slice(3, 8)) };
  const late = { heap: median(heap.slice(-5)), rss: median(rss.slice(-5)) };
  t.log(`heap ${(early.heap / MB).toFixed(2)} → ${(late.heap / MB).toFixed(2)} MB, RSS ${(early.rss / MB).toFixed(1)} → ${(late.rss / MB).toFixed(1)} MB over ${EPOCHS - 8} epochs (${(EPOCHS - 8) * 64} steps)`);
  t.true(late.heap - early.heap < 1 * MB, `heap grew by ${((late.heap - early.heap) / MB).toFixed(2)} MB`);
  // 4 MB over 2 048 steps: a leak of 2 KB per step on any thread fails this.
  t.true(late.rss - early.rss < 4 * MB, `RSS grew by ${((late.rss - early.rss) / MB).toFixed(1)} MB`);
});
