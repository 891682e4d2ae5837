// Builds the native kernels addon from source with node-gyp (bundled with npm) in the folder of this
// script. It runs in a clone's `npm install` (the prepare script, which npm, pnpm and yarn never run
// for a package installed from the registry or a tarball: consumers get prebuilds/ and no install
// script), and as `gradpool build-native` in an installed package. Without a compiler, or when the
// build fails, it prints one line and gradpool runs the WebAssembly kernels; the build's full output
// goes to build/install.log beside this script.
//   GRADPOOL_SKIP_NATIVE_BUILD=1   skip the build
//   --strict                       exit 1 when the addon was not built (gradpool build-native)
//   --prebuild                     build prebuilds/<this platform>/ instead (src/native/prebuild.mjs,
//                                  the build the package ships; npm pack builds every target it can)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const say = (line) => console.log(`gradpool: ${line}`);

const prebuild = process.argv.includes('--prebuild');
const strict = process.argv.includes('--strict');
let built = false;

async function main() {
  if (prebuild) return buildHostPrebuild();
  if (process.env.GRADPOOL_SKIP_NATIVE_BUILD) return say('native kernels not built (GRADPOOL_SKIP_NATIVE_BUILD is set); the WebAssembly kernels will run');
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) return say('native kernels not built (node-gyp not found); the WebAssembly kernels will run');
  const source = here;
  const result = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--directory=${source}`, ...localHeaders()], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const log = join(source, 'build', 'install.log');
  mkdirSync(dirname(log), { recursive: true });
  writeFileSync(log, `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`);
  const addon = join(source, 'build', 'Release', 'gradpool_native.node');
  if (result.status !== 0 || !existsSync(addon)) return say(`native kernels not built (${failureSummary(result)}; details in ${log}); the WebAssembly kernels will run`);
  if (!loads(addon)) return say(`native kernels built but do not load (details in ${log}); the WebAssembly kernels will run`);
  built = true;
  say(`native kernels built (${createRequire(import.meta.url)(addon).supportedLevels.join(', ')})`);
}

/** This platform's prebuild (compiled in a scratch folder and renamed into prebuilds/). */
async function buildHostPrebuild() {
  const { TARGETS, buildPrebuild } = await import('./prebuild.mjs');
  const target = `${process.platform}-${process.arch}`;
  if (!TARGETS[target]) return say(`native kernels not built (no prebuild target for ${target})`);
  const addon = buildPrebuild(target);
  if (!loads(addon)) return say(`native kernels built but do not load (${addon})`);
  built = true;
  say(`native kernels built (${createRequire(import.meta.url)(addon).supportedLevels.join(', ')}): ${addon}`);
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

function loads(path) {
  try {
    createRequire(import.meta.url)(path);
    return true;
  } catch {
    return false;
  }
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
