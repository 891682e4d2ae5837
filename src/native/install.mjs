// Builds the native kernels addon from source with node-gyp (bundled with npm) in the folder of this
// script. It runs in a clone's `npm install` (the prepare script, which npm, pnpm and yarn never run
// for a package installed from the registry or a tarball: consumers get prebuilds/ and no install
// script), and as `gradpool build-native` in an installed package. Without a compiler, or when the
// build fails, it prints one line and gradpool runs the WebAssembly kernels; the build's full output
// goes to build/install.log beside this script.
//   GRADPOOL_SKIP_NATIVE_BUILD=1   skip the build
//   --strict                       exit 1 when the addon was not built (gradpool build-native,
//                                  npm run build:native)
//   --if-stale                     rebuild incrementally only when an addon was built and its sources
//                                  changed since (npm run build); quiet otherwise, so that a machine
//                                  without a compiler never tries a build it cannot do
//   --prebuild                     build prebuilds/<this platform>/ instead (src/native/prebuild.mjs,
//                                  the build the package ships; npm pack builds every target it can)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceHash } from './source-hash.cjs';

const here = dirname(fileURLToPath(import.meta.url));
const say = (line) => console.log(`gradpool: ${line}`);

const prebuild = process.argv.includes('--prebuild');
const strict = process.argv.includes('--strict');
const ifStale = process.argv.includes('--if-stale');
const ADDON = join(here, 'build', 'Release', 'gradpool_native.node');
let built = false;

async function main() {
  if (prebuild) return buildHostPrebuild();
  // Only an addon that exists can be stale: one that loads with another hash, or does not load.
  const existing = ifStale && existsSync(ADDON) ? probe(ADDON) : undefined;
  if (ifStale && (existing === undefined || existing.sourceHash === sourceHash())) return;
  const verb = ifStale ? 'rebuilt' : 'built';
  const why = existing ? ` (${existing.error ? 'it did not load' : 'its sources changed'})` : '';
  if (process.env.GRADPOOL_SKIP_NATIVE_BUILD) return say(`native kernels not ${verb}${why} (GRADPOOL_SKIP_NATIVE_BUILD is set); the WebAssembly kernels will run`);
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) return say(`native kernels not ${verb} (node-gyp not found); the WebAssembly kernels will run`);
  // configure (binding.gyp takes the new source hash) and build: make recompiles what changed
  const commands = ifStale ? ['configure', 'build'] : ['rebuild'];
  // this node first on PATH: binding.gyp runs `node source-hash.cjs`
  const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };
  const result = spawnSync(process.execPath, [nodeGyp, ...commands, `--directory=${here}`, ...localHeaders()], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = join(here, 'build', 'install.log');
  mkdirSync(dirname(log), { recursive: true });
  writeFileSync(log, `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`);
  if (result.status !== 0 || !existsSync(ADDON)) return say(`native kernels not ${verb}${why} (${failureSummary(result)}; details in ${log}); the WebAssembly kernels will run`);
  const addon = probe(ADDON);
  if (addon.error) return say(`native kernels ${verb} but do not load (${addon.error}; details in ${log}); the WebAssembly kernels will run`);
  built = true;
  say(`native kernels ${verb}${why} (${addon.supportedLevels.join(', ')})`);
}

/** This platform's prebuild (compiled in a scratch folder and renamed into prebuilds/). */
async function buildHostPrebuild() {
  const { TARGETS, buildPrebuild } = await import('./prebuild.mjs');
  const target = `${process.platform}-${process.arch}`;
  if (!TARGETS[target]) return say(`native kernels not built (no prebuild target for ${target})`);
  const path = buildPrebuild(target);
  const addon = probe(path);
  if (addon.error) return say(`native kernels built but do not load (${path}: ${addon.error})`);
  built = true;
  say(`native kernels built (${addon.supportedLevels.join(', ')}): ${path}`);
}

/** npm sets npm_config_node_gyp for scripts; otherwise look beside this node's npm, then on PATH. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    ...(process.env.PATH ?? '').split(':').map((dir) => join(dir, 'node-gyp')),
  ];
  return candidates.find((path) => path && existsSync(path));
}

/**
 * Outside npm (running this script by hand) node-gyp would download Node's headers; when this
 * node's own prefix has them (a distribution's node, or npm's nodedir setting), build against those.
 */
function localHeaders() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = join(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

/**
 * What the addon at `path` says of itself ({ sourceHash, supportedLevels }, or { error }), asked in a
 * child process: this one may already hold the file's previous build, and a process loads a path once.
 */
function probe(path) {
  const script = `const a = require(${JSON.stringify(path)}); console.log(JSON.stringify({ sourceHash: a.sourceHash, supportedLevels: a.supportedLevels }))`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status === 0) return JSON.parse(result.stdout);
  return { error: (result.error?.message ?? result.stderr.split('\n').find((line) => /Error/.test(line)) ?? `exit ${result.status}`).trim() };
}

/** The most telling line of node-gyp's output: a compiler error, else node-gyp's own error. */
function failureSummary(result) {
  if (result.error) return result.error.message;
  if (/network connectivity/.test(result.stderr ?? '')) return "node-gyp could not download Node's headers";
  const lines = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.split('\n').map((l) => l.trim()).filter(Boolean);
  const line = lines.find((l) => /\berror:/.test(l)) ?? lines.find((l) => l.startsWith('gyp ERR! stack Error:'))?.slice('gyp ERR! stack '.length) ?? `node-gyp exited with ${result.status}`;
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

try {
  await main();
} catch (error) {
  say(`native kernels not built (${error instanceof Error ? error.message : String(error)}); the WebAssembly kernels will run`);
}
process.exitCode = strict && !built ? 1 : 0;
