// When a write fails: a log or plot that cannot be written is reported once and training goes on to
// its model; a model that cannot be written names its file and leaves the old one; temporaries of a
// killed writer are cleaned up; JSON models too large for Node are refused, saving and loading.
// Full disks are played by a file-size limit (ulimit -f → EFBIG), which needs no privileges.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFile, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, Model } from '../src/index.js';
import { parameterLayout, type NetworkShape } from '../src/model/layout.js';
import { runCli } from './helpers/cli.js';
import { fileState, listing, oneLine, runCliWithFileLimit, tempDir } from './helpers/files.js';

const SMALL = ['--data', 'builtin:moons', '--samples', '100', '--layers', '2', '--threads', '1', '--quiet'];

test('a log that hits the size limit is reported once; training goes on, saves and exits 0; the log keeps whole lines', async (t) => {
  const dir = await tempDir();
  const log = join(dir, 'log.jsonl');
  const out = join(dir, 'model.json');
  await writeFile(log, '{"old":true}\n');
  const result = await runCliWithFileLimit(16, ['train', ...SMALL, '--epochs', '200', '--log-json', log, '--out', out]);
  t.is(result.code, 0, result.stderr);
  t.regex(oneLine(result.stderr) ?? '', /^gradpool: warning: --log-json cannot write \S*log\.jsonl: .*\(EFBIG\); training goes on without the log$/);
  const text = await readFile(log, 'utf8');
  t.true(text.endsWith('\n'), 'no half line at the end');
  const lines = text.trim().split('\n').map((line) => JSON.parse(line) as { epoch: number });
  t.true(lines.length > 10 && lines.length < 200, `${lines.length} lines`);
  t.deepEqual(lines.map((line) => line.epoch), lines.map((_, i) => i + 1), 'the new run replaced the old log, epochs in order');
  t.is(JSON.parse(await readFile(out, 'utf8')).format, 'gradpool-model', 'the model was saved');
  t.deepEqual(await listing(dir), ['log.jsonl', 'model.json'], 'no temporary left');
});

test('a plot that cannot be written is reported once; the model is saved and the exit is 0', async (t) => {
  const dir = await tempDir();
  const plot = join(dir, 'curves.svg');
  const out = join(dir, 'model.json');
  await writeFile(plot, 'old plot');
  const before = await fileState(plot);
  const result = await runCliWithFileLimit(8, ['train', ...SMALL, '--epochs', '5', '--plot', plot, '--out', out]);
  t.is(result.code, 0, result.stderr);
  t.regex(oneLine(result.stderr) ?? '', /^gradpool: warning: --plot cannot write \S*curves\.svg: .*\(EFBIG\)$/);
  t.deepEqual(await fileState(plot), before, 'the old plot stays whole');
  t.is(JSON.parse(await readFile(out, 'utf8')).format, 'gradpool-model');
  t.deepEqual(await listing(dir), ['curves.svg', 'model.json']);
});

test('a model that cannot be written: exit 1 naming the file and the reason; the old model stays', async (t) => {
  const dir = await tempDir();
  const out = join(dir, 'model.json');
  await writeFile(out, 'precious');
  const before = await fileState(out);
  const result = await runCliWithFileLimit(16, ['train', '--data', 'builtin:moons', '--samples', '100', '--layers', '64,64', '--threads', '1', '--quiet', '--epochs', '1', '--out', out]);
  t.is(result.code, 1, result.stderr);
  t.is(oneLine(result.stderr), `gradpool: error: cannot write ${out}: the file would exceed the size limit (EFBIG)`);
  t.deepEqual(await fileState(out), before);
  t.deepEqual(await listing(dir), ['model.json'], 'the temporary file was removed');
});

