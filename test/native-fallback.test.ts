// Choosing the kernels: native where the addon built, the wasm kernels when it is missing, a clear
// refusal for --kernels native without it, the level forced by GRADPOOL_NATIVE_ISA, and an install
// that succeeds without a compiler. Each case runs in a child process: the addon is looked for once.
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeIsaLevels } from '../src/math/native-kernels.js';
import { tempDir } from './helpers/files.js';
import { runCli } from './helpers/cli.js';
import { nativeSkipNote, nativeTest } from './helpers/native.js';

const TRAIN = ['train', '--data', 'builtin:blobs', '--samples', '600', '--features', '16', '--classes', '3', '--layers', '8', '--epochs', '2', '--threads', '2'];

async function doneRecord(env: NodeJS.ProcessEnv, args: string[] = []): Promise<{ code: number | null; stderr: string; done: { kernels?: string } | undefined }> {
  const log = join(await tempDir(), 'log.jsonl');
  const result = await runCli([...TRAIN, ...args, '--log-json', log], { env });
  const lines = result.code === 0 ? (await readFile(log, 'utf8')).trim().split('\n') : [];
  return { code: result.code, stderr: result.stderr, done: lines.length > 0 ? JSON.parse(lines.at(-1)!) : undefined };
}

nativeTest(`auto runs the native kernels at the best level this CPU has, and says so in the log${nativeSkipNote}`, async (t) => {
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
  t.regex(result.stderr, /--kernels native: GRADPOOL_NATIVE_PATH=\/nonexistent\/gradpool_native\.node does not exist/);
});

/**
 * A copy of the built package (dist/, package.json, node_modules linked) in which `setup` lays out
 * the addon's places: a clone before npm install, an installed package for another platform, a
 * failed source build.
 */
