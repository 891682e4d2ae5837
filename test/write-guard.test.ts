// Every write goes through one guard in src/io/, checked where the file is written, just before its
// rename: only a regular file or a new path is replaced, never a device, FIFO, socket or directory
// (made under a temp dir with mknod/mkfifo, never /dev), and never an input of a run in progress,
// however the path came to lead there (a symlink or hard link made while the run trained). A model
// is read back from disk before it replaces anything.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { lstat, mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, Model, loadModel, train } from '../src/index.js';
import { AtomicFile, writeFileAtomic } from '../src/io/atomic.js';
import { WriteRefused, protectInputs } from '../src/io/guard.js';
import { parameterLayout } from '../src/model/layout.js';
import { CHECKPOINT_FILE, writeCheckpoint } from '../src/run/checkpoint.js';
import { runCli } from './helpers/cli.js';
import { fileState, listing, oneLine, tempDir } from './helpers/files.js';

const CSV = 'a,b,label\n0.1,0.2,x\n0.3,0.4,y\n0.5,0.6,x\n0.7,0.8,y\n0.2,0.9,x\n0.8,0.1,y\n';
const QUICK = { layers: [2], threads: 1, epochs: 2 } as const;

function tinyModel(): Model {
  const shape = { sizes: [2, 2, 1], activation: 'relu', loss: 'mse' } as const;
  return new Model(shape, new Float32Array(parameterLayout(shape).length).fill(0.25), null);
}

type Special = 'fifo' | 'character device' | 'socket' | 'directory';

/** A special file at `path` of the kind asked for; false when this machine cannot make it (mknod needs root). */
async function makeSpecial(kind: Special, path: string): Promise<boolean> {
  if (kind === 'fifo') execFileSync('mkfifo', [path]);
  else if (kind === 'directory') await mkdir(path);
  else if (kind === 'character device') {
    try {
      execFileSync('mknod', [path, 'c', '1', '3'], { stdio: 'ignore' }); // the null device's numbers, here, not /dev/null
    } catch {
      return false;
    }
  } else {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    // Closing the server unlinks the socket file, so keep it open until the process ends.
    server.unref();
  }
  return true;
}

function isKind(kind: Special, info: Awaited<ReturnType<typeof lstat>>): boolean {
  return kind === 'fifo' ? info.isFIFO() : kind === 'character device' ? info.isCharacterDevice() : kind === 'socket' ? info.isSocket() : info.isDirectory();
}

for (const kind of ['fifo', 'character device', 'socket', 'directory'] as const) {
  test(`library Model.save onto a ${kind} is refused (InputError) and the ${kind} stays`, async (t) => {
    const dir = await tempDir();
    const path = join(dir, 'model.json');
    if (!(await makeSpecial(kind, path))) return t.pass('mknod needs root here');
    const error = await t.throwsAsync(tinyModel().save(path), { instanceOf: InputError });
    t.regex(error!.message, new RegExp(`model\\.json: it is a ${kind === 'fifo' ? 'named pipe' : kind}`));
    t.true(isKind(kind, await lstat(path)), `still a ${kind}`);
    t.deepEqual(await listing(dir), ['model.json'], 'no temporary file left');
  });

  test(`library Model.save through a symlink to a ${kind} is refused; link and ${kind} stay`, async (t) => {
    const dir = await tempDir();
    const special = join(dir, 'special');
    if (!(await makeSpecial(kind, special))) return t.pass('mknod needs root here');
    await symlink(special, join(dir, 'model.safetensors'));
    await t.throwsAsync(tinyModel().save(join(dir, 'model.safetensors')), { instanceOf: InputError });
    t.true(isKind(kind, await lstat(special)));
    t.true((await lstat(join(dir, 'model.safetensors'))).isSymbolicLink());
  });
}

