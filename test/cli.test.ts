// The CLI contract, through real processes.
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from './helpers/files.js';
import { runCli } from './helpers/cli.js';
import { FRUIT, writeFruitCsv } from './helpers/csv.js';

test('the default spirals run reaches 95% training accuracy', async (t) => {
  const dir = await tempDir();
  const log = join(dir, 'log.jsonl');
  const result = await runCli(['train', '--data', 'builtin:spirals', '--log-json', log]);
  t.is(result.code, 0, result.stderr);
  const lines = (await readFile(log, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
  const last = lines[lines.length - 2];
  t.true(last.accuracy >= 0.95, `final accuracy ${last.accuracy}`);
  t.regex(result.stdout, /epoch +1\/\d+ +loss +\d\.\d{4} +acc +\d+\.\d\d% .* samples\/s +\d+\.\ds/);
});

test('--log-json writes one line per epoch and a done line', async (t) => {
  const dir = await tempDir();
  const log = join(dir, 'log.jsonl');
  const result = await runCli(['train', '--data', 'builtin:blobs', '--samples', '3000', '--features', '64', '--layers', '64', '--epochs', '2', '--threads', '2', '--val-split', '0.2', '--log-json', log, '--quiet']);
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout, '', '--quiet prints nothing');
  const lines = (await readFile(log, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
  t.is(lines.length, 3);
  for (const [i, line] of lines.slice(0, 2).entries()) {
    t.is(line.epoch, i + 1);
    for (const key of ['loss', 'accuracy', 'valLoss', 'valAccuracy', 'samplesPerSec', 'seconds']) t.is(typeof line[key], 'number', key);
  }
  const { kernels, loadSeconds, ...done } = lines[2];
  t.deepEqual(done, { event: 'done', testLoss: null, testAccuracy: null, stopReason: 'completed' });
  t.regex(kernels, /^(native-(avx512|avx2|generic)|wasm-(relaxed-)?simd|typescript)$/, 'the done line names the kernel set');
  t.true(typeof loadSeconds === 'number' && loadSeconds >= 0, 'the done line says how long the data took to load');
});

test('a CSV with string labels trains, saves, evaluates and predicts', async (t) => {
  const dir = await tempDir();
  const trainCsv = await writeFruitCsv(dir, 'train.csv', 900, 1);
  const testCsv = await writeFruitCsv(dir, 'test.csv', 300, 2);
  const model = join(dir, 'model.json');
  const log = join(dir, 'log.jsonl');
  const trained = await runCli(['train', '--data', trainCsv, '--label-column', 'fruit', '--test-data', testCsv, '--epochs', '40', '--lr', '0.2', '--out', model, '--log-json', log]);
  t.is(trained.code, 0, trained.stderr);
  const done = JSON.parse((await readFile(log, 'utf8')).trim().split('\n').pop()!);
  t.true(done.testAccuracy > 0.9, `test accuracy ${done.testAccuracy}`);
  const saved = JSON.parse(await readFile(model, 'utf8'));
  t.deepEqual(saved.labels, FRUIT, 'labels in order of first appearance');

  const evaluated = await runCli(['evaluate', '--model', model, '--data', testCsv, '--label-column', 'fruit', '--json']);
  t.is(evaluated.code, 0, evaluated.stderr);
  const evaluation = JSON.parse(evaluated.stdout);
  t.is(evaluation.samples, 300);
  t.true(Math.abs(evaluation.accuracy - done.testAccuracy) < 1e-9, 'evaluate agrees with the test pass of training');
  t.true(Math.abs(evaluation.loss - done.testLoss) < 1e-4);
  t.is(evaluation.confusion.length, 3);
  t.is(evaluation.confusion.flat().reduce((a: number, b: number) => a + b, 0), 300);
  const diagonal = evaluation.confusion.reduce((sum: number, row: number[], i: number) => sum + row[i]!, 0);
  t.is(diagonal / 300, evaluation.accuracy, 'the confusion matrix diagonal is the accuracy');
  t.deepEqual(evaluation.perClass.map((c: { label: string }) => c.label), FRUIT);
  const text = await runCli(['evaluate', '--model', model, '--data', testCsv, '--label-column', 'fruit']);
  t.regex(text.stdout, /precision +recall +support/);

  const predictions = join(dir, 'preds.csv');
  const predicted = await runCli(['predict', '--model', model, '--data', testCsv, '--label-column', 'fruit', '--out', predictions]);
  t.is(predicted.code, 0, predicted.stderr);
  const rows = (await readFile(predictions, 'utf8')).trim().split('\n');
  t.is(rows[0], 'predicted,prob_apple,"prob_banana, ripe",prob_cherry');
  t.is(rows.length, 301);
  const truth = (await readFile(testCsv, 'utf8')).trim().split('\n').slice(1).map((line) => line.split('",')[0]!.slice(1));
  let correct = 0;
  rows.slice(1).forEach((row, i) => {
    const label = row.startsWith('"') ? row.slice(1, row.indexOf('"', 1)) : row.split(',')[0]!;
    const probabilities = row.slice(row.lastIndexOf(label) + label.length + (row.startsWith('"') ? 2 : 1)).split(',').map(Number);
    t.is(probabilities.length, 3);
    t.true(Math.abs(probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-4);
    if (label === truth[i]) correct++;
  });
  t.true(Math.abs(correct / 300 - evaluation.accuracy) < 1e-9, 'predicted classes match the evaluated accuracy');
});

const badUsage: [string, string[], RegExp][] = [
  ['non-numeric lr', ['--lr', 'abc'], /--lr/],
  ['negative lr', ['--lr', '-1'], /--lr/],
  ['zero batch size', ['--batch-size', '0'], /--batch-size/],
  ['zero threads', ['--threads', '0'], /--threads/],
  ['absurd threads', ['--threads', '100000'], /--threads/],
  ['letters in layers', ['--layers', 'a,b'], /--layers/],
  ['val split over 1', ['--val-split', '1.5'], /--val-split/],
  ['unknown activation', ['--activation', 'swish'], /activation/],
  ['unknown mode', ['--mode', 'fast'], /mode/],
  ['unknown flag', ['--lrr', '0.1'], /lrr/],
  ['unknown builtin set', ['--data', 'builtin:nope'], /builtin:nope/],
  ['missing data file', ['--data', 'no/such/file.csv'], /no\/such\/file\.csv/],
];

for (const [name, args, pattern] of badUsage) {
  test(`bad usage (${name}) exits 2 with a one-line message naming it`, async (t) => {
    const base = args.includes('--data') ? ['train'] : ['train', '--data', 'builtin:moons'];
    const result = await runCli([...base, ...args, '--epochs', '1']);
    t.is(result.code, 2);
    const lines = result.stderr.trim().split('\n');
    t.is(lines.length, 1, result.stderr);
    t.regex(lines[0]!, pattern);
    t.notRegex(result.stderr, /\n\s+at /, 'no stack trace');
  });
}

test('a ragged CSV row is reported with file and line, and an existing model is left untouched', async (t) => {
  const dir = await tempDir();
  const csv = join(dir, 'ragged.csv');
  await writeFile(csv, 'a,b,label\n1,2,x\n3,4,y\n5,z\n');
  const model = join(dir, 'model.json');
  await writeFile(model, 'precious');
  const result = await runCli(['train', '--data', csv, '--out', model]);
  t.is(result.code, 2);
  t.regex(result.stderr, new RegExp(`ragged\\.csv:4`));
  t.is(await readFile(model, 'utf8'), 'precious');
});

test('an --out path in a missing directory fails before training', async (t) => {
  const dir = await tempDir();
  const result = await runCli(['train', '--data', 'builtin:moons', '--out', join(dir, 'missing', 'model.json')]);
  t.is(result.code, 2);
  t.regex(result.stderr, /--out.*missing/);
  t.notRegex(result.stdout, /epoch/);
});

test('a run refused for bad input leaves an existing --log-json file untouched', async (t) => {
  const dir = await tempDir();
  const log = join(dir, 'old.jsonl');
  await writeFile(log, '{"epoch":1}\n');
  const result = await runCli(['train', '--data', join(dir, 'missing.csv'), '--log-json', log]);
  t.is(result.code, 2);
  t.is(await readFile(log, 'utf8'), '{"epoch":1}\n');
});
