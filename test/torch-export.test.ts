// export --format torch and import, without torch: the directory and its files, written as a whole
// or not at all; the scripts compile; a model comes back through import unchanged. (Running them
// under torchrun is test/torch-ddp.test.ts.)
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportTorch, InputError, loadModel, Model } from '../src/index.js';
import { checkTorchExportable } from '../src/torch/export.js';
import { listing } from './helpers/files.js';
import { runCli, tempDir } from './helpers/cli.js';
import { titanicTable, writeTable } from './helpers/tabular.js';

async function trainedModel(dir: string): Promise<{ model: string; data: string }> {
  const data = await writeTable(dir, 'titanic.csv', titanicTable(300, 2));
  const model = join(dir, 'titanic.json');
  const trained = await runCli(['train', '--data', data, '--missing', 'impute', '--layers', '8', '--epochs', '1', '--quiet', '--out', model]);
  if (trained.code !== 0) throw new Error(trained.stderr);
  return { model, data };
}

test('export --format torch writes model.py, train_ddp.py with the run settings, the weights and a README with torchrun commands', async (t) => {
  const dir = await tempDir();
  const { model, data } = await trainedModel(dir);
  const out = join(dir, 'run');
  const result = await runCli(['export', '--format', 'torch', '--init', model, '--data', data, '--optimizer', 'adam', '--lr', '0.003', '--epochs', '7', '--batch-size', '32', '--val-split', '0.1', '--patience', '2', '--out', out]);
  t.is(result.code, 0, result.stderr);
  t.deepEqual(await listing(out), ['README.md', 'gradpool-export.json', 'model.py', 'model.safetensors', 'train_ddp.py']);
  const script = await readFile(join(out, 'train_ddp.py'), 'utf8');
  for (const entry of ['"optimizer": "adam"', '"lr": 0.003', '"epochs": 7', '"batchSize": 32', '"valSplit": 0.1', '"patience": 2', `"data": ${JSON.stringify(data)}`]) t.true(script.includes(entry), entry);
  t.false(script.includes('@CONFIG@'));
  const readme = await readFile(join(out, 'README.md'), 'utf8');
  t.regex(readme, /torchrun --standalone --nproc_per_node=2 train_ddp\.py/);
  t.regex(readme, /torchrun --nnodes=2 .*--rdzv_endpoint=HOST:29500/);
  // The weights are the model's, with its schema: gradpool reads them back as the same model.
  const [original, weights] = await Promise.all([loadModel(model), loadModel(join(out, 'model.safetensors'))]);
  t.deepEqual(weights.parameters, original.parameters);
  t.deepEqual(weights.schema, original.schema);
  t.deepEqual(weights.normalization, original.normalization);
  // Nothing of the writing is left beside the directory.
  t.deepEqual((await listing(dir)).filter((name) => name.startsWith('.')), []);
});

test('the exported Python files compile (python3 -m py_compile)', async (t) => {
  const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['--version']).status === 0);
  if (!python) {
    t.log('skipped: no python3 on this machine');
    t.pass();
    return;
  }
  const dir = await tempDir();
  const { model } = await trainedModel(dir);
  const out = join(dir, 'run');
  t.is((await runCli(['export', '--format', 'torch', '--model', model, '--out', out])).code, 0);
  const compiled = spawnSync(python, ['-c', 'import py_compile, sys; [py_compile.compile(f, doraise=True) for f in sys.argv[1:]]', join(out, 'model.py'), join(out, 'train_ddp.py')], { encoding: 'utf8' });
  t.is(compiled.status, 0, compiled.stderr);
});

test('export --format torch refuses a directory with other files (exit 2, nothing touched), replaces its own unchanged export, and refuses an edited one', async (t) => {
  const dir = await tempDir();
  const { model } = await trainedModel(dir);
  const busy = join(dir, 'busy');
  await mkdir(busy);
  await writeFile(join(busy, 'notes.txt'), 'mine');
  const refused = await runCli(['export', '--format', 'torch', '--model', model, '--out', busy]);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /--out .*busy is a directory that is not empty \(notes\.txt\)/);
  t.deepEqual(await readdir(busy), ['notes.txt']);

  const empty = join(dir, 'empty');
  await mkdir(empty);
  t.is((await runCli(['export', '--format', 'torch', '--model', model, '--out', empty])).code, 0);
  // Again, with other settings: the earlier export is replaced as a whole.
  const again = await runCli(['export', '--format', 'torch', '--model', model, '--epochs', '3', '--out', empty]);
  t.is(again.code, 0, again.stderr);
  t.true((await readFile(join(empty, 'train_ddp.py'), 'utf8')).includes('"epochs": 3'));
  // Edited by hand: the edit would be lost, so it is refused.
  await writeFile(join(empty, 'train_ddp.py'), '# my changes\n', { flag: 'a' });
  const edited = await runCli(['export', '--format', 'torch', '--model', model, '--out', empty]);
  t.is(edited.code, 2);
  t.true((await readFile(join(empty, 'train_ddp.py'), 'utf8')).endsWith('# my changes\n'));
  t.deepEqual((await listing(dir)).filter((name) => name.startsWith('.')), []);
});

