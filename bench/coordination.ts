// What one synchronous step costs in coordination alone, for the two hand-off mechanisms:
//   piscina   pool.run() of an empty task on every worker, awaited (a message each way per task);
//   control   gradpool's control block: the coordinator writes a command, workers wake (spin, then
//             Atomics.wait), claim shards, meet at a barrier, claim update blocks, report DONE.
// The control-block cost is measured as (parallel step − inline step) on a network so small that
// its arithmetic is negligible; both run in this one process, side by side.
// Then, per step of a real network (784-128-64-10, batches of 32, 64 and 128), where the time of every
// participant goes: compute, team waits, the step's barrier, reduce and update (the profile
// participants record when asked), so the next bottleneck can be seen.
//   npm run build && node dist/bench/coordination.js [--threads 2] [--steps 20000] [--profile-steps 400]
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
  .option('profile-steps', { type: 'number', default: 400, describe: 'steps per profiled batch size' })
  .strict()
  .parseAsync();
const { threads, steps, profileSteps } = flags;

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

// Where a real step's time goes, per participant and step (means over participants).
const mlp = { sizes: [784, 128, 64, 10], activation: 'relu', loss: 'cross-entropy' } as const;
const profileRows: string[][] = [];
for (const batch of [32, 64, 128]) {
  const coordinator = new Coordinator({ shape: mlp, rows: 4096, threads, optimizer, kernels });
  try {
    const { x, y, order, parameters } = coordinator.views;
    for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) % 1000) / 1000; // fixed pseudo-pixels in [0, 1)
    for (let r = 0; r < 4096; r++) { order[r] = r; y[r * 10 + (r % 10)] = 1; }
    for (let i = 0; i < parameters.length; i++) parameters[i] = (((i * 40503) % 2001) - 1000) / 20000;
    await coordinator.ready();
    for (let i = 0; i < 1000; i++) await coordinator.trainStep((i * batch) % (4096 - batch), ((i * batch) % (4096 - batch)) + batch, 0.01, i + 1); // warm up (the JIT, both cores)
    coordinator.profiling = true;
    const started = performance.now();
    let team = 1;
    for (let i = 0; i < profileSteps; i++) {
      const from = (i * batch) % (4096 - batch);
      team = (await coordinator.trainStep(from, from + batch, 0.01, i + 1001)).team;
    }
    const wall = (performance.now() - started) / profileSteps;
    const p = coordinator.takeProfile();
    const us = (ms: number): string => (ms * 1000).toFixed(1);
    profileRows.push([String(batch), String(team), us(wall), us(p.compute), us(p['team waits']), us(p['step barrier']), us(p['reduce and update'])]);
  } finally {
    await coordinator.close();
  }
}
console.log(`\nper step of 784-128-64-10 on ${threads} threads (${kernels} kernels), µs; phases are means over participants:`);
const headers = ['batch', 'team', 'wall', 'compute', 'team waits', 'step barrier', 'reduce+update'];
console.log([headers, ...profileRows].map((row) => row.map((cell, i) => cell.padStart(Math.max(headers[i]!.length, 7))).join('  ')).join('\n'));
