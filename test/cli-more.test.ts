// The newer commands and data formats, through real processes.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { train } from '../src/index.js';
import { tempDir } from './helpers/files.js';
import { runCli } from './helpers/cli.js';
import { writeIdxDirectory } from './helpers/idx.js';

test('an IDX directory trains with only --data and reports test accuracy from its t10k files', async (t) => {
  const dir = await writeIdxDirectory(join(await tempDir(), 'fashion'), 600, 200);
  const log = join(dir, '..', 'log.jsonl');
  const result = await runCli(['train', '--data', dir, '--epochs', '5', '--log-json', log]);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /test +loss +\d\.\d{4} +acc +\d+\.\d\d%/);
  const done = JSON.parse((await readFile(log, 'utf8')).trim().split('\n').pop()!);
  t.true(done.testAccuracy > 0.9, `test accuracy ${done.testAccuracy}`);
});

test('a model exported to safetensors and back evaluates identically', async (t) => {
  const dir = await tempDir();
  const json = join(dir, 'model.json');
  const trained = await runCli(['train', '--data', 'builtin:moons', '--epochs', '5', '--out', json, '--quiet']);
  t.is(trained.code, 0, trained.stderr);
  const safetensors = join(dir, 'model.safetensors');
  t.is((await runCli(['export', '--model', json, '--out', safetensors])).code, 0);
  const again = join(dir, 'again.json');
  t.is((await runCli(['export', '--model', safetensors, '--format', 'json', '--out', again])).code, 0);
  t.is(await readFile(again, 'utf8'), await readFile(json, 'utf8'), 'JSON → safetensors → JSON is lossless');
  const a = await runCli(['evaluate', '--model', json, '--data', 'builtin:moons', '--seed', '4', '--json']);
  const b = await runCli(['evaluate', '--model', safetensors, '--data', 'builtin:moons', '--seed', '4', '--json']);
  t.is(a.code, 0, a.stderr);
  t.is(a.stdout, b.stdout);
});

test('export refuses an --out whose extension does not match the format', async (t) => {
  const dir = await tempDir();
  const json = join(dir, 'model.json');
  await runCli(['train', '--data', 'builtin:moons', '--epochs', '1', '--out', json, '--quiet']);
  const result = await runCli(['export', '--model', json, '--format', 'safetensors', '--out', join(dir, 'model.bin')]);
  t.is(result.code, 2);
  t.regex(result.stderr, /--out: a safetensors model file must end in \.safetensors/);
});

test('compare-modes writes one self-contained report with every mode', async (t) => {
  const dir = await tempDir();
  const out = join(dir, 'report.html');
  const result = await runCli(['compare-modes', '--data', 'builtin:moons', '--samples', '300', '--epochs', '4', '--batch-sizes', '16,64', '--out', out, '--quiet']);
  t.is(result.code, 0, result.stderr);
  const html = await readFile(out, 'utf8');
  for (const label of ['batch GD', 'mini-batch B=16', 'mini-batch B=64', 'SGD']) t.true(html.includes(label), label);
  t.regex(html, /<svg/);
  t.notRegex(html, /<script[^>]+src=|<link[^>]+href="https?:/);
  // The table holds each run's own numbers: the same runs through train() end with the same losses.
  const runs = [['batch GD', 'batch', 64], ['mini-batch B=16', 'minibatch', 16], ['mini-batch B=64', 'minibatch', 64], ['SGD', 'sgd', 64]] as const;
  const rows = [...html.matchAll(/<tr><td>([^<]+)<\/td><td>[^<]+<\/td><td class="number">\d+<\/td><td class="number">(\d+)<\/td><td class="number">([\d.]+)<\/td>/g)];
  t.deepEqual(rows.map((row) => [row[1], Number(row[2])]), runs.map(([label]) => [label, 4]));
  for (const [i, [label, mode, batchSize]] of runs.entries()) {
    const { history } = await train({ data: 'builtin:moons', samples: 300, epochs: 4, mode, batchSize });
    t.true(Math.abs(Number(rows[i]![3]) - history.at(-1)!.loss) <= 5e-5, `${label}: table ${rows[i]![3]}, train() ${history.at(-1)!.loss}`);
  }
  // and each of the two charts draws one line per run
  t.is((html.match(/aria-roledescription="line mark"/g) ?? []).length, 2 * runs.length);
});

test('--plot draws the training curves to an SVG file', async (t) => {
  const dir = await tempDir();
  const plot = join(dir, 'curves.svg');
  const result = await runCli(['train', '--data', 'builtin:moons', '--epochs', '6', '--val-split', '0.2', '--plot', plot, '--quiet']);
  t.is(result.code, 0, result.stderr);
  const svg = await readFile(plot, 'utf8');
  t.regex(svg, /^<svg/);
  t.true((svg.match(/<path/g) ?? []).length >= 4, 'train and validation lines for loss and accuracy');
});