test('every writer refuses a FIFO at write time: a log (AtomicFile), a checkpoint, a predict/plot/report file (writeFileAtomic)', async (t) => {
  const dir = await tempDir();
  execFileSync('mkfifo', [join(dir, 'log.jsonl')]);
  t.throws(() => AtomicFile.create(join(dir, 'log.jsonl')), { instanceOf: WriteRefused });
  await mkdir(join(dir, 'ck'));
  execFileSync('mkfifo', [join(dir, 'ck', CHECKPOINT_FILE)]);
  const checkpoint = { fingerprint: '', epoch: 1, step: 1, history: [], shuffleState: { seed: 1, count: 0 } as never, bestValLoss: null, epochsWithoutImprovement: 0, parameters: new Float32Array(1), optimizerState: [], trainOrder: new Int32Array(1), bestParameters: null };
  await t.throwsAsync(writeCheckpoint(join(dir, 'ck'), checkpoint), { instanceOf: WriteRefused });
  execFileSync('mkfifo', [join(dir, 'preds.csv')]);
  await t.throwsAsync(writeFileAtomic(join(dir, 'preds.csv'), 'predicted\n1\n'), { instanceOf: WriteRefused });
  for (const name of ['log.jsonl', 'preds.csv']) t.true((await lstat(join(dir, name))).isFIFO(), name);
  t.true((await lstat(join(dir, 'ck', CHECKPOINT_FILE))).isFIFO());
  t.deepEqual(await listing(dir), ['ck', 'log.jsonl', 'preds.csv']);
});

test('a log whose path becomes a FIFO before its first line commits is refused at the rename', async (t) => {
  const dir = await tempDir();
  const path = join(dir, 'log.jsonl');
  const file = AtomicFile.create(path);
  file.append('{"epoch":1}\n');
  execFileSync('mkfifo', [path]);
  t.throws(() => file.commit(), { instanceOf: WriteRefused });
  file.close();
  t.true((await lstat(path)).isFIFO());
  t.deepEqual(await listing(dir), ['log.jsonl']);
});

// Case 4: the start-up check passed; during training --out is made a symlink (or a hard link) to
// --data. The save re-checks at write time and refuses: the data is left as it was.
for (const how of ['symlink', 'hard link'] as const) {
  test(`train(): --out made a ${how} to --data during training is refused at the save; the data stays`, async (t) => {
    const dir = await tempDir();
    const data = join(dir, 'd.csv');
    const out = join(dir, 'model.json');
    await writeFile(data, CSV);
    const before = await fileState(data);
    const error = await t.throwsAsync(
      train({
        data,
        out,
        ...QUICK,
        onEpoch: ({ epoch }) => {
          if (epoch !== 1) return;
          execFileSync('ln', how === 'symlink' ? ['-s', data, out] : [data, out]);
        },
      }),
      { instanceOf: InputError },
    );
    t.regex(error!.message, /cannot write \S*model\.json: it is now the same file as the input \S*d\.csv/);
    t.deepEqual(await fileState(data), before, 'the data is untouched');
    t.deepEqual((await listing(dir)).sort(), ['d.csv', 'model.json'], 'no temporary left');
  });
}

test('train(): a checkpoint file swapped for a symlink to --data during training is refused; the data stays', async (t) => {
  const dir = await tempDir();
  const data = join(dir, 'd.csv');
  await writeFile(data, CSV);
  const before = await fileState(data);
  const ck = join(dir, 'ck');
  await t.throwsAsync(
    train({
      data,
      checkpointDir: ck,
      ...QUICK,
      epochs: 3,
      onEpoch: ({ epoch }) => {
        if (epoch !== 1) return;
        execFileSync('rm', [join(ck, CHECKPOINT_FILE)]);
        execFileSync('ln', ['-s', data, join(ck, CHECKPOINT_FILE)]);
      },
    }),
    { message: /same file as the input \S*d\.csv/ },
  );
  t.deepEqual(await fileState(data), before);
});

test('protected inputs are released when the run ends: a later save may replace the same file', async (t) => {
  const dir = await tempDir();
  const path = join(dir, 'm.json');
  await tinyModel().save(path);
  const protection = protectInputs([path]);
  await t.throwsAsync(tinyModel().save(path), { instanceOf: WriteRefused });
  protection.release();
  await tinyModel().save(path);
  t.is((await loadModel(path)).inputs, 2);
});

