// gradpool's defaults (chosen from the data), today's fixed defaults, and `gradpool tune`, against
// scikit-learn's default MLP pipeline and the same grid in GridSearchCV(n_jobs=-1), on four seeded
// tables: a small unscaled regression like sklearn's diabetes set, a wide classification table, a
// Titanic-like table and a Fashion-MNIST subset (IDX). Test accuracy (or R²) on the same held-out
// rows; the search's wall time on both sides.
//
//   node dist/bench/defaults-vs-sklearn.js [--tables diabetes,wide,titanic,images] [--seed 1]
//        [--no-tune] [--no-sklearn] [--wide-rows 5000] [--wide-features 2000] [--images 5000]
//        [--gradpool '{"layers":[32]}']   (extra options for the defaults column, for trying rules)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { loadDataset, train, tune, type Model, type TrainOptions } from '../src/index.js';
import { diabetesLikeTable, splitTable, titanicTable, wideTable, writeTable } from '../test/helpers/tabular.js';
import { flag, machineInfo, machineLine, markdownTable, note, saveResults, textTable } from './common.js';

const PYTHON = '/usr/bin/python3';
const SKLEARN_SCRIPT = fileURLToPath(new URL('../../bench/peers/sklearn_mlp.py', import.meta.url));
const FASHION = '/usr/share/datasets/fashion-mnist';
/** Folds of both searches; the grid is tune's own (around the defaults' configuration), handed to GridSearchCV as tune reports it. */
const FOLDS = 3;
/** Today's fixed defaults, spelled out (what train did before defaults were chosen from the data). */
const FIXED: Partial<TrainOptions> = { layers: [64, 64], epochs: 30, lr: 0.1, optimizer: 'sgd', weightDecay: 0, valSplit: 0 };

interface Bench {
  name: string;
  description: string;
  /** gradpool's data and test data; the test is the IDX directory's own when testData is absent. */
  data: string;
  testData?: string;
  /** The same two for the Python side (CSV paths, or idx:DIR:PART). */
  python: [string, string];
  label: string;
  drop: string[];
  regression: boolean;
  /** Flags the file needs to be read at all (missing cells), the same for every gradpool column. */
  needs: Partial<TrainOptions>;
}

async function makeBench(name: string, dir: string, seed: number): Promise<Bench> {
  const csv = async (table: ReturnType<typeof titanicTable>, test: number): Promise<[string, string]> => {
    const [trainRows, testRows] = splitTable(table, test, seed);
    return [await writeTable(dir, `${name}-train.csv`, trainRows), await writeTable(dir, `${name}-test.csv`, testRows)];
  };
  if (name === 'diabetes') {
    const [a, b] = await csv(diabetesLikeTable(442, seed), 0.25);
    return { name, description: 'diabetes-like regression, 442 rows × 10, unscaled', data: a, testData: b, python: [a, b], label: 'progression', drop: [], regression: true, needs: {} };
  }
  if (name === 'wide') {
    const rows = Number(flag('wide-rows', '5000'));
    const features = Number(flag('wide-features', '2000'));
    const [a, b] = await csv(wideTable(rows, features, seed), 0.25);
    return { name, description: `wide classification, ${rows} rows × ${features}`, data: a, testData: b, python: [a, b], label: 'label', drop: [], regression: false, needs: {} };
  }
  if (name === 'titanic') {
    const [a, b] = await csv(titanicTable(2000, seed), 0.25);
    return { name, description: 'Titanic-like, 2000 rows, categories and missing cells', data: a, testData: b, python: [a, b], label: 'survived', drop: ['id'], regression: false, needs: { missing: 'impute' } };
  }
  if (name === 'images') {
    const count = Number(flag('images', '5000'));
    const imagesDir = join(dir, 'fashion');
    writeIdxSubset(imagesDir, count, Math.round(count / 5));
    return { name, description: `Fashion-MNIST, first ${count} training / ${Math.round(count / 5)} test images (IDX)`, data: imagesDir, python: [`idx:${imagesDir}:train`, `idx:${imagesDir}:t10k`], label: '', drop: [], regression: false, needs: {} };
  }
  throw new Error(`unknown table ${name}`);
}

