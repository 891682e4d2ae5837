// Threads on Fashion-MNIST as a new user runs them, before and after: the CLI of this build and,
// with --before, of another build (a checkout of an earlier commit, built), side by side in one run.
// Each run is `gradpool train` on the IDX directory with the same explicit flags (plain SGD, lr 0.1,
// no validation split, so changed defaults change nothing); samples/s is the median of its epochs'.
// Builds, layers, batch sizes and thread counts are interleaved in every round (rotating order), and
// each cell is the median over rounds, so a shared machine's drift lands on all of them alike.
//   node dist/bench/scaling.js --before /work/before [--layers 128,64/256,128] [--batches 32,64,128] [--rounds 3]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { REPO_ROOT, machineInfo, machineLine, markdownTable, median, note, preflight, rotate, saveResults } from './common.js';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

const flags = yargs(hideBin(process.argv))
  .scriptName('scaling')
  .option('before', { type: 'string', describe: 'root of another gradpool build (dist/src/cli.js inside) to measure beside this one' })
  .option('data', { type: 'string', default: '/usr/share/datasets/fashion-mnist', describe: 'an IDX directory (Debian: apt-get install dataset-fashion-mnist)' })
  .option('layers', { type: 'string', default: '128,64/256,128', describe: 'hidden layers per network, networks separated by /' })
  .option('batches', { type: 'string', default: '32,64,128', describe: 'batch sizes' })
  .option('threads', { type: 'string', default: '1,2', describe: 'thread counts (the first is the speedup baseline)' })
  .option('epochs', { type: 'number', default: 3 })
  .option('rounds', { type: 'number', default: 3 })
  .option('save', { type: 'boolean', default: true })
  .option('force', { type: 'boolean', default: false, describe: 'run on a dirty tree or a busy machine; the results record it' })
  .strict()
  .parseSync();

const builds = [{ name: 'after', root: REPO_ROOT }, ...(flags.before ? [{ name: 'before', root: resolve(flags.before) }] : [])];
const networks = flags.layers.split('/');
const batches = flags.batches.split(',').map(Number);
const threadCounts = flags.threads.split(',').map(Number);
const machine = machineInfo();
const checks = preflight('scaling', machine, flags.force);
const commitOf = (root: string): string => spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim() || 'unknown';

/** rates: the median of a run's epochs (the measure); warmRates: of its epochs after the first (the JIT compiles during the first). */
interface Cell { build: string; layers: string; batch: number; threads: number; rates: number[]; warmRates: number[] }
const cells: Cell[] = builds.flatMap((b) => networks.flatMap((layers) => batches.flatMap((batch) => threadCounts.map((threads) => ({ build: b.name, layers, batch, threads, rates: [] as number[], warmRates: [] as number[] })))));
const scratch = mkdtempSync(join(os.tmpdir(), 'gradpool-scaling-'));

/** One `gradpool train` run: the median of its epochs' samples/s, from --log-json, and that of its epochs after the first. */
function run(root: string, layers: string, batch: number, threads: number): { all: number; warm: number } {
  const log = join(scratch, 'log.jsonl');
  const args = [join(root, 'dist/src/cli.js'), 'train', '--data', flags.data, '--layers', layers, '--batch-size', String(batch), '--threads', String(threads),
    '--epochs', String(flags.epochs), '--optimizer', 'sgd', '--lr', '0.1', '--weight-decay', '0', '--val-split', '0', '--seed', '1', '--log-json', log, '--quiet'];
  const child = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`${root}: gradpool train exited ${child.status}: ${child.stderr.trim()}`);
  const epochs = readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { samplesPerSec?: number }).filter((e) => e.samplesPerSec !== undefined);
  const rates = epochs.map((e) => e.samplesPerSec!);
  return { all: median(rates), warm: median(rates.slice(1)) };
}

