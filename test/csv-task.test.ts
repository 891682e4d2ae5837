// The task a table asks for (issue 17, part 2): integer labels that repeat are classes, several label
// columns a multi-output regression, regression scored by R², RMSE and MAE in the target's units,
// classification beside its majority baseline with per-class precision/recall/F1, --class-weight
// balanced (thread-count independent, recorded, resumable), categoricals of many levels capped,
// sizes refused before allocation, and the library's predict-by-name and loadDataset checks.
// Generated files in a temp dir; the built CLI as a real process; real worker threads.
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, loadDataset, loadModel, train } from '../src/index.js';
import { outputLoss, type LossKind } from '../src/math/kernels.js';
import { balancedClassWeights, classCounts, weightRowsByClass } from '../src/model/class-weights.js';
import { runCli } from './helpers/cli.js';
import { oneLine, tempDir } from './helpers/files.js';

/** A small seeded generator (LCG), so that every file is the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function gauss(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

async function writeCsv(dir: string, name: string, header: string[], rows: (string | number)[][]): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, [header.join(','), ...rows.map((row) => row.join(','))].join('\n') + '\n');
  return file;
}

/** Labels 0..classes−1, each in `perClass` rows, with two inputs that tell them apart. */
function integerClasses(classes: number, perClass: number, seed: number): (string | number)[][] {
  const next = random(seed);
  const rows: (string | number)[][] = [];
  for (let r = 0; r < classes * perClass; r++) {
    const y = r % classes;
    rows.push([(y / classes + next() * 0.002).toFixed(4), next().toFixed(3), y]);
  }
  return rows;
}

/** Two targets in very different units: y1 ≈ 10a + 5b, y2 ≈ −1000c + 200a. */
function twoTargets(rows: number, seed: number): (string | number)[][] {
  const next = random(seed);
  return Array.from({ length: rows }, () => {
    const [a, b, c] = [next(), next(), next()];
    return [a.toFixed(4), b.toFixed(4), c.toFixed(4), (10 * a + 5 * b + 0.1 * gauss(next)).toFixed(3), (-1000 * c + 200 * a + 5 * gauss(next)).toFixed(2)];
  });
}

/** A binary table with about 5% "yes": the minority shifted by `shift` in both inputs. */
function imbalanced(rows: number, seed: number, shift = 1): (string | number)[][] {
  const next = random(seed);
  return Array.from({ length: rows }, () => {
    const yes = next() < 0.05;
    return [(gauss(next) + (yes ? shift : 0)).toFixed(4), (gauss(next) + (yes ? shift : 0)).toFixed(4), yes ? 'yes' : 'no'];
  });
}

// ---------- integer labels ----------

test('integer labels 0..99 that each repeat are 100 classes, said in a line naming --loss; --loss mse keeps them a regression', async (t) => {
  const dir = await tempDir();
  const data = await writeCsv(dir, 'digits.csv', ['a', 'b', 'y'], integerClasses(100, 8, 1));
  const classes = await runCli(['train', '--data', data, '--epochs', '1', '--threads', '1']);
  t.is(classes.code, 0, classes.stderr);
  t.regex(classes.stdout, /800 rows, 2 inputs, 100 classes/);
  t.regex(classes.stdout, /note: label "y" holds 100 distinct integers, each in 5 rows or more: read as 100 classes \(--loss mse reads them as a regression target\)/);
  const values = await runCli(['train', '--data', data, '--epochs', '1', '--threads', '1', '--loss', 'mse']);
  t.is(values.code, 0, values.stderr);
  t.regex(values.stdout, /800 rows, 2 inputs, regression/);
});

test('integers most of which are rare stay a regression target, with a note naming --loss cross-entropy', async (t) => {
  const dir = await tempDir();
  const next = random(2);
  const rows = Array.from({ length: 300 }, () => {
    const a = next();
    return [a.toFixed(4), Math.round(a * 1000)];
  });
  const data = await writeCsv(dir, 'counts.csv', ['a', 'sold'], rows);
  const dataset = await loadDataset(data);
  t.is(dataset.targets.kind, 'values');
  t.true(dataset.notes!.some((n) => /label "sold" holds numbers \(more than 50 distinct\): regression .*\(some in fewer than 5 rows; --loss cross-entropy reads them as classes\)/.test(n)), dataset.notes!.join('\n'));
});