test('a checkpoint that cannot be written (EFBIG) stops the run with exit 1; the last good weights are saved to --out and the last checkpoint stays', async (t) => {
  const dir = await tempDir();
  const checkpoints = join(dir, 'checkpoints');
  const out = join(dir, 'model.json');
  await writeFile(out, 'precious');
  // The checkpoint's header grows with its history: past 8 KiB after some epochs, while the model stays under 1 KiB.
  const work = [...SMALL, '--optimizer', 'adam'];
  const result = await runCliWithFileLimit(8, ['train', ...work, '--epochs', '500', '--checkpoint-dir', checkpoints, '--out', out]);
  t.is(result.code, 1, result.stderr);
  const line = oneLine(result.stderr) ?? '';
  const saved = new RegExp(`^gradpool: error: cannot write ${join(checkpoints, 'checkpoint.gpck')}: the file would exceed the size limit \\(EFBIG\\); saved the weights from the end of epoch (\\d+) to ${out}$`).exec(line);
  t.truthy(saved, line);
  const epochs = Number(saved![1]);
  t.true(epochs > 1 && epochs < 500, `failed after epoch ${epochs}`);
  // The weights saved are exactly those of an uninterrupted run of that many epochs.
  const straight = join(dir, 'straight.json');
  const uninterrupted = await runCli(['train', ...work, '--epochs', String(epochs), '--out', straight]);
  t.is(uninterrupted.code, 0, uninterrupted.stderr);
  t.is(await readFile(out, 'utf8'), await readFile(straight, 'utf8'));
  t.deepEqual(await listing(checkpoints), ['checkpoint.gpck'], 'the previous checkpoint stays, no temporary left');
  const resumed = await runCli(['train', ...work, '--epochs', String(epochs), '--resume', checkpoints, '--out', join(dir, 'resumed.json')]);
  t.is(resumed.code, 0, `the checkpoint of epoch ${epochs - 1} is whole and resumes: ${resumed.stderr}`);
  t.is(await readFile(join(dir, 'resumed.json'), 'utf8'), await readFile(straight, 'utf8'), 'and resuming it repeats the saved epoch bit for bit');
});

test('temporary files of a killed writer are removed the next time the same file is written', async (t) => {
  const dir = await tempDir();
  const deadPid = spawnSync('true').pid!;
  const hourAgo = new Date(Date.now() - 3600_000);
  const names = {
    dead: `.model.json.gradpool-tmp-${deadPid}-0123abcd`,
    live: `.model.json.gradpool-tmp-${process.pid}-0123abcd`,
    otherFile: `.other.json.gradpool-tmp-${deadPid}-0123abcd`,
    notOurs: `.model.json.tmp-${deadPid}`,
  };
  for (const name of Object.values(names)) {
    await writeFile(join(dir, name), 'x'.repeat(1000));
    await utimes(join(dir, name), hourAgo, hourAgo);
  }
  const result = await runCli(['train', ...SMALL, '--epochs', '1', '--out', join(dir, 'model.json')]);
  t.is(result.code, 0, result.stderr);
  t.deepEqual(await listing(dir), [names.live, names.notOurs, names.otherFile, 'model.json'].sort(), "the dead writer's temporary of model.json is gone; a live writer's, another file's and a foreign one stay");
});

test('train refuses, before training, a .json --out that may be too large for Node; .safetensors is suggested', async (t) => {
  const dir = await tempDir();
  const out = join(dir, 'big.json');
  const result = await runCli(['train', '--data', 'builtin:moons', '--samples', '40', '--layers', '8192,8192', '--epochs', '1', '--out', out]);
  t.is(result.code, 2, result.stderr);
  t.regex(oneLine(result.stderr) ?? '', /^gradpool: --out \S*big\.json: a JSON model of 67,\d{3},\d{3} parameters can reach \d+ MiB of text, beyond the 512 MiB Node can write and read back; use a \.safetensors path$/);
  t.deepEqual(await listing(dir), []);
});

test('Model.save refuses a JSON model longer than Node can hold, before building the text', async (t) => {
  const dir = await tempDir();
  const shape: NetworkShape = { sizes: [2, 4096, 5500, 1], activation: 'relu', loss: 'mse' };
  // Weights that print long (25 characters each): 22.5 M of them exceed the limit.
  const parameters = new Float32Array(parameterLayout(shape).length).fill(Math.fround(-1.2345679e-6));
  const path = join(dir, 'huge.json');
  await t.throwsAsync(new Model(shape, parameters, null).save(path), { instanceOf: InputError, message: /huge\.json: this model's JSON text would be about \d+ MiB, more than the 512 MiB .*save it as \.safetensors/ });
  t.deepEqual(await listing(dir), []);
});

test('a JSON model file larger than Node can parse is refused with exit 2, naming it', async (t) => {
  const dir = await tempDir();
  const model = join(dir, 'huge.json');
  await writeFile(model, '{"format":"gradpool-model"');
  await truncate(model, 600 * 2 ** 20); // sparse: no disk used
  const result = await runCli(['evaluate', '--model', model, '--data', 'builtin:moons']);
  t.is(result.code, 2, result.stderr);
  t.is(oneLine(result.stderr), `gradpool: ${model}: a JSON model of 600 MiB is beyond the 512 MiB of text Node can parse; models this large are saved as .safetensors`);
});
