// The Kernels interface backed by the Node-API addon built from src/native/ (C++, one build per
// instruction-set level: avx512, avx2, generic). Like the wasm kernels it works directly on the shared
// arena: the addon receives the memory's buffer once (attach) and every call passes byte offsets.
// Every Float32Array handed to these kernels must be a view over that memory's buffer.
//
// Where the addon is looked for (the first that exists is loaded; node-gyp-build's layout):
//   GRADPOOL_NATIVE_PATH (a .node file: the only place tried; a test hook; refused unless it names a
//     regular file ending in .node, since loading a device or FIFO would block for ever),
//   src/native/build/Release/gradpool_native.node (built from source: `npm install` in a clone, or
//     `gradpool build-native` in an installed package),
//   prebuilds/<platform>-<arch>/*.node (shipped in the package; no install script runs).
// An addon is used only when it was built from the sources beside it: every build compiles in the
// hash of src/native's sources (src/native/source-hash.cjs) and the addon exports it; one with
// another hash (built before the sources changed) is refused like one that does not load, with the
// command that rebuilds it, so a stale build never runs silently.
// The level is chosen once per process: GRADPOOL_NATIVE_ISA=avx512|avx2|generic when the CPU has it,
// else the best level the CPU has. Results differ between levels in the last bits of the products
// (different vector widths and summation orders); one level always gives the same bits.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Kernels } from './kernels.js';
import { pointerKernels, type PointerExports } from './pointer-kernels.js';

export type NativeIsa = 'avx512' | 'avx2' | 'generic';
export const NATIVE_ISAS: readonly NativeIsa[] = ['avx512', 'avx2', 'generic'];

/** This file compiles to dist/src/math/native-kernels.js: the package root is three levels up. */
const PACKAGE_ROOT = new URL('../../../', import.meta.url);
const BUILT_ADDON = new URL('src/native/build/Release/gradpool_native.node', PACKAGE_ROOT);

/** The addon's kernels for one arena and level: the pointer kernels, plus the level's name. */
interface NativeExports extends PointerExports {
  readonly isa: NativeIsa;
}

interface NativeAddon {
  /** The hash of the sources it was built from (absent in addons built before it existed). */
  readonly sourceHash?: string;
  /** Levels built into the addon, best first. */
  readonly compiledLevels: readonly NativeIsa[];
  /** Of those, the ones this CPU (and OS) can run, best first. */
  readonly supportedLevels: readonly NativeIsa[];
  attach(view: Uint8Array, isa: NativeIsa): NativeExports;
}

/** undefined: not tried yet; null: unavailable (reason in unavailableReason). */
let cachedAddon: NativeAddon | null | undefined;
let unavailableReason = '';
/** Unavailable because no addon file was there at all (not one that was refused). */
let addonMissing = false;

/** The platforms the package ships a prebuilt addon for (src/native/prebuild.mjs builds them). */
export const PREBUILT_PLATFORMS: readonly string[] = ['linux-x64', 'linux-arm64', 'win32-x64'];
const PLATFORM = `${process.platform}-${process.arch}`;
const BUILD_HINT = '`npx gradpool build-native` builds it from source (needs a C++ compiler)';
const REBUILD_HINT = 'rebuild it: `npm run build:native` in a clone, `npx gradpool build-native` in an installed package';

/** The .node files to try, in order. */
function candidates(): string[] {
  const forced = process.env.GRADPOOL_NATIVE_PATH;
  if (forced) return [forced];
  const found = [fileURLToPath(BUILT_ADDON)];
  const prebuilds = fileURLToPath(new URL(`prebuilds/${PLATFORM}/`, PACKAGE_ROOT));
  if (existsSync(prebuilds)) {
    const libc = process.platform === 'linux' ? (isMusl() ? 'musl' : 'glibc') : '';
    // node-gyp-build names: <name>.<tag>….node, e.g. gradpool.napi.node, gradpool.glibc.napi.node
    const files = readdirSync(prebuilds).filter((f) => f.endsWith('.node')).filter((f) => {
      const tags = f.split('.');
      return !(libc === 'glibc' && tags.includes('musl')) && !(libc === 'musl' && tags.includes('glibc'));
    });
    files.sort((x, y) => Number(y.includes('.napi')) - Number(x.includes('.napi')));
    found.push(...files.map((f) => prebuilds + f));
  }
  return found;
}

function isMusl(): boolean {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime === undefined;
}

/**
 * Why no addon was found, in the user's terms: never built (a clone before npm install), the source
 * build failed (its log is there), or no prebuild for this platform (an installed package).
 */
function missingReason(tried: readonly string[]): string {
  if (process.env.GRADPOOL_NATIVE_PATH) return `GRADPOOL_NATIVE_PATH=${process.env.GRADPOOL_NATIVE_PATH} does not exist`;
  const log = fileURLToPath(new URL('src/native/build/install.log', PACKAGE_ROOT));
  if (existsSync(log)) return `the source build failed (details in ${log}); ${BUILD_HINT} again`;
  if (existsSync(fileURLToPath(new URL('prebuilds/', PACKAGE_ROOT)))) {
    const musl = process.platform === 'linux' && isMusl() ? ' with glibc (this is musl libc)' : '';
    return `no prebuilt addon for ${PLATFORM}${musl} (prebuilt: ${PREBUILT_PLATFORMS.join(', ')}; macOS runs the WebAssembly kernels); ${BUILD_HINT}`;
  }
  return `the native addon was never built (looked for ${tried.join(', ')}); npm install in a clone, or ${BUILD_HINT}`;
}