test('export: torch needs a model, run flags need --format torch, and a model the script cannot run is refused naming what', async (t) => {
  const dir = await tempDir();
  const { model } = await trainedModel(dir);
  const noModel = await runCli(['export', '--format', 'torch', '--out', join(dir, 'x')]);
  t.is(noModel.code, 2);
  t.regex(noModel.stderr, /--format torch needs the model to start from: --model M/);
  const both = await runCli(['export', '--format', 'torch', '--model', model, '--init', model, '--out', join(dir, 'x')]);
  t.is(both.code, 2);
  const runFlag = await runCli(['export', '--model', model, '--lr', '0.1', '--out', join(dir, 'm.safetensors')]);
  t.is(runFlag.code, 2);
  t.regex(runFlag.stderr, /--lr describes a training run: it belongs to --format torch/);
  const notDirectory = await runCli(['export', '--format', 'torch', '--model', model, '--out', model]);
  t.is(notDirectory.code, 2);
  t.regex(notDirectory.stderr, /exists and is not a directory/);

  const loaded = await loadModel(model);
  const settings = { header: 'auto', mode: 'minibatch', batchSize: 64, epochs: 1, lr: 0.1, lrSchedule: 'constant', optimizer: 'sgd', momentum: 0.9, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, seed: 1, valSplit: 0 } as const;
  t.notThrows(() => checkTorchExportable(loaded, settings, 'm.json'));
  const other = new Model({ ...loaded.shape, activation: 'swish' as never }, loaded.parameters, loaded.labels, loaded.normalization, { schema: loaded.schema });
  t.throws(() => checkTorchExportable(other, settings, 'm.json'), { message: /m\.json uses the swish activation, which the generated PyTorch script does not implement/ });
  const newer = new Model(loaded.shape, loaded.parameters, loaded.labels, loaded.normalization, { schema: { ...loaded.schema!, columns: loaded.schema!.columns.map((c) => (c.kind === 'categorical' ? { ...c, otherLevel: true } : c)) } as never });
  t.throws(() => checkTorchExportable(newer, settings, 'm.json'), { message: /reads column "sex" with "otherLevel"/ });
  t.throws(() => checkTorchExportable(loaded, { ...settings, optimizer: 'lion' }, 'm.json'), { message: /optimizer lion is not implemented/ });
});