/** GFLOP/s of bench/vector-ceiling.js in `processes` processes at once, summed. */
async function vectorRate(processes: number): Promise<number> {
  const script = join(REPO_ROOT, 'dist/bench/vector-ceiling.js');
  const runs = Array.from({ length: processes }, () => new Promise<number>((done, fail) => {
    const child = spawn(process.execPath, [script, '--seconds', '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('close', (code) => (code === 0 ? done((JSON.parse(out) as { gflops: number }).gflops) : fail(new Error(`vector-ceiling exited ${code}`))));
  }));
  return (await Promise.all(runs)).reduce((sum, rate) => sum + rate, 0);
}

note(`scaling — ${machineLine(machine)}`);
// What the machine allows: the step's matrix product in one process, then in one per thread at once.
const most = Math.max(...threadCounts);
const ceilings: number[] = [];
for (let round = 0; round < flags.rounds; round++) {
  const alone = await vectorRate(1);
  const together = await vectorRate(most);
  ceilings.push(together / alone);
  note(`ceiling round ${round + 1}: 1 process ${alone.toFixed(1)} GFLOP/s, ${most} at once ${together.toFixed(1)} GFLOP/s in all (${(together / alone).toFixed(2)}×)`);
}
const ceiling = median(ceilings);
try {
  for (let round = 0; round < flags.rounds; round++) {
    for (const cell of rotate(cells, round * 5)) {
      const { all, warm } = run(builds.find((b) => b.name === cell.build)!.root, cell.layers, cell.batch, cell.threads);
      cell.rates.push(all);
      cell.warmRates.push(warm);
      note(`round ${round + 1}: ${cell.build} ${cell.layers} batch ${cell.batch} threads ${cell.threads}: ${Math.round(all).toLocaleString('en-US')} samples/s (after the first epoch ${Math.round(warm).toLocaleString('en-US')})`);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const k = (n: number): string => `${Math.round(n / 1000)}k`;
const [base, ...more] = threadCounts;
const headers = ['layers', 'batch', ...builds.flatMap((b) => [`${b.name}: ${base} thread${base === 1 ? '' : 's'}`, ...more.map((t) => `${b.name}: ${t} threads (×, efficiency)`)]), ...(builds.length > 1 ? [`after ÷ before, ${base} thread${base === 1 ? '' : 's'}`] : [])];
/** The table of one measure (each cell: the median over rounds). */
function tableOf(measure: 'rates' | 'warmRates'): string {
  const rate = (build: string, layers: string, batch: number, threads: number): number => median(cells.find((c) => c.build === build && c.layers === layers && c.batch === batch && c.threads === threads)![measure]);
  const rows = networks.flatMap((layers) => batches.map((batch) => [
    layers,
    String(batch),
    ...builds.flatMap((b) => {
      const one = rate(b.name, layers, batch, base!);
      return [k(one), ...more.map((t) => { const r = rate(b.name, layers, batch, t); return `${k(r)} (${(r / one).toFixed(2)}×, ${Math.round((100 * r) / one / t)}%)`; })];
    }),
    ...(builds.length > 1 ? [(rate('after', layers, batch, base!) / rate('before', layers, batch, base!)).toFixed(2)] : []),
  ]));
  return markdownTable(headers, rows, headers.map((_, i) => (i === 0 ? 'l' : 'r')));
}
const table = tableOf('rates');
const warmTable = tableOf('warmRates');
const commits = builds.map((b) => `${b.name} = ${commitOf(b.root)}`).join(', ');
console.log(`\nFashion-MNIST (${flags.data}), --epochs ${flags.epochs}, median samples/s of the epochs, median of ${flags.rounds} interleaved rounds; ${commits}\n${machine.cpu}, ${machine.availableParallelism} cores, load ${machine.loadAverage.join(' ')} at start\nmachine ceiling: the step's matrix product (forward 64×784×128) in ${most} processes at once runs ${ceiling.toFixed(2)}× as fast in all as in one\n\n${table}\n\nThe same runs, median samples/s of the epochs after the first (the one during which V8 compiles the step's code):\n\n${warmTable}`);
if (flags.save) note(`saved ${saveResults('scaling', machine.date, { machine, checks, builds: builds.map((b) => ({ ...b, commit: commitOf(b.root) })), flags, ceiling: { processes: most, ratios: ceilings, median: ceiling }, cells, table, warmTable })}`);
