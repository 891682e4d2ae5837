// CSV loading: gradpool's loadDataset against pandas read_csv + to_numpy on the same file, each in a
// fresh process (so that peak RSS is the load's own), interleaved over rounds; medians reported.
//
//   npm run bench:csv                       # 1,000,000 rows × 20 numeric features + an integer label
//   node dist/bench/csv-load.js --rows 200000 --rounds 5 --threads 1,2
//
// The file is generated once (seeded) under the system temp folder and reused. pandas runs as
// /usr/bin/python3 with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment only.
// Both loaders' results are checked against each other (rows, columns, the sum of all features).
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { gaussian, randomStream } from '../src/data/random.js';
import { loadDataset } from '../src/data/load.js';
import { machineInfo, machineLine, median, note, saveResults, textTable, markdownTable } from './common.js';

const PYTHON = '/usr/bin/python3';
const FEATURES = 20;

const PANDAS = `
import json, resource, sys, time
import pandas as pd
t = time.perf_counter()
frame = pd.read_csv(sys.argv[1])
x = frame.to_numpy()
seconds = time.perf_counter() - t
features = x[:, :-1]
print(json.dumps({"seconds": seconds, "rows": int(x.shape[0]), "columns": int(x.shape[1]), "sum": float(features.sum()), "maxRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
`;

interface Run {
  seconds: number;
  rows: number;
  columns: number;
  sum: number;
  maxRssMB: number;
}

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1]! : (process.env[`BENCH_${name.toUpperCase()}`] ?? fallback);
}

/** One row: 20 Gaussian features written with 4 decimals, and a label 0/1 from a linear rule. */
async function generate(file: string, rows: number): Promise<void> {
  const random = randomStream(1, 'bench:csv');
  const out = createWriteStream(file);
  const header = [...Array.from({ length: FEATURES }, (_, f) => `f${f + 1}`), 'label'].join(',') + '\n';
  let chunk = header;
  for (let r = 0; r < rows; r++) {
    let score = 0;
    const cells: string[] = [];
    for (let f = 0; f < FEATURES; f++) {
      const v = gaussian(random);
      score += f % 2 === 0 ? v : -0.5 * v;
      cells.push(v.toFixed(4));
    }
    cells.push(score > 0 ? '1' : '0');
    chunk += cells.join(',') + '\n';
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      chunk = '';
    }
  }
  out.write(chunk);
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

/** The child: loads the file once and prints what a Run holds. */
async function child(file: string, threads: number | undefined): Promise<void> {
  const started = performance.now();
  const data = await loadDataset(file, threads === undefined ? {} : { threads });
  const seconds = (performance.now() - started) / 1000;
  let sum = 0;
  for (let i = 0; i < data.x.length; i++) sum += data.x[i]!;
  const run: Run = { seconds, rows: data.rows, columns: data.features + 1, sum, maxRssMB: process.resourceUsage().maxRSS / 1024 };
  console.log(JSON.stringify(run));
}

