// Where the CLI writes: export's format from --out's extension, predictions to stdout with --out -,
// and stream paths (/dev/stdout) that never replace the file a shell redirected to.
import test from 'ava';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/files.js';

const MOONS = ['--data', 'builtin:moons', '--samples', '200'];

async function trainedModel(): Promise<{ dir: string; model: string }> {
  const dir = await tempDir();
  const model = join(dir, 'm.json');
  const trained = await runCli(['train', ...MOONS, '--epochs', '2', '--out', model, '--quiet']);
  if (trained.code !== 0) throw new Error(trained.stderr);
  return { dir, model };
}
const shared = trainedModel();

test('export infers the format from --out\'s extension, as train --out does', async (t) => {
  const { dir, model } = await shared;
  for (const [file, check] of [
    ['m.onnx', (b: Buffer) => b[0] === 0x08], // protobuf field 1 (ir_version), varint
    ['m2.json', (b: Buffer) => (JSON.parse(b.toString('utf8')) as { format: string }).format.length > 0],
    ['m.safetensors', (b: Buffer) => b.readBigUInt64LE(0) > 0n && b.subarray(8, 9).toString() === '{'],
  ] as const) {
    const result = await runCli(['export', '--model', model, '--out', join(dir, file)]);
    t.is(result.code, 0, `${file}: ${result.stderr}`);
    t.true(check(await readFile(join(dir, file))), file);
  }
  const unknown = await runCli(['export', '--model', model, '--out', join(dir, 'm.bin')]);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /^gradpool: --out: end the file in \.safetensors, \.json, \.onnx, or name the format with --format; got .*m\.bin\n$/);
});

test('predict --out - prints the predictions CSV to stdout', async (t) => {
  const { model } = await shared;
  const file = await runCli(['predict', '--model', model, ...MOONS, '--out', join((await shared).dir, 'p.csv')]);
  t.is(file.code, 0, file.stderr);
  const printed = await runCli(['predict', '--model', model, ...MOONS, '--out', '-']);
  t.is(printed.code, 0, printed.stderr);
  t.is(printed.stdout, await readFile(join((await shared).dir, 'p.csv'), 'utf8'));
  t.is(printed.stdout.trim().split('\n').length, 201);
});

/** The CLI with stdout redirected to `path` (as a shell's > does), stderr captured. */
function runRedirected(args: string[], path: string): Promise<{ code: number | null; stderr: string }> {
  const fd = openSync(path, 'a');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', fd, 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      closeSync(fd);
      resolve({ code, stderr });
    });
  });
}

test('predict --out /dev/stdout writes into the redirected file itself; other outputs refuse a stream path and leave it alone', async (t) => {
  const { dir, model } = await shared;
  const redirected = join(dir, 'redirected.txt');
  await writeFile(redirected, 'before\n');
  const inode = (await stat(redirected)).ino;
  const predicted = await runRedirected(['predict', '--model', model, ...MOONS, '--out', '/dev/stdout'], redirected);
  t.is(predicted.code, 0, predicted.stderr);
  const content = await readFile(redirected, 'utf8');
  t.true(content.startsWith('before\npredicted,'), 'appended through the stream, not replaced');
  t.is((await stat(redirected)).ino, inode, 'the same file');
  for (const args of [['train', ...MOONS, '--epochs', '1', '--out', '/dev/stdout'], ['export', '--model', model, '--out', '/dev/stdout']]) {
    const refused = await runRedirected(args, redirected);
    t.is(refused.code, 2, refused.stderr);
    // train: the stream refusal; export: its --out must end in the format's extension first
    t.regex(refused.stderr, args[0] === 'train' ? /^gradpool: --out \/dev\/stdout: names a stream, not a file; write to a file\n$/ : /^gradpool: --out: end the file in /);
    t.is(await readFile(redirected, 'utf8'), content, `${args[0]} left the redirected file alone`);
    t.is((await stat(redirected)).ino, inode);
  }
});