// ---------- several targets ----------

test('--label-column y1,y2 trains a two-output regression; predict writes one column per target, named; evaluate scores each in its units', async (t) => {
  const dir = await tempDir();
  const data = await writeCsv(dir, 'two.csv', ['a', 'b', 'c', 'y1', 'y2'], twoTargets(1500, 3));
  const model = join(dir, 'two.json');
  const trained = await runCli(['train', '--data', data, '--label-column', 'y1,y2', '--epochs', '40', '--threads', '2', '--out', model]);
  t.is(trained.code, 0, trained.stderr);
  t.regex(trained.stdout, /labels "y1", "y2": a regression of 2 targets/);
  const saved = JSON.parse(await readFile(model, 'utf8'));
  t.is(saved.layers.at(-1).outputs, 2);
  t.is(saved.targetScaling.perTarget.length, 2, 'each target scaled on its own');
  const preds = join(dir, 'preds.csv');
  const predicted = await runCli(['predict', '--model', model, '--data', data, '--out', preds]);
  t.is(predicted.code, 0, predicted.stderr);
  const lines = (await readFile(preds, 'utf8')).trim().split('\n');
  t.is(lines[0], 'y1,y2');
  t.is(lines.length, 1501);
  t.is(lines[1]!.split(',').length, 2);
  const evaluated = await runCli(['evaluate', '--model', model, '--data', data, '--json']);
  t.is(evaluated.code, 0, evaluated.stderr);
  const scores = JSON.parse(evaluated.stdout);
  t.is(scores.perTarget.length, 2);
  // In each target's units: y2 spans about 1000, y1 about 15, so their errors differ by far.
  t.true(scores.perTarget[0].r2 > 0.9 && scores.perTarget[1].r2 > 0.9, JSON.stringify(scores.perTarget));
  t.true(scores.perTarget[1].rmse > 10 * scores.perTarget[0].rmse, JSON.stringify(scores.perTarget));
  const text = await runCli(['evaluate', '--model', model, '--data', data]);
  t.regex(text.stdout, /\n {2}y1: R² 0\.\d{4} {2}RMSE \S+ {2}MAE \S+\n {2}y2: R² /);
});

test('the library takes the targets as an array or a comma list (as the option table does), and predicts both by column name', async (t) => {
  const dir = await tempDir();
  const data = await writeCsv(dir, 'two.csv', ['a', 'b', 'c', 'y1', 'y2'], twoTargets(400, 4));
  const asArray = await loadDataset(data, { labelColumn: ['y1', 'y2'] });
  const asList = await loadDataset(data, { labelColumn: 'y1,y2' });
  t.deepEqual(asArray.targets, asList.targets);
  t.like(asArray.targets, { kind: 'values', names: ['y1', 'y2'] });
  t.is(asArray.features, 3);
  const { model } = await train({ data, labelColumn: ['y1', 'y2'], epochs: 2, threads: 2, layers: [8] });
  t.deepEqual(model.targetNames, ['y1', 'y2']);
  const [row] = model.predict([{ a: 0.5, b: 0.5, c: 0.5 }]);
  t.is(row!.length, 2);
  const missing = await runCli(['train', '--data', data, '--label-column', 'y1,nosuch', '--epochs', '1']);
  t.is(missing.code, 2);
  t.regex(oneLine(missing.stderr) ?? '', /--label-column: no column "nosuch"/);
});