function runOurs(file: string, threads: number | undefined): Run {
  const script = fileURLToPath(import.meta.url);
  const result = spawnSync(process.execPath, [script, '--child', file, ...(threads === undefined ? [] : ['--threads', String(threads)])], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (result.status !== 0) throw new Error(`gradpool child failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as Run;
}

function runPandas(file: string): Run | null {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const result = spawnSync(PYTHON, ['-c', PANDAS, file], { encoding: 'utf8', env, maxBuffer: 1 << 20 });
  if (result.status !== 0) {
    note(`pandas did not run (${(result.stderr || String(result.error)).trim().split('\n').pop()}); install python3-pandas to compare`);
    return null;
  }
  return JSON.parse(result.stdout.trim()) as Run;
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) {
    const threads = flag('threads', '');
    await child(process.argv[process.argv.indexOf('--child') + 1]!, threads === '' ? undefined : Number(threads));
    return;
  }
  const rows = Number(flag('rows', '1000000'));
  const rounds = Number(flag('rounds', '3'));
  const threadList = flag('threads', '').split(',').filter(Boolean).map(Number);
  const file = flag('file', join(tmpdir(), `gradpool-bench-csv-${rows}x${FEATURES + 1}.csv`));
  if (!existsSync(file)) {
    note(`writing ${file} (${rows.toLocaleString('en-US')} rows, seeded)…`);
    await generate(file, rows);
  }
  const bytes = statSync(file).size;
  const float32MB = (rows * (FEATURES + 1) * 4) / 2 ** 20;
  const variants: (number | undefined)[] = threadList.length > 0 ? threadList : [undefined];
  const ours = new Map<string, Run[]>(variants.map((t) => [t === undefined ? 'gradpool' : `gradpool --threads ${t}`, []]));
  const pandas: Run[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const threads of variants) {
      const name = threads === undefined ? 'gradpool' : `gradpool --threads ${threads}`;
      const run = runOurs(file, threads);
      ours.get(name)!.push(run);
      note(`round ${round + 1}: ${name} ${run.seconds.toFixed(2)} s, peak RSS ${run.maxRssMB.toFixed(0)} MB`);
    }
    const theirs = runPandas(file);
    if (theirs) {
      pandas.push(theirs);
      note(`round ${round + 1}: pandas ${theirs.seconds.toFixed(2)} s, peak RSS ${theirs.maxRssMB.toFixed(0)} MB`);
    }
  }
  const pandasSeconds = pandas.length > 0 ? median(pandas.map((r) => r.seconds)) : null;
  const rowsOut: string[][] = [];
  const summary: Record<string, unknown>[] = [];
  for (const [name, runs] of [...ours, ...(pandas.length ? ([['pandas read_csv + to_numpy', pandas]] as const) : [])]) {
    const seconds = median(runs.map((r) => r.seconds));
    const rss = median(runs.map((r) => r.maxRssMB));
    const ratio = pandasSeconds ? seconds / pandasSeconds : null;
    rowsOut.push([name, seconds.toFixed(2), ((bytes / 2 ** 20) / seconds).toFixed(0), ratio === null ? '' : `${ratio.toFixed(2)}×`, rss.toFixed(0), `${(rss / float32MB).toFixed(2)}×`]);
    summary.push({ name, seconds, mbPerSecond: bytes / 2 ** 20 / seconds, ratioToPandas: ratio, peakRssMB: rss, rssPerFloat32Data: rss / float32MB, runs });
  }
  // The two loaders must agree on what they read.
  const check = pandas[0];
  const mine = [...ours.values()][0]![0]!;
  const agree = !check || (check.rows === mine.rows && check.columns === mine.columns && Math.abs(check.sum - mine.sum) <= 1e-6 * Math.max(1, Math.abs(check.sum)) + 1);
  const headers = ['loader', 'seconds', 'MB/s', '÷ pandas', 'peak RSS MB', 'RSS ÷ float32 data'];
  const align = ['l', 'r', 'r', 'r', 'r', 'r'] as const;
  console.log(`${machineLine(machineInfo())}\n${file}: ${(bytes / 2 ** 20).toFixed(0)} MB, ${rows.toLocaleString('en-US')} rows × ${FEATURES + 1} columns (float32 data ${float32MB.toFixed(0)} MB); medians of ${rounds} rounds\n`);
  console.log(textTable(headers, rowsOut, align));
  console.log(`results agree: ${agree ? 'yes' : `NO (pandas ${JSON.stringify(check)}, gradpool ${JSON.stringify(mine)})`}`);
  console.log('<!-- markdown -->');
  console.log(markdownTable(headers, rowsOut, align));
  const date = new Date().toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  saveResults('csv-load', date, { file, bytes, rows, columns: FEATURES + 1, rounds, machine: machineInfo(), summary, agree });
}

await main();