test('CLI: train --out a symlink to a FIFO made under a temp dir exits 2 naming it; the FIFO stays', async (t) => {
  const dir = await tempDir();
  await writeFile(join(dir, 'd.csv'), CSV);
  execFileSync('mkfifo', [join(dir, 'pipe')]);
  await symlink(join(dir, 'pipe'), join(dir, 'model.json'));
  const result = await runCli(['train', '--data', join(dir, 'd.csv'), '--epochs', '1', '--layers', '2', '--threads', '1', '--quiet', '--out', join(dir, 'model.json')]);
  t.is(result.code, 2, result.stderr);
  t.regex(oneLine(result.stderr) ?? '', /model\.json is not a regular file \(a named pipe\)/);
  t.true((await lstat(join(dir, 'pipe'))).isFIFO());
});

// Case 3: a column of 0 and 1e-44 (a spread float32 cannot scale by), and a near-constant regression
// target: treated as constant with a note; the saved model loads back.
test('a column whose spread is tiny (0 and 1e-44) is treated as constant with a note; the model saves and loads', async (t) => {
  const dir = await tempDir();
  const data = join(dir, 'd.csv');
  const rows = ['tiny,b,label'];
  for (let i = 0; i < 40; i++) rows.push(`${i % 2 ? '1e-44' : '0'},${(i % 7) / 7},${i % 3 === 0 ? 'x' : 'y'}`);
  await writeFile(data, rows.join('\n') + '\n');
  const out = join(dir, 'model.json');
  const result = await train({ data, out, ...QUICK });
  t.is(result.stopReason, 'completed', result.message ?? '');
  t.true(result.data.notes.some((n) => /column tiny varies too little for float32 scaling.*treated as constant/.test(n)), result.data.notes.join('; '));
  const model = await loadModel(out);
  t.true(model.predict([[0, 0.5]]).flat().every(Number.isFinite));
});

test('a regression target of near-constant values is treated as constant with a note; the model saves and loads', async (t) => {
  const dir = await tempDir();
  const data = join(dir, 'd.csv');
  const rows = ['a,target'];
  for (let i = 0; i < 40; i++) rows.push(`${i / 40},${i % 2 ? '1e-44' : '0'}`);
  await writeFile(data, rows.join('\n') + '\n');
  const out = join(dir, 'model.json');
  const result = await train({ data, out, ...QUICK, loss: 'mse' });
  t.is(result.stopReason, 'completed', result.message ?? '');
  t.true(result.data.notes.some((n) => /the target varies too little.*treated as constant/.test(n)), result.data.notes.join('; '));
  t.true((await loadModel(out)).predict([[0.5]]).flat().every(Number.isFinite));
});

test('Model.save reads the file back before the rename: a model gradpool could not load is never written, the old file stays', async (t) => {
  const dir = await tempDir();
  const path = join(dir, 'model.json');
  await writeFile(path, 'precious');
  const before = await fileState(path);
  // A target scale that is not a finite float32 cannot be read back (the reader refuses it).
  const shape = { sizes: [2, 1], activation: 'relu', loss: 'mse' } as const;
  const broken = new Model(shape, new Float32Array(parameterLayout(shape).length), null, null, { targetScaling: { offset: 0, scale: Infinity } });
  const error = await t.throwsAsync(broken.save(path));
  t.regex(error!.message, /cannot write \S*model\.json: the model would not load back, so nothing was written/);
  t.deepEqual(await fileState(path), before);
  t.deepEqual(await listing(dir), ['model.json']);
});

// The "one guard" rule, held by reading the sources: no module outside src/io/ calls a file-system
// function that creates, replaces or renames a file.
test('no source outside src/io/ writes, renames or removes files itself: every write goes through the guard', (t) => {
  const src = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');
  const offenders: string[] = [];
  const walk = (directory: string): void => {
    for (const name of readdirSync(directory)) {
      const path = join(directory, name);
      if (statSync(path).isDirectory()) {
        if (!['io', 'native', 'assembly'].includes(name)) walk(path);
        continue;
      }
      if (!name.endsWith('.ts')) continue;
      const text = readFileSync(path, 'utf8');
      for (const call of text.matchAll(/\b(writeFile|writeFileSync|appendFile|appendFileSync|createWriteStream|rename|renameSync|copyFile|copyFileSync|truncate|truncateSync)\s*\(/g)) {
        offenders.push(`src/${relative(src, path)}: ${call[1]}`);
      }
    }
  };
  walk(src);
  t.deepEqual(offenders, []);
});
