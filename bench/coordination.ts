// What one synchronous step costs in coordination alone, for the two hand-off mechanisms:
//   piscina   pool.run() of an empty task on every worker, awaited (a message each way per task);
//   control   gradpool's control block: the coordinator writes a command, workers wake (spin, then
//             Atomics.wait), claim shards, meet at a barrier, claim update blocks, report DONE.
// The control-block cost is measured as (parallel step − inline step) on a network so small that
// its arithmetic is negligible; both run in this one process, side by side.
//   npm run build && node dist/bench/coordination.js [--threads 2] [--steps 20000]
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { resolveKernelSet } from '../src/parallel/kernel-set.js';
import { Coordinator } from '../src/parallel/coordinator.js';

const flags = await yargs(hideBin(process.argv))
  .option('threads', { type: 'number', default: Math.min(2, os.availableParallelism()) })
  .option('steps', { type: 'number', default: 20_000 })
  .strict()
  .parseAsync();
const { threads, steps } = flags;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Microseconds per round, median of 5 rounds of `steps` calls. */
async function time(label: string, run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 1000; i++) await run(); // warm up
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    for (let i = 0; i < steps; i++) await run();
    rounds.push(((performance.now() - started) * 1000) / steps);
  }
  const result = median(rounds);
  console.log(`${label.padEnd(58)} ${result.toFixed(1).padStart(7)} µs`);
  return result;
}

console.log(`coordination cost per step — ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, Node ${process.version}, ${threads} threads\n`);

const pool = new Piscina({ filename: new URL('./noop-worker.js', import.meta.url).href, minThreads: threads, maxThreads: threads, idleTimeout: Number.POSITIVE_INFINITY });
const piscina = await time(`piscina: ${threads} empty tasks, awaited together`, () => Promise.all(Array.from({ length: threads }, () => pool.run(null))));
await pool.destroy();

// 16-16-2 network, batch of 32 rows: two shards, a few thousand flops in all.
const shape = { sizes: [16, 16, 2], activation: 'relu', loss: 'cross-entropy' } as const;
const optimizer = { name: 'sgd', momentum: 0, beta1: 0.9, beta2: 0.999, alpha: 0.99, epsilon: 1e-8, weightDecay: 0 } as const;
const kernels = resolveKernelSet('auto');
async function controlStep(participants: number): Promise<number> {
  const coordinator = new Coordinator({ shape, rows: 1024, threads: participants, optimizer, kernels, minFlopsPerWorker: 0 });
  try {
    for (let i = 0; i < 1024; i++) coordinator.views.order[i] = i;
    await coordinator.ready();
    return await time(participants === 1 ? 'inline: the same step computed by the coordinator alone' : `control block: one step shared by ${participants} participants`, () => coordinator.trainStep(0, 32, 0.01, 1));
  } finally {
    await coordinator.close();
  }
}
const inline = await controlStep(1);
const shared = await controlStep(threads);
// Splitting the step also halves its (tiny) arithmetic, so the difference is an upper bound only
// when it is positive; at or below zero the hand-off is lost in the noise.
const overhead = shared - inline;
console.log(`\ncontrol block: shared step − inline step = ${overhead.toFixed(1)} µs${overhead <= 1 ? ' (hand-off within noise)' : ''}; piscina round trip alone = ${piscina.toFixed(1)} µs, ${(piscina / shared).toFixed(0)}× a whole shared step`);
