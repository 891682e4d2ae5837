// Choosing the kernels: native where the addon built, the wasm kernels when it is missing, a clear
// refusal for --kernels native without it, the level forced by GRADPOOL_NATIVE_ISA, and an install
// that succeeds without a compiler. Each case runs in a child process: the addon is looked for once.
import test from 'ava';
import { spawn } from 'node:child_process';
import { cp, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeIsaLevels } from '../src/math/native-kernels.js';
import { tempDir } from './helpers/files.js';
import { runCli } from './helpers/cli.js';

const TRAIN = ['train', '--data', 'builtin:blobs', '--samples', '600', '--features', '16', '--classes', '3', '--layers', '8', '--epochs', '2', '--threads', '2'];

async function doneRecord(env: NodeJS.ProcessEnv, args: string[] = []): Promise<{ code: number | null; stderr: string; done: { kernels?: string } | undefined }> {
  const log = join(await tempDir(), 'log.jsonl');
  const result = await runCli([...TRAIN, ...args, '--log-json', log], { env });
  const lines = result.code === 0 ? (await readFile(log, 'utf8')).trim().split('\n') : [];
  return { code: result.code, stderr: result.stderr, done: lines.length > 0 ? JSON.parse(lines.at(-1)!) : undefined };
}

test('auto runs the native kernels at the best level this CPU has, and says so in the log', async (t) => {
  const { code, stderr, done } = await doneRecord({});
  t.is(code, 0, stderr);
  t.is(done?.kernels, `native-${nativeIsaLevels()[0]}`);
});

test('without the addon, training falls back to the wasm kernels and reports them', async (t) => {
  const { code, stderr, done } = await doneRecord({ GRADPOOL_NATIVE_PATH: '/nonexistent/gradpool_native.node' });
  t.is(code, 0, stderr);
  t.regex(done?.kernels ?? '', /^wasm-(relaxed-)?simd$/);
  // the library result says the same
  const library = new URL('../src/index.js', import.meta.url).href;
  const script = `const { train } = await import(${JSON.stringify(library)}); const r = await train({ data: 'builtin:spirals', samples: 200, epochs: 1, threads: 1 }); console.log(JSON.stringify([r.kernels, r.kernelSet]));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, GRADPOOL_NATIVE_PATH: '/nonexistent/gradpool_native.node' } });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const exit = await new Promise((resolve) => child.on('close', resolve));
  t.is(exit, 0);
  const [kernels, kernelSet] = JSON.parse(out) as [string, string];
  t.is(kernels, 'wasm');
  t.regex(kernelSet, /^wasm-/);
});

test('--kernels native without the addon is bad usage (exit 2) and says why', async (t) => {
  const result = await runCli([...TRAIN, '--kernels', 'native'], { env: { GRADPOOL_NATIVE_PATH: '/nonexistent/gradpool_native.node' } });
  t.is(result.code, 2, result.stderr);
  t.regex(result.stderr, /--kernels native: the native addon was not built .*\/nonexistent\/gradpool_native\.node/);
});

test('GRADPOOL_NATIVE_ISA forces a level; a level this CPU lacks falls back to the best one with a note', async (t) => {
  const generic = await doneRecord({ GRADPOOL_NATIVE_ISA: 'generic' }, ['--kernels', 'native']);
  t.is(generic.code, 0, generic.stderr);
  t.is(generic.done?.kernels, 'native-generic');
  const bogus = await doneRecord({ GRADPOOL_NATIVE_ISA: 'avx1024' });
  t.is(bogus.code, 0, bogus.stderr);
  t.is(bogus.done?.kernels, `native-${nativeIsaLevels()[0]}`);
  t.regex(bogus.stderr, /GRADPOOL_NATIVE_ISA=avx1024: levels are avx512, avx2, generic; using /);
});

test('the install script succeeds without a compiler (CC=false CXX=false) and says in one line that the wasm kernels will run', async (t) => {
  // a copy of src/native, so that the failed build cannot touch the addon the other tests load
  const root = await tempDir();
  const native = join(root, 'src', 'native');
  await mkdir(native, { recursive: true });
  await cp(fileURLToPath(new URL('../../src/native/', import.meta.url)), native, { recursive: true, filter: (path) => !path.includes('/build') });
  const child = spawn(process.execPath, [join(native, 'install.mjs')], { env: { ...process.env, CC: 'false', CXX: 'false', npm_config_nodedir: process.env.npm_config_nodedir ?? join(process.execPath, '..', '..') } });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  const exit = await new Promise((resolve) => child.on('close', resolve));
  t.is(exit, 0, out);
  t.is(out.trim().split('\n').length, 1, out);
  t.regex(out, /^gradpool: native kernels not built \(.*\); the WebAssembly kernels will run/);
});
