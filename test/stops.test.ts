// How a run ends when it is told to, or when nobody reads its output: a stop before the first step
// writes nothing (the old files stay); SIGHUP saves like SIGTERM; a closed stdout ends the printing,
// not the training.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadModel, train } from '../src/index.js';
import { CLI } from './helpers/cli.js';
import { fileState, listing, oneLine, tempDir } from './helpers/files.js';

test('library: train() with an already-aborted signal trains nothing and writes nothing', async (t) => {
  const dir = await tempDir();
  const out = join(dir, 'model.json');
  await writeFile(out, 'precious');
  const before = await fileState(out);
  const controller = new AbortController();
  controller.abort();
  const result = await train({ data: 'builtin:moons', samples: 100, epochs: 3, out, checkpointDir: join(dir, 'ck'), signal: controller.signal, threads: 1 });
  t.is(result.stopReason, 'aborted');
  t.is(result.steps, 0);
  t.is(result.savedTo, null);
  t.deepEqual(result.history, []);
  t.regex(result.message!, /before the first training step.*model\.json was not written/);
  t.deepEqual(await fileState(out), before);
  t.deepEqual(await listing(dir), ['model.json'], 'no checkpoint directory either');
});

/** The file descriptors of a process point at `path` (Linux /proc): it is reading it now. */
function isReading(pid: number, path: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** A CSV big enough that reading it takes a while (≈24 MB, a few tenths of a second). */
async function bigCsv(path: string): Promise<void> {
  const lines = ['a,b,c,d,e,f,label'];
  for (let r = 0; r < 400_000; r++) lines.push(`${(r % 97) / 97},${(r % 89) / 89},${(r % 83) / 83},${(r % 79) / 79},${(r % 73) / 73},${(r % 71) / 71},${r % 3}`);
  await writeFile(path, lines.join('\n') + '\n');
}

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test.serial(`${signal} while the CSV is loading exits ${code}, saying nothing was saved; --out and --log-json stay as they were`, async (t) => {
    if (!existsSync('/proc/self/fd')) return t.pass('needs /proc to see the load happen');
    const dir = await tempDir();
    const data = join(dir, 'big.csv');
    await bigCsv(data);
    // On a busy machine the test itself may be descheduled between seeing the load start and sending
    // the signal, which then lands after training began (a different, also tested, case): try again.
    for (let attempt = 1; attempt <= 5; attempt++) {
      const out = join(dir, 'model.json');
      const log = join(dir, 'log.jsonl');
      await writeFile(out, 'precious');
      await writeFile(log, '{"old":true}\n');
      const before = [await fileState(out), await fileState(log)];
      const child = spawn(process.execPath, [CLI, 'train', '--data', data, '--epochs', '2', '--out', out, '--log-json', log], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      while (!isReading(child.pid!, data) && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 2));
      child.kill(signal);
      const exitCode = await exited;
      if (/stopped during epoch/.test(stderr)) {
        t.log(`attempt ${attempt}: the signal landed after training began; trying again`);
        continue;
      }
      t.is(exitCode, code, stderr);
      t.regex(oneLine(stderr) ?? '', /^gradpool: stopped before the first training step \(interrupted\); nothing was trained, so \S*model\.json was not written$/);
      t.deepEqual([await fileState(out), await fileState(log)], before);
      t.deepEqual(await listing(dir), ['big.csv', 'log.jsonl', 'model.json'], 'no temporary file left');
      return;
    }
    t.fail('the signal never landed while the data loaded');
  });
}

const SIGNAL_HOOK = fileURLToPath(new URL('./helpers/signal-during-load.js', import.meta.url));

// The signal is sent from inside the load (test/helpers/signal-during-load.ts, through the
// gradpool:load diagnostics channel), so it provably arrives while loading is in progress, however
// fast or slow the machine: no timing, no retries.
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  for (const stage of ['read', 'copy'] as const) {
    test.serial(`${signal} sent while the data loads (${stage} stage, builtin set) exits ${code}; the old --out and --log-json stay`, async (t) => {
      const dir = await tempDir();
      const out = join(dir, 'keep.json');
      const log = join(dir, 'log.jsonl');
      await writeFile(out, 'precious');
      await writeFile(log, '{"old":true}\n');
      const before = [await fileState(out), await fileState(log)];
      const child = spawn(process.execPath, ['--import', pathToFileURL(SIGNAL_HOOK).href, CLI, 'train', '--data', 'builtin:blobs', '--samples', '3000', '--epochs', '5', '--threads', '2', '--out', out, '--log-json', log], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, GRADPOOL_TEST_SIGNAL_AT: stage, GRADPOOL_TEST_SIGNAL: signal },
      });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
      t.regex(stderr, new RegExp(`test-hook: ${signal} sent while loading \\(${stage}\\)`));
      t.is(exitCode, code, stderr);
      t.regex(stderr, /gradpool: stopped before the first training step \(interrupted\); nothing was trained, so \S*keep\.json was not written/);
      t.deepEqual([await fileState(out), await fileState(log)], before);
      t.deepEqual(await listing(dir), ['keep.json', 'log.jsonl'], 'no temporary file left');
    });
  }
}

test.serial('SIGHUP during training saves the model so far and exits 129', async (t) => {
  const dir = await tempDir();
  const out = join(dir, 'model.json');
  const child = spawn(process.execPath, [CLI, 'train', '--data', 'builtin:moons', '--samples', '400', '--layers', '16', '--epochs', '100000', '--threads', '1', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.kill('SIGHUP');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.is(code, 129, stderr);
  t.regex(oneLine(stderr) ?? '', /^gradpool: stopped during epoch \d+ \(interrupted\)$/);
  t.is((await loadModel(out)).inputs, 2);
});

test.serial('a closed stdout (train … | head -1) ends the printing, not the run: it saves and exits 0', async (t) => {
  const dir = await tempDir();
  const out = join(dir, 'model.json');
  const log = join(dir, 'log.jsonl');
  const epochs = 300;
  const child = spawn(process.execPath, [CLI, 'train', '--data', 'builtin:moons', '--samples', '200', '--layers', '8', '--epochs', String(epochs), '--threads', '1', '--out', out, '--log-json', log], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  // Read one line, then close the pipe as `head -1` does.
  const first = await new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString())));
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.regex(first, /^epoch +1\/300/);
  t.is(code, 0, stderr);
  t.is(stderr, '', 'no EPIPE stack trace, no message');
  t.is((await loadModel(out)).inputs, 2, 'the model was saved');
  const lines = (await readFile(log, 'utf8')).trim().split('\n');
  t.is(lines.length, epochs + 1, 'every epoch trained (and logged)');
});
