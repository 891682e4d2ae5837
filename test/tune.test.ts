// tune (gradpool tune, train --tune): a grid centred on the defaults' configuration and holding it,
// the same table for a seed on any number of parallel runs, the table printed and as JSON, the best
// configuration refitted on all rows and saved.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel, train, tune, type TuneConfig, type TuneResult } from '../src/index.js';
import { bestRow } from '../src/tune.js';
import { runCli, tempDir } from './helpers/cli.js';
import { housesTable, peopleTable, writeTable } from './helpers/tabular.js';

interface TuneJson {
  metric: 'accuracy' | 'r2';
  folds: number;
  grid: { config: TuneConfig; baseline: boolean; scores: number[]; mean: number; std: number; epochs: number[] }[];
  baseline: TuneConfig;
  best: TuneConfig;
  refitEpochs: number;
  refitRows: number;
  savedTo: string | null;
}

test('gradpool tune searches a grid around the defaults, prints every configuration with its fold scores as JSON, and saves the best, which loads', async (t) => {
  const dir = await tempDir();
  const file = await writeTable(dir, 'people.csv', peopleTable(200, 7));
  const out = join(dir, 'best.safetensors');
  const run = await runCli(['tune', '--data', file, '--folds', '2', '--json', '--out', out]);
  t.is(run.code, 0, run.stderr);
  t.is(run.stdout.trim().split('\n').length, 1, 'one JSON object and nothing else');
  const report = JSON.parse(run.stdout) as TuneJson;
  t.is(report.metric, 'accuracy');
  // What train chooses for the same rows when layers, lr and weight decay are left out.
  const chosen = (await train({ data: file, epochs: 1 })).data.defaults!.values;
  const defaults = { layers: chosen.layers!, lr: chosen.lr!, weightDecay: chosen.weightDecay! };
  t.deepEqual(report.baseline, defaults);
  // Half, the same and twice the width; the rate and three times it; a tenth, the same and ten times the decay.
  const key = (c: TuneConfig): string => `${c.layers.join(',')} ${c.lr} ${c.weightDecay}`;
  const expected: string[] = [];
  for (const width of [32, 64, 128]) for (const lr of [0.001, 0.003]) for (const decay of [0.0001, 0.001, 0.01]) expected.push(key({ layers: [width], lr, weightDecay: decay }));
  t.deepEqual(report.grid.map((row) => key(row.config)).sort(), expected.sort(), 'every configuration of the grid, once');
  for (const row of report.grid) {
    t.is(row.scores.length, 2, key(row.config));
    t.true(row.scores.every((s) => s >= 0 && s <= 1), key(row.config));
    t.true(Math.abs(row.mean - (row.scores[0]! + row.scores[1]!) / 2) < 1e-12, key(row.config));
    t.is(row.epochs.length, 2);
  }
  const baselineRows = report.grid.filter((row) => row.baseline);
  t.is(baselineRows.length, 1, 'one row is the defaults\' configuration');
  t.deepEqual(baselineRows[0]!.config, defaults);
  // Cross-validation keeps the defaults' configuration unless another scores higher on the same folds.
  const best = report.grid.find((row) => key(row.config) === key(report.best))!;
  t.true(best.mean >= baselineRows[0]!.mean);
  t.is(report.savedTo, out);
  t.is(report.refitRows, 200);
  const saved = await loadModel(out);
  t.deepEqual(saved.shape.sizes.slice(1, -1), [...report.best.layers]);
  t.is(saved.heldOut, null, 'refitted on every row');
  // The same search as train --tune, with the table printed.
  const text = await runCli(['train', '--data', file, '--tune', '--folds', '2', '--tune-layers', '16', '--tune-lr', '0.001', '--tune-weight-decay', '0.001']);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /^16 +0\.001 +0\.001 .* best$/m);
  const alone = await runCli(['train', '--data', file, '--json']);
  t.is(alone.code, 2);
  t.regex(alone.stderr, /--json prints the report of a search: add --tune, or run gradpool tune/);
  const searched = await runCli(['tune', '--data', file, '--layers', '8']);
  t.is(searched.code, 2, 'tune does not take what it searches');
  t.regex(searched.stderr, /layers/);
});

test('the refitted row: the highest mean; on an exact tie the defaults\' configuration, then the earlier row', (t) => {
  const row = (mean: number, baseline: boolean): TuneResult => ({ config: { layers: [8], lr: mean, weightDecay: 0 }, baseline, scores: [mean], mean, std: 0, epochs: [1] });
  t.is(bestRow([row(0.5, false), row(0.7, false), row(0.6, true)]), 1);
  t.is(bestRow([row(0.7, false), row(0.7, true), row(0.7, false)]), 1);
  t.is(bestRow([row(0.7, false), row(0.6, true), row(0.7, false)]), 0);
});

test('tune: the same table for a seed on 1 or 2 parallel runs; the best configuration refitted on all rows and saved', async (t) => {
  const dir = await tempDir();
  const file = await writeTable(dir, 'people.csv', peopleTable(200, 5));
  const grid = { layers: [[8], [32]], lr: [0.003, 0.01], weightDecay: [0.001] };
  const one = await tune({ data: file, folds: 2, grid, parallel: 1, out: join(dir, 'one.json') });
  const two = await tune({ data: file, folds: 2, grid, parallel: 2, out: join(dir, 'two.json') });
  t.is(one.grid.length, 4);
  t.deepEqual(two.grid, one.grid);
  t.deepEqual(two.best, one.best);
  t.is(await readFile(join(dir, 'two.json'), 'utf8'), await readFile(join(dir, 'one.json'), 'utf8'), 'the same saved model');
  const best = one.grid.reduce((a, b) => (b.mean > a.mean ? b : a));
  t.deepEqual(one.best, best.config);
  for (const r of one.grid) t.true(r.mean > 0.3 && r.mean <= 1, `accuracy ${r.mean}`);
  const saved = await loadModel(join(dir, 'one.json'));
  t.deepEqual(saved.shape.sizes.slice(1, -1), [...one.best.layers]);
  t.is(one.refit.data.rows, 200, 'refitted on every training row');
  t.is(saved.heldOut, null, 'no rows held out in the refit');
  t.is(one.refit.history.length, one.refitEpochs);
  const other = await tune({ data: file, folds: 2, grid, seed: 2 });
  t.notDeepEqual(other.grid.map((r) => r.scores), one.grid.map((r) => r.scores), 'another seed, other folds');
});

test('train --tune prints the grid table and the best configuration, and saves the refitted model', async (t) => {
  const dir = await tempDir();
  const file = await writeTable(dir, 'houses.csv', housesTable(160, 6));
  const out = join(dir, 'best.json');
  const run = await runCli(['train', '--data', file, '--tune', '--folds', '2', '--tune-layers', '8;16,8', '--tune-lr', '0.01', '--tune-weight-decay', '0.001', '--out', out]);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /^layers +lr +weight decay +mean R²/m);
  t.regex(run.stdout, /^16,8 +0\.01 +0\.001 /m);
  t.regex(run.stdout, /^best: layers (8|16,8), lr 0\.01, weight decay 0\.001; refitted on all 160 training rows/m);
  t.regex(run.stdout, new RegExp(`model saved to ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const bad = await runCli(['train', '--data', file, '--tune', '--layers', '8']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--tune does not take --layers: give the values to try in --tune-layers/);
});
