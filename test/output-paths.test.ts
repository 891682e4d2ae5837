// Output paths are checked before any work: never the same file as an input or as another output,
// never a directory or a special file, never empty; a symlink is written through to its target.
// Through the real CLI: exit 2, one line naming both paths, and every file as it was (bytes, inode).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { link, lstat, mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { fileState, listing, oneLine, type FileState, tempDir } from './helpers/files.js';
import { writeIdxDirectory } from './helpers/idx.js';

const CSV = 'a,b,label\n0.1,0.2,x\n0.3,0.4,y\n0.5,0.6,x\n0.7,0.8,y\n';
const QUICK = ['--layers', '2', '--threads', '1', '--quiet'];
const ONE = ['--epochs', '1', ...QUICK];

interface Case {
  name: string;
  /** Builds the files in `dir`; returns the arguments and the files whose state must not change. */
  setup(dir: string): Promise<{ args: string[]; keep: string[]; cwd?: string }>;
  expect: RegExp;
}

async function csv(dir: string, name = 'd.csv'): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, CSV);
  return path;
}

/** A model file to read (trained once, shared by the cases that need one). */
let modelBytes: Promise<Buffer> | undefined;
async function model(dir: string, name = 'm.json'): Promise<string> {
  modelBytes ??= (async () => {
    const scratch = await tempDir();
    const result = await runCli(['train', '--data', await csv(scratch), ...ONE, '--out', join(scratch, 'm.json')]);
    if (result.code !== 0) throw new Error(result.stderr);
    return readFile(join(scratch, 'm.json'));
  })();
  const path = join(dir, name);
  await writeFile(path, await modelBytes);
  return path;
}

