// The CSV files of issue 17 against scikit-learn: a table of money (thousands separators, currency
// signs, accounting negatives, percents, US dates) and a Latin-1 semicolon table with decimal commas
// and accented names that differ only in their accents (Müller / Möller). gradpool reads each with
// default flags (`train({ data, testData })`); scikit-learn reads the same files with the cleaning a
// pandas user writes (bench/peers/sklearn_csv_formats.py), then its default MLP pipeline. Also the
// gradpool of /work/main (or GRADPOOL_BEFORE=path/to/cli.js) on the same files, for the before.
//
//   node dist/bench/csv-formats-vs-sklearn.js [--rows 3000] [--seeds 1,2,3]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gaussian, randomStream } from '../src/data/random.js';
import { train } from '../src/index.js';
import { flag, machineInfo, machineLine, markdownTable, note, saveResults, textTable } from './common.js';

const PYTHON = '/usr/bin/python3';
const PEER = fileURLToPath(new URL('../../bench/peers/sklearn_csv_formats.py', import.meta.url));
const BEFORE = process.env.GRADPOOL_BEFORE ?? '/work/main/dist/src/cli.js';

type Kind = 'money' | 'latin';

/** Header and rows as CSV text lines (cells already written as the file has them). */
function moneyTable(rows: number, seed: number): string[] {
  const random = randomStream(seed, 'csv-formats:money');
  const segments = ['retail', 'business', 'private', 'student'];
  const effect = [0.4, -0.6, 0.9, -0.7];
  const lines = ['id,balance,income,change,rate,segment,opened,label'];
  for (let i = 0; i < rows; i++) {
    const zb = gaussian(random);
    const zi = gaussian(random);
    const zc = gaussian(random);
    const zr = gaussian(random);
    const s = Math.floor(random() * segments.length);
    const month = 1 + Math.floor(random() * 12);
    const day = 1 + Math.floor(random() * 28);
    const balance = Math.max(0, 25_000 + 15_000 * zb);
    const income = Math.max(0, 3_000 + 1_200 * zi);
    const change = 60 * zc;
    const rate = Math.min(0.95, Math.max(0, 0.3 + 0.12 * zr));
    const summer = month >= 5 && month <= 8 ? 0.8 : -0.3;
    const logit = 1.3 * zb - 1.1 * zi * zb + 1.2 * zc + 1.4 * zr + effect[s]! + summer + 0.9 * gaussian(random);
    const money = (v: number): string => v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    lines.push(
      [
        String(i + 1),
        `"${money(balance)}"`,
        `"$${money(income)}"`,
        change < 0 ? `"($${money(-change)})"` : `"$${money(change)}"`,
        `${(rate * 100).toFixed(1)}%`,
        segments[s]!,
        `${String(month).padStart(2, '0')}/${String(day).padStart(2, '0')}/2024`,
        logit > 0 ? 'yes' : 'no',
      ].join(','),
    );
  }
  return lines;
}

function latinTable(rows: number, seed: number): string[] {
  const random = randomStream(seed, 'csv-formats:latin');
  // Pairs that only their accents tell apart, with opposite effects: merged through U+FFFD they cancel out.
  const names = ['Müller', 'Möller', 'Mäller', 'Jürgen', 'Jörgen', 'Renée', 'René', 'Zoë', 'Zoé', 'Ñuño', 'Nuño', 'Çelik', 'Celik'];
  const nameEffect = [1.6, -1.6, 0.2, 1.2, -1.2, 1.4, -1.4, 0.9, -0.9, 1.1, -1.1, 0.8, -0.8];
  const cities = ['Zürich', 'Köln', 'Málaga', 'Besançon', 'Genève', 'Kraków', 'Tromsø'];
  const cityEffect = [0.5, -0.4, 0.3, -0.6, 0.7, -0.2, 0.1];
  const lines = ['nom;ville;âge;revenu;tarif'];
  for (let i = 0; i < rows; i++) {
    const n = Math.floor(random() * names.length);
    const c = Math.floor(random() * cities.length);
    const age = Math.round(18 + 50 * random());
    const income = Math.max(0, 2_500 + 900 * gaussian(random));
    const logit = nameEffect[n]! + cityEffect[c]! + 0.04 * (age - 43) + 0.0008 * (income - 2_500) + 0.7 * gaussian(random);
    const tariff = logit > 0.8 ? 'élevé' : logit > -0.6 ? 'réduit' : 'plein';
    lines.push([names[n], cities[c], String(age), income.toFixed(2).replace('.', ','), tariff].join(';'));
  }
  return lines;
}

