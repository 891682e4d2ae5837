// A model file is held to the size limits of training from its sizes alone, before anything is
// allocated for it (issue 18, cases 7 and 8): a few header bytes claiming layers 2^20 wide, or a
// schema that one-hots a million levels, get exit 2 and one line naming the file and the limit,
// from predict, evaluate and train --init alike. Files are crafted small: only the claim is large.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { oneLine, tempDir } from './helpers/files.js';

/** A safetensors file of a header alone: `metadata` as the __metadata__ of a gradpool model, no tensors. */
function safetensorsHeader(metadata: Record<string, string>): Buffer {
  const json = Buffer.from(JSON.stringify({ __metadata__: metadata }));
  const length = Math.ceil(json.length / 8) * 8;
  const file = Buffer.alloc(8 + length, 0x20);
  file.writeBigUInt64LE(BigInt(length), 0);
  json.copy(file, 8);
  return file;
}

const regression = (sizes: number[], extra: Record<string, string> = {}): Record<string, string> => ({
  format: 'gradpool-model',
  version: '1',
  sizes: JSON.stringify(sizes),
  activation: 'relu',
  loss: 'mse',
  labels: 'null',
  normalization: 'null',
  ...extra,
});

/**
 * 2^20 inputs, as in the issue, and hidden layers within --layers' bound: 143 M parameters (within
 * the limit), but 256 rows of it need well over 1 GiB of working memory.
 */
const WIDE = [2 ** 20, 128, 65_536, 1];
/** The one line for WIDE in a file at `path` (the working memory depends on the layout of the buffers: not fixed here). */
const wideRefusal = (path: string): RegExp => new RegExp(`^gradpool: ${escaped(path)}: layer sizes 1048576,128,65536,1 need \\d+\\.\\d\\d GiB of working memory for a batch of 256 rows; at most 1 GiB \\(the layers are too wide\\)$`);

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function csv(dir: string, text: string): Promise<string> {
  const path = join(dir, 'rows.csv');
  await writeFile(path, text);
  return path;
}

/** The same model file through each command that loads one. */
async function everyLoader(dir: string, model: string, data: string): Promise<{ command: string; code: number | null; line: string | undefined }[]> {
  const runs = [
    ['predict', '--model', model, '--data', data, '--out', join(dir, 'predictions.csv')],
    ['evaluate', '--model', model, '--data', data],
    ['train', '--init', model, '--data', data, '--epochs', '1', '--out', join(dir, 'trained.json')],
  ];
  const results = [];
  for (const args of runs) {
    const result = await runCli(args);
    results.push({ command: args[0]!, code: result.code, line: oneLine(result.stderr) });
  }
  return results;
}

test('a safetensors header claiming 2^20-wide layers is refused from its sizes by predict, evaluate and train --init: exit 2, naming the file and the limit', async (t) => {
  const dir = await tempDir();
  const model = join(dir, 'wide.safetensors');
  await writeFile(model, safetensorsHeader(regression(WIDE)));
  const data = await csv(dir, 'a,y\n1,2\n');
  for (const { command, code, line } of await everyLoader(dir, model, data)) {
    t.is(code, 2, command);
    t.regex(line ?? '', wideRefusal(model), command);
  }
});

test('a safetensors header claiming more hidden units, outputs or parameters than training allows is refused, naming that limit', async (t) => {
  const dir = await tempDir();
  const data = await csv(dir, 'a,y\n1,2\n');
  const cases: [number[], RegExp][] = [
    [[2, 70_000, 1], /hidden layer 1 has 70,000 units; at most 65,536 \(the limit of --layers\)$/],
    [[2, 8, 20_000], /20,000 outputs; at most 10,000 \(the most classes a label column may have\)$/],
    [[65_536, 8_192, 1], /make 536,887,297 parameters; at most 268,435,456 \(1 GiB of float32\) fit a run$/],
  ];
  for (const [sizes, expected] of cases) {
    const model = join(dir, `m${sizes.join('-')}.safetensors`);
    await writeFile(model, safetensorsHeader(regression(sizes)));
    const result = await runCli(['predict', '--model', model, '--data', data, '--out', join(dir, 'p.csv')]);
    t.is(result.code, 2, result.stderr);
    t.regex(oneLine(result.stderr) ?? result.stderr, new RegExp(`^gradpool: ${escaped(model)}: layer sizes ${sizes.join(',')}`));
    t.regex(result.stderr.trim(), expected);
  }
});

