// Builds the prebuilt addons that the package ships in prebuilds/<platform>-<arch>/, calling the
// compilers directly (node-gyp cannot cross-compile to Windows, and a direct call keeps the flags of
// every target in one table). The flags are binding.gyp's: the same -O3, -ffp-contract=off and
// per-level -m flags, so a prebuild gives the same bits as a source build of the same level.
//   node src/native/prebuild.mjs                  every target whose compiler is on PATH (npm pack)
//   node src/native/prebuild.mjs linux-arm64 ...  these targets (a missing compiler is an error)
// Linux prebuilds force-include glibc-compat.h (loadable on glibc 2.28); the Windows one links
// against node.exe through an import library made from the Node-API symbols binding.cc uses.
// Like the source build, each carries the hash of the sources (source-hash.cjs) it was built from.
// Each addon is compiled in a scratch folder and renamed into place, so a process loading it never
// sees half a file.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceHash } from './source-hash.cjs';

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = join(here, '..', '..');

const COMMON = ['-O3', '-std=c++17', '-ffp-contract=off', '-fno-math-errno', '-fvisibility=hidden', '-DNAPI_DISABLE_CPP_EXCEPTIONS'];
const X64_LEVELS = { generic: [], avx2: ['-mavx2', '-mfma'], avx512: ['-mavx512f', '-mavx2', '-mfma'] };

/** Every target a prebuild exists for: its compiler, flags, levels and file name. */
export const TARGETS = {
  'linux-x64': { cxx: hostIs('linux', 'x64') ? 'g++' : 'x86_64-linux-gnu-g++', flags: ['-fPIC', '-include', join(here, 'glibc-compat.h')], link: ['-shared', '-s'], levels: X64_LEVELS, file: 'gradpool.glibc.napi.node' },
  'linux-arm64': { cxx: hostIs('linux', 'arm64') ? 'g++' : 'aarch64-linux-gnu-g++', flags: ['-fPIC', '-include', join(here, 'glibc-compat.h')], link: ['-shared', '-s'], levels: { generic: [] }, file: 'gradpool.glibc.napi.node' },
  'win32-x64': { cxx: 'x86_64-w64-mingw32-g++', flags: [], link: ['-shared', '-s', '-static-libgcc', '-static-libstdc++', '-Wl,--no-undefined'], levels: X64_LEVELS, file: 'gradpool.napi.node', windows: true },
};

function hostIs(platform, arch) {
  return process.platform === platform && process.arch === arch;
}

export function compilerFound(target) {
  const { cxx } = TARGETS[target];
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, cxx)));
}

/** Node-API's headers (node_api.h): this Node's own, npm's nodedir, or node-gyp's download cache. */
export function nodeApiHeaders() {
  const candidates = [
    process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
    join(dirname(process.execPath), '..', 'include', 'node'),
    join(homedir(), '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
  ];
  return candidates.find((dir) => dir && existsSync(join(dir, 'node_api.h')));
}

function exec(command, args, cwd) {
  // TMPDIR in the scratch folder: mingw's dlltool leaves empty cc* files in the temporary folder.
  const result = spawnSync(command, args, { cwd, env: { ...process.env, TMPDIR: cwd }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${(result.error?.message ?? result.stderr).trim().split('\n').slice(-3).join(' ')}`);
  return result.stdout;
}

/** Compiles one target into prebuilds/<target>/ and returns the addon's path. */
export function buildPrebuild(target, { root = packageRoot } = {}) {
  const spec = TARGETS[target];
  if (!spec) throw new Error(`unknown prebuild target ${target} (targets: ${Object.keys(TARGETS).join(', ')})`);
  const headers = nodeApiHeaders();
  if (!headers) throw new Error("Node-API headers (node_api.h) not found: install Node's headers or run node-gyp once");
  const work = mkdtempSync(join(tmpdir(), `gradpool-prebuild-${target}-`));
  try {
    const objects = [];
    const compile = (source, extra, object) => {
      exec(spec.cxx, [...COMMON, ...spec.flags, ...extra, `-I${headers}`, `-I${here}`, '-c', join(here, source), '-o', join(work, object)], work);
      objects.push(object);
    };
    for (const [level, flags] of Object.entries(spec.levels)) compile('kernels.cc', [...flags, `-DGRADPOOL_TABLE=kernels_${level}`], `kernels_${level}.o`);
    // binding.cc finds the levels by architecture (x64: three, elsewhere: generic), as binding.gyp links them.
    compile('binding.cc', [`-DGRADPOOL_SOURCE_HASH=${sourceHash()}`], 'binding.o');
    const link = [...spec.link, '-o', 'addon.node', ...objects];
    if (spec.windows) link.push(importLibrary(work, 'binding.o'));
    else link.push('-lm');
    exec(spec.cxx, link, work);
    const dir = join(root, 'prebuilds', target);
    mkdirSync(dir, { recursive: true });
    for (const stale of readdirSync(dir)) if (stale.endsWith('.node') && stale !== spec.file) rmSync(join(dir, stale), { force: true });
    const final = join(dir, spec.file);
    copyFileSync(join(work, 'addon.node'), `${final}.tmp-${process.pid}`);
    renameSync(`${final}.tmp-${process.pid}`, final);
    return final;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * An import library for node.exe holding the napi_* functions binding.o calls (read from its
 * undefined symbols), so that the DLL links without Node's node.lib.
 */
function importLibrary(work, object) {
  const symbols = exec('x86_64-w64-mingw32-nm', ['-u', object], work).split('\n').map((line) => line.trim().split(/\s+/).at(-1)).filter((name) => /^(napi|node_api)_/.test(name ?? ''));
  writeFileSync(join(work, 'node.def'), `LIBRARY node.exe\nEXPORTS\n${symbols.map((s) => `  ${s}`).join('\n')}\n`);
  exec('x86_64-w64-mingw32-dlltool', ['-d', 'node.def', '-l', 'node.lib', '-D', 'node.exe'], work);
  return 'node.lib';
}

function main() {
  const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const targets = asked.length > 0 ? asked : Object.keys(TARGETS).filter(compilerFound);
  let failed = false;
  for (const target of targets) {
    try {
      if (!TARGETS[target]) throw new Error(`unknown prebuild target (targets: ${Object.keys(TARGETS).join(', ')})`);
      if (!compilerFound(target)) throw new Error(`${TARGETS[target].cxx} not found on PATH`);
      console.log(`gradpool: prebuilt ${target}: ${buildPrebuild(target)}`);
    } catch (error) {
      failed = true;
      console.error(`gradpool: prebuild ${target} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (asked.length === 0) {
    const skipped = Object.keys(TARGETS).filter((t) => !targets.includes(t));
    if (skipped.length > 0) console.log(`gradpool: no compiler for ${skipped.map((t) => `${t} (${TARGETS[t].cxx})`).join(', ')}: not prebuilt`);
  }
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