async function packageCopy(setup: (root: string) => Promise<void>): Promise<string> {
  const root = await tempDir();
  for (const part of ['dist/src', 'dist/workers', 'dist/wasm']) await cp(join(ROOT, part), join(root, part), { recursive: true });
  await cp(join(ROOT, 'package.json'), join(root, 'package.json'));
  await symlink(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  await setup(root);
  return root;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

for (const [situation, setup, reason] of [
  ['never built (a clone before npm install)', async () => undefined, /the native addon was never built \(looked for .*gradpool_native\.node\); npm install in a clone, or `npx gradpool build-native` builds it from source/],
  [
    'no prebuild for this platform (an installed package)',
    async (root: string) => {
      await mkdir(join(root, 'prebuilds', 'sunos-sparc'), { recursive: true });
      await writeFile(join(root, 'prebuilds', 'sunos-sparc', 'gradpool.napi.node'), '');
    },
    new RegExp(`no prebuilt addon for ${process.platform}-${process.arch} \\(prebuilt: linux-x64, linux-arm64, win32-x64; macOS runs the WebAssembly kernels\\); \`npx gradpool build-native\` builds it`),
  ],
  [
    'the source build failed',
    async (root: string) => {
      await mkdir(join(root, 'src', 'native', 'build'), { recursive: true });
      await writeFile(join(root, 'src', 'native', 'build', 'install.log'), 'error: no compiler\n');
    },
    /the source build failed \(details in .*install\.log\); `npx gradpool build-native` builds it from source \(needs a C\+\+ compiler\) again/,
  ],
] as const) {
  test(`--kernels native says why the addon is missing: ${situation}; auto runs wasm and says the same in one line`, async (t) => {
    await refusedWithFallback(t, join(await packageCopy(setup), 'dist', 'src', 'cli.js'), reason);
  });
}

/** `--kernels native` exits 2 saying `reason`; auto trains on wasm and says the same in its one stderr line. */
async function refusedWithFallback(t: ExecutionContext, cli: string, reason: RegExp): Promise<void> {
  const refused = await runCliAt(cli, [...TRAIN, '--kernels', 'native']);
  t.is(refused.code, 2, refused.stderr);
  t.regex(refused.stderr, /^gradpool: --kernels native: /);
  t.regex(refused.stderr, reason);
  const fallback = await runCliAt(cli, TRAIN);
  t.is(fallback.code, 0, fallback.stderr);
  t.regex(fallback.stderr, /^gradpool: native kernels unavailable: .*; running the WebAssembly kernels\n$/);
  t.regex(fallback.stderr, reason);
}

nativeTest(`an addon built from other sources is refused, saying how to rebuild it, and auto runs wasm saying so in one line; beside its own sources the same file runs${nativeSkipNote}`, async (t) => {
  // this checkout's source build, in a package copy with its sources: then one byte of them changes
  let native = '';
  const root = await packageCopy(async (root) => {
    native = await copyNativeSources(root);
    await copyBuiltAddon(native);
  });
  const cli = join(root, 'dist', 'src', 'cli.js');
  const current = await runCliAt(cli, [...TRAIN, '--kernels', 'native']);
  t.is(current.code, 0, current.stderr);
  await appendNewline(join(native, 'kernels.cc'));
  await refusedWithFallback(t, cli, /\/src\/native\/build\/Release\/gradpool_native\.node was built from other sources \(hash [0-9a-f]{16}; src\/native\/ now hashes to [0-9a-f]{16}\); rebuild it: `npm run build:native` in a clone, `npx gradpool build-native` in an installed package/);
});

function runCliAt(cli: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.GRADPOOL_NATIVE_PATH;
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

nativeTest(`GRADPOOL_NATIVE_ISA forces a level; a level this CPU lacks falls back to the best one with a note${nativeSkipNote}`, async (t) => {
  const generic = await doneRecord({ GRADPOOL_NATIVE_ISA: 'generic' }, ['--kernels', 'native']);
  t.is(generic.code, 0, generic.stderr);
  t.is(generic.done?.kernels, 'native-generic');
  const bogus = await doneRecord({ GRADPOOL_NATIVE_ISA: 'avx1024' });
  t.is(bogus.code, 0, bogus.stderr);
  t.is(bogus.done?.kernels, `native-${nativeIsaLevels()[0]}`);
  t.regex(bogus.stderr, /GRADPOOL_NATIVE_ISA=avx1024: levels are avx512, avx2, generic; using /);
});

test('the source build (a clone\'s npm install) succeeds without a compiler (CC=false CXX=false) and says in one line that the wasm kernels will run', async (t) => {
  const { code, out } = await installInCopy(await copyNativeSources(await tempDir()), [], { CC: 'false', CXX: 'false' });
  t.is(code, 0, out);
  t.is(out.trim().split('\n').length, 1, out);
  t.regex(out, /^gradpool: native kernels not built \(.*\); the WebAssembly kernels will run/);
});

nativeTest(`npm run build rebuilds only an addon whose sources changed: quiet where none was built or it is current, one line and exit 0 where the rebuild fails${nativeSkipNote}`, async (t) => {
  const native = await copyNativeSources(await tempDir());
  t.deepEqual(await installInCopy(native, ['--if-stale']), { code: 0, out: '' });
  t.false(existsSync(join(native, 'build')), 'no build was tried');
  await copyBuiltAddon(native);
  t.deepEqual(await installInCopy(native, ['--if-stale']), { code: 0, out: '' }, 'the addon is current');
  await appendNewline(join(native, 'binding.gyp'));
  const stale = await installInCopy(native, ['--if-stale'], { CC: 'false', CXX: 'false' });
  t.is(stale.code, 0, stale.out);
  t.regex(stale.out, /^gradpool: native kernels not rebuilt \(its sources changed\) \(.*\); the WebAssembly kernels will run\n$/);
});

/** A copy of src/native without its build in `root`/src/native (a build there cannot touch the addon the other tests load). */
async function copyNativeSources(root: string): Promise<string> {
  const native = join(root, 'src', 'native');
  await mkdir(native, { recursive: true });
  await cp(join(ROOT, 'src', 'native'), native, { recursive: true, filter: (path) => !path.includes('/build') });
  return native;
}

/** This checkout's source build, into such a copy's build folder. */
async function copyBuiltAddon(native: string): Promise<void> {
  await mkdir(join(native, 'build', 'Release'), { recursive: true });
  await cp(join(ROOT, 'src', 'native', 'build', 'Release', 'gradpool_native.node'), join(native, 'build', 'Release', 'gradpool_native.node'));
}

/** One byte more in a source: what an addon built before is stale against. */
async function appendNewline(path: string): Promise<void> {
  await writeFile(path, `${await readFile(path, 'utf8')}\n`);
}

/** Runs install.mjs in such a copy: its exit code and its output (stdout and stderr together). */
async function installInCopy(native: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [join(native, 'install.mjs'), ...args], { env: { ...process.env, ...env, npm_config_nodedir: process.env.npm_config_nodedir ?? join(process.execPath, '..', '..') } });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, out };
}
