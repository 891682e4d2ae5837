// The CSV files people have (issue 17, the reading half): formatted numbers, encodings, preambles
// and exports, non-ISO dates, column names with commas, and the bounds on width and line length.
// Every file is generated here; the end-to-end cases spawn the built CLI, the rest call the library.
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadCsv, type CsvOptions } from '../src/data/csv.js';
import { encodeValues, parseSchema, type Schema } from '../src/data/schema.js';
import { InputError } from '../src/errors.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/files.js';

const QUICK = ['--threads', '1', '--epochs', '1'];

async function file(name: string, content: string | Buffer): Promise<string> {
  const path = join(await tempDir(), name);
  await writeFile(path, content);
  return path;
}

function notesOf(data: { notes?: readonly string[] | undefined }): readonly string[] {
  return data.notes ?? [];
}

/** The features of each row, as plain numbers (float32 values read back). */
function rowsOf(data: { rows: number; features: number; x: Float32Array }): number[][] {
  return Array.from({ length: data.rows }, (_, r) => Array.from(data.x.subarray(r * data.features, (r + 1) * data.features)));
}

function close(t: { true: (value: boolean, message?: string) => void }, actual: number[], expected: number[]): void {
  t.true(actual.length === expected.length && actual.every((v, i) => Math.abs(v - expected[i]!) <= 1e-5 * Math.max(1, Math.abs(expected[i]!))), `${JSON.stringify(actual)} ≠ ${JSON.stringify(expected)}`);
}

async function refused(path: string, options: CsvOptions, pattern: RegExp, t: { regex: (s: string, r: RegExp) => void; throwsAsync: (p: Promise<unknown>, e: object) => Promise<unknown> }): Promise<void> {
  const error = (await t.throwsAsync(loadCsv(path, { labels: 'classes', ...options }), { instanceOf: InputError })) as Error;
  t.regex(error.message, pattern);
  t.regex(error.message, /^[^\n]+$/);
}

// ---------- formatted numbers ----------

test('formatted numbers read as a spreadsheet means them: thousands, currency before or after, percent as a fraction, (negatives), a leading +', async (t) => {
  const path = await file(
    'money.csv',
    [
      'amount,fee,rate,label',
      '"41,627.50",$2.50,38.8%,a',
      '"1,234.00",($45.00),1.5 %,b',
      '+99,"$ 1,000",-2%,a',
      '"-1,000,000.25",£7,0%,b',
      '12.5,"¥1,000",100%,a',
      '"€ 3.50","-$4.00",+5%,b',
    ].join('\n'),
  );
  const data = await loadCsv(path);
  t.is(data.features, 3);
  const rows = rowsOf(data);
  const expected = [
    [41627.5, 2.5, 0.388],
    [1234, -45, 0.015],
    [99, 1000, -0.02],
    [-1000000.25, 7, 0],
    [12.5, 1000, 1],
    [3.5, -4, 0.05],
  ];
  rows.forEach((row, i) => close(t, row, expected[i]!.map(Math.fround)));
  const amount = data.schema!.columns[0]!;
  t.deepEqual(amount, { kind: 'numeric', name: 'amount', format: { decimal: '.', thousands: ',' } });
  t.true(notesOf(data).some((n) => /amount.*"41,627\.50"/.test(n) && /--thousands/.test(n)), notesOf(data).join('\n'));
});

test('European numbers: 1.234,50 €, 1 234,50 and -12,5 % in a semicolon file, each column sniffed on its own', async (t) => {
  const path = await file('eu.csv', ['preis;menge;anteil;us;label', '1.234,50 €;1 234,5;-12,5 %;"1,234.5";a', '99,00 €;2 000;3 %;12.25;b', '€ 7;10;50%;"2,000";a', '0,5€;1,5;1,5%;0.5;b'].join('\n'));
  const data = await loadCsv(path);
  const expected = [
    [1234.5, 1234.5, -0.125, 1234.5],
    [99, 2000, 0.03, 12.25],
    [7, 10, 0.5, 2000],
    [0.5, 1.5, 0.015, 0.5],
  ];
  rowsOf(data).forEach((row, i) => close(t, row, expected[i]!.map(Math.fround)));
  const formats = data.schema!.columns.map((c) => (c.kind === 'numeric' ? c.format : undefined));
  t.deepEqual(formats.slice(0, 4), [{ decimal: ',', thousands: '.' }, { decimal: ',', thousands: '.' }, { decimal: ',', thousands: '.' }, { decimal: '.', thousands: ',' }]);
});