test('a target whose name holds a comma is named whole, or in double quotes within a list, as in CSV', async (t) => {
  const dir = await tempDir();
  const file = join(dir, 'q.csv');
  await writeFile(file, 'a,"y,1",y2\n' + twoTargets(60, 18).map((r) => [r[0], r[3], r[4]].join(',')).join('\n') + '\n');
  const listed = await loadDataset(file, { labelColumn: '"y,1",y2' });
  t.like(listed.targets, { kind: 'values', names: ['y,1', 'y2'] });
  const whole = await loadDataset(file, { labelColumn: 'y,1' });
  t.is(whole.features, 2, 'one label column: "y,1"');
});

// ---------- regression metrics ----------

test('train --test-data and evaluate report R², RMSE and MAE in the target’s units (un-scaled), in the log and --json too', async (t) => {
  const dir = await tempDir();
  const next = random(5);
  const rows = Array.from({ length: 1200 }, () => {
    const [a, b] = [next(), next()];
    return [a.toFixed(4), b.toFixed(4), (1000 * a + 300 * b + 20 * gauss(next)).toFixed(2)];
  });
  const data = await writeCsv(dir, 'price.csv', ['a', 'b', 'price'], rows);
  const model = join(dir, 'price.json');
  const log = join(dir, 'log.jsonl');
  const trained = await runCli(['train', '--data', data, '--test-data', data, '--epochs', '30', '--threads', '2', '--out', model, '--log-json', log]);
  t.is(trained.code, 0, trained.stderr);
  t.regex(trained.stdout, /\ntest {6}loss +\S+ {2}R² 0\.\d{4} {2}RMSE \S+ {2}MAE \S+\n/);
  const done = JSON.parse((await readFile(log, 'utf8')).trim().split('\n').at(-1)!);
  t.true(done.testR2 > 0.9, String(done.testR2));
  const evaluated = JSON.parse((await runCli(['evaluate', '--model', model, '--data', data, '--json'])).stdout);
  // The same rows, the same model: the test scores of train are evaluate's.
  t.true(Math.abs(evaluated.r2 - done.testR2) < 1e-6 && Math.abs(evaluated.rmse - done.testRmse) < 1e-3 && Math.abs(evaluated.mae - done.testMae) < 1e-3, JSON.stringify([evaluated, done]));
  // RMSE and MAE from predict's own values against the file's: in the target's units.
  const preds = join(dir, 'p.csv');
  t.is((await runCli(['predict', '--model', model, '--data', data, '--out', preds])).code, 0);
  const predicted = (await readFile(preds, 'utf8')).trim().split('\n').slice(1).map(Number);
  const actual = rows.map((r) => Number(r[2]));
  const rmse = Math.sqrt(predicted.reduce((sum, p, i) => sum + (p - actual[i]!) ** 2, 0) / rows.length);
  const mae = predicted.reduce((sum, p, i) => sum + Math.abs(p - actual[i]!), 0) / rows.length;
  t.true(Math.abs(rmse - evaluated.rmse) < 1e-3 * rmse && Math.abs(mae - evaluated.mae) < 1e-3 * mae, `${rmse} ${evaluated.rmse} ${mae} ${evaluated.mae}`);
  t.true(evaluated.rmse > 5 && evaluated.rmse < 100, 'an RMSE in price units, not in standardised ones');
});

// ---------- imbalance ----------