function loadAddon(): NativeAddon | null {
  if (cachedAddon !== undefined) return cachedAddon;
  cachedAddon = null;
  const require = createRequire(import.meta.url);
  const forced = process.env.GRADPOOL_NATIVE_PATH;
  if (forced) {
    const problem = forcedAddonProblem(forced);
    if (problem) {
      unavailableReason = `GRADPOOL_NATIVE_PATH=${forced}: ${problem}; it must name a regular .node file`;
      return null;
    }
  }
  const tried: string[] = [];
  const failures: string[] = [];
  let stale = false;
  // A file that exists but does not load (another platform's build, a glibc too old) or was built
  // from other sources gives way to the next one: a prebuild may still serve where a source build
  // does not.
  for (const path of candidates()) {
    tried.push(path);
    if (!existsSync(path)) continue;
    let addon: NativeAddon;
    try {
      addon = require(path) as NativeAddon;
    } catch (error) {
      failures.push(`cannot load ${path}: ${(error as Error).message.split('\n')[0]}`);
      continue;
    }
    const mismatch = otherSources(addon);
    if (mismatch === '') return (cachedAddon = addon);
    stale = true;
    failures.push(`${path} ${mismatch}`);
  }
  addonMissing = failures.length === 0;
  unavailableReason = addonMissing ? missingReason(tried) : `${failures.join('; ')}; ${stale ? REBUILD_HINT : BUILD_HINT}`;
  return null;
}

/**
 * '' when `addon` was built from the sources shipped beside this file (or the package has none:
 * nothing to be stale against), else how it differs. Hashed only for an addon that loads, in the one
 * lookup a process makes: a few tens of KB.
 */
function otherSources(addon: NativeAddon): string {
  const hasher = fileURLToPath(new URL('src/native/source-hash.cjs', PACKAGE_ROOT));
  if (!existsSync(hasher)) return '';
  let sources: string;
  try {
    sources = (createRequire(import.meta.url)(hasher) as { sourceHash(): string }).sourceHash();
  } catch (error) {
    return `cannot be checked against its sources (${(error as Error).message.split('\n')[0]})`;
  }
  if (addon.sourceHash === sources) return '';
  return `was built from other sources (${addon.sourceHash ? `hash ${addon.sourceHash}` : 'it has no source hash'}; src/native/ now hashes to ${sources})`;
}

/** Why a GRADPOOL_NATIVE_PATH cannot be loaded, checked before anything opens it; '' when it can. */
function forcedAddonProblem(path: string): string {
  if (!path.endsWith('.node')) return 'not a .node file';
  let info;
  try {
    info = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? '' : `cannot use it (${code ?? String(error)})`; // missing: no addon, said as before
  }
  return info.isFile() ? '' : 'not a regular file';
}

/** True when the addon was found and loads in this process. */
export function nativeKernelsAvailable(): boolean {
  return loadAddon() !== null;
}

/** Why nativeKernelsAvailable() is false ('' when it is true). */
export function nativeUnavailableReason(): string {
  return loadAddon() === null ? unavailableReason : '';
}

/**
 * True when the addon is unavailable because none was found (never built, its build failed, no
 * prebuild for this platform); false when it loads or one was found and refused (it does not load,
 * or was built from other sources).
 */
export function nativeAddonMissing(): boolean {
  return loadAddon() === null && addonMissing;
}

/** The levels this CPU can run from this addon, best first (empty when the addon is unavailable). */
export function nativeIsaLevels(): NativeIsa[] {
  return [...(loadAddon()?.supportedLevels ?? [])];
}

/**
 * The level this process runs, and a note when GRADPOOL_NATIVE_ISA asked for another one:
 * a level the CPU lacks (or an unknown name) falls back to the best level it has.
 */
export function nativeIsa(): { isa: NativeIsa; note: string } {
  const levels = nativeIsaLevels();
  const best = levels[0] ?? 'generic';
  const wanted = process.env.GRADPOOL_NATIVE_ISA;
  if (!wanted || wanted === best) return { isa: best, note: '' };
  if (levels.includes(wanted as NativeIsa)) return { isa: wanted as NativeIsa, note: '' };
  const why = NATIVE_ISAS.includes(wanted as NativeIsa)
    ? (loadAddon()?.compiledLevels.includes(wanted as NativeIsa) ? 'this CPU lacks it' : 'the addon was built without it')
    : `levels are ${NATIVE_ISAS.join(', ')}`;
  return { isa: best, note: `GRADPOOL_NATIVE_ISA=${wanted}: ${why}; using ${best}` };
}

/**
 * Attaches the native kernels to `memory`, which must be shared (its buffer a SharedArrayBuffer):
 * every view passed to the returned kernels must live in it. `isa` picks a level (tests run each
 * one); by default the process's level (nativeIsa()). Throws when the addon is unavailable (check
 * nativeKernelsAvailable() first) or the level cannot run here.
 */
export function loadNativeKernels(memory: WebAssembly.Memory, options: { isa?: NativeIsa } = {}): Kernels {
  const addon = loadAddon();
  if (addon === null) throw new Error(`native kernels unavailable: ${unavailableReason}`);
  if (!(memory.buffer instanceof SharedArrayBuffer)) throw new TypeError('loadNativeKernels needs a shared WebAssembly.Memory');
  const isa = options.isa ?? nativeIsa().isa;
  if (!addon.supportedLevels.includes(isa)) throw new RangeError(`native kernels: level ${isa} is not available here (available: ${addon.supportedLevels.join(', ')})`);
  return pointerKernels(`native-${isa}`, 'native kernels', memory, addon.attach(new Uint8Array(memory.buffer, 0, 1), isa));
}