test('a column of plain numbers with a few formatted cells is read, not refused', async (t) => {
  const lines = ['x,price,label'];
  for (let i = 0; i < 200; i++) lines.push(`${i % 7},${i === 150 ? '"$1,250.00"' : i === 170 ? '(3.5)' : (i * 1.5).toFixed(2)},${i % 2 ? 'a' : 'b'}`);
  const data = await loadCsv(await file('mostly.csv', lines.join('\n')));
  const rows = rowsOf(data);
  t.is(rows[150]![1], 1250);
  t.is(rows[170]![1], -3.5);
  t.is(rows[10]![1], 15);
  t.is(data.schema!.columns[1]!.kind, 'numeric');
});

test('the format sniffed from the training file is stored in the schema and used for every later file; a schema without one still loads', async (t) => {
  const train = await loadCsv(await file('train.csv', 'price;label\n"1.234,50";a\n12,25;b\n7;a\n'));
  const schema = train.schema!;
  t.deepEqual(schema.columns[0], { kind: 'numeric', name: 'price', format: { decimal: ',', thousands: '.' } });
  // 1.234 alone is ambiguous; the model reads it as the training file wrote numbers: a thousand and more.
  const later = await loadCsv(await file('later.csv', 'price,label\n"1.234",a\n"2,5",b\n'), { schema, labels: 'classes', classNames: ['a', 'b'] });
  t.deepEqual(Array.from(later.x), [1234, 2.5]);
  const json = JSON.parse(JSON.stringify(schema)) as { columns: Record<string, unknown>[] };
  t.deepEqual(parseSchema(json, 1, (what) => t.fail(what) as never), schema);
  const old = { columns: [{ kind: 'numeric', name: 'price' }, { kind: 'date', name: 'day' }, { kind: 'label', name: 'label' }], missing: 'error', naValues: [] };
  const parsed = parseSchema(old, 2, (what) => t.fail(what) as never) as Schema;
  t.is(parsed.columns.length, 3, 'a model from before formats and date parts loads, the date as one input');
  t.throws(() => parseSchema({ ...old, columns: [{ kind: 'numeric', name: 'p', format: { decimal: ',', thousands: ',' } }] }, 1, (what) => { throw new Error(what); }), { message: /thousands/ });
});

test('--thousands overrides the sniffed convention', async (t) => {
  const path = await file('dots.csv', 'n,label\n"1.234",a\n"5.000",b\n"12",a\n');
  t.deepEqual(Array.from((await loadCsv(path)).x), [Math.fround(1.234), 5, 12]);
  t.deepEqual(Array.from((await loadCsv(path, { thousands: '.' })).x), [1234, 5000, 12]);
  const cli = await runCli(['train', '--data', path, '--thousands', '.', ...QUICK, '--out', join(await tempDir(), 'm.json')]);
  t.is(cli.code, 0, cli.stderr);
  t.regex(cli.stdout, /n numeric/);
  const bad = await runCli(['train', '--data', path, '--thousands', '.', '--decimal', '.', ...QUICK]);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /^gradpool: .*--thousands \. is also the decimal mark.*--decimal\n$/);
});

