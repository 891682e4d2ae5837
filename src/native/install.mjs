// npm's `install` step: builds the native kernels addon with node-gyp (bundled with npm) in the folder
// of this script. It never fails the install: without a compiler, or when the build fails, it prints
// one line and exits 0, and gradpool runs the WebAssembly kernels. The build's full output goes to
// build/install.log beside this script.
//   GRADPOOL_SKIP_NATIVE_BUILD=1   skip the build
//   --prebuild                     (npm pack) build afresh and copy the addon into
//                                  prebuilds/<platform>-<arch>/, the node-gyp-build layout the loader
//                                  looks in, so that installs without a compiler or without install
//                                  scripts still get native kernels (it dispatches on CPU features)
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = join(here, '..', '..');
const say = (line) => console.log(`gradpool: ${line}`);

const prebuild = process.argv.includes('--prebuild');

function main() {
  if (process.env.GRADPOOL_SKIP_NATIVE_BUILD) return say('native kernels not built (GRADPOOL_SKIP_NATIVE_BUILD is set); the WebAssembly kernels will run');
  const prebuilt = prebuiltAddon();
  if (!prebuild && prebuilt && loads(prebuilt)) return say(`using the prebuilt native kernels ${prebuilt}`);

  const nodeGyp = findNodeGyp();
  if (!nodeGyp) return say('native kernels not built (node-gyp not found); the WebAssembly kernels will run');
  // A prebuild compiles in a scratch copy of the sources: rebuilding build/ in place would take the
  // addon away from every gradpool process that starts meanwhile (they would fall back to wasm).
  const source = prebuild ? scratchCopy() : here;
  const result = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--directory=${source}`, ...localHeaders()], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const log = join(source, 'build', 'install.log');
  mkdirSync(dirname(log), { recursive: true });
  writeFileSync(log, `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`);
  const addon = join(source, 'build', 'Release', 'gradpool_native.node');
  if (result.status !== 0 || !existsSync(addon)) return say(`native kernels not built (${failureSummary(result)}; details in ${log}); the WebAssembly kernels will run`);
  if (!loads(addon)) return say(`native kernels built but do not load (details in ${log}); the WebAssembly kernels will run`);
  say(`native kernels built (${createRequire(import.meta.url)(addon).supportedLevels.join(', ')})`);
  if (prebuild) {
    const dir = join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`);
    mkdirSync(dir, { recursive: true });
    // Copied beside, then renamed: a process loading the prebuilt addon never sees half a file.
    const target = join(dir, 'gradpool.napi.node');
    copyFileSync(addon, `${target}.tmp-${process.pid}`);
    renameSync(`${target}.tmp-${process.pid}`, target);
    rmSync(source, { recursive: true, force: true });
    say(`prebuilt addon copied to ${target}`);
  }
}

/** The addon's sources (binding.gyp, *.cc, *.h) in a new temporary folder. */
function scratchCopy() {
  const dir = mkdtempSync(join(tmpdir(), 'gradpool-prebuild-'));
  for (const name of readdirSync(here)) if (name === 'binding.gyp' || /\.(cc|h)$/.test(name)) copyFileSync(join(here, name), join(dir, name));
  return dir;
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

function prebuiltAddon() {
  const dir = join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`);
  if (!existsSync(dir)) return undefined;
  const file = readdirSync(dir).find((f) => f.endsWith('.node'));
  return file ? join(dir, file) : undefined;
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
  main();
} catch (error) {
  say(`native kernels not built (${error instanceof Error ? error.message : String(error)}); the WebAssembly kernels will run`);
}
process.exitCode = 0;
