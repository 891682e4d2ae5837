import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCsv } from '../src/data/csv.js';
import { InputError } from '../src/errors.js';
import { tempDir } from './helpers/files.js';

async function csvFile(text: string): Promise<string> {
  const path = join(await tempDir(), 'data.csv');
  await writeFile(path, text);
  return path;
}

test('string labels map to classes in sorted order, wherever the label column is', async (t) => {
  const path = await csvFile('height,"kind, of",width\r\n1.5,"tall, green",2\n2.5,short,3\n3.5,"tall, green",-4e-1\n');
  const data = await loadCsv(path, { labels: 'classes', labelColumn: 'kind, of' });
  t.is(data.rows, 3);
  t.is(data.features, 2);
  t.deepEqual(Array.from(data.x), [1.5, 2, 2.5, 3, 3.5, Math.fround(-0.4)]);
  t.deepEqual(data.targets.kind === 'classes' && [...data.targets.names], ['short', 'tall, green']);
  t.deepEqual(data.targets.kind === 'classes' && Array.from(data.targets.index), [1, 0, 1]);
  const byIndex = await loadCsv(path, { labels: 'classes', labelColumn: 1 });
  t.deepEqual(Array.from(byIndex.x), Array.from(data.x));
});

const broken: [string, string, RegExp][] = [
  ['an empty file', '', /empty file/],
  ['only a header', 'a,b\n', /no data rows/],
  ['a non-numeric feature', 'a,b,label\n1,2,x\n1,oops,y\n', /:3:2: column "b" needs a finite number, found "oops"/],
  ['NaN', 'a,label\nNaN,x\n', /:2:1: .*"NaN"/],
  ['Infinity', 'a,label\nInfinity,x\n', /:2:1: .*"Infinity"/],
  ['an empty label', 'a,label\n1,\n', /:2:2: empty label/],
  ['a ragged row', 'a,b,label\n1,2,x\n1,2\n', /:3: expected 3 columns/],
  ['an unclosed quote', 'a,label\n1,"x\n', /data\.csv/],
];

for (const [name, text, pattern] of broken) {
  test(`a CSV with ${name} is refused naming file and line`, async (t) => {
    const path = await csvFile(text);
    const error = await t.throwsAsync(loadCsv(path, { labels: 'classes' }), { instanceOf: InputError });
    t.regex(error!.message, pattern);
    t.true(error!.message.includes(path) || error!.message.includes('--label-column'));
  });
}

test('a missing label column is named with the columns that exist', async (t) => {
  const path = await csvFile('a,b\n1,2\n');
  const error = await t.throwsAsync(loadCsv(path, { labels: 'classes', labelColumn: 'species' }), { instanceOf: InputError });
  t.regex(error!.message, /^labelColumn: no column "species" .*\(columns: "a", "b"\)/);
});

test('test data with a different feature count is refused', async (t) => {
  const path = await csvFile('a,b,c,label\n1,2,3,x\n');
  const error = await t.throwsAsync(loadCsv(path, { labels: 'classes', features: 2 }), { instanceOf: InputError });
  t.regex(error!.message, /has 3 feature columns, but the model was trained on 2/);
});