test('a column of numbers in a way not read is ignored with a reason that names --thousands, never one-hot', async (t) => {
  const lines = ['x,lakh,label'];
  for (let i = 0; i < 60; i++) lines.push(`${i % 5},"${1 + (i % 9)},${String(10 + i).padStart(2, '0')},${String(100 + i * 7).slice(-3)}",${i % 2 ? 'a' : 'b'}`);
  const path = await file('indian.csv', lines.join('\n'));
  const result = await runCli(['train', '--data', path, ...QUICK]);
  t.is(result.code, 0, result.stderr);
  const described = /lakh ignored \(([^)]*\))/.exec(result.stdout)?.[1] ?? '';
  t.regex(described, /numbers written in a way gradpool does not read, e\.g\. "1,10,100" at line 2/);
  t.regex(described, /--thousands/);
  t.notRegex(result.stdout + result.stderr, /one-hot/);
});

test('end to end: a table of money, percents and accounting negatives trains, evaluates and predicts, read the same way each time', async (t) => {
  const dir = await tempDir();
  const lines = ['balance,change,share,label'];
  for (let i = 0; i < 400; i++) {
    const balance = ((i * 7919) % 10000) * 3.25;
    const change = ((i * 31) % 200) - 100;
    const label = balance > 16000 === change > 0 ? 'up' : 'down';
    const money = `"$${balance.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}"`;
    lines.push(`${money},${change < 0 ? `(${(-change).toFixed(2)})` : change.toFixed(2)},${(i % 100).toFixed(1)}%,${label}`);
  }
  const data = join(dir, 'money.csv');
  await writeFile(data, lines.join('\n'));
  const model = join(dir, 'model.json');
  const trained = await runCli(['train', '--data', data, '--threads', '1', '--epochs', '40', '--out', model]);
  t.is(trained.code, 0, trained.stderr);
  t.regex(trained.stdout, /balance numeric \(written 1,234\.5\), change numeric \(written 1,234\.5\), share numeric \(written 1,234\.5\)/);
  const evaluated = await runCli(['evaluate', '--model', model, '--data', data, '--json']);
  t.is(evaluated.code, 0, evaluated.stderr);
  t.true((JSON.parse(evaluated.stdout) as { accuracy: number }).accuracy > 0.85, evaluated.stdout);
  const predicted = await runCli(['predict', '--model', model, '--data', data, '--out', join(dir, 'p.csv')]);
  t.is(predicted.code, 0, predicted.stderr);
});

// ---------- encodings ----------

const LATIN = 'name,city,price,label\nM\xfcller,Z\xfcrich,\x80 12,r\xe9duit\nM\xf6ller,K\xf6ln,\x80 14,plein\nM\xfcller,Z\xfcrich,\x80 12,r\xe9duit\nM\xf6ller,Paris,\x80 9,plein\n';

test('a Latin-1 / Windows-1252 file is read as such: Müller and Möller stay distinct, labels are réduit, € is a currency sign', async (t) => {
  const path = await file('latin.csv', Buffer.from(LATIN, 'latin1'));
  const data = await loadCsv(path);
  t.deepEqual(data.schema!.columns[0], { kind: 'categorical', name: 'name', levels: ['Möller', 'Müller'], missingLevel: false });
  t.deepEqual(data.targets.kind === 'classes' && [...data.targets.names], ['plein', 'réduit']);
  t.deepEqual(rowsOf(data).map((r) => r.at(-1)), [12, 14, 12, 9]);
  t.true(notesOf(data).some((n) => /read as windows-1252/.test(n)));
  const forced = await loadCsv(path, { encoding: 'latin1' });
  t.deepEqual(forced.targets.kind === 'classes' && [...forced.targets.names], ['plein', 'réduit']);
});

test('a file read as UTF-8 that is not never merges values through U+FFFD: refused naming the line and --encoding', async (t) => {
  const path = await file('latin.csv', Buffer.from(LATIN, 'latin1'));
  await refused(path, { encoding: 'utf8' }, /latin\.csv:2:1: bytes that are not UTF-8 \("Müller" read as Latin-1\).*encoding/, t);
});

