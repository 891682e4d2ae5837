// Defaults chosen from a table's size (said in one line, each overridable), the held-out rows
// recorded in the model, the best epoch's weights kept, R² in the epoch line (tune: tune.test.ts).
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadDataset, loadModel, train } from '../src/index.js';
import { chooseDefaults } from '../src/defaults.js';
import { scoreModel } from '../src/tune.js';
import type { Dataset } from '../src/data/dataset.js';
import { runCli, tempDir } from './helpers/cli.js';
import { housesTable, peopleTable, writeTable } from './helpers/tabular.js';

/** The rows of a dataset that `rows` lists, as a Dataset of their own. */
function rowsOf(data: Dataset, rows: readonly number[]): Dataset {
  const x = new Float32Array(rows.length * data.features);
  rows.forEach((r, i) => x.set(data.x.subarray(r * data.features, (r + 1) * data.features), i * data.features));
  const { targets } = data;
  const picked = targets.kind === 'values' ? { kind: 'values' as const, values: Float32Array.from(rows, (r) => targets.values[r]!) } : targets.kind === 'classes' ? { kind: 'classes' as const, names: targets.names, index: Int32Array.from(rows, (r) => targets.index[r]!) } : targets;
  return { ...data, rows: rows.length, x, targets: picked };
}

test('a small table gets defaults chosen from its size, said in one line; a given flag is left as given', async (t) => {
  const file = await writeTable(await tempDir(), 'people.csv', peopleTable(300, 1));
  const run = await runCli(['train', '--data', file, '--layers', '16']);
  t.is(run.code, 0, run.stderr);
  const lines = run.stdout.split('\n').filter((l) => l.startsWith('defaults for a table'));
  t.is(lines.length, 1);
  t.regex(lines[0]!, /^defaults for a table of 300 rows × 2 inputs \(small: under 2,000 rows\): adam lr 0\.001, weight decay 0\.001, val split 0\.2, early stop after 10 epochs .*at most 200 epochs; flags override each$/);
  t.notRegex(lines[0]!, /layers/, 'the layers were given');
  t.regex(run.stdout, /^epoch +1\/200 .*val_loss/m);
  // Everything given: the line says so, and the run is today's fixed one (no validation split).
  const all = await runCli(['train', '--data', file, '--epochs', '2', '--val-split', '0', '--optimizer', 'sgd', '--lr', '0.1', '--layers', '8', '--weight-decay', '0']);
  t.is(all.code, 0, all.stderr);
  t.regex(all.stdout, /^defaults for a table of 300 rows × 2 inputs \(small: under 2,000 rows\): all given$/m);
  t.regex(all.stdout, /^epoch 2\/2 /m);
  t.notRegex(all.stdout, /val_loss/);
  // Builtin sets keep the option table's defaults and print no such line.
  const builtin = await runCli(['train', '--data', 'builtin:spirals', '--samples', '200', '--epochs', '1']);
  t.is(builtin.code, 0, builtin.stderr);
  t.notRegex(builtin.stdout, /defaults for a table/);
});

test('the chooser: wide tables get more weight decay than small ones, larger ones less; given options are never replaced', (t) => {
  const wide = chooseDefaults({ rows: 5000, features: 2000, classes: 2, kind: 'table' }, {});
  const small = chooseDefaults({ rows: 400, features: 10, classes: null, kind: 'table' }, {});
  const large = chooseDefaults({ rows: 50_000, features: 20, classes: 3, kind: 'table' }, {});
  t.true(wide.values.weightDecay! > small.values.weightDecay!);
  t.true(small.values.weightDecay! > large.values.weightDecay!);
  t.true(small.values.valSplit! > large.values.valSplit!);
  t.regex(wide.line, /wide/);
  const given = chooseDefaults({ rows: 400, features: 10, classes: null, kind: 'table' }, { weightDecay: 0, valSplit: 0, optimizer: 'momentum' });
  t.false('weightDecay' in given.values);
  t.false('valSplit' in given.values);
  t.false('patience' in given.values, 'no validation rows: no early stopping');
  t.false('optimizer' in given.values);
  t.false('lr' in given.values, "the rate is the given optimizer's default");
});