const esc = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const cases: Case[] = [
  ...(['--out', '--log-json', '--plot'] as const).map(
    (flag): Case => ({
      name: `train ${flag} naming the --data file`,
      async setup(dir) {
        const data = await csv(dir);
        return { args: ['train', '--data', data, ...ONE, flag, data], keep: [data] };
      },
      expect: new RegExp(`${flag} \\S*d\\.csv is the same file as --data \\S*d\\.csv`),
    }),
  ),
  {
    name: 'train --out spelled differently (./sub/../d.csv) from --data d.csv',
    async setup(dir) {
      const data = await csv(dir);
      await mkdir(join(dir, 'sub'));
      return { args: ['train', '--data', 'd.csv', ...ONE, '--out', './sub/../d.csv'], keep: [data], cwd: dir };
    },
    expect: /--out \.\/sub\/\.\.\/d\.csv is the same file as --data d\.csv/,
  },
  {
    name: 'train --out a hard link to the --data file',
    async setup(dir) {
      const data = await csv(dir);
      await link(data, join(dir, 'other.json'));
      return { args: ['train', '--data', data, ...ONE, '--out', join(dir, 'other.json')], keep: [data] };
    },
    expect: /--out .*other\.json is the same file as --data .*d\.csv/,
  },
  {
    name: 'train --out a symlink to the --data file',
    async setup(dir) {
      const data = await csv(dir);
      await symlink(data, join(dir, 'alias.json'));
      return { args: ['train', '--data', data, ...ONE, '--out', join(dir, 'alias.json')], keep: [data, join(dir, 'alias.json')] };
    },
    expect: /--out .*alias\.json is the same file as --data/,
  },
  {
    name: 'train --out naming the --test-data file',
    async setup(dir) {
      const data = await csv(dir);
      const testData = await csv(dir, 't.csv');
      return { args: ['train', '--data', data, '--test-data', testData, ...ONE, '--out', testData], keep: [data, testData] };
    },
    expect: /--out \S*t\.csv is the same file as --test-data/,
  },
  {
    name: 'train --out naming a file of the IDX --data directory',
    async setup(dir) {
      const idx = await writeIdxDirectory(join(dir, 'mnist'), 8, 4);
      const images = join(idx, 'train-images-idx3-ubyte');
      return { args: ['train', '--data', idx, ...ONE, '--out', images], keep: [images] };
    },
    expect: /--out \S*train-images-idx3-ubyte is the same file as --data/,
  },
  {
    name: 'train --out naming the --labels file',
    async setup(dir) {
      const idx = await writeIdxDirectory(join(dir, 'mnist'), 8, 4);
      const images = join(idx, 'train-images-idx3-ubyte');
      const labels = join(idx, 'train-labels-idx1-ubyte');
      return { args: ['train', '--data', images, '--labels', labels, ...ONE, '--out', labels], keep: [images, labels] };
    },
    expect: /--out \S*labels-idx1-ubyte is the same file as --labels/,
  },
  {
    name: 'train --out naming the checkpoint being resumed',
    async setup(dir) {
      const data = await csv(dir);
      const checkpoints = join(dir, 'ck');
      const first = await runCli(['train', '--data', data, ...ONE, '--checkpoint-dir', checkpoints]);
      if (first.code !== 0) throw new Error(first.stderr);
      const file = join(checkpoints, 'checkpoint.gpck');
      return { args: ['train', '--data', data, '--epochs', '2', ...QUICK, '--resume', checkpoints, '--out', file], keep: [data, file] };
    },
    expect: /--out \S*checkpoint\.gpck is the same file as --resume/,
  },
  {
    name: 'train --log-json and --out naming one new file',
    async setup(dir) {
      return { args: ['train', '--data', 'builtin:moons', '--samples', '40', ...ONE, '--out', join(dir, 'x.json'), '--log-json', join(dir, 'x.json')], keep: [] };
    },
    expect: /--out \S*x\.json and --log-json \S*x\.json are the same file/,
  },
  {
    name: 'train --plot and --log-json naming one existing file',
    async setup(dir) {
      const old = join(dir, 'old.txt');
      await writeFile(old, 'precious');
      return { args: ['train', '--data', 'builtin:moons', '--samples', '40', ...ONE, '--log-json', old, '--plot', old], keep: [old] };
    },
    expect: /--log-json \S*old\.txt and --plot \S*old\.txt are the same file/,
  },
  {
    name: 'train --out inside --checkpoint-dir with the checkpoint name',
    async setup(dir) {
      await mkdir(join(dir, 'ck'));
      return { args: ['train', '--data', 'builtin:moons', '--samples', '40', ...ONE, '--checkpoint-dir', join(dir, 'ck'), '--out', join(dir, 'ck', 'checkpoint.gpck')], keep: [] };
    },
    expect: /--out \S*checkpoint\.gpck and --checkpoint-dir \S*checkpoint\.gpck are the same file/,
  },
  {
    name: 'train --out /dev/null (a device, not a regular file)',
    async setup() {
      return { args: ['train', '--data', 'builtin:moons', '--samples', '40', ...ONE, '--out', '/dev/null'], keep: ['/dev/null'] };
    },
    expect: /--out \/dev\/null is not a regular file \(a character device\)/,
  },
  {
    name: 'train --log-json naming a named pipe',
    async setup(dir) {
      const fifo = join(dir, 'fifo');
      if (spawnSync('mkfifo', [fifo]).status !== 0) throw new Error('mkfifo failed');
      return { args: ['train', '--data', 'builtin:moons', '--samples', '40', ...ONE, '--log-json', fifo], keep: [fifo] };
    },
    expect: /--log-json \S*fifo is not a regular file \(a named pipe\)/,
  },
  {
    name: 'train --plot naming a directory',
    async setup(dir) {
      await mkdir(join(dir, 'pics'));
      return { args: ['train', '--data', 'builtin:moons', '--samples', '40', ...ONE, '--plot', join(dir, 'pics')], keep: [] };
    },
    expect: /--plot \S*pics is a directory/,
  },
  {
    name: 'train --checkpoint-dir naming a file',
    async setup(dir) {
      const data = await csv(dir);
      return { args: ['train', '--data', data, ...ONE, '--checkpoint-dir', data], keep: [data] };
    },
    expect: /--checkpoint-dir \S*d\.csv: \S*d\.csv is not a directory/,
  },
  ...(['--out', '--log-json', '--plot', '--checkpoint-dir'] as const).map(
    (flag): Case => ({
      name: `train ${flag} ""`,
      async setup() {
        return { args: ['train', '--data', 'builtin:moons', '--samples', '40', ...ONE, flag, ''], keep: [] };
      },
      expect: new RegExp(`${flag} needs a path, got an empty one`),
    }),
  ),
  {
    name: 'predict --out naming the --data file',
    async setup(dir) {
      const data = await csv(dir);
      const m = await model(dir);
      return { args: ['predict', '--model', m, '--data', data, '--out', data], keep: [data, m] };
    },
    expect: /--out \S*d\.csv is the same file as --data/,
  },
  {
    name: 'predict --out naming the --model file',
    async setup(dir) {
      const data = await csv(dir);
      const m = await model(dir);
      return { args: ['predict', '--model', m, '--data', data, '--out', m], keep: [data, m] };
    },
    expect: /--out \S*m\.json is the same file as --model/,
  },
  {
    name: 'export --out naming the --model file',
    async setup(dir) {
      const m = await model(dir);
      return { args: ['export', '--model', m, '--format', 'json', '--out', m], keep: [m] };
    },
    expect: /--out \S*m\.json is the same file as --model/,
  },
  {
    name: 'compare-modes --out naming the --data file',
    async setup(dir) {
      const data = await csv(dir);
      return { args: ['compare-modes', '--data', data, '--epochs', '1', '--out', data], keep: [data] };
    },
    expect: /--out \S*d\.csv is the same file as --data/,
  },
  {
    name: 'evaluate --model ""',
    async setup() {
      return { args: ['evaluate', '--model', '', '--data', 'builtin:moons'], keep: [] };
    },
    expect: /--model needs a path, got an empty one/,
  },
];