function split(lines: string[], seed: number): [string[], string[]] {
  const random = randomStream(seed, 'split');
  const [header, ...rows] = lines;
  const trainRows: string[] = [header!];
  const testRows: string[] = [header!];
  for (const row of rows) (random() < 0.25 ? testRows : trainRows).push(row);
  return [trainRows, testRows];
}

/** What the gradpool before this change makes of the same files: its test accuracy, or why it has none. */
function before(trainFile: string, testFile: string): number | string {
  if (!existsSync(BEFORE)) return `no ${BEFORE}`;
  const run = spawnSync(process.execPath, [BEFORE, 'train', '--data', trainFile, '--test-data', testFile, '--quiet', '--log-json', `${trainFile}.log.jsonl`], { encoding: 'utf8' });
  if (run.status !== 0) return (run.stderr.trim().split('\n').pop() ?? '').replace(/^gradpool: /, '').slice(0, 120);
  const lines = spawnSync('tail', ['-1', `${trainFile}.log.jsonl`], { encoding: 'utf8' }).stdout;
  return (JSON.parse(lines) as { testAccuracy: number }).testAccuracy;
}

async function main(): Promise<void> {
  const rows = Number(flag('rows', '3000'));
  const seeds = flag('seeds', '1,2,3').split(',').map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'gradpool-csv-formats-'));
  const table: string[][] = [];
  const results: Record<string, unknown>[] = [];
  const pct = (v: number | null | string): string => (typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : v === null ? '—' : `refused`);
  for (const kind of ['money', 'latin'] as Kind[]) {
    for (const seed of seeds) {
      const [trainLines, testLines] = split(kind === 'money' ? moneyTable(rows, seed) : latinTable(rows, seed), seed);
      const encode = (lines: string[]): Buffer => (kind === 'latin' ? Buffer.from(lines.join('\r\n') + '\r\n', 'latin1') : Buffer.from(lines.join('\n') + '\n'));
      const trainFile = join(dir, `${kind}-${seed}-train.csv`);
      const testFile = join(dir, `${kind}-${seed}-test.csv`);
      writeFileSync(trainFile, encode(trainLines));
      writeFileSync(testFile, encode(testLines));
      const ours = await train({ data: trainFile, testData: testFile, seed });
      const gradpool = ours.test!.accuracy!;
      const env = { ...process.env };
      delete env.OPENBLAS_CORETYPE;
      const run = spawnSync(PYTHON, [PEER, kind, trainFile, testFile, String(seed)], { encoding: 'utf8', env });
      const peer = run.status === 0 ? (JSON.parse(run.stdout.trim()) as { mlp: number; logistic: number; levels: Record<string, number> }) : null;
      if (!peer) note(`scikit-learn did not run: ${run.stderr.trim().split('\n').pop()}`);
      const old = before(trainFile, testFile);
      note(`${kind} seed ${seed}: gradpool ${pct(gradpool)}, scikit-learn MLP ${pct(peer?.mlp ?? null)}, logistic ${pct(peer?.logistic ?? null)}, before ${typeof old === 'number' ? pct(old) : old}`);
      const diff = peer ? ((gradpool - peer.mlp) * 100).toFixed(1) : '—';
      table.push([kind, String(seed), String(trainLines.length - 1), String(testLines.length - 1), typeof old === 'number' ? pct(old) : 'refused', pct(gradpool), pct(peer?.mlp ?? null), pct(peer?.logistic ?? null), diff]);
      results.push({ kind, seed, trainRows: trainLines.length - 1, testRows: testLines.length - 1, gradpool, before: old, sklearnMlp: peer?.mlp ?? null, sklearnLogistic: peer?.logistic ?? null, sklearnLevels: peer?.levels ?? null, schema: ours.data.schema, notes: ours.data.notes });
    }
  }
  const headers = ['table', 'seed', 'train rows', 'test rows', 'gradpool before', 'gradpool now (defaults)', 'scikit-learn MLP', 'scikit-learn logistic', 'now − MLP (points)'];
  const align = ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'] as const;
  console.log(`${machineLine(machineInfo())}\nIssue 17 tables, ${rows} rows per seed, 25% held out\n`);
  console.log(textTable(headers, table, align));
  console.log('<!-- markdown -->');
  console.log(markdownTable(headers, table, align));
  saveResults('csv-formats-vs-sklearn', new Date().toISOString(), { rows, seeds, machine: machineInfo(), results });
}

await main();
