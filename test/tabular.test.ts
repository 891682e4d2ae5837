// Ordinary CSV files through the CLI as a real process: dialects, headers, column kinds, missing
// cells, label order, regression, columns by name at evaluate/predict, and the schema printout.
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from './helpers/files.js';
import { runCli } from './helpers/cli.js';
import { csvText, housesTable, peopleTable, titanicTable, writeTable, type Table } from './helpers/tabular.js';

const QUICK = ['--threads', '1'];

async function lastEpoch(log: string): Promise<{ accuracy: number; loss: number }> {
  const lines = (await readFile(log, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
  return lines[lines.length - 2];
}

async function doneLine(log: string): Promise<Record<string, unknown>> {
  return JSON.parse((await readFile(log, 'utf8')).trim().split('\n').pop()!);
}

const people = peopleTable(1200, 1);

for (const [name, dialect, columns] of [
  ['a comma CSV with a header', {}, 'Age numeric, Fare numeric'],
  ['a semicolon CSV with decimal commas', { delimiter: ';', decimalComma: true }, 'Age numeric, Fare numeric'],
  ['a TSV', { delimiter: '\t' }, 'Age numeric, Fare numeric'],
  ['a CSV without a header', { header: false }, 'column1 numeric, column2 numeric'],
] as const) {
  test(`people.csv as ${name} trains with no flags to at least 80% (standardised by default)`, async (t) => {
    const dir = await tempDir();
    const data = await writeTable(dir, 'people.csv', people, dialect);
    const log = join(dir, 'log.jsonl');
    const result = await runCli(['train', '--data', data, '--log-json', log]);
    t.is(result.code, 0, result.stderr);
    // Piped: one summary line for all columns.
    t.regex(result.stdout, new RegExp(`^data  .*people\\.csv: 1,200 rows, 2 inputs, 3 classes .*; ${columns}, \\S+ label \\(child, premium, standard\\)\\n`));
    const last = await lastEpoch(log);
    t.true(last.accuracy >= 0.8, `accuracy ${last.accuracy}`);
    t.is(typeof (await doneLine(log)).loadSeconds, 'number');
  });
}

test('--normalize none turns the default scaling off, and the overrides --delimiter, --decimal, --header apply', async (t) => {
  const dir = await tempDir();
  // A header of numbers: only --header yes keeps it as names; a semicolon file read as asked.
  const data = join(dir, 'odd.csv');
  await writeFile(data, '1;2;3\n' + people.rows.slice(0, 300).map((r) => `${r[0]};${String(r[1]).replace('.', ',')};${r[2]}`).join('\n') + '\n');
  const model = join(dir, 'model.json');
  const result = await runCli(['train', '--data', data, '--header', 'yes', '--delimiter', ';', '--decimal', ',', '--normalize', 'none', '--epochs', '1', '--out', model, ...QUICK]);
  t.is(result.code, 0, result.stderr);
  const saved = JSON.parse(await readFile(model, 'utf8'));
  t.is(saved.normalization, null);
  t.deepEqual(saved.schema.columns.map((c: { name: string }) => c.name), ['1', '2', '3']);
  const wrong = await runCli(['train', '--data', data, '--delimiter', ',', '--epochs', '1', ...QUICK]);
  t.is(wrong.code, 2, 'read with the wrong delimiter, the file has one column: no features');
  t.regex(wrong.stderr, /feature column/);
});

test('integer labels are their own class index; a binary model outputs the probability of the second class', async (t) => {
  const dir = await tempDir();
  const rows = Array.from({ length: 300 }, (_, i) => {
    const x = (i * 37) % 100;
    return [x, (i * 11) % 7, x < 33 ? 2 : x < 66 ? 0 : 1];
  });
  rows.unshift([90, 1, 2]); // the first row's label is 2
  const data = await writeTable(dir, 'three.csv', { header: ['x', 'noise', 'label'], rows });
  const model = join(dir, 'model.safetensors');
  const trained = await runCli(['train', '--data', data, '--epochs', '40', '--out', model, ...QUICK]);
  t.is(trained.code, 0, trained.stderr);
  const bytes = await readFile(model);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
  t.is(header.__metadata__.labels, '["0","1","2"]');
  t.deepEqual(JSON.parse(header.__metadata__.schema).columns.map((c: { name: string }) => c.name), ['x', 'noise', 'label']);
  const out = join(dir, 'preds.csv');
  const predicted = await runCli(['predict', '--model', model, '--data', data, '--out', out]);
  t.is(predicted.code, 0, predicted.stderr);
  const lines = (await readFile(out, 'utf8')).trim().split('\n');
  t.is(lines[0], 'predicted,prob_0,prob_1,prob_2');
  t.is(lines[1]!.split(',')[0], '1', 'x = 90 is class 1');

  // Binary: the first row says 1, but class 0 is still "0" and the sigmoid gives P("1").
  const binary = await writeTable(dir, 'two.csv', { header: ['x', 'y'], rows: [[9, 1], ...Array.from({ length: 200 }, (_, i) => [i % 10, i % 10 >= 5 ? 1 : 0])] });
  const binaryModel = join(dir, 'binary.json');
  t.is((await runCli(['train', '--data', binary, '--epochs', '30', '--out', binaryModel, ...QUICK])).code, 0);
  const saved = JSON.parse(await readFile(binaryModel, 'utf8'));
  t.deepEqual(saved.labels, ['0', '1']);
  const yesNo = await writeTable(dir, 'yes.csv', { header: ['x', 'answer'], rows: [[9, 'yes'], ...Array.from({ length: 100 }, (_, i) => [i % 10, i % 10 >= 5 ? 'yes' : 'no'])] });
  const yesModel = join(dir, 'yes.json');
  t.is((await runCli(['train', '--data', yesNo, '--epochs', '30', '--out', yesModel, ...QUICK])).code, 0);
  t.deepEqual(JSON.parse(await readFile(yesModel, 'utf8')).labels, ['no', 'yes']);
  const preds = join(dir, 'yes-preds.csv');
  t.is((await runCli(['predict', '--model', yesModel, '--data', yesNo, '--out', preds])).code, 0);
  const first = (await readFile(preds, 'utf8')).split('\n')[1]!.split(',');
  t.is(first[0], 'yes');
  t.true(Number(first[2]) > 0.5, 'prob_yes, the second class, is the sigmoid output');
});

const titanic = titanicTable(800, 3);

test('a Titanic-like file: exit 2 naming missing cells per column, then trains with --missing impute; ids ignored, categories one-hot', async (t) => {
  const dir = await tempDir();
  const data = await writeTable(dir, 'titanic.csv', titanic);
  const refused = await runCli(['train', '--data', data, '--epochs', '1', ...QUICK]);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /titanic\.csv:\d+:4: \d+ missing cells .*"age" \d+ \(first at line \d+.*\), "port" \d+ \(first at line \d+.*--missing impute.*--missing drop/);
  t.is(refused.stderr.trim().split('\n').length, 1);

  const model = join(dir, 'model.json');
  const log = join(dir, 'log.jsonl');
  const trained = await runCli(['train', '--data', data, '--missing', 'impute', '--out', model, '--log-json', log, ...QUICK]);
  t.is(trained.code, 0, trained.stderr);
  t.regex(trained.stdout, /id ignored \(unique integers in sequence, like row ids/);
  t.regex(trained.stdout, /sex categorical \(2 levels\)/);
  t.regex(trained.stdout, /port categorical \(3 levels \+ missing\)/);
  t.regex(trained.stdout, /age numeric \(missing → [\d.]+\)/);
  t.true((await lastEpoch(log)).accuracy > 0.7);
  const saved = JSON.parse(await readFile(model, 'utf8'));
  t.is(saved.schema.missing, 'impute');
  t.deepEqual(saved.schema.columns.find((c: { name: string }) => c.name === 'port').levels, ['C', 'Q', 'S']);

  // Predict on rows with missing cells and a port never seen in training: no error.
  const fresh = await writeTable(dir, 'fresh.csv', { header: titanic.header, rows: [[1, 1, 'female', '', 50, 'X', ''], [2, 3, 'male', 'NA', 8, '', '']] });
  const out = join(dir, 'preds.csv');
  const predicted = await runCli(['predict', '--model', model, '--data', fresh, '--out', out]);
  t.is(predicted.code, 0, predicted.stderr);
  t.is((await readFile(out, 'utf8')).trim().split('\n').length, 3);

  const dropped = await runCli(['train', '--data', data, '--missing', 'drop', '--epochs', '1', ...QUICK]);
  t.is(dropped.code, 0, dropped.stderr);
  t.regex(dropped.stdout, /note: .*titanic\.csv: \d+ of 800 rows dropped for missing cells/);
});

test('evaluate and predict match columns by name: reordered columns give the same result, extra ones are noted once, missing ones refused', async (t) => {
  const dir = await tempDir();
  const data = await writeTable(dir, 'train.csv', titanic);
  const model = join(dir, 'model.json');
  t.is((await runCli(['train', '--data', data, '--missing', 'impute', '--epochs', '5', '--out', model, ...QUICK])).code, 0);
  const order = [6, 4, 2, 0, 5, 3, 1];
  const shuffled: Table = { header: [...order.map((i) => titanic.header[i]!), 'extra'], rows: titanic.rows.map((row) => [...order.map((i) => row[i]!), 'x']) };
  const reordered = await writeTable(dir, 'reordered.csv', shuffled);
  const plain = JSON.parse((await runCli(['evaluate', '--model', model, '--data', data, '--json'])).stdout);
  const moved = await runCli(['evaluate', '--model', model, '--data', reordered, '--json']);
  t.is(moved.code, 0, moved.stderr);
  t.is(JSON.parse(moved.stdout).accuracy, plain.accuracy);
  t.regex(moved.stderr, /^gradpool: note: .*reordered\.csv: column "extra" not used by the model: ignored\n$/);
  const without = await writeTable(dir, 'without.csv', { header: ['id', 'class', 'sex', 'survived'], rows: titanic.rows.map((r) => [r[0]!, r[1]!, r[2]!, r[6]!]) });
  const refused = await runCli(['evaluate', '--model', model, '--data', without]);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /without\.csv:1: missing columns "age", "fare", "port" that the model reads/);
  // A label value never seen in training is no error for predict.
  const unseen = await writeTable(dir, 'unseen.csv', { header: titanic.header, rows: [[1, 1, 'male', 30, 10, 'S', 'maybe']] });
  t.is((await runCli(['predict', '--model', model, '--data', unseen, '--out', join(dir, 'p.csv')])).code, 0);
  t.is((await runCli(['evaluate', '--model', model, '--data', unseen])).code, 2);
});

test('column rules: a mostly-number column with words is refused naming count and cells; overrides --numeric, --categorical, --ignore-columns; dates read as days', async (t) => {
  const dir = await tempDir();
  const rows = Array.from({ length: 60 }, (_, i) => [i + 1, i % 2 === 0 ? 'red' : i % 3 === 0 ? 'green' : 'blue', i % 17 === 5 ? 'n/k' : (i * 7) % 50, `2024-01-${String((i % 28) + 1).padStart(2, '0')}`, `name${i}`, 'same', i % 2]);
  const table: Table = { header: ['id', 'color', 'size', 'day', 'name', 'const', 'label'], rows };
  const data = await writeTable(dir, 'mixed.csv', table);
  const refused = await runCli(['train', '--data', data, '--epochs', '1', ...QUICK]);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /mixed\.csv:7:3: column "size" needs a finite number, found "n\/k" \(4 of 60 cells in this column are not numbers: "n\/k" \(line 7\), "n\/k" \(line 24\), "n\/k" \(line 41\), …; .*--na-values.*--categorical size\)/);
  const model = join(dir, 'model.json');
  const trained = await runCli(['train', '--data', data, '--na-values', 'n/k', '--missing', 'impute', '--numeric', 'id', '--categorical', 'name', '--epochs', '1', '--out', model, ...QUICK]);
  t.is(trained.code, 0, trained.stderr);
  t.regex(trained.stdout, /id numeric[^,]*, color categorical \(3 levels\), size numeric.*, day date \(days since 1970-01-01\).*, name categorical \(60 levels\), const ignored \(one value in every row\)/);
  const auto = await runCli(['train', '--data', data, '--na-values', 'n/k', '--missing', 'impute', '--ignore-columns', 'color,3', '--epochs', '1', ...QUICK]);
  t.is(auto.code, 0, auto.stderr);
  t.regex(auto.stdout, /id ignored \(unique integers.*color ignored \(as asked\).*day ignored \(as asked\).*name ignored \(more than 50 distinct texts/);
  const saved = JSON.parse(await readFile(model, 'utf8'));
  t.is(saved.layers[0].inputs, 1 + 3 + 1 + (1 + 2) + 60, 'a date is its days, month and weekday');
  const infinite = await writeTable(dir, 'inf.csv', { header: ['a', 'label'], rows: [[1, 0], ['Infinity', 1], [2, 0]] });
  const inf = await runCli(['train', '--data', infinite, '--missing', 'impute', '--epochs', '1']);
  t.is(inf.code, 2);
  t.regex(inf.stderr, /inf\.csv:3:1: .*"Infinity"/);
});

test('a numeric target is regression under --loss auto, said so; predictions and losses are in the target units; mse with standardisation does not diverge', async (t) => {
  const dir = await tempDir();
  const houses = housesTable(800, 2);
  const data = await writeTable(dir, 'houses.csv', houses);
  const model = join(dir, 'model.json');
  const log = join(dir, 'log.jsonl');
  const trained = await runCli(['train', '--data', data, '--out', model, '--log-json', log, '--epochs', '40', ...QUICK]);
  t.is(trained.code, 0, trained.stderr);
  t.regex(trained.stdout, /regression/);
  t.regex(trained.stdout, /note: label "price" holds numbers \(more than 50 distinct\): regression with mse/);
  const saved = JSON.parse(await readFile(model, 'utf8'));
  t.is(saved.loss, 'mse');
  t.true(saved.targetScaling.offset > 100_000, 'the target mean is stored');
  const out = join(dir, 'preds.csv');
  t.is((await runCli(['predict', '--model', model, '--data', data, '--out', out])).code, 0);
  const predictions = (await readFile(out, 'utf8')).trim().split('\n').slice(1).map(Number);
  const errors = predictions.map((p, i) => Math.abs(p - (houses.rows[i]![3] as number)));
  const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
  t.true(mean < 40_000, `mean absolute error ${mean} in the price's units`);
  const evaluated = JSON.parse((await runCli(['evaluate', '--model', model, '--data', data, '--json'])).stdout);
  const last = await lastEpoch(log);
  t.true(evaluated.loss > 1e6 && Math.abs(evaluated.loss / last.loss - 1) < 0.5, `evaluate loss ${evaluated.loss}, training ${last.loss}: both ½·MSE in price units`);
  const standard = await runCli(['train', '--data', data, '--loss', 'mse', '--normalize', 'standard', '--epochs', '5', ...QUICK]);
  t.is(standard.code, 0, standard.stderr);
  t.notRegex(standard.stderr, /diverged/);
});

test('size limits refuse before allocating, naming the limit', async (t) => {
  const started = Date.now();
  const result = await runCli(['train', '--data', 'builtin:spirals', '--samples', '268435456', '--epochs', '1']);
  t.is(result.code, 2);
  t.regex(result.stderr, /builtin:spirals: --samples and --features ask for 268,435,456 rows × 3 values .*at most 536,870,912 \(2 GiB of float32\)/);
  t.true(Date.now() - started < 10_000);
});

test('the CSV text of a table round-trips through the helper (quotes for delimiters)', (t) => {
  t.is(csvText({ header: ['a', 'b'], rows: [['x,y', 1.5]] }), 'a,b\n"x,y",1.5\n');
  t.is(csvText({ header: ['a'], rows: [[1.5]] }, { delimiter: ';', decimalComma: true }), 'a\n1,5\n');
});
