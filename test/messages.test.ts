// Messages stay short and arrive whole; the library answers every bad argument with an InputError
// naming it; a flag is given once or refused, whatever its kind.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, train, type Dataset } from '../src/index.js';
import { runCli } from './helpers/cli.js';
import { oneLine, tempDir } from './helpers/files.js';

test('--layers 100000,100000 names the real limit (65536), on the command line and in the library', async (t) => {
  const result = await runCli(['train', '--data', 'builtin:moons', '--layers', '100000,100000']);
  t.is(result.code, 2);
  t.regex(oneLine(result.stderr) ?? '', /^gradpool: --layers must be comma-separated integers from 1 to 65536 such as 128,64, got "100000,100000"$/);
  await t.throwsAsync(train({ data: 'builtin:moons', layers: [100_000] }), { instanceOf: InputError, message: /^layers must be an array of integers from 1 to 65536 such as \[128, 64\], got \[100000\]$/ });
});

test('library messages spell options and values as the library does: layers: [16, 8], missing: \'impute\'', async (t) => {
  await t.throwsAsync(train({ data: 'builtin:moons', layers: [16, -8] }), { instanceOf: InputError, message: 'layers must be an array of integers from 1 to 65536 such as [128, 64], got [16, -8]' });
  await t.throwsAsync(train({ data: 'builtin:moons', missing: 'skip' as 'drop' }), { instanceOf: InputError, message: "missing must be one of 'error', 'impute', 'drop', got 'skip'" });
  const cli = await runCli(['train', '--data', 'builtin:moons', '--layers', '16,0']);
  t.is(oneLine(cli.stderr), 'gradpool: --layers must be comma-separated integers from 1 to 65536 such as 128,64, got "16,0"');
});

test('a 5 MB CSV cell is quoted by its first 60 characters, in one whole line over a pipe', async (t) => {
  const dir = await tempDir();
  const data = join(dir, 'cell.csv');
  await writeFile(data, `a,b,label\n1,2,x\n${'q'.repeat(5_000_000)},3,y\n`);
  const result = await runCli(['train', '--data', data]);
  t.is(result.code, 2);
  const line = oneLine(result.stderr);
  t.truthy(line, 'one line, ending in a newline');
  t.true(line!.length < 400, `${line!.length} characters`);
  t.regex(line!, new RegExp(`^gradpool: ${data.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:1: .*"q{60}…"`));
});

function dataset(edit: (d: Record<string, unknown>) => void): Dataset {
  const rows = 6;
  const d: Record<string, unknown> = {
    source: 'memory',
    rows,
    features: 2,
    x: Float32Array.from({ length: rows * 2 }, (_, i) => Math.sin(i)),
    targets: { kind: 'classes', index: Int32Array.from({ length: rows }, (_, r) => r % 2), names: ['a', 'b'] },
  };
  edit(d);
  return d as unknown as Dataset;
}

const targets = (d: Record<string, unknown>): Record<string, unknown> => d.targets as Record<string, unknown>;

const misuse: [string, () => unknown, RegExp][] = [
  ['train(null)', () => null, /^train: options must be an object, got null$/],
  ['train("builtin:moons")', () => 'builtin:moons', /^train: options must be an object/],
  ['data: null', () => ({ data: null }), /^data is required/],
  ['targets.kind "bogus"', () => ({ data: dataset((d) => (targets(d).kind = 'bogus')) }), /^data: targets\.kind must be "classes" or "values", got "bogus"$/],
  ['targets missing', () => ({ data: dataset((d) => delete d.targets) }), /^data: targets must be an object with a kind/],
  ['targets.kind "none"', () => ({ data: dataset((d) => (d.targets = { kind: 'none' })) }), /^data: targets\.kind is "none"/],
  ['a class index of 0.5', () => ({ data: dataset((d) => (targets(d).index = [0.5, 1, 0, 1, 0, 1])) }), /^data: targets\.index\[0\] is 0\.5; a class index is a whole number from 0 to 1$/],
  ['a class index out of range', () => ({ data: dataset((d) => (targets(d).index = Int32Array.of(0, 1, 2, 1, 0, 1))) }), /^data: targets\.index\[2\] is 2/],
  ['a class index list of the wrong length', () => ({ data: dataset((d) => (targets(d).index = Int32Array.of(0, 1))) }), /^data: targets\.index has 2 entries for 6 rows$/],
  ['duplicate class names', () => ({ data: dataset((d) => (targets(d).names = ['a', 'a'])) }), /^data: targets\.names: "a" appears more than once$/],
  ['class names that are not strings', () => ({ data: dataset((d) => (targets(d).names = ['a', 2])) }), /^data: targets\.names must be an array of strings$/],
  ['NaN regression targets', () => ({ data: dataset((d) => (d.targets = { kind: 'values', values: Float32Array.of(1, 2, 3, NaN, 5, 6) })) }), /^data: targets\.values\[3\] is NaN; a regression target must be a finite float32 number$/],
  ['regression targets beyond float32', () => ({ data: dataset((d) => (d.targets = { kind: 'values', values: [1, 2, 3, 4, 5, 1e39] })) }), /^data: targets\.values\[5\] is 1e\+39/],
  ['x as a plain array', () => ({ data: dataset((d) => (d.x = Array.from(d.x as Float32Array))) }), /^data: x must be a Float32Array of rows × features values, got an array$/],
  ['x as a Float64Array', () => ({ data: dataset((d) => (d.x = Float64Array.from(d.x as Float32Array))) }), /^data: x must be a Float32Array .*got a Float64Array$/],
  ['rows 0', () => ({ data: dataset((d) => (d.rows = 0)) }), /^data: rows must be a whole number ≥ 1, got 0$/],
  ['features "2"', () => ({ data: dataset((d) => (d.features = '2')) }), /^data: features must be a whole number ≥ 1, got "2"$/],
  ['onEpoch not a function', () => ({ data: 'builtin:moons', onEpoch: 3 }), /^train: onEpoch must be a function$/],
  ['signal not an AbortSignal', () => ({ data: 'builtin:moons', signal: {} }), /^train: signal must be an AbortSignal$/],
];

for (const [name, options, message] of misuse) {
  test(`library misuse throws InputError: ${name}`, async (t) => {
    await t.throwsAsync(train(options() as never), { instanceOf: InputError, message });
  });
}

test('a good in-memory Dataset with plain-array targets trains (the control for the misuse rows)', async (t) => {
  const result = await train({ data: dataset((d) => (targets(d).index = [0, 1, 0, 1, 0, 1])), epochs: 1, layers: [2], threads: 1 });
  t.is(result.history.length, 1);
});

for (const args of [
  ['--threads', '1', '--threads', '2'],
  ['--epochs', '1', '--epochs=2'],
  ['--quiet', '--quiet'],
  ['--no-quiet', '--quiet'],
  ['--log-json', 'a.jsonl', '--log-json', 'b.jsonl'],
  ['--label-column', '0', '--labelColumn', '1'],
]) {
  test(`a repeated flag is refused: ${args.join(' ')}`, async (t) => {
    const result = await runCli(['train', '--data', 'builtin:moons', ...args]);
    t.is(result.code, 2, result.stderr);
    t.regex(oneLine(result.stderr) ?? '', /^gradpool: --[a-z-]+ is given [23] times; give it once$/);
  });
}