test('classification reports the majority baseline beside accuracy and per-class precision, recall and F1 at the end of train and in evaluate', async (t) => {
  const dir = await tempDir();
  const data = await writeCsv(dir, 'imb.csv', ['x1', 'x2', 'label'], imbalanced(2000, 6, 2));
  const model = join(dir, 'm.json');
  const log = join(dir, 'log.jsonl');
  const trained = await runCli(['train', '--data', data, '--test-data', data, '--epochs', '5', '--threads', '2', '--out', model, '--log-json', log]);
  t.is(trained.code, 0, trained.stderr);
  t.regex(trained.stdout, /note: the majority class "no" is 9\d\.\d\d% of the training rows: the accuracy to beat/);
  t.regex(trained.stdout, /\ntest {6}loss +\S+ {2}acc +\S+% {2}\(majority class "no": 9\d\.\d\d%\)\n +class {2}precision {2}recall {2}support {6}f1\n +no .*\n +yes /);
  const done = JSON.parse((await readFile(log, 'utf8')).trim().split('\n').at(-1)!);
  t.is(done.testBaseline.label, 'no');
  t.deepEqual(done.testPerClass.map((c: { label: string }) => c.label), ['no', 'yes']);
  const evaluated = JSON.parse((await runCli(['evaluate', '--model', model, '--data', data, '--json'])).stdout);
  t.deepEqual(evaluated.baseline, done.testBaseline);
  for (const c of evaluated.perClass) {
    if (c.precision === null || c.recall === null) continue;
    const f1 = c.precision + c.recall > 0 ? (2 * c.precision * c.recall) / (c.precision + c.recall) : 0;
    t.true(Math.abs(c.f1 - f1) < 1e-12);
  }
  const text = await runCli(['evaluate', '--model', model, '--data', data]);
  t.regex(text.stdout, /accuracy \S+% {2}majority baseline 9\d\.\d\d% \("no"\)/);
});

test('--class-weight balanced: weights n / (classes × count) on the training rows, recorded in the model, and 1 and 3 threads give byte-identical models', async (t) => {
  const dir = await tempDir();
  const rows = imbalanced(1500, 7);
  const data = await writeCsv(dir, 'imb.csv', ['x1', 'x2', 'label'], rows);
  const run = async (threads: number): Promise<Buffer> => {
    const out = join(dir, `t${threads}.json`);
    const result = await runCli(['train', '--data', data, '--class-weight', 'balanced', '--val-split', '0', '--epochs', '3', '--batch-size', '256', '--layers', '32', '--threads', String(threads), '--out', out], { env: { GRADPOOL_THREADS_BEYOND_CORES: '1' } });
    t.is(result.code, 0, result.stderr);
    t.regex(result.stdout, /note: class weights \(--class-weight balanced, fitted on the training rows\): no 0\.\d+, yes \d+\.\d+/);
    return readFile(out);
  };
  const one = await run(1);
  const three = await run(3);
  t.true(one.equals(three), 'the same bytes on 1 and 3 threads');
  const yes = rows.filter((r) => r[2] === 'yes').length;
  const saved = JSON.parse(one.toString('utf8'));
  t.deepEqual(saved.classWeights, [Math.fround(1500 / (2 * (1500 - yes))), Math.fround(1500 / (2 * yes))]);
  const plain = await runCli(['train', '--data', data, '--val-split', '0', '--epochs', '3', '--batch-size', '256', '--layers', '32', '--threads', '1', '--out', join(dir, 'plain.json')]);
  t.is(plain.code, 0, plain.stderr);
  t.false((await readFile(join(dir, 'plain.json'))).equals(one), 'the weights change the model');
});

test('class weights as scikit-learn fits them, and each row’s output gradient and loss times its class’s weight (every loss, in tiles)', (t) => {
  // compute_class_weight('balanced', classes=[0, 1, 2], y) for y with 6, 3 and 1 rows: n / (k · n_c)
  const index = Int32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 1, 2]);
  t.deepEqual(classCounts(index, Int32Array.from(index.keys()), 3), [6, 3, 1]);
  t.deepEqual(balancedClassWeights([6, 3, 1]), [10 / 18, 10 / 9, 10 / 3].map(Math.fround));
  const next = random(19);
  for (const [loss, outputs] of [['cross-entropy', 3], ['bce', 1], ['mse', 3]] as [LossKind, number][]) {
    const rows = 10;
    const logits = Float32Array.from({ length: rows * outputs }, () => 4 * next() - 2);
    const targets = new Float32Array(rows * outputs);
    for (let r = 0; r < rows; r++) if (outputs === 1) targets[r] = index[r]! === 0 ? 0 : 1;
    else targets[r * outputs + index[r]!] = 1;
    const weights = outputs === 1 ? [0.7, 2.5] : [0.5, 1.5, 3];
    const out = logits.slice();
    const dz = new Float32Array(rows * outputs);
    outputLoss(loss, out, dz, targets, rows, outputs);
    const plain = dz.slice();
    const tiles = new Float64Array(3);
    const total = weightRowsByClass(loss, weights, dz, out, targets, 0, rows, outputs, 4, tiles);
    let expected = 0;
    for (let r = 0; r < rows; r++) {
      const w = weights[outputs === 1 ? targets[r]! : index[r]!]!;
      for (let o = 0; o < outputs; o++) t.is(dz[r * outputs + o], Math.fround(plain[r * outputs + o]! * w));
      // the row's own loss, as the kernel computes it for that row alone
      const rowLoss = outputLoss(loss, logits.slice(r * outputs, (r + 1) * outputs), new Float32Array(outputs), targets.slice(r * outputs, (r + 1) * outputs), 1, outputs);
      expected += w * rowLoss;
    }
    t.true(Math.abs(total - expected) < 1e-5 * expected, `${loss}: ${total} vs ${expected}`);
    t.is(total, tiles[0]! + tiles[1]! + tiles[2]!, 'the tiles summed in order');
  }
});