test('UTF-8 with a BOM and UTF-16 with either BOM read the same table', async (t) => {
  const text = 'größe,label\n1.5,ä\n2.5,ö\n';
  const plain = await loadCsv(await file('u8.csv', text));
  const bom = await loadCsv(await file('bom.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])));
  const le = await loadCsv(await file('le.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])));
  const beBytes = Buffer.from(text, 'utf16le').swap16();
  const be = await loadCsv(await file('be.csv', Buffer.concat([Buffer.from([0xfe, 0xff]), beBytes])));
  for (const data of [bom, le, be]) {
    t.deepEqual(data.schema, plain.schema);
    t.deepEqual(Array.from(data.x), Array.from(plain.x));
  }
  t.is(plain.schema!.columns[0]!.name, 'größe');
});

test('a .csv.gz file is read directly; corrupt gzip, zip, binary and BOM-less UTF-16 files get one line saying what they look like (exit 2)', async (t) => {
  const text = 'a,b,label\n1,2,x\n3,4,y\n5,6,x\n';
  const gz = await file('t.csv.gz', gzipSync(text));
  t.deepEqual(Array.from((await loadCsv(gz)).x), [1, 2, 3, 4, 5, 6]);
  const trained = await runCli(['train', '--data', gz, ...QUICK]);
  t.is(trained.code, 0, trained.stderr);
  const cases: [string, Buffer, RegExp][] = [
    ['cut.csv.gz', gzipSync(text).subarray(0, 15), /cut\.csv\.gz: a corrupt or cut-off gzip file/],
    ['book.csv', Buffer.from('PK\x03\x04\x14\x00\x06\x00rest of a workbook', 'latin1'), /book\.csv: is a zip archive \(an Excel \.xlsx .* save it as CSV first/],
    ['blob.csv', Buffer.from([0x41, 0x42, 0, 1, 2, 3, 0x43, 0x44, 0, 0, 9, 9, 0, 7]), /blob\.csv: looks like binary data, not CSV text \(a NUL byte at offset 2\)/],
    ['u16.csv', Buffer.from(text, 'utf16le'), /u16\.csv: looks like UTF-16 text without a byte order mark; name it with --encoding utf16le/],
  ];
  for (const [name, bytes, pattern] of cases) {
    const result = await runCli(['train', '--data', await file(name, bytes), ...QUICK]);
    t.is(result.code, 2, name);
    t.regex(result.stderr, new RegExp(`^gradpool: [^\\n]*${pattern.source}[^\\n]*\\n$`));
  }
});

// ---------- preambles and exports ----------

test('# comment lines before the table are skipped with a note; --comment skips them anywhere', async (t) => {
  const path = await file('c.csv', '# exported 2024-12-01\n# by the bank\na,label\n1,x\n# a note in the middle\n2,y\n');
  const error = (await t.throwsAsync(loadCsv(path), { instanceOf: InputError })) as Error;
  t.regex(error.message, /c\.csv:5: expected 2 columns as in the header, found 1 \(a line starting with #: comment # skips comment lines\)/);
  const data = await loadCsv(path, { comment: '#' });
  t.deepEqual(Array.from(data.x), [1, 2]);
  const lead = await loadCsv(await file('lead.csv', '# exported 2024-12-01\na,label\n1,x\n2,y\n'));
  t.deepEqual(Array.from(lead.x), [1, 2]);
  t.true(notesOf(lead).some((n) => /skipped 1 comment line/.test(n)));
});

test('metadata rows before the header are skipped (sniffed, or --skip-rows); line numbers stay the file\'s', async (t) => {
  const text = 'Sales report\nGenerated: 2024-12-01\n\nregion,units,label\nnorth,3,a\nsouth,x4,b\nnorth,5,a\nsouth,6,b\n';
  const path = await file('meta.csv', text);
  const error = (await t.throwsAsync(loadCsv(path), { instanceOf: InputError })) as Error;
  t.regex(error.message, /meta\.csv:6:2: column "units" needs a finite number, found "x4"/, 'the sniffed preamble is skipped, lines counted from the file');
  const fixed = await file('meta2.csv', text.replace('x4', '4'));
  const data = await loadCsv(fixed);
  t.deepEqual(data.schema!.columns.map((c) => c.name), ['region', 'units', 'label']);
  t.true(notesOf(data).some((n) => /skipped 2 lines before the table \(line 1: "Sales report"\).*--skip-rows/.test(n)), notesOf(data).join('\n'));
  const explicit = await loadCsv(fixed, { skipRows: 2 });
  t.deepEqual(Array.from(explicit.x), Array.from(data.x));
  // An Excel export pads its title row with delimiters.
  const padded = await loadCsv(await file('padded.csv', 'Quarterly figures,,\nregion,units,label\nnorth,3,a\nsouth,4,b\nnorth,5,a\n'));
  t.deepEqual(padded.schema!.columns.map((c) => c.name), ['region', 'units', 'label']);
});

test('trailing delimiters leave an unnamed empty column that is ignored, never the label; rows like ,,,, are blank', async (t) => {
  const path = await file('trail.csv', 'a,b,label,\n1,2,x,\n,,,\n3,4,y,\n  ,  , ,\n5,6,x,\n');
  const data = await loadCsv(path);
  t.deepEqual(data.targets.kind === 'classes' && [...data.targets.names], ['x', 'y']);
  t.deepEqual(Array.from(data.x), [1, 2, 3, 4, 5, 6]);
  t.deepEqual(data.schema!.columns.at(-1), { kind: 'ignored', name: 'column4', reason: 'unnamed and empty: a trailing delimiter' });
  const result = await runCli(['train', '--data', path, ...QUICK]);
  t.is(result.code, 0, result.stderr);
});

test('a footer such as Total is left out with a note; --skip-footer names how many; a last row without a label points to --skip-footer', async (t) => {
  const rows = ['item,amount,label', 'pen,"$1.50",a', 'ink,"$2.50",b', 'pad,"$3.00",a'];
  const withTotal = await file('total.csv', [...rows, 'Total,"$7.00",', ''].join('\n'));
  const data = await loadCsv(withTotal);
  t.is(data.rows, 3);
  t.true(notesOf(data).some((n) => /the last line \("Total \$7\.00"\) has no label.*footer: left out.*--skip-footer/.test(n)), notesOf(data).join('\n'));
  const numbers = await file('n.csv', 'x,amount,label\n1,2,a\n2,3,b\n3,4,a\nTotal,9,\n');
  t.is((await loadCsv(numbers)).rows, 3);
  await refused(numbers, { skipFooter: 0 }, /n\.csv:5:1: column "x" needs a finite number, found "Total"/, t);
  const lastEmpty = await file('e.csv', 'x,y,label\n1,2,a\n2,3,b\n4,5,\n');
  await refused(lastEmpty, {}, /e\.csv:4:3: empty label in column "label" \(if line 4 is a footer, skipFooter 1 leaves it out/, t);
  const cli = await runCli(['train', '--data', lastEmpty, ...QUICK]);
  t.is(cli.code, 2);
  t.regex(cli.stderr, /^gradpool: .*e\.csv:4:3: empty label .*--skip-footer 1 leaves it out[^\n]*\n$/);
  const two = await file('two.csv', 'x,label\n1,a\n2,b\n3,a\n----,\nsum 6,\n');
  t.deepEqual(Array.from((await loadCsv(two, { skipFooter: 2 })).x), [1, 2, 3]);
  const quoted = await loadCsv(await file('q.csv', 'x,label\n1,a\n2,"two\nlines"\n'));
  t.deepEqual(quoted.targets.kind === 'classes' && [...quoted.targets.names], ['a', 'two\nlines'], 'a quoted line break is no footer');
});

// ---------- dates ----------

test('non-ISO dates and times of day are read, and a date gives month, weekday and (with times) hour inputs', async (t) => {
  const us = await loadCsv(await file('us.csv', 'when,label\n12/19/2024,a\n01/02/2025,b\n03/04/2025,a\n'));
  t.deepEqual(us.schema!.columns[0], { kind: 'date', name: 'when', order: 'mdy', parts: ['month', 'weekday'] });
  const dec19 = Date.UTC(2024, 11, 19) / 86_400_000;
  close(t, rowsOf(us)[0]!, [dec19, 12, 3]); // a Thursday
  close(t, rowsOf(us)[2]!, [Date.UTC(2025, 2, 4) / 86_400_000, 3, 1]);
  const eu = await loadCsv(await file('eu.csv', 'when,label\n19/12/2024,a\n03/04/2025,b\n'));
  close(t, rowsOf(eu)[1]!, [Date.UTC(2025, 3, 3) / 86_400_000, 4, 3]);
  const dayfirst = await loadCsv(await file('df.csv', 'when,label\n03/04/2025,a\n05/06/2025,b\n'), { dayfirst: true });
  close(t, rowsOf(dayfirst)[0]!, [Date.UTC(2025, 3, 3) / 86_400_000, 4, 3]);
  const times = await loadCsv(await file('t.csv', 'at,label\n2024-12-19 14:30,a\n12/20/2024 2:15 PM,b\n2024-12-21T08:00:00Z,a\n'));
  t.deepEqual(times.schema!.columns[0], { kind: 'date', name: 'at', order: 'mdy', parts: ['month', 'weekday', 'hour'] });
  close(t, rowsOf(times)[0]!, [dec19 + 14.5 / 24, 12, 3, 14.5]);
  close(t, rowsOf(times)[1]!, [dec19 + 1 + 14.25 / 24, 12, 4, 14.25]);
  const clock = await loadCsv(await file('clock.csv', 'start,label\n14:30,a\n9:05,b\n11:45 PM,a\n'));
  t.deepEqual(clock.schema!.columns[0], { kind: 'date', name: 'start' });
  close(t, Array.from(clock.x), [14.5 / 24, (9 + 5 / 60) / 24, (23.75) / 24]);
  // A later file is read in the order the training file showed, though its own dates are ambiguous.
  const later = await loadCsv(await file('later.csv', 'when,label\n03/04/2025,a\n'), { schema: eu.schema!, labels: 'classes', classNames: ['a', 'b'] });
  close(t, Array.from(later.x), [Date.UTC(2025, 3, 3) / 86_400_000, 4, 3]);
  const cli = await runCli(['train', '--data', await file('cli.csv', 'when,label\n19/12/2024,a\n20/12/2024,b\n21/12/2024,a\n'), ...QUICK]);
  t.is(cli.code, 0, cli.stderr);
  t.regex(cli.stdout, /when date \(days since 1970-01-01\) \+ month, weekday/);
});

// ---------- column names ----------

test('column names with commas or spaces can be named, quoted as in CSV; the lists in messages quote names', async (t) => {
  const dir = await tempDir();
  const path = join(dir, 'names.csv');
  await writeFile(path, 'id,"size, cm",home town,"Total, net"\n1,10,a,x\n2,20,b,y\n3,30,a,x\n4,40,b,y\n');
  const out = join(dir, 'm.json');
  const result = await runCli(['train', '--data', path, '--categorical', '"size, cm",home town', '--ignore-columns', 'id', '--label-column', '"Total, net"', ...QUICK, '--out', out]);
  t.is(result.code, 0, result.stderr);
  const model = JSON.parse(await readFile(out, 'utf8')) as { schema: Schema };
  t.deepEqual(model.schema.columns.map((c) => `${c.name}:${c.kind}`), ['id:ignored', 'size, cm:categorical', 'home town:categorical', 'Total, net:label']);
  const wrong = await runCli(['train', '--data', path, '--numeric', '"size, mm"', ...QUICK]);
  t.is(wrong.code, 2);
  t.regex(wrong.stderr, /^gradpool: --numeric: no column "size, mm" in .*names\.csv:1 \(columns: "id", "size, cm", "home town", "Total, net"\)\n$/);
  const unclosed = await runCli(['train', '--data', path, '--categorical', '"size, cm', ...QUICK]);
  t.is(unclosed.code, 2);
  t.regex(unclosed.stderr, /--categorical.*unclosed quote/);
});

// ---------- bounds (issue 18 case 7, the reading side) ----------

test('a header of millions of columns is refused with exit 2 naming the count, before any column is set up', async (t) => {
  const path = await file('wide.csv', `${'a,'.repeat(2_000_000)}label\n${'1,'.repeat(2_000_000)}x\n`);
  const result = await runCli(['train', '--data', path, ...QUICK]);
  t.is(result.code, 2, result.stderr);
  t.regex(result.stderr, /^gradpool: .*wide\.csv:1: 2,000,001 columns; gradpool reads at most 262,144 columns of a CSV file\n$/);
});

test('a first line or a cell over the line bound is refused naming the line, not "empty file" or a string-length crash', async (t) => {
  const bound = { maxRecordBytes: 4096 };
  const longHeader = await file('head.csv', `${'h'.repeat(10_000)},label\n1,x\n`);
  await refused(longHeader, bound, /head\.csv:1: a record of more than/, t);
  const longCell = await file('cell.csv', `a,label\n1,x\n2,"${'y'.repeat(10_000)}"\n3,x\n`);
  await refused(longCell, bound, /cell\.csv:3: a record of more than 4,096 bytes \(gradpool reads records of at most 4,096 bytes/, t);
  const unquoted = await file('plain.csv', `a,label\n1,x\n2,x\n${'9'.repeat(10_000)}z,y\n`);
  await refused(unquoted, bound, /plain\.csv:4: a record of more than/, t);
  // The same files within the default bound read fine.
  t.is((await loadCsv(longCell)).rows, 3);
});

test('raw values given by name are read as the training file wrote them: formatted numbers, currency codes, dates with their parts', (t) => {
  const schema: Schema = {
    columns: [
      { kind: 'numeric', name: 'price', format: { decimal: ',', thousands: '.' } },
      { kind: 'numeric', name: 'plain' },
      { kind: 'date', name: 'when', order: 'dmy', parts: ['month', 'weekday'] },
      { kind: 'label', name: 'label' },
    ],
    missing: 'error',
    naValues: [],
  };
  const out = new Float32Array(5);
  t.is(encodeValues(schema, ['1.234,50 €', 'USD 2,000', '03/04/2025'], out, 0), null);
  close(t, Array.from(out), [1234.5, 2000, Date.UTC(2025, 3, 3) / 86_400_000, 4, 3].map(Math.fround));
  t.regex(encodeValues(schema, ['12', '3', '31/31/2025'], out, 0) ?? '', /column "when" needs a date/);
  t.regex(encodeValues(schema, ['zwölf', '3', '01/01/2025'], out, 0) ?? '', /column "price" needs a finite number/);
});

test('the public loadDataset takes the CSV reading options by the names train() uses', async (t) => {
  const { loadDataset } = await import('../src/index.js');
  const dir = await tempDir();
  const file = join(dir, 'names.csv');
  // Latin-1 bytes (ü = 0xfc, ö = 0xf6), a comment line, a trailing Total row and money with thousands
  const rows = ['# exported 2024-12-19', 'name,amount,label', ...Array.from({ length: 30 }, (_, i) => `${i % 2 ? 'M\xfcller' : 'M\xf6ller'},"$1,${String(100 + i)}.50",${i % 2 ? 'a' : 'b'}`), 'Total,,'];
  await writeFile(file, Buffer.from(rows.join('\n') + '\n', 'latin1'));
  const dataset = await loadDataset(file, { encoding: 'windows-1252', comment: '#', skipFooter: 1, thousands: ',' });
  t.is(dataset.rows, 30);
  await t.throwsAsync(loadDataset(file, { encoding: 'ebcdic' } as never), { message: /encoding/ });
});
