// Starting from a saved model (--init): its weights, architecture, labels and preprocessing carry on.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel, train } from '../src/index.js';
import { tempDir } from './helpers/files.js';
import { runCli } from './helpers/cli.js';

const moons = { data: 'builtin:moons', samples: 400, layers: [16], epochs: 4, threads: 1, seed: 3 } as const;

test('a run from a saved model starts where that model stopped, with its labels and normalization', async (t) => {
  const dir = await tempDir();
  const first = await train({ ...moons, normalize: 'standard', out: join(dir, 'm.json') });
  const saved = await loadModel(join(dir, 'm.json'));
  const fresh = await train({ ...moons, seed: 9, normalize: 'standard', epochs: 1 });
  const continued = await train({ data: 'builtin:moons', samples: 400, seed: 9, epochs: 1, threads: 1, init: join(dir, 'm.json') });
  t.true(continued.history[0]!.loss < fresh.history[0]!.loss * 0.8, `continued ${continued.history[0]!.loss} vs fresh ${fresh.history[0]!.loss}`);
  t.true(continued.history[0]!.loss <= first.history.at(-1)!.loss * 1.5);
  t.deepEqual(continued.model.shape, saved.shape);
  t.deepEqual(continued.model.labels, saved.labels);
  t.deepEqual(Array.from(continued.model.normalization!.offset), Array.from(saved.normalization!.offset), 'the model\'s normalization, not one refitted on the new rows');
});

test('a Model object passed as init trains from exactly its parameters', async (t) => {
  const { model } = await train({ ...moons });
  // lr tiny: one epoch moves the weights by almost nothing, so they stay close to the start
  const again = await train({ data: 'builtin:moons', samples: 400, seed: 3, epochs: 1, threads: 1, lr: 1e-9, init: model });
  let largest = 0;
  for (let i = 0; i < model.parameters.length; i++) largest = Math.max(largest, Math.abs(again.model.parameters[i]! - model.parameters[i]!));
  t.true(largest < 1e-6, `largest change ${largest}`);
});

test('--init refuses data or flags that do not fit the model, naming the difference', async (t) => {
  const dir = await tempDir();
  const model = join(dir, 'm.json');
  t.is((await runCli(['train', '--data', 'builtin:moons', '--samples', '200', '--layers', '8', '--epochs', '1', '--out', model, '--quiet'])).code, 0);
  const cases: [string[], RegExp][] = [
    [['--data', 'builtin:moons', '--layers', '4'], /^gradpool: --init .*m\.json: has hidden layers 8, not 4/],
    [['--data', 'builtin:moons', '--activation', 'tanh'], /^gradpool: --init .*uses relu, not tanh/],
    [['--data', 'builtin:blobs', '--features', '5', '--classes', '2'], /has 5 features, but the model was trained on 2/],
    [['--data', 'builtin:spirals', '--classes', '3'], /label "2", which was not among the training labels \(0, 1\)/],
    [['--data', 'builtin:moons', '--out', model], /--out .* is the same file as --init/],
  ];
  for (const [args, message] of cases) {
    const result = await runCli(['train', '--init', model, '--epochs', '1', ...args]);
    t.is(result.code, 2, args.join(' '));
    t.regex(result.stderr, message, args.join(' '));
    t.is(result.stderr.trim().split('\n').length, 1);
  }
});

test('a CSV model continues on a new file with its columns reordered: the model reads it by name', async (t) => {
  const dir = await tempDir();
  const rows = (swap: boolean) => {
    const lines = [swap ? 'b,a,label' : 'a,b,label'];
    for (let i = 0; i < 200; i++) {
      const a = (i * 37) % 100;
      const b = (i * 53) % 100;
      const label = a > b ? 'yes' : 'no';
      lines.push(swap ? `${b},${a},${label}` : `${a},${b},${label}`);
    }
    return lines.join('\n') + '\n';
  };
  await writeFile(join(dir, 'one.csv'), rows(false));
  await writeFile(join(dir, 'two.csv'), rows(true));
  const first = await runCli(['train', '--data', join(dir, 'one.csv'), '--epochs', '40', '--out', join(dir, 'm.json'), '--log-json', join(dir, 'one.jsonl'), '--quiet']);
  t.is(first.code, 0, first.stderr);
  const second = await runCli(['train', '--data', join(dir, 'two.csv'), '--init', join(dir, 'm.json'), '--epochs', '1', '--log-json', join(dir, 'two.jsonl'), '--quiet']);
  t.is(second.code, 0, second.stderr);
  const { readFile } = await import('node:fs/promises');
  const accuracy = (text: string) => (JSON.parse(text.trim().split('\n')[0]!) as { accuracy: number }).accuracy;
  t.true(accuracy(await readFile(join(dir, 'two.jsonl'), 'utf8')) > 0.9, 'the swapped columns were matched by name');
});