test('--class-weight balanced raises the minority class’s recall on an imbalanced table', async (t) => {
  const dir = await tempDir();
  const data = await writeCsv(dir, 'train.csv', ['x1', 'x2', 'label'], imbalanced(3000, 8));
  const testData = await writeCsv(dir, 'test.csv', ['x1', 'x2', 'label'], imbalanced(3000, 9));
  const options = { data, testData, epochs: 10, threads: 2, layers: [16], valSplit: 0, seed: 3 } as const;
  const plain = await train(options);
  const weighted = await train({ ...options, classWeight: 'balanced' });
  const recall = (result: typeof plain): number => result.test!.perClass!.find((c) => c.label === 'yes')!.recall!;
  t.true(recall(weighted) > recall(plain) + 0.2, `minority recall ${recall(plain)} → ${recall(weighted)}`);
  t.deepEqual(weighted.model.shape.classWeights!.length, 2);
});

test('--class-weight balanced resumes exactly from a checkpoint, and a resume without it is refused', async (t) => {
  const dir = await tempDir();
  const data = await writeCsv(dir, 'imb.csv', ['x1', 'x2', 'label'], imbalanced(800, 10));
  const common = ['--data', data, '--class-weight', 'balanced', '--val-split', '0', '--layers', '16', '--threads', '2'];
  const whole = join(dir, 'whole.json');
  t.is((await runCli(['train', ...common, '--epochs', '4', '--out', whole])).code, 0);
  const checkpoints = join(dir, 'ck');
  t.is((await runCli(['train', ...common, '--epochs', '2', '--checkpoint-dir', checkpoints])).code, 0);
  const resumed = join(dir, 'resumed.json');
  const again = await runCli(['train', ...common, '--epochs', '4', '--resume', checkpoints, '--out', resumed]);
  t.is(again.code, 0, again.stderr);
  t.true((await readFile(whole)).equals(await readFile(resumed)), 'the resumed run is the uninterrupted one');
  const without = await runCli(['train', ...common.filter((a) => a !== '--class-weight' && a !== 'balanced'), '--epochs', '4', '--resume', checkpoints]);
  t.is(without.code, 2, without.stderr);
});

test('--class-weight balanced on a regression target is bad input: one line naming the flag, exit 2', async (t) => {
  const dir = await tempDir();
  const data = await writeCsv(dir, 'two.csv', ['a', 'b', 'c', 'y1', 'y2'], twoTargets(100, 11));
  const result = await runCli(['train', '--data', data, '--class-weight', 'balanced', '--epochs', '1']);
  t.is(result.code, 2);
  t.regex(oneLine(result.stderr) ?? '', /^gradpool: --class-weight balanced weighs classes; .*two\.csv has a regression target$/);
});