for (const c of cases) {
  test(`refused: ${c.name}`, async (t) => {
    const dir = await tempDir();
    const { args, keep, cwd } = await c.setup(dir);
    const before: FileState[] = await Promise.all(keep.map(fileState));
    const names = await listing(dir);
    const result = await runCli(args, { timeoutMs: 60_000, ...(cwd ? { cwd } : {}) });
    const report = `gradpool ${args.join(' ')}\nexit ${result.code}\nstderr: ${JSON.stringify(result.stderr)}`;
    t.is(result.code, 2, report);
    const line = oneLine(result.stderr);
    t.truthy(line, `one line on stderr\n${report}`);
    t.regex(line ?? '', new RegExp(`^gradpool: .*${c.expect.source}`), report);
    t.deepEqual(await Promise.all(keep.map(fileState)), before, `the files are as they were (bytes and inode)\n${report}`);
    t.deepEqual(await listing(dir), names, `no file created or removed\n${report}`);
  });
}

test('a symlinked --out is written through: the link stays, its target gets the model', async (t) => {
  const dir = await tempDir();
  const target = join(dir, 'real.json');
  await writeFile(target, 'old model');
  const alias = join(dir, 'alias.json');
  await symlink('real.json', alias);
  const result = await runCli(['train', '--data', 'builtin:moons', '--samples', '40', ...ONE, '--out', alias]);
  t.is(result.code, 0, result.stderr);
  t.true((await lstat(alias)).isSymbolicLink(), 'still a link');
  t.is(await readlink(alias), 'real.json');
  t.is(JSON.parse(await readFile(target, 'utf8')).format, 'gradpool-model');
  t.deepEqual(await listing(dir), ['alias.json', 'real.json'], 'no temporary left beside the target');
});

test('a dangling symlink as --log-json creates its target', async (t) => {
  const dir = await tempDir();
  await mkdir(join(dir, 'logs'));
  const alias = join(dir, 'log.jsonl');
  await symlink(join('logs', 'run.jsonl'), alias);
  const result = await runCli(['train', '--data', 'builtin:moons', '--samples', '40', ...ONE, '--log-json', alias]);
  t.is(result.code, 0, result.stderr);
  t.true((await lstat(alias)).isSymbolicLink());
  const lines = (await readFile(join(dir, 'logs', 'run.jsonl'), 'utf8')).trim().split('\n');
  t.is(JSON.parse(lines.at(-1)!).event, 'done');
});

test('resuming into the checkpoint directory it resumes from is allowed', async (t) => {
  const dir = await tempDir();
  const data = await csv(dir);
  const checkpoints = join(dir, 'ck');
  const first = await runCli(['train', '--data', data, ...ONE, '--checkpoint-dir', checkpoints]);
  t.is(first.code, 0, first.stderr);
  const second = await runCli(['train', '--data', data, '--epochs', '2', ...QUICK, '--resume', checkpoints, '--checkpoint-dir', checkpoints]);
  t.is(second.code, 0, second.stderr);
});

test(`the refusals name the option as the library spells it`, async (t) => {
  const { train, InputError } = await import('../src/index.js');
  const dir = await tempDir();
  const data = await csv(dir);
  const before = await fileState(data);
  await t.throwsAsync(train({ data, epochs: 1, out: data }), { instanceOf: InputError, message: new RegExp(`^out ${esc(data)} is the same file as data ${esc(data)}`) });
  await t.throwsAsync(train({ data, epochs: 1, out: '' }), { instanceOf: InputError, message: /^out needs a path/ });
  t.deepEqual(await fileState(data), before);
});