test('a JSON model whose layers claim 2^20 inputs is refused from its sizes, before its weights are looked at', async (t) => {
  const dir = await tempDir();
  const model = join(dir, 'wide.json');
  const layers = WIDE.slice(1).map((outputs, l) => ({ inputs: WIDE[l], outputs, activation: l === WIDE.length - 2 ? 'linear' : 'relu', weight: [], bias: [] }));
  await writeFile(model, JSON.stringify({ format: 'gradpool-model', version: 1, loss: 'mse', labels: null, normalization: null, layers }));
  const result = await runCli(['predict', '--model', model, '--data', await csv(dir, 'a,y\n1,2\n'), '--out', join(dir, 'p.csv')]);
  t.is(result.code, 2, result.stderr);
  t.regex(oneLine(result.stderr) ?? result.stderr, wideRefusal(model));
});

/** A JSON regression model over one categorical column of `levels` levels (one weight each) and a hidden unit. */
function oneHotModel(levels: number): string {
  const names = Array.from({ length: levels }, (_, i) => `l${i}`);
  const schema = { columns: [{ kind: 'categorical', name: 'city', levels: names, missingLevel: false }, { kind: 'label', name: 'y' }], missing: 'error', naValues: [''] };
  const layers = [
    { inputs: levels, outputs: 1, activation: 'relu', weight: names.map(() => 0.5), bias: [0] },
    { inputs: 1, outputs: 1, activation: 'linear', weight: [1], bias: [0] },
  ];
  return JSON.stringify({ format: 'gradpool-model', version: 1, loss: 'mse', labels: null, normalization: null, schema, layers });
}

test('predict refuses a model whose schema one-hots more levels than training would (20,000), from the file, before a row is expanded', async (t) => {
  const dir = await tempDir();
  const data = await csv(dir, 'city\nl7\nl19999\n');
  // Control: at the limit (10,000 levels, as training may one-hot) the same model predicts.
  const fits = join(dir, 'fits.json');
  await writeFile(fits, oneHotModel(10_000));
  const control = await runCli(['predict', '--model', fits, '--data', await csv(dir, 'city\nl7\nl9999\n'), '--out', join(dir, 'fits.csv')]);
  t.is(control.code, 0, control.stderr);
  const model = join(dir, 'levels.json');
  await writeFile(model, oneHotModel(20_000));
  const result = await runCli(['predict', '--model', model, '--data', data, '--out', join(dir, 'p.csv')]);
  t.is(result.code, 2, result.stderr);
  t.is(oneLine(result.stderr), `gradpool: ${model}: schema.columns[0] one-hots 20,000 levels; at most 10,000 (the most a categorical column may have in training)`);
});

test('a safetensors model with a 1M-level schema is refused from its sizes before the schema is read', async (t) => {
  const dir = await tempDir();
  const levels = 2 ** 20;
  const schema = { columns: [{ kind: 'categorical', name: 'city', levels: Array.from({ length: levels }, (_, i) => `l${i}`), missingLevel: false }, { kind: 'label', name: 'y' }], missing: 'error', naValues: [''] };
  const model = join(dir, 'levels.safetensors');
  await writeFile(model, safetensorsHeader(regression(WIDE, { schema: JSON.stringify(schema) })));
  const result = await runCli(['predict', '--model', model, '--data', await csv(dir, 'city\nl7\n'), '--out', join(dir, 'p.csv')]);
  t.is(result.code, 2, result.stderr);
  t.regex(oneLine(result.stderr) ?? result.stderr, wideRefusal(model));
});

test('train refuses, before allocating its arena, a network past the limits a model file is loaded under', async (t) => {
  const dir = await tempDir();
  const out = join(dir, 'model.json');
  const result = await runCli(['train', '--data', 'builtin:blobs', '--samples', '8', '--classes', '2', '--features', '1200000', '--layers', '4', '--epochs', '1', '--out', out]);
  t.is(result.code, 2, result.stderr);
  t.regex(oneLine(result.stderr) ?? result.stderr, /^gradpool: builtin:blobs with --layers 4: layer sizes 1200000,4,1 need \d\.\d\d GiB of working memory for a batch of 256 rows; at most 1 GiB/);
});
