// Inputs are read bounded: a device (a zero device made with mknod under a temp dir, never /dev), a
// FIFO without a writer, or a file larger than any gradpool writes is refused before it is read, at
// once: exit 2 naming the file, never a process that grows without end or cannot be stopped.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdir, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, loadModel } from '../src/index.js';
import { runCli } from './helpers/cli.js';
import { oneLine, tempDir } from './helpers/files.js';

const CSV = 'a,b,label\n0.1,0.2,x\n0.3,0.4,y\n0.5,0.6,x\n0.7,0.8,y\n';
const QUICK = ['--epochs', '1', '--layers', '2', '--threads', '1', '--quiet'];

/** A zero device (char 1,5) under `dir`; undefined where mknod is not allowed (not root). */
function zeroDevice(dir: string): string | undefined {
  const path = join(dir, 'zero');
  try {
    execFileSync('mknod', [path, 'c', '1', '5'], { stdio: 'ignore' });
    return path;
  } catch {
    return undefined;
  }
}

function fifo(dir: string, name = 'pipe'): string {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  return path;
}

async function trainedModel(dir: string): Promise<string> {
  await writeFile(join(dir, 'd.csv'), CSV);
  const result = await runCli(['train', '--data', join(dir, 'd.csv'), ...QUICK, '--out', join(dir, 'm.json')]);
  if (result.code !== 0) throw new Error(result.stderr);
  return join(dir, 'm.json');
}

/** Runs the CLI with a short limit: a blocked or growing process fails the test instead of hanging it. */
async function refusedQuickly(t: import('ava').ExecutionContext, args: string[], expect: RegExp): Promise<void> {
  const result = await runCli(args, { timeoutMs: 30_000 });
  t.is(result.signal, null, 'not killed by the time limit');
  t.is(result.code, 2, result.stderr);
  t.regex(oneLine(result.stderr) ?? '', expect);
}

for (const flag of ['--model', '--init', '--resume'] as const) {
  test(`${flag} a zero device (directly or through a symlink) is refused before reading: exit 2`, async (t) => {
    const dir = await tempDir();
    const zero = zeroDevice(dir);
    if (!zero) return t.pass('mknod needs root here');
    await writeFile(join(dir, 'd.csv'), CSV);
    if (flag === '--model') {
      await refusedQuickly(t, ['evaluate', '--model', zero, '--data', join(dir, 'd.csv')], /zero: is a character device, not a regular file/);
      await symlink(zero, join(dir, 'm.json'));
      await refusedQuickly(t, ['predict', '--model', join(dir, 'm.json'), '--data', join(dir, 'd.csv'), '--out', join(dir, 'p.csv')], /m\.json: is a character device, not a regular file/);
    } else if (flag === '--init') {
      await refusedQuickly(t, ['train', '--data', join(dir, 'd.csv'), ...QUICK, '--init', zero], /zero: is a character device, not a regular file/);
    } else {
      await mkdir(join(dir, 'ck'));
      await symlink(zero, join(dir, 'ck', 'checkpoint.gpck'));
      await refusedQuickly(t, ['train', '--data', join(dir, 'd.csv'), ...QUICK, '--resume', join(dir, 'ck')], /--resume \S*checkpoint\.gpck: is a character device, not a regular file/);
    }
  });
}

test('a model file larger than any gradpool writes (a sparse 5 GiB file) is refused before reading', async (t) => {
  const dir = await tempDir();
  const path = join(dir, 'huge.safetensors');
  await writeFile(path, '');
  await truncate(path, 5 * 2 ** 30);
  const error = await t.throwsAsync(loadModel(path), { instanceOf: InputError });
  t.regex(error!.message, /huge\.safetensors: 5\.0 GiB is more than any model file gradpool writes .*refused before reading/);
});

test('library loadModel on a FIFO without a writer returns an InputError at once (the open does not block)', async (t) => {
  const dir = await tempDir();
  await t.throwsAsync(loadModel(fifo(dir)), { instanceOf: InputError, message: /pipe: is a named pipe, not a regular file/ });
});

for (const where of ['--data', '--test-data', '--labels', 'predict --data'] as const) {
  test(`${where} a FIFO with no writer exits 2 at once (no open that blocks the exit)`, async (t) => {
    const dir = await tempDir();
    const pipe = fifo(dir);
    await writeFile(join(dir, 'd.csv'), CSV);
    if (where === '--data') await refusedQuickly(t, ['train', '--data', pipe, ...QUICK], /pipe: is a named pipe, not a regular file/);
    if (where === '--test-data') await refusedQuickly(t, ['train', '--data', join(dir, 'd.csv'), '--test-data', pipe, ...QUICK], /pipe: is a named pipe, not a regular file/);
    if (where === '--labels') {
      // An IDX images file (magic 0x00000803, 1 image of 1×1) whose labels are a FIFO.
      await writeFile(join(dir, 'images.idx3-ubyte'), Buffer.from([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7]));
      await refusedQuickly(t, ['train', '--data', join(dir, 'images.idx3-ubyte'), '--labels', pipe, ...QUICK], /--labels \S*pipe: is a named pipe, not a regular file/);
    }
    if (where === 'predict --data') {
      const model = await trainedModel(dir);
      await refusedQuickly(t, ['predict', '--model', model, '--data', pipe, '--out', join(dir, 'p.csv')], /pipe: is a named pipe, not a regular file/);
    }
  });
}