/** The first `train` and `test` images of Fashion-MNIST, as an uncompressed IDX directory. */
function writeIdxSubset(dir: string, trainCount: number, testCount: number): void {
  spawnSync('mkdir', ['-p', dir]);
  for (const [part, count] of [['train', trainCount], ['t10k', testCount]] as const) {
    for (const [kind, rowBytes, headerBytes] of [['images-idx3-ubyte', 784, 16], ['labels-idx1-ubyte', 1, 8]] as const) {
      const whole = gunzipSync(readFileSync(join(FASHION, `${part}-${kind}.gz`)));
      const out = Buffer.from(whole.subarray(0, headerBytes + count * rowBytes));
      out.writeUInt32BE(count, 4);
      writeFileSync(join(dir, `${part}-${kind}`), out);
    }
  }
}

/** Test accuracy, or R² for regression, of a trained model on the bench's test rows. */
async function score(bench: Bench, model: Model, test: { accuracy: number | null } | null): Promise<number> {
  if (!bench.regression) return test!.accuracy!;
  const data = await loadDataset(bench.testData!, { schema: model.schema, labels: 'values' });
  if (data.targets.kind !== 'values') throw new Error('expected values');
  const predicted = model.outputsFor(data.x, data.rows);
  const actual = data.targets.values;
  let mean = 0;
  for (let r = 0; r < data.rows; r++) mean += actual[r]! / data.rows;
  let sse = 0;
  let sst = 0;
  for (let r = 0; r < data.rows; r++) {
    sse += (predicted[r]! - actual[r]!) ** 2;
    sst += (actual[r]! - mean) ** 2;
  }
  return 1 - sse / sst;
}

interface GridRow {
  layers: readonly number[];
  lr: number;
  weightDecay: number;
  cv: number;
  baseline: boolean;
}

interface Row {
  table: string;
  metric: 'accuracy' | 'R²';
  fixed: number;
  defaults: number;
  chosen: string;
  defaultsSeconds: number;
  tuned: number | null;
  tuneSeconds: number | null;
  tuneBest: string | null;
  /** The configurations both searches tried, with tune's mean CV score. */
  grid: GridRow[];
  sklearn: number | null;
  /** Ridge or logistic regression on the same preprocessing, for scale. */
  linear: number | null;
  sklearnGrid: number | null;
  gridSeconds: number | null;
}

