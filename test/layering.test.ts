// Imports point down: each folder (layer) of src/ may import only from its own layer and the layers
// listed before it. This list is the one place the layer order is written down.
import test from 'ava';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const LAYERS: readonly (readonly string[])[] = [
  ['errors.ts', 'io'], // the ground: they import nothing of ours but each other
  ['math'], // kernels over memory: no options, no I/O
  ['data'], // sources → one dataset description; preprocessing fitted on training rows
  ['model'], // parameter layout, network forward/backward over a kernel set, model files, metrics
  ['run'], // training-run state kept apart from the model: epoch history, checkpoints
  ['optim'], // reduction and update rules over [from, to) ranges
  ['parallel'], // arena, control block, the participant round, coordinator, kernel-set choice
  ['options'], // the one option table
  ['defaults.ts', 'tune.ts', 'train.ts', 'compare.ts', 'throughput.ts', 'torch'], // the epoch loop, the experiments built on it, the torchrun export
  ['report'], // pictures
  ['cli', 'cli.ts', 'index.ts'], // the command line and the public API
];

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = join(root, 'src');

function layerOf(file: string): number {
  const top = relative(src, file).split(/[\\/]/)[0]!;
  const index = LAYERS.findIndex((names) => names.includes(top));
  if (index < 0) throw new Error(`src/${relative(src, file)} is in no layer: add its folder to LAYERS`);
  return index;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'assembly' || name === 'native' ? [] : sources(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative imports, type-only ones included (`import type`, `export … from`, dynamic import()). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return found.map((specifier) => resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
}

test('every import in src/ points to the same or a lower layer', (t) => {
  const upward: string[] = [];
  for (const file of sources(src)) {
    const from = layerOf(file);
    for (const target of importsOf(file)) {
      if (!target.startsWith(src)) continue;
      if (layerOf(target) > from) upward.push(`src/${relative(src, file)} → src/${relative(src, target)}`);
    }
  }
  t.deepEqual(upward, [], `upward imports:\n${upward.join('\n')}`);
});

test('the worker entry imports only the parallel layer and below', (t) => {
  const parallel = LAYERS.findIndex((names) => names.includes('parallel'));
  const entry = join(root, 'workers', 'gradient.ts');
  const above = importsOf(entry).filter((target) => target.startsWith(src) && layerOf(target) > parallel);
  t.deepEqual(above, []);
});

test('the layering check sees an upward import when there is one', (t) => {
  // math → options would be upward: the checker must classify it so.
  t.true(layerOf(join(src, 'options', 'table.ts')) > layerOf(join(src, 'math', 'kernels.ts')));
  t.throws(() => layerOf(join(src, 'nowhere', 'x.ts')), { message: /in no layer/ });
});
