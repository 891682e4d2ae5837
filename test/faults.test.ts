// When things go wrong mid-run: a worker that throws or dies, signals, and what stays on disk.
import test from 'ava';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel } from '../src/index.js';
import { oneLine, tempDir, withoutNotices } from './helpers/files.js';
import { CLI, runCli } from './helpers/cli.js';
import { workerFaultEnv } from './helpers/worker-fault.js';

// Big enough per step that several workers share it; many epochs so signals land mid-run.
const sharedWork = ['--data', 'builtin:blobs', '--samples', '2048', '--features', '256', '--layers', '128', '--batch-size', '256', '--threads', '2'];

for (const fault of ['throw', 'exit'] as const) {
  test(`a worker that ${fault === 'throw' ? 'throws' : 'dies'} mid-epoch stops training with exit 1, naming the step, saves the last completed epoch's weights to --out and keeps the last checkpoint`, async (t) => {
    const dir = await tempDir();
    const checkpoints = join(dir, 'checkpoints');
    const out = join(dir, 'model.json');
    await writeFile(out, 'precious');
    // 8 steps per epoch, and a worker joins only the steps it wakes in time for (work is claimed):
    // its 9th command is in epoch 2 or later, after epoch 1's checkpoint was written.
    const result = await runCli(['train', ...sharedWork, '--epochs', '6', '--checkpoint-dir', checkpoints, '--out', out], { env: workerFaultEnv(`${fault}@9`), timeoutMs: 60_000 });
    t.is(result.code, 1, result.stderr);
    const stopped = /worker thread failed.*\(epoch (\d+), step \d+ of 8\); saved the weights from the end of epoch (\d+) to \S*model\.json\n$/.exec(result.stderr);
    t.truthy(stopped, result.stderr);
    const [epoch, saved] = [Number(stopped?.[1]), Number(stopped?.[2])];
    t.true(epoch >= 2 && saved === epoch - 1, result.stderr);
    t.truthy(oneLine(withoutNotices(result.stderr)), result.stderr);
    // Issue 18 case 11: the trained model is not lost; it is exactly what a run of the completed epochs saves.
    const completed = join(dir, 'completed.json');
    const short = await runCli(['train', ...sharedWork, '--epochs', String(saved), '--quiet', '--out', completed]);
    t.is(short.code, 0, short.stderr);
    t.is(await readFile(out, 'utf8'), await readFile(completed, 'utf8'), `--out holds epoch ${saved}'s weights`);
    const resumed = await runCli(['train', ...sharedWork, '--epochs', '6', '--resume', checkpoints, '--quiet', '--out', out]);
    t.is(resumed.code, 0, `the last checkpoint is intact and resumable: ${resumed.stderr}`);
    // and resuming it ends with exactly the weights of a run that never failed
    const straight = join(dir, 'straight.json');
    const uninterrupted = await runCli(['train', ...sharedWork, '--epochs', '6', '--quiet', '--out', straight]);
    t.is(uninterrupted.code, 0, uninterrupted.stderr);
    t.is(await readFile(out, 'utf8'), await readFile(straight, 'utf8'), 'the resumed model is byte for byte the uninterrupted one');
  });
}

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test(`${signal} during training saves exactly the weights trained so far and exits ${code}`, async (t) => {
    const dir = await tempDir();
    const out = join(dir, 'model.json');
    // In batch mode an epoch is one step, and a stop lands between steps: "stopped during epoch E"
    // then means E − 1 steps were taken, which an uninterrupted run of E − 1 epochs repeats.
    const batchWork = [...sharedWork, '--mode', 'batch'];
    const child = spawn(process.execPath, [CLI, 'train', ...batchWork, '--epochs', '100000', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        if (stdout.includes('epoch      2/')) resolve();
      });
    });
    child.kill(signal);
    const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
    t.is(exitCode, code, stderr);
    const stopped = /stopped during epoch (\d+) \(interrupted\)/.exec(stderr);
    t.truthy(stopped, stderr);
    const epochs = Number(stopped![1]) - 1;
    t.true(epochs >= 2, `stopped after ${epochs} epochs`);
    const straight = join(dir, 'straight.json');
    const uninterrupted = await runCli(['train', ...batchWork, '--epochs', String(epochs), '--quiet', '--out', straight]);
    t.is(uninterrupted.code, 0, uninterrupted.stderr);
    t.is(await readFile(out, 'utf8'), await readFile(straight, 'utf8'), `the saved model is byte for byte the model after ${epochs} steps`);
  });
}

test('a file write goes through a temporary file: no stray temporaries remain', async (t) => {
  const dir = await tempDir();
  const out = join(dir, 'model.json');
  const result = await runCli(['train', '--data', 'builtin:moons', '--epochs', '2', '--out', out, '--checkpoint-dir', dir, '--quiet']);
  t.is(result.code, 0, result.stderr);
  t.is((await loadModel(out)).shape.sizes.length, 4, 'the model file loads');
  const { readdir } = await import('node:fs/promises');
  t.deepEqual((await readdir(dir)).sort(), ['checkpoint.gpck', 'model.json']);
});
