// The published package: what the tarball holds, and a fresh project that installs it and uses it
// from CommonJS, from an ES module, from TypeScript, and without the optional chart packages.
import test from 'ava';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, posix } from 'node:path';
import { ROOT, installInFreshProject, pack, run } from './helpers/package.js';

// The prebuilt addon, as `npm pack`'s prepack step makes it (false where no compiler is here).
const prebuilt = run(process.execPath, [join(ROOT, 'src/native/install.mjs'), '--prebuild'], { cwd: ROOT }).then(() => existsSync(join(ROOT, `prebuilds/${process.platform}-${process.arch}`)));
// One tarball and three installs, shared by the tests below and made once.
const packed = prebuilt.then(() => pack());
const full = packed.then((p) => installInFreshProject(p.tarball));
const lean = packed.then((p) => installInFreshProject(p.tarball, ['--omit=optional']));
const scriptless = packed.then((p) => installInFreshProject(p.tarball, ['--omit=optional', '--ignore-scripts']));
// Keep rejections for the tests that await them, not as unhandled ones.
for (const pending of [packed, full, lean, scriptless]) pending.catch(() => undefined);

test.after.always(async () => {
  const dirs = await Promise.allSettled([packed.then((p) => dirname(p.tarball)), full.then((d) => dirname(d)), lean.then((d) => dirname(d)), scriptless.then((d) => dirname(d))]);
  for (const dir of dirs) if (dir.status === 'fulfilled') await rm(dir.value, { recursive: true, force: true });
});

const TRAIN_MOONS = "{ data: 'builtin:moons', samples: 300, layers: [8], epochs: 3, threads: 2, seed: 1 }";
const REPORT = 'console.log(JSON.stringify({ epochs: history.length, loss: history.at(-1).loss, p: model.predict([[0.5, -0.2]])[0] }));';

const CONSUMERS = {
  'consumer.cjs': `const { train } = require('gradpool');\ntrain(${TRAIN_MOONS}).then(({ model, history }) => { ${REPORT} });\n`,
  'consumer.mjs': `import { train } from 'gradpool';\nconst { model, history } = await train(${TRAIN_MOONS});\n${REPORT}\n`,
};

const TYPED = (kind: string) => `// A ${kind} TypeScript consumer: type-checked against the installed declarations.
import { train, loadModel, type TrainOptions, type EpochEntry } from 'gradpool';
const options: TrainOptions = { data: 'builtin:moons', epochs: 2, onEpoch: (e: EpochEntry) => void e.loss };
// @ts-expect-error: data is a string or a Dataset (the declarations are really in use, not any)
const wrong: TrainOptions = { data: 42 };
export async function firstProbability(): Promise<number> {
  const { model } = await train(options);
  await model.save('model.onnx');
  return model.predict([[0, 0]])[0]![0]! + (await loadModel('model.json')).inputs;
}
export { wrong };
`;

test('the tarball holds the build, its TypeScript sources, README, LICENSE and package.json: no test-only module, no source map without its source', async (t) => {
  const { files, size, unpackedSize } = await packed;
  const paths = new Set(files.map((f) => f.path));
  t.log(`${files.length} files, ${size} bytes packed, ${unpackedSize} unpacked`);
  const allowed = /^(package\.json|README\.md|LICENSE|(dist\/(src|workers|wasm)|src|workers)\/.+|prebuilds\/[a-z0-9]+-[a-z0-9]+\/[^/]+\.node)$/;
  t.deepEqual(files.map((f) => f.path).filter((p) => !allowed.test(p)), [], 'only the expected folders');
  t.deepEqual([...paths].filter((p) => /(^|\/)test\/|worker-fault/.test(p)), [], 'no test-only module (the worker fault hook lives in test/helpers/)');
  t.true(paths.has('LICENSE') && paths.has('dist/src/index.js') && paths.has('dist/src/index.d.ts') && paths.has('dist/workers/gradient.js') && paths.has('dist/wasm/kernels.wasm'));
  const license = await readFile(join(ROOT, 'LICENSE'), 'utf8');
  t.regex(license, /^MIT License\n\nCopyright \(c\) 2026 gradpool contributors\n/);

  for (const path of paths) {
    // A build output whose source is gone is a stale leftover (rm -rf dist && npm run build).
    const compiled = /^dist\/((src|workers)\/.+)\.(js|d\.ts)$/.exec(path);
    if (compiled) t.true(paths.has(`${compiled[1]}.ts`), `${path} is packed without its source ${compiled[1]}.ts: stale build output?`);
    if (path.endsWith('.js')) {
      const reference = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(await readFile(join(ROOT, path), 'utf8'))?.[1];
      if (reference) t.true(paths.has(posix.join(posix.dirname(path), reference)), `${path} points at ${reference}, which is not packed`);
    }
    if (path.endsWith('.map')) {
      const map = JSON.parse(await readFile(join(ROOT, path), 'utf8')) as { sources: string[]; sourceRoot?: string };
      for (const source of map.sources) {
        const target = posix.normalize(posix.join(posix.dirname(path), map.sourceRoot ?? '', source));
        t.true(paths.has(target), `${path} maps to ${target}, which is not packed`);
      }
    }
  }
});

test('package.json sends require() and import to the same ES module build, with its types', async (t) => {
  const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as Record<string, any>;
  t.deepEqual(manifest.exports['.'], { types: './dist/src/index.d.ts', default: './dist/src/index.js' });
  t.is(manifest.type, 'module');
  t.deepEqual(Object.keys(manifest.optionalDependencies).sort(), ['vega', 'vega-lite']);
  t.false('vega' in manifest.dependencies || 'vega-lite' in manifest.dependencies);
});

