// When things go wrong mid-run: a worker that throws or dies, signals, and what stays on disk.
import test from 'ava';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel } from '../src/index.js';
import { tempDir } from './helpers/files.js';
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
    // 8 steps per epoch: command 12 is in epoch 2, after epoch 1's checkpoint was written.
    const result = await runCli(['train', ...sharedWork, '--epochs', '3', '--checkpoint-dir', checkpoints, '--out', out], { env: workerFaultEnv(`${fault}@12`), timeoutMs: 60_000 });
    t.is(result.code, 1, result.stderr);
    t.regex(result.stderr, /worker thread failed.*\(epoch 2, step \d+ of 8\); saved the weights from the end of epoch 1 to \S*model\.json\n$/);
    t.is(result.stderr.trim().split('\n').length, 1);
    // Issue 18 case 11: the trained model is not lost; it is exactly what a 1-epoch run saves.
    const oneEpoch = join(dir, 'one-epoch.json');
    const short = await runCli(['train', ...sharedWork, '--epochs', '1', '--quiet', '--out', oneEpoch]);
    t.is(short.code, 0, short.stderr);
    t.is(await readFile(out, 'utf8'), await readFile(oneEpoch, 'utf8'), "--out holds epoch 1's weights");
    const resumed = await runCli(['train', ...sharedWork, '--epochs', '3', '--resume', checkpoints, '--quiet', '--out', out]);
    t.is(resumed.code, 0, `the checkpoint from epoch 1 is intact and resumable: ${resumed.stderr}`);
    // and resuming it ends with exactly the weights of a run that never failed
    const straight = join(dir, 'straight.json');
    const uninterrupted = await runCli(['train', ...sharedWork, '--epochs', '3', '--quiet', '--out', straight]);
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