test('several label columns that are not all numbers, or asked for as classes, are bad input: one line naming the place or the flag, exit 2', async (t) => {
  const dir = await tempDir();
  const rows = twoTargets(30, 16).map((r, i) => (i === 7 ? [...r.slice(0, 4), 'n/a!'] : r));
  const data = await writeCsv(dir, 'two.csv', ['a', 'b', 'c', 'y1', 'y2'], rows);
  const words = await runCli(['train', '--data', data, '--label-column', 'y1,y2', '--epochs', '1']);
  t.is(words.code, 2);
  t.regex(oneLine(words.stderr) ?? '', /^gradpool: .*two\.csv:9:5: column "y2" needs a finite number, found "n\/a!"/);
  const clean = await writeCsv(dir, 'clean.csv', ['a', 'b', 'c', 'y1', 'y2'], twoTargets(30, 17));
  const classes = await runCli(['train', '--data', clean, '--label-column', 'y1,y2', '--loss', 'cross-entropy', '--epochs', '1']);
  t.is(classes.code, 2);
  t.regex(oneLine(classes.stderr) ?? '', /^gradpool: --label-column names 2 label columns: several targets train a regression \(--loss mse or auto\), not classes$/);
});

// ---------- categoricals of many levels ----------

test('a text column of many levels one-hots its frequent levels plus "other"; ids and free text stay ignored with the reason; ZIP codes can be named categorical', async (t) => {
  const dir = await tempDir();
  const next = random(12);
  const words = ['the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', 'again', 'today'];
  const rows = Array.from({ length: 3000 }, (_, r) => {
    // 150 frequent cities (about 19 rows each) and 400 rare ones (once or twice)
    const city = next() < 0.9 ? `city${Math.floor(next() * 150)}` : `rare${Math.floor(next() * 400)}`;
    const sentence = Array.from({ length: 5 }, () => words[Math.floor(next() * words.length)]).join(' ');
    return [`id-${r * 7919}`, city, sentence, 10000 + Math.floor(next() * 60) * 10, next().toFixed(3), next() < 0.5 ? 'a' : 'b'];
  });
  const data = await writeCsv(dir, 'many.csv', ['id', 'city', 'comment', 'zip', 'x', 'label'], rows);
  const dataset = await loadDataset(data, { categorical: ['zip'] });
  const columns: Record<string, Record<string, unknown>> = Object.fromEntries(dataset.schema!.columns.map((c) => [c.name, { ...c }]));
  t.like(columns.id, { kind: 'ignored' });
  t.regex((columns.id as { reason: string }).reason, /nearly unique/);
  t.like(columns.comment, { kind: 'ignored' });
  t.regex((columns.comment as { reason: string }).reason, /free text/);
  const city = columns.city as unknown as { kind: string; levels: string[]; other?: boolean };
  t.is(city.kind, 'categorical');
  t.is(city.other, true);
  t.is(city.levels.length, 100, 'the 100 most frequent levels, each seen in 5 rows or more');
  t.true(city.levels.every((l) => l.startsWith('city')));
  t.like(columns.zip, { kind: 'categorical' });
  t.is((columns.zip as unknown as { levels: string[] }).levels.length, 60);
  t.is(dataset.features, 101 + 60 + 1);
  // A rare city, and one never seen, are both "other": the last input of the column.
  const { model } = await train({ data, categorical: ['zip'], epochs: 1, threads: 1, layers: [4] });
  const [rare, unseen] = model.predict([
    { id: 'x', city: 'rare1', comment: '', zip: 10000, x: 0.5 },
    { id: 'x', city: 'nowhere', comment: '', zip: 10000, x: 0.5 },
  ]);
  t.deepEqual(rare, unseen);
});