test('import brings a safetensors model back as JSON: same weights, schema and predictions; a corrupt file is exit 2', async (t) => {
  const dir = await tempDir();
  const { model, data } = await trainedModel(dir);
  const tensors = join(dir, 'trained.safetensors');
  t.is((await runCli(['export', '--model', model, '--out', tensors])).code, 0);
  const back = join(dir, 'back.json');
  const imported = await runCli(['import', tensors, '--out', back]);
  t.is(imported.code, 0, imported.stderr);
  t.regex(imported.stdout, /imported .*trained\.safetensors: \d+-8-1 relu, 2 classes, 5 columns → .*back\.json/);
  const [original, again] = await Promise.all([loadModel(model), loadModel(back)]);
  t.deepEqual(again.parameters, original.parameters);
  t.deepEqual(again.schema, original.schema);
  const predictions = await Promise.all(
    [model, back, tensors].map(async (m, i) => {
      const out = join(dir, `p${i}.csv`);
      t.is((await runCli(['predict', '--model', m, '--data', data, '--out', out])).code, 0);
      return readFile(out, 'utf8');
    }),
  );
  t.is(predictions[1], predictions[0]);
  t.is(predictions[2], predictions[0]);

  const corrupt = join(dir, 'corrupt.safetensors');
  const bytes = await readFile(tensors);
  await writeFile(corrupt, bytes.subarray(0, bytes.length - 4));
  const refused = await runCli(['import', corrupt, '--out', join(dir, 'c.json')]);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /corrupt\.safetensors: /);
  const same = await runCli(['import', tensors, '--out', tensors]);
  t.is(same.code, 2);
  const help = await runCli(['import', '--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /--out +model file to write/);
});

test('the library: exportTorch({ init: a Model, out, …train options }) writes the same directory; without init it is an InputError', async (t) => {
  const dir = await tempDir();
  const { model } = await trainedModel(dir);
  const loaded = await loadModel(model);
  const { out, files } = await exportTorch({ init: loaded, out: join(dir, 'lib'), epochs: 4, optimizer: 'momentum' });
  t.is(out, join(dir, 'lib'));
  t.deepEqual([...files].sort(), await listing(out));
  t.true((await readFile(join(out, 'train_ddp.py'), 'utf8')).includes('"optimizer": "momentum"'));
  t.deepEqual((await loadModel(join(out, 'model.safetensors'))).parameters, loaded.parameters);
  await t.throwsAsync(() => exportTorch({ out: join(dir, 'none') }), { instanceOf: InputError, message: /format torch needs the model to start from/ });
});

test('export --format torch passes the newer schema fields (formats, date order and parts, "other" levels, several targets) and --class-weight into the run; an unknown field is still refused', async (t) => {
  const dir = await tempDir();
  const rows = Array.from({ length: 240 }, (_, r) => [`"$${(1000 + r * 37).toLocaleString('en-US')}.50"`, `${(r % 40) / 2}%`, `${1 + (r % 28)}/${1 + (r % 12)}/2024 ${r % 24}:15`, r % 5 === 0 ? `rare-${r}` : `city-${r % 20}`, (r * 0.37) % 11, (r * 0.11) % 3].join(','));
  const data = join(dir, 'sheet.csv');
  await writeFile(data, ['income,rate,joined,city,y1,y2', ...rows].join('\n') + '\n');
  const model = join(dir, 'sheet.json');
  const trained = await runCli(['train', '--data', data, '--label-column', 'y1,y2', '--layers', '4', '--epochs', '1', '--quiet', '--out', model]);
  t.is(trained.code, 0, trained.stderr);
  const loaded = await loadModel(model);
  const kinds = loaded.schema!.columns.map((c) => Object.keys(c).filter((k) => k !== 'name').join('+'));
  t.deepEqual(kinds, ['kind+format', 'kind+format', 'kind+order+parts', 'kind+levels+missingLevel+other', 'kind', 'kind']);
  const out = join(dir, 'run');
  const exported = await runCli(['export', '--format', 'torch', '--init', model, '--data', data, '--label-column', 'y1,y2', '--out', out]);
  t.is(exported.code, 0, exported.stderr);
  t.true((await readFile(join(out, 'train_ddp.py'), 'utf8')).includes('"labelColumn": "y1,y2"'));

  const { model: classes } = await trainedModel(dir);
  const weighted = await runCli(['export', '--format', 'torch', '--model', classes, '--class-weight', 'balanced', '--out', join(dir, 'weighted')]);
  t.is(weighted.code, 0, weighted.stderr);
  t.true((await readFile(join(dir, 'weighted', 'train_ddp.py'), 'utf8')).includes('"classWeight": "balanced"'));
  const notTorch = await runCli(['export', '--model', classes, '--class-weight', 'balanced', '--out', join(dir, 'm.safetensors')]);
  t.is(notTorch.code, 2);
  t.regex(notTorch.stderr, /--class-weight describes a training run: it belongs to --format torch/);

  const settings = { header: 'auto', mode: 'minibatch', batchSize: 64, epochs: 1, lr: 0.1, lrSchedule: 'constant', optimizer: 'sgd', momentum: 0.9, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, seed: 1, valSplit: 0 } as const;
  const newer = new Model(loaded.shape, loaded.parameters, loaded.labels, loaded.normalization, { schema: { ...loaded.schema!, columns: loaded.schema!.columns.map((c) => (c.kind === 'date' ? { ...c, era: 'ce' } : c)) } as never, targetScaling: loaded.targetScaling });
  t.throws(() => checkTorchExportable(newer, settings, 'm.json'), { message: /m\.json reads column "joined" with "era", which the generated PyTorch script does not implement/ });
});
