// The short version of bench/soak.ts: many steps in a fresh process, heap measured after forced
// garbage collection at epoch 3 and at the end. A per-step allocation that survives would show.
import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = `
const { train } = await import(${JSON.stringify(fileURLToPath(new URL('../src/index.js', import.meta.url)))});
const heap = [];
await train({
  data: 'builtin:blobs', samples: 4096, features: 64, layers: [64], batchSize: 32, epochs: 12, threads: 2,
  onEpoch: (e) => { if (e.epoch === 3 || e.epoch === 12) { globalThis.gc(); heap.push(process.memoryUsage().heapUsed); } },
});
console.log(JSON.stringify(heap));
`;

test('a long run keeps the heap flat: 1 100 steps add less than 1 MB', async (t) => {
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  const code = await new Promise((resolve) => child.on('close', resolve));
  t.is(code, 0);
  const [early, late] = JSON.parse(stdout.trim()) as [number, number];
  t.log(`heap after epoch 3: ${(early / 1e6).toFixed(2)} MB, after epoch 12: ${(late / 1e6).toFixed(2)} MB`);
  t.true(late - early < 1e6, `heap grew by ${((late - early) / 1e6).toFixed(2)} MB over 9 epochs`);
});