for (const [file, source] of Object.entries(CONSUMERS)) {
  const kind = file.endsWith('.cjs') ? 'A CommonJS consumer require()s' : 'An ES module consumer imports';
  test(`${kind} the installed package and trains builtin:moons, with no warning`, async (t) => {
    const dir = await full;
    await writeFile(join(dir, file), source);
    const result = await run(process.execPath, [file], { cwd: dir });
    t.is(result.code, 0, result.stderr);
    t.is(result.stderr, '', 'no ExperimentalWarning or other noise');
    const report = JSON.parse(result.stdout) as { epochs: number; loss: number; p: number[] };
    t.is(report.epochs, 3);
    t.true(Number.isFinite(report.loss));
    t.is(report.p.length, 2);
    t.true(Math.abs(report.p[0]! + report.p[1]! - 1) < 1e-6);
  });
}

test('TypeScript type-checks a .cts (require) and a .mts (import) consumer against the installed declarations, with skipLibCheck off', async (t) => {
  const dir = await lean; // without vega-lite: the declarations must not need it
  await writeFile(join(dir, 'consumer.cts'), TYPED('CommonJS'));
  await writeFile(join(dir, 'consumer.mts'), TYPED('ES module'));
  const compilerOptions = { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')] };
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.cts', 'consumer.mts'] }));
  const tsc = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
  const result = await run(process.execPath, [tsc, '-p', dir], { cwd: dir });
  t.is(result.code, 0, result.stdout + result.stderr);
});

test('installed with --omit=optional, the CLI trains on worker threads, evaluates and predicts', async (t) => {
  const dir = await lean;
  t.false(existsSync(join(dir, 'node_modules/vega')) || existsSync(join(dir, 'node_modules/vega-lite')), 'vega and vega-lite were left out');
  const cli = join(dir, 'node_modules/.bin/gradpool');
  const gradpool = (args: string[]) => run(cli, args, { cwd: dir });
  // Big enough steps that two threads share them: the worker entry must resolve inside node_modules.
  const trained = await gradpool(['train', '--data', 'builtin:blobs', '--samples', '1024', '--features', '128', '--classes', '3', '--layers', '128', '--batch-size', '256', '--epochs', '2', '--threads', '2', '--out', 'model.json', '--log-json', 'log.jsonl', '--quiet']);
  t.is(trained.code, 0, trained.stderr);
  const epochs = (await readFile(join(dir, 'log.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { threads?: number });
  t.is(epochs[0]!.threads, 2, 'the installed worker entry ran');
  const evaluated = await gradpool(['evaluate', '--model', 'model.json', '--data', 'builtin:blobs', '--samples', '200', '--features', '128', '--classes', '3', '--json']);
  t.is(evaluated.code, 0, evaluated.stderr);
  t.is((JSON.parse(evaluated.stdout) as { samples: number }).samples, 200);
  const predicted = await gradpool(['predict', '--model', 'model.json', '--data', 'builtin:blobs', '--samples', '50', '--features', '128', '--classes', '3', '--out', 'p.csv']);
  t.is(predicted.code, 0, predicted.stderr);
  t.is((await readFile(join(dir, 'p.csv'), 'utf8')).trim().split('\n').length, 51);
});

test('installed with install scripts disabled, the prebuilt addon still runs the native kernels', async (t) => {
  if (!(await prebuilt)) return t.pass('no compiler here: the tarball has no prebuilt addon, and installs build from source or run wasm');
  t.true((await packed).files.some((f) => /^prebuilds\/linux-x64\/.+\.node$/.test(f.path)), 'the tarball carries prebuilds/linux-x64');
  const dir = await scriptless;
  t.false(existsSync(join(dir, 'node_modules/gradpool/src/native/build')), 'nothing was built at install');
  const result = await run(join(dir, 'node_modules/.bin/gradpool'), ['train', '--data', 'builtin:moons', '--samples', '200', '--epochs', '1', '--log-json', 'log.jsonl', '--quiet'], { cwd: dir });
  t.is(result.code, 0, result.stderr);
  const done = JSON.parse((await readFile(join(dir, 'log.jsonl'), 'utf8')).trim().split('\n').at(-1)!) as { kernels: string };
  t.regex(done.kernels, /^native-/);
});

test('installed with --omit=optional, --plot and compare-modes stop before training with one line saying npm install vega vega-lite', async (t) => {
  const dir = await lean;
  const cli = join(dir, 'node_modules/.bin/gradpool');
  for (const args of [['train', '--data', 'builtin:moons', '--epochs', '2', '--plot', 'plot.svg', '--out', 'plotted.json'], ['compare-modes', '--data', 'builtin:moons', '--epochs', '2', '--out', 'modes.html']]) {
    const result = await run(cli, args, { cwd: dir });
    t.is(result.code, 2, result.stderr);
    t.regex(result.stderr, /^gradpool: (--plot|compare-modes) needs the optional packages vega and vega-lite, which are not installed: npm install vega vega-lite\n$/);
    t.is(result.stdout, '', 'no epoch was trained');
    for (const written of ['plot.svg', 'plotted.json', 'modes.html']) t.false(existsSync(join(dir, written)), `${written} not written`);
  }
});

test('installed with its optional packages, --plot draws the training chart', async (t) => {
  const dir = await full;
  const result = await run(join(dir, 'node_modules/.bin/gradpool'), ['train', '--data', 'builtin:moons', '--samples', '200', '--epochs', '2', '--plot', 'plot.svg', '--quiet'], { cwd: dir });
  t.is(result.code, 0, result.stderr);
  t.true((await readFile(join(dir, 'plot.svg'), 'utf8')).startsWith('<svg'));
});
