// The CSV reader's machinery and the data layer's library face: several threads read exactly what one
// reads (blank lines, CRLF, quoted line breaks), dialect sniffing, schemas returned and stored, raw
// values at Model.predict, and the size limits on IDX files (gzip bombs) checked before allocating.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadCsv } from '../src/data/csv.js';
import { loadDataset } from '../src/data/load.js';
import { InputError } from '../src/errors.js';
import { loadModel, train } from '../src/index.js';
import { tempDir } from './helpers/files.js';
import { runCli } from './helpers/cli.js';
import { housesTable, titanicTable, writeTable } from './helpers/tabular.js';

/** About 10 MB of rows: numbers, a category, blank lines every so often; `quoted` adds cells holding a line break. */
function bigCsv(quoted: boolean, newline: string, broken = -1): string {
  const lines = ['a,b,kind,label'];
  for (let i = 0; i < 260_000; i++) {
    if (i % 9973 === 0) lines.push('');
    const kind = quoted && i === 150_000 ? '"two\nlines"' : ['x', 'y', '"z, quoted"'][i % 3];
    lines.push(`${(i * 0.37) % 101}${i === broken ? 'x' : ''},${-i / 7},${kind},${i % 4}`);
  }
  return lines.join(newline) + newline;
}

for (const [name, quoted, newline] of [
  ['LF, blank lines', false, '\n'],
  ['CRLF', false, '\r\n'],
  ['a quoted line break (one part)', true, '\n'],
] as const) {
  test(`several threads read what one thread reads: ${name}`, async (t) => {
    const file = join(await tempDir(), 'big.csv');
    await writeFile(file, bigCsv(quoted, newline));
    const one = await loadCsv(file, { threads: 1 });
    const three = await loadCsv(file, { threads: 3 });
    t.is(one.rows, 260_000);
    t.is(three.rows, one.rows);
    t.deepEqual(three.schema, one.schema);
    t.true(Buffer.from(three.x.buffer, three.x.byteOffset, three.x.byteLength).equals(Buffer.from(one.x.buffer, one.x.byteOffset, one.x.byteLength)));
    t.deepEqual(three.targets, one.targets);
    // Line numbers in messages are the file's, whichever thread read the line.
    await writeFile(file, bigCsv(quoted, newline, 200_000));
    const error = await t.throwsAsync(loadCsv(file, { threads: 3 }), { instanceOf: InputError });
    const expectedLine = 1 + 200_000 + 1 + Math.floor(200_000 / 9973) + 1 + (quoted ? 1 : 0);
    t.regex(error!.message, new RegExp(`big\\.csv:${expectedLine}:1: column "a" needs a finite number, found "${(200_000 * 0.37) % 101}x"`));
  });
}

test('loadDataset returns the schema; the model stores it and reads raw values by column', async (t) => {
  const dir = await tempDir();
  const file = await writeTable(dir, 'titanic.csv', titanicTable(600, 5));
  const data = await loadDataset(file, { missing: 'impute' });
  t.deepEqual(
    data.schema!.columns.map((c) => c.kind),
    ['ignored', 'numeric', 'categorical', 'numeric', 'numeric', 'categorical', 'label'],
  );
  t.deepEqual(data.targets.kind === 'classes' && data.targets.names, ['0', '1']);
  const out = join(dir, 'model.json');
  const result = await train({ data: file, missing: 'impute', epochs: 5, threads: 1, out });
  t.deepEqual(result.model.columns, ['class', 'sex', 'age', 'fare', 'port']);
  t.is(result.data.schema?.missing, 'impute');
  const model = await loadModel(out);
  const byArray = model.predict([[1, 'female', null, 80, 'C']]);
  const byName = model.predict([{ sex: 'female', class: 1, fare: 80, port: 'C' }]);
  t.deepEqual(byArray, byName, 'a missing value and a missing key are the same: imputed');
  t.is(byArray[0]!.length, 2);
  t.throws(() => model.predict([[1, 'female', 'old', 80, 'C']]), { instanceOf: InputError, message: /column "age" needs a finite number/ });
});

test('a regression run reports its losses in the target units and says it chose regression', async (t) => {
  const file = await writeTable(await tempDir(), 'houses.csv', housesTable(400, 3));
  const result = await train({ data: file, epochs: 20, threads: 1 });
  t.is(result.data.loss, 'mse');
  t.regex(result.data.notes.join('\n'), /label "price" holds numbers \(more than 50 distinct\): regression/);
  t.true(result.history.at(-1)!.loss > 1e6, 'a squared error in price units');
  const [[price]] = result.model.predict([[2000, 3, 10]]) as [[number]];
  t.true(price > 200_000 && price < 500_000, `predicted ${price}`);
});

/** An IDX images file as concatenated gzip members: the header, then `zeroBlocks` blocks of 64 MiB of zeros. */
function gzipBomb(count: number, zeroBlocks: number): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(0x803, 0);
  header.writeUInt32BE(count, 4);
  header.writeUInt32BE(28, 8);
  header.writeUInt32BE(28, 12);
  const zeros = gzipSync(Buffer.alloc(64 << 20), { level: 9 });
  return Buffer.concat([gzipSync(header), ...Array.from({ length: zeroBlocks }, () => zeros)]);
}

test.serial('a gzip IDX file that expands to 2 GiB is refused fast, naming the limit, for train and evaluate', async (t) => {
  const dir = await tempDir();
  const labels = Buffer.concat([Buffer.from([0, 0, 8, 1, 0, 0, 0, 10]), Buffer.alloc(10)]);
  await writeFile(join(dir, 'labels'), labels);
  // 1: the header claims 2.2 billion pixels: refused from the header alone.
  const claims = join(dir, 'claims');
  await writeFile(claims, gzipBomb(2_800_000, 32));
  // 2: the header claims 60,000 images (47 MB) and the stream goes on to 2 GiB: stopped at the claim.
  const lies = join(dir, 'lies');
  await writeFile(lies, gzipBomb(60_000, 32));
  for (const [file, pattern] of [
    [claims, /claims: declares 2,800,000 rows × 785 values .*at most 536,870,912 \(2 GiB of float32\)/],
    [lies, /lies: decompresses to more than the 47,040,016 bytes its header declares/],
  ] as const) {
    // CPU time, not wall time: the suite runs other test files beside this one. Inflating 2 GiB
    // would take many seconds of CPU; stopping at the claim takes a fraction of one.
    const started = Date.now();
    const cpu = process.cpuUsage();
    const error = await t.throwsAsync(loadDataset(file, { labelsFile: join(dir, 'labels') }), { instanceOf: InputError });
    const used = process.cpuUsage(cpu);
    t.regex(error!.message, pattern);
    t.true((used.user + used.system) / 1000 < 2000, `refused after ${(used.user + used.system) / 1000} ms of CPU`);
    t.true(Date.now() - started < 20_000);
  }
  const trained = await runCli(['train', '--data', claims, '--labels', join(dir, 'labels'), '--epochs', '1']);
  t.is(trained.code, 2);
  t.regex(trained.stderr, /at most 536,870,912/);
  const model = join(dir, 'm.json');
  await writeFile(model, JSON.stringify({ format: 'gradpool-model', version: 1, loss: 'bce', labels: ['0', '1'], normalization: null, layers: [{ inputs: 784, outputs: 1, activation: 'sigmoid', weight: Array(784).fill(0), bias: [0] }] }));
  const evaluated = await runCli(['evaluate', '--model', model, '--data', lies, '--labels', join(dir, 'labels')]);
  t.is(evaluated.code, 2);
  t.regex(evaluated.stderr, /decompresses to more than the 47,040,016 bytes/);
});