async function main(): Promise<void> {
  const seed = Number(flag('seed', '1'));
  const names = flag('tables', 'diabetes,wide,titanic,images').split(',');
  const runTune = !process.argv.includes('--no-tune');
  const runSklearn = !process.argv.includes('--no-sklearn');
  const extra = JSON.parse(flag('gradpool', '{}')) as Partial<TrainOptions>;
  const dir = mkdtempSync(join(tmpdir(), 'gradpool-defaults-'));
  const rows: Row[] = [];
  try {
    for (const name of names) {
      const bench = await makeBench(name, dir, seed);
      const base = { data: bench.data, testData: bench.testData, seed, ...bench.needs };
      const fixedRun = await train({ ...base, ...FIXED });
      const fixed = await score(bench, fixedRun.model, fixedRun.test);
      let started = performance.now();
      const ours = await train({ ...base, ...extra });
      const defaultsSeconds = (performance.now() - started) / 1000;
      const defaults = await score(bench, ours.model, ours.test);
      const chosen = ours.data.defaults?.line ?? 'fixed defaults';
      note(`${name}: fixed ${fixed.toFixed(3)}, defaults ${defaults.toFixed(3)} (${chosen}; ${ours.history.length} epochs, ${defaultsSeconds.toFixed(1)} s)`);
      let tuned: number | null = null;
      let tuneSeconds: number | null = null;
      let tuneBest: string | null = null;
      let grid: GridRow[] = [];
      if (runTune) {
        started = performance.now();
        const search = await tune({ ...base, folds: FOLDS });
        tuneSeconds = (performance.now() - started) / 1000;
        tuned = await score(bench, search.model, search.test);
        tuneBest = `${search.best.layers.join(',')} lr ${search.best.lr} wd ${search.best.weightDecay}`;
        grid = search.grid.map((row) => ({ ...row.config, cv: row.mean, baseline: row.baseline }));
        note(`${name}: tune ${tuned.toFixed(3)} (${tuneBest}, ${search.grid.length} configurations × ${FOLDS} folds, ${tuneSeconds.toFixed(1)} s)`);
      }
      let sklearn: number | null = null;
      let linear: number | null = null;
      let sklearnGrid: number | null = null;
      let gridSeconds: number | null = null;
      if (runSklearn) {
        const env = { ...process.env };
        delete env.OPENBLAS_CORETYPE;
        delete env.OPENBLAS_L2_SIZE;
        const args = [SKLEARN_SCRIPT, ...bench.python, '--label', bench.label, '--drop', bench.drop.join(','), '--seed', String(seed), ...(bench.regression ? ['--regression'] : [])];
        // The same configurations, as MLP parameters (alpha is scikit-learn's L2 penalty, our weight decay).
        if (runTune) args.push('--grid', JSON.stringify(grid.map((g) => ({ layers: g.layers, lr: g.lr, alpha: g.weightDecay }))), '--folds', String(FOLDS));
        const run = spawnSync(PYTHON, args, { encoding: 'utf8', env, maxBuffer: 1 << 24 });
        if (run.status === 0) {
          const result = JSON.parse(run.stdout.trim()) as { default: number; linear: number; grid?: number; gridSeconds?: number; gridBest?: unknown };
          linear = result.linear;
          sklearn = result.default;
          sklearnGrid = result.grid ?? null;
          gridSeconds = result.gridSeconds ?? null;
          note(`${name}: scikit-learn default ${sklearn.toFixed(3)}, linear ${linear.toFixed(3)}${sklearnGrid === null ? '' : `, GridSearchCV ${sklearnGrid.toFixed(3)} (${JSON.stringify(result.gridBest)}, ${gridSeconds!.toFixed(1)} s)`}`);
        } else {
          note(`${name}: scikit-learn did not run: ${run.stderr.trim().split('\n').pop()}`);
        }
      }
      rows.push({ table: bench.description, metric: bench.regression ? 'R²' : 'accuracy', fixed, defaults, chosen, defaultsSeconds, tuned, tuneSeconds, tuneBest, grid, sklearn, linear, sklearnGrid, gridSeconds });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const shown = (row: Row, value: number | null): string => (value === null ? '—' : row.metric === 'R²' ? value.toFixed(3) : `${(value * 100).toFixed(1)}%`);
  const gap = (row: Row, a: number | null, b: number | null): string => (a === null || b === null ? '—' : row.metric === 'R²' ? (a - b).toFixed(3) : (100 * (a - b)).toFixed(1));
  const seconds = (value: number | null): string => (value === null ? '—' : `${value.toFixed(1)} s`);
  const headers = ['table', 'metric', 'fixed 64,64 sgd', 'defaults', 'sklearn MLP', 'defaults − sklearn', 'sklearn linear', 'tune', 'tune − defaults', 'GridSearchCV', 'tune time', 'GridSearchCV time'];
  const table = rows.map((r) => [r.table, r.metric, shown(r, r.fixed), shown(r, r.defaults), shown(r, r.sklearn), gap(r, r.defaults, r.sklearn), shown(r, r.linear), shown(r, r.tuned), gap(r, r.tuned, r.defaults), shown(r, r.sklearnGrid), seconds(r.tuneSeconds), seconds(r.gridSeconds)]);
  const align = ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'] as const;
  console.log(`${machineLine(machineInfo())}\nseed ${seed}; tune's default grid (around the defaults' configuration), the same configurations in GridSearchCV, ${FOLDS}-fold CV on both sides\n`);
  console.log(textTable(headers, table, align));
  for (const r of rows) console.log(`  ${r.table}: ${r.chosen}${r.tuneBest ? `; tune chose ${r.tuneBest}` : ''}`);
  console.log('<!-- markdown -->');
  console.log(markdownTable(headers, table, align));
  saveResults('defaults-vs-sklearn', new Date().toISOString(), { seed, folds: FOLDS, command: `node dist/bench/defaults-vs-sklearn.js ${process.argv.slice(2).join(' ')}`.trim(), machine: machineInfo(), rows });
}

await main();