test('the held-out rows are a seeded draw, stored in the model file (JSON and safetensors)', async (t) => {
  const dir = await tempDir();
  const file = await writeTable(dir, 'people.csv', peopleTable(250, 2));
  const first = await train({ data: file, epochs: 3, out: join(dir, 'a.json') });
  const again = await train({ data: file, epochs: 3, out: join(dir, 'b.safetensors') });
  const other = await train({ data: file, epochs: 3, seed: 7 });
  const held = first.data.heldOut!;
  t.is(held.fraction, 0.2);
  t.is(held.seed, 1);
  t.is(held.rows.length, 50);
  t.deepEqual([...held.rows], [...held.rows].sort((a, b) => a - b));
  t.deepEqual(again.data.heldOut!.rows, held.rows, 'the same seed holds out the same rows');
  t.notDeepEqual(other.data.heldOut!.rows, held.rows, 'another seed, other rows');
  t.is(other.data.heldOut!.seed, 7);
  for (const saved of ['a.json', 'b.safetensors']) {
    const model = await loadModel(join(dir, saved));
    t.deepEqual(model.heldOut, { seed: 1, fraction: 0.2, rows: [...held.rows] }, saved);
  }
  t.true((await readFile(join(dir, 'a.json'), 'utf8')).includes('"heldOut"'));
  const none = await train({ data: file, epochs: 1, valSplit: 0 });
  t.is(none.data.heldOut, null);
  t.is(none.model.heldOut, null);
});

test('early stopping keeps the best epoch: the model scores its best val_loss on the held-out rows', async (t) => {
  const dir = await tempDir();
  const file = await writeTable(dir, 'houses.csv', housesTable(240, 3));
  // A wide network at a high rate on few rows overfits: val_loss rises after its best epoch.
  const result = await train({ data: file, layers: [128], optimizer: 'adam', lr: 0.05, weightDecay: 0, patience: 4 });
  const losses = result.history.map((e) => e.valLoss!);
  const best = Math.min(...losses);
  t.not(losses.at(-1), best, 'the run went on past its best epoch');
  const data = await loadDataset(file, { schema: result.model.schema, labels: 'values' });
  const held = result.model.evaluate(rowsOf(data, result.model.heldOut!.rows));
  t.true(Math.abs(held.loss - best) <= 1e-4 * best, `held-out loss ${held.loss} against best val_loss ${best}`);
});

test('regression prints R² in the epoch line; it is the R² of the kept model on the held-out rows', async (t) => {
  const dir = await tempDir();
  const file = await writeTable(dir, 'houses.csv', housesTable(300, 4));
  const run = await runCli(['train', '--data', file, '--epochs', '5', '--out', join(dir, 'm.json')]);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /^epoch +1\/5 .*val_loss .* val_r2 +-?\d\.\d{4} /m);
  const result = await train({ data: file, epochs: 5, patience: 5 });
  const last = result.history.at(-1)!;
  t.is(typeof last.valR2, 'number');
  const data = await loadDataset(file, { schema: result.model.schema, labels: 'values' });
  const r2 = scoreModel(result.model, rowsOf(data, result.model.heldOut!.rows));
  const bestEntry = result.history.reduce((a, b) => (b.valLoss! < a.valLoss! ? b : a));
  t.true(Math.abs(r2 - bestEntry.valR2!) < 1e-3, `R² ${r2} against the epoch line's ${bestEntry.valR2}`);
  const classes = await train({ data: await writeTable(dir, 'people.csv', peopleTable(200, 1)), epochs: 1 });
  t.is(classes.history[0]!.valR2, null);
});
