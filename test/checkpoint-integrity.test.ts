// A checkpoint is trusted only after its checksum and every field fit the run resuming it; the data
// is known by its content, not the spelling of its path. A refused resume names the file and the
// field, exits 2 (InputError in the library) and writes nothing.
import test from 'ava';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, train, type TrainOptions } from '../src/index.js';
import { CHECKPOINT_FILE, decodeCheckpoint, encodeCheckpoint, type StoredCheckpoint } from '../src/run/checkpoint.js';
import { runCli } from './helpers/cli.js';
import { fileState, oneLine, tempDir } from './helpers/files.js';

// Adam (two state buffers) and early stopping (best weights) so that every buffer kind is present.
const run: TrainOptions = { data: 'builtin:moons', samples: 200, layers: [8], batchSize: 32, optimizer: 'adam', lr: 0.01, valSplit: 0.25, patience: 50, seed: 5, threads: 1 };

/** A good checkpoint after 2 epochs (made once). */
let base: Promise<Buffer> | undefined;
function baseCheckpoint(): Promise<Buffer> {
  base ??= (async () => {
    const dir = await tempDir();
    await train({ ...run, epochs: 2, checkpointDir: dir });
    return readFile(join(dir, CHECKPOINT_FILE));
  })();
  return base;
}

/** The checkpoint file with its header edited as JSON, and the checksum made right again. */
function rewriteHeader(file: Buffer, edit: (header: Record<string, unknown>) => void): Buffer {
  const length = file.readUInt32LE(8);
  const header = JSON.parse(file.toString('utf8', 12, 12 + length)) as Record<string, unknown>;
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const padded = Buffer.concat([json, Buffer.alloc(Math.ceil((12 + json.length) / 8) * 8 - 12 - json.length, ' ')]);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(padded.length);
  const body = Buffer.concat([file.subarray(0, 8), size, padded, file.subarray(12 + length, file.length - 32)]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

/** Decoded, edited and encoded again: a well-formed file whose content does not fit the run. */
function edited(file: Buffer, edit: (checkpoint: StoredCheckpoint) => void): Buffer {
  const checkpoint = decodeCheckpoint(file, 'x');
  edit(checkpoint);
  return encodeCheckpoint(checkpoint);
}

interface Case {
  name: string;
  corrupt(file: Buffer): Buffer;
  expect: RegExp;
  options?: Partial<TrainOptions>;
}

const cases: Case[] = [
  {
    name: 'one flipped bit in a weight',
    corrupt: (file) => {
      const copy = Buffer.from(file);
      // The first weight starts right after the header: flip one bit of its mantissa.
      copy[12 + file.readUInt32LE(8) + 1]! ^= 0x10;
      return copy;
    },
    expect: /checksum mismatch/,
  },
  { name: 'a truncated file', corrupt: (file) => file.subarray(0, file.length - 100), expect: /checksum mismatch/ },
  { name: 'an older format without a checksum', corrupt: (file) => Buffer.concat([Buffer.from('GPCKPT01'), file.subarray(8)]), expect: /older gradpool/ },
  { name: 'a missing header key', corrupt: (file) => rewriteHeader(file, (h) => delete h.buffers), expect: /header: missing field "buffers"/ },
  { name: 'an unknown header key', corrupt: (file) => rewriteHeader(file, (h) => (h.extra = 1)), expect: /header: unexpected field "extra"/ },
  { name: 'epoch -5', corrupt: (file) => rewriteHeader(file, (h) => (h.epoch = -5)), expect: /epoch must be a whole number ≥ 0, got -5/ },
  { name: 'epoch 2.5', corrupt: (file) => rewriteHeader(file, (h) => (h.epoch = 2.5)), expect: /epoch must be a whole number/ },
  { name: 'epoch past the run', corrupt: (file) => edited(file, (c) => ((c.epoch = 9), (c.step = 9 * 5), c.history.push(...Array.from({ length: 7 }, (_, i) => ({ ...c.history[0]!, epoch: i + 3 }))))), expect: /epoch is 9, past the 4 epochs/ },
  { name: 'a step count that does not fit the epoch', corrupt: (file) => edited(file, (c) => (c.step += 1)), expect: /step is 11; 2 epochs of 5 steps make 10/ },
  { name: 'a history shorter than the epochs', corrupt: (file) => edited(file, (c) => c.history.pop()), expect: /history has 1 entries for 2 epochs/ },
  { name: 'a history entry that is not a number', corrupt: (file) => rewriteHeader(file, (h) => ((h.history as Record<string, unknown>[])[0]!.loss = 'low')), expect: /history\[0\]\.loss must be a finite number/ },
  // Issue 18 case 12: well-formed files (valid checksum) whose fields are of the wrong type or range.
  { name: 'an empty shuffleState {} (used to train on one row)', corrupt: (file) => rewriteHeader(file, (h) => (h.shuffleState = {})), expect: /shuffleState must have exactly the fields c, s0, s1, s2/ },
  { name: 'a shuffleState fraction out of range', corrupt: (file) => rewriteHeader(file, (h) => ((h.shuffleState as Record<string, number>).s1 = 7)), expect: /shuffleState s1 must be a number in \[0, 1\), got 7/ },
  { name: 'a shuffleState carry that is not whole', corrupt: (file) => rewriteHeader(file, (h) => ((h.shuffleState as Record<string, number>).c = 0.5)), expect: /shuffleState c must be a whole number/ },
  { name: 'an accuracy of 1.5', corrupt: (file) => rewriteHeader(file, (h) => ((h.history as Record<string, unknown>[])[0]!.accuracy = 1.5)), expect: /history\[0\]\.accuracy must be in \[0, 1\]/ },
  // Issue 18 case 8: a buffer longer than any run holds is refused from the header, before a copy.
  { name: 'a parameter buffer claiming 2^29 values', corrupt: (file) => rewriteHeader(file, (h) => ((h.buffers as { length: number }[])[0]!.length = 2 ** 29)), expect: /buffers\[0\] \("parameters"\) has 536,870,912 values; at most 268,435,456 \(the parameters of the largest network a run holds\)/ },
  { name: 'a negative loss', corrupt: (file) => rewriteHeader(file, (h) => ((h.history as Record<string, unknown>[])[1]!.loss = -1)), expect: /history\[1\]\.loss must be ≥ 0/ },
  { name: 'zero threads', corrupt: (file) => rewriteHeader(file, (h) => ((h.history as Record<string, unknown>[])[0]!.threads = 0)), expect: /history\[0\]\.threads must be a whole number ≥ 1/ },
  { name: 'an unknown history field', corrupt: (file) => rewriteHeader(file, (h) => ((h.history as Record<string, unknown>[])[0]!.extra = 1)), expect: /history\[0\]: unexpected field "extra"/ },
  { name: 'a negative best loss', corrupt: (file) => rewriteHeader(file, (h) => (h.bestValLoss = -0.5)), expect: /bestValLoss must be ≥ 0/ },
  { name: 'a best loss not found in its history', corrupt: (file) => edited(file, (c) => (c.bestValLoss = c.bestValLoss! / 2)), expect: /bestValLoss .* is not the best validation loss in its history/ },
  { name: 'a NaN in the optimizer state', corrupt: (file) => edited(file, (c) => (c.optimizerState[0]![2] = NaN)), expect: /optimizer0\[2\] is not finite/ },
  { name: 'a NaN in the best weights', corrupt: (file) => edited(file, (c) => (c.bestParameters![1] = Infinity)), expect: /bestParameters\[1\] is not finite/ },
  { name: 'a parameters array 2 short', corrupt: (file) => edited(file, (c) => (c.parameters = c.parameters.slice(0, -2))), expect: /parameters has \d+ values, the network has \d+/ },
  { name: 'a NaN weight', corrupt: (file) => edited(file, (c) => (c.parameters[3] = NaN)), expect: /parameters\[3\] is not finite/ },
  { name: 'an optimizer state of the wrong size', corrupt: (file) => edited(file, (c) => (c.optimizerState[1] = c.optimizerState[1]!.slice(1))), expect: /optimizer1 has \d+ values, expected \d+/ },
  { name: 'an optimizer state buffer missing', corrupt: (file) => edited(file, (c) => c.optimizerState.pop()), expect: /optimizer state has 1 buffers, the optimizer keeps 2/ },
  { name: 'best weights without a best loss', corrupt: (file) => edited(file, (c) => (c.bestValLoss = null)), expect: /bestParameters and bestValLoss must be both set or both null/ },
  { name: 'a sample index out of range', corrupt: (file) => edited(file, (c) => (c.trainOrder[0] = 100_000)), expect: /trainOrder\[0\] is 100000, outside rows 0\.\.199/ },
  { name: 'a negative sample index', corrupt: (file) => edited(file, (c) => (c.trainOrder[4] = -1)), expect: /trainOrder\[4\] is -1, outside/ },
  { name: 'a duplicated sample index', corrupt: (file) => edited(file, (c) => (c.trainOrder[7] = c.trainOrder[2]!)), expect: /trainOrder\[7\] repeats row \d+/ },
  { name: 'a sample order one row short', corrupt: (file) => edited(file, (c) => (c.trainOrder = c.trainOrder.slice(1))), expect: /trainOrder has 149 rows, this run trains on 150/ },
  { name: 'different options (lr)', corrupt: (file) => file, options: { lr: 0.5 }, expect: /different data, options or kernels: lr is 0\.5 in this run, 0\.01 in the checkpoint/ },
  { name: 'different data (more rows)', corrupt: (file) => file, options: { samples: 204 }, expect: /different data, options or kernels/ },
];

for (const c of cases) {
  test(`resume refuses a checkpoint with ${c.name}`, async (t) => {
    const dir = await tempDir();
    const checkpoints = join(dir, 'ck');
    await mkdir(checkpoints);
    const path = join(checkpoints, CHECKPOINT_FILE);
    await writeFile(path, c.corrupt(await baseCheckpoint()));
    const out = join(dir, 'model.json');
    await writeFile(out, 'precious');
    const [before, checkpointBefore] = [await fileState(out), await fileState(path)];
    const error = await t.throwsAsync(train({ ...run, epochs: 4, ...c.options, resume: checkpoints, checkpointDir: checkpoints, out }), { instanceOf: InputError });
    t.true(error!.message.startsWith(`resume ${path}: `), error!.message);
    t.regex(error!.message, c.expect);
    t.deepEqual(await fileState(out), before, 'the old model stays');
    t.deepEqual(await fileState(path), checkpointBefore, 'the checkpoint stays');
  });
}

test('the good checkpoint resumes, to the same weights as an uninterrupted run', async (t) => {
  const dir = await tempDir();
  await writeFile(join(dir, CHECKPOINT_FILE), await baseCheckpoint());
  const resumed = await train({ ...run, epochs: 4, resume: dir });
  const straight = await train({ ...run, epochs: 4 });
  t.deepEqual(resumed.model.parameters, straight.model.parameters);
  t.is(resumed.steps, 20);
});

// ---- through the CLI, with a CSV file ----

function csvText(shift: number): string {
  const lines = ['a,b,label'];
  for (let r = 0; r < 120; r++) lines.push(`${Math.sin(r) + shift},${Math.cos(r * 1.3)},${r % 3 === 0 ? 'x' : 'y'}`);
  return lines.join('\n') + '\n';
}

const CLI_RUN = ['--layers', '4', '--batch-size', '16', '--threads', '1', '--quiet'];

async function cliSetup(): Promise<{ dir: string; data: string; checkpoints: string; out: string }> {
  const dir = await tempDir();
  const data = join(dir, 'd.csv');
  await writeFile(data, csvText(0));
  const checkpoints = join(dir, 'ck');
  const first = await runCli(['train', '--data', data, ...CLI_RUN, '--epochs', '1', '--checkpoint-dir', checkpoints]);
  if (first.code !== 0) throw new Error(first.stderr);
  const out = join(dir, 'model.json');
  await writeFile(out, 'precious');
  return { dir, data, checkpoints, out };
}

test('CLI: a checkpoint with one flipped bit is refused with exit 2, naming the file', async (t) => {
  const { data, checkpoints, out } = await cliSetup();
  const path = join(checkpoints, CHECKPOINT_FILE);
  const bytes = await readFile(path);
  bytes[bytes.length - 40]! ^= 1;
  await writeFile(path, bytes);
  const before = await fileState(out);
  const result = await runCli(['train', '--data', data, ...CLI_RUN, '--epochs', '3', '--resume', checkpoints, '--out', out]);
  t.is(result.code, 2, result.stderr);
  t.regex(oneLine(result.stderr) ?? '', new RegExp(`^gradpool: --resume ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: checksum mismatch`));
  t.deepEqual(await fileState(out), before);
});

test('CLI: a checkpoint missing a key is refused with exit 2, naming the field', async (t) => {
  const { data, checkpoints, out } = await cliSetup();
  const path = join(checkpoints, CHECKPOINT_FILE);
  await writeFile(path, rewriteHeader(await readFile(path), (h) => delete h.buffers));
  const result = await runCli(['train', '--data', data, ...CLI_RUN, '--epochs', '3', '--resume', checkpoints, '--out', out]);
  t.is(result.code, 2, result.stderr);
  t.regex(oneLine(result.stderr) ?? '', /^gradpool: --resume \S+checkpoint\.gpck: header: missing field "buffers"$/);
  t.is(await readFile(out, 'utf8'), 'precious');
});

test('CLI: data changed at the same path is refused; the same file spelled ./d.csv resumes bit-exact', async (t) => {
  const { dir, data, checkpoints, out } = await cliSetup();
  const checkpointCopy = join(dir, 'ck-copy');
  await mkdir(checkpointCopy);
  await copyFile(join(checkpoints, CHECKPOINT_FILE), join(checkpointCopy, CHECKPOINT_FILE));

  await writeFile(data, csvText(0.001));
  const changed = await runCli(['train', '--data', data, ...CLI_RUN, '--epochs', '3', '--resume', checkpoints, '--out', out]);
  t.is(changed.code, 2, changed.stderr);
  t.regex(oneLine(changed.stderr) ?? '', /^gradpool: --resume \S+: fingerprint: .*the training data differs in content/);
  t.is(await readFile(out, 'utf8'), 'precious');

  await writeFile(data, csvText(0));
  const respelled = await runCli(['train', '--data', './d.csv', ...CLI_RUN, '--epochs', '3', '--resume', 'ck-copy', '--out', 'resumed.json'], { cwd: dir });
  t.is(respelled.code, 0, respelled.stderr);
  const straight = await runCli(['train', '--data', data, ...CLI_RUN, '--epochs', '3', '--out', join(dir, 'straight.json')]);
  t.is(straight.code, 0, straight.stderr);
  t.is(await readFile(join(dir, 'resumed.json'), 'utf8'), await readFile(join(dir, 'straight.json'), 'utf8'));
});