test('a 10,000-level column named categorical trains at a capped width, and a model whose schema has a million levels is refused from its size', async (t) => {
  const dir = await tempDir();
  const next = random(13);
  const rows = Array.from({ length: 60_000 }, () => [`code${Math.floor(next() * 10_000)}`, next().toFixed(3), next() < 0.5 ? 'a' : 'b']);
  const data = await writeCsv(dir, 'codes.csv', ['code', 'x', 'label'], rows);
  const dataset = await loadDataset(data, { categorical: ['code'] });
  t.true(dataset.features <= 102 + 1, `inputs ${dataset.features}`);
  // A crafted JSON model: 1,000,001 inputs, a one-column schema of a million levels.
  const levels = Array.from({ length: 1_000_000 }, (_, i) => `l${i}`);
  const big = {
    format: 'gradpool-model',
    version: 1,
    loss: 'bce',
    labels: ['a', 'b'],
    normalization: null,
    schema: { columns: [{ kind: 'categorical', name: 'code', levels, missingLevel: false }, { kind: 'numeric', name: 'x' }, { kind: 'label', name: 'label' }], missing: 'error', naValues: [] },
    layers: [{ inputs: 1_000_001, outputs: 1, activation: 'sigmoid', weight: new Array(1_000_001).fill(0), bias: [0] }],
  };
  const file = join(dir, 'big.json');
  await writeFile(file, JSON.stringify(big));
  const error = await t.throwsAsync(loadModel(file), { instanceOf: InputError });
  t.regex(error!.message, /one-hots 1,000,000 levels; at most 10,000/);
  const small = await writeCsv(dir, 'small.csv', ['code', 'x'], [['l1', 0.5]]);
  const predicted = await runCli(['predict', '--model', file, '--data', small, '--out', join(dir, 'p.csv')]);
  t.is(predicted.code, 2);
  t.regex(oneLine(predicted.stderr) ?? '', /big\.json: schema\.columns\[0\] one-hots 1,000,000 levels; at most 10,000/);
});

// ---------- the library ----------

test('model.predict by name refuses a key that names no column and names a missing column, as the CLI does', async (t) => {
  const dir = await tempDir();
  const data = await writeCsv(dir, 'imb.csv', ['x1', 'x2', 'label'], imbalanced(200, 14));
  const { model } = await train({ data, epochs: 1, threads: 1, layers: [4] });
  const unknown = t.throws(() => model.predict([{ x1: 1, x2: 2, x3: 3 }]), { instanceOf: InputError });
  t.regex(unknown!.message, /^predict: row 0 has a key "x3" that names no column of the model \(it reads "x1", "x2"\)$/);
  const missing = t.throws(() => model.predict([{ x1: 1 }]), { instanceOf: InputError });
  t.regex(missing!.message, /^predict: row 0 has no column "x2" that the model reads/);
  // The label (a column of the file) may be there, and null is a missing value, not a missing key.
  t.is(model.predict([{ x1: 1, x2: 2, label: 'no' }]).length, 1);
  t.throws(() => model.predict([{ x1: 1, x2: null }]), { instanceOf: InputError, message: /missing value/ });
});

test('loadDataset checks its options as train() does, with the same names: InputError naming the option', async (t) => {
  const dir = await tempDir();
  const data = await writeCsv(dir, 'imb.csv', ['x1', 'x2', 'label'], imbalanced(50, 15));
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ missing: 'sometimes' }, /^missing must be one of 'error', 'impute', 'drop', got 'sometimes'$/],
    [{ delimiter: 'x' }, /^delimiter must be one of/],
    [{ labelColumn: {} }, /^labelColumn needs a column name or 0-based index/],
    [{ categorical: 'x1' }, /^categorical needs column names or 0-based indices/],
    [{ lables: 'values' }, /^loadDataset: unknown option "lables"/],
    [{ builtin: { samples: 1 } }, /^samples must be an integer from 2/],
  ];
  for (const [options, message] of cases) {
    const error = await t.throwsAsync(loadDataset(data, options as never), { instanceOf: InputError });
    t.regex(error!.message, message);
    // train() says the same of the same value (its own unknown-option wording aside)
    if (!('lables' in options) && !('builtin' in options)) {
      const trained = await t.throwsAsync(train({ data, epochs: 1, ...options } as never), { instanceOf: InputError });
      t.is(trained!.message, error!.message);
    }
  }
});
