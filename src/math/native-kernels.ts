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
// The level is chosen once per process: GRADPOOL_NATIVE_ISA=avx512|avx2|generic when the CPU has it,
// else the best level the CPU has. Results differ between levels in the last bits of the products
// (different vector widths and summation orders); one level always gives the same bits.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { HiddenActivation, Kernels, LossKind } from './kernels.js';

export type NativeIsa = 'avx512' | 'avx2' | 'generic';
export const NATIVE_ISAS: readonly NativeIsa[] = ['avx512', 'avx2', 'generic'];

/** This file compiles to dist/src/math/native-kernels.js: the package root is three levels up. */
const PACKAGE_ROOT = new URL('../../../', import.meta.url);
const BUILT_ADDON = new URL('src/native/build/Release/gradpool_native.node', PACKAGE_ROOT);

interface NativeExports {
  readonly isa: NativeIsa;
  denseForward(z: number, a: number, w: number, b: number, rows: number, inputs: number, outputs: number): void;
  denseBackwardParams(dw: number, db: number, dz: number, a: number, rows: number, inputs: number, outputs: number, accumulate: boolean): void;
  denseBackwardInput(da: number, dz: number, w: number, rows: number, inputs: number, outputs: number): void;
  activationForward(kind: number, values: number, count: number): void;
  activationBackward(kind: number, grad: number, a: number, count: number): void;
  outputLoss(kind: number, out: number, dz: number, y: number, rows: number, outputs: number): number;
  addInto(into: number, add: number, count: number): void;
  sgdUpdate(w: number, g: number, count: number, lrMean: number, lrDecay: number): void;
  momentumUpdate(w: number, g: number, velocity: number, count: number, lr: number, invBatch: number, decay: number, momentum: number): void;
  adamUpdate(w: number, g: number, first: number, second: number, count: number, lr: number, invBatch: number, decay: number,
    beta1: number, beta2: number, epsilon: number, correction1: number, correction2: number): void;
}

interface NativeAddon {
  /** Levels built into the addon, best first. */
  readonly compiledLevels: readonly NativeIsa[];
  /** Of those, the ones this CPU (and OS) can run, best first. */
  readonly supportedLevels: readonly NativeIsa[];
  attach(view: Uint8Array, isa: NativeIsa): NativeExports;
}

/** undefined: not tried yet; null: unavailable (reason in unavailableReason). */
let cachedAddon: NativeAddon | null | undefined;
let unavailableReason = '';

/** The platforms the package ships a prebuilt addon for (src/native/prebuild.mjs builds them). */
export const PREBUILT_PLATFORMS: readonly string[] = ['linux-x64', 'linux-arm64', 'win32-x64'];
const PLATFORM = `${process.platform}-${process.arch}`;
const BUILD_HINT = '`npx gradpool build-native` builds it from source (needs a C++ compiler)';

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
  // A file that exists but does not load (another platform's build, a glibc too old) gives way to
  // the next one: a prebuild may still load where a stale source build does not.
  for (const path of candidates()) {
    tried.push(path);
    if (!existsSync(path)) continue;
    try {
      cachedAddon = require(path) as NativeAddon;
      return cachedAddon;
    } catch (error) {
      failures.push(`cannot load ${path}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  unavailableReason = failures.length > 0 ? `${failures.join('; ')}; ${BUILD_HINT}` : missingReason(tried);
  return null;
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

const ACTIVATION_CODES: Readonly<Record<HiddenActivation, number>> = { relu: 0, sigmoid: 1, tanh: 2 };
const LOSS_CODES: Readonly<Record<LossKind, number>> = { bce: 0, 'cross-entropy': 1, mse: 2 };

/**
 * Attaches the native kernels to `memory`, which must be shared (its buffer a SharedArrayBuffer):
 * every view passed to the returned kernels must live in it. `isa` picks a level (tests run each
 * one); by default the process's level (nativeIsa()). Throws when the addon is unavailable (check
 * nativeKernelsAvailable() first) or the level cannot run here.
 */
export function loadNativeKernels(memory: WebAssembly.Memory, options: { isa?: NativeIsa } = {}): Kernels {
  const addon = loadAddon();
  if (addon === null) throw new Error(`native kernels unavailable: ${unavailableReason}`);
  let buffer = memory.buffer;
  if (!(buffer instanceof SharedArrayBuffer)) throw new TypeError('loadNativeKernels needs a shared WebAssembly.Memory');
  const isa = options.isa ?? nativeIsa().isa;
  if (!addon.supportedLevels.includes(isa)) throw new RangeError(`native kernels: level ${isa} is not available here (available: ${addon.supportedLevels.join(', ')})`);
  const k = addon.attach(new Uint8Array(buffer, 0, 1), isa);

  /** Byte offset of a view, after checking it lies in `memory` and holds at least `count` floats. */
  function ptr(view: Float32Array, count: number, what: string): number {
    if (view.buffer !== buffer) {
      buffer = memory.buffer; // a memory's buffer object is stable unless the memory grew (its address never moves)
      if (view.buffer !== buffer) throw new TypeError(`native kernels: ${what} is not a view over the kernels' WebAssembly.Memory`);
    }
    if (view.length < count) throw new RangeError(`native kernels: ${what} holds ${view.length} floats, needs ${count}`);
    return view.byteOffset;
  }

  function activationCode(activation: HiddenActivation): number {
    const code = ACTIVATION_CODES[activation];
    if (code === undefined) throw new RangeError(`unknown activation ${String(activation)}`);
    return code;
  }

  return {
    name: `native-${isa}`,
    denseForward(z, a, w, b, rows, inputs, outputs) {
      if (rows <= 0 || outputs <= 0) return;
      k.denseForward(ptr(z, rows * outputs, 'z'), ptr(a, rows * inputs, 'a'), ptr(w, outputs * inputs, 'w'), ptr(b, outputs, 'b'), rows, Math.max(inputs, 0), outputs);
    },
    denseBackwardParams(dw, db, dz, a, rows, inputs, outputs, accumulate) {
      if (outputs <= 0) return;
      k.denseBackwardParams(ptr(dw, outputs * inputs, 'dw'), ptr(db, outputs, 'db'), ptr(dz, rows * outputs, 'dz'), ptr(a, rows * inputs, 'a'), Math.max(rows, 0), Math.max(inputs, 0), outputs, accumulate);
    },
    denseBackwardInput(da, dz, w, rows, inputs, outputs) {
      if (rows <= 0 || inputs <= 0) return;
      k.denseBackwardInput(ptr(da, rows * inputs, 'da'), ptr(dz, rows * outputs, 'dz'), ptr(w, outputs * inputs, 'w'), rows, inputs, Math.max(outputs, 0));
    },
    activationForward(activation, values, count) {
      if (count <= 0) return;
      k.activationForward(activationCode(activation), ptr(values, count, 'values'), count);
    },
    activationBackward(activation, grad, a, count) {
      if (count <= 0) return;
      k.activationBackward(activationCode(activation), ptr(grad, count, 'grad'), ptr(a, count, 'a'), count);
    },
    outputLoss(loss, out, dz, y, rows, outputs) {
      if (rows <= 0 || outputs <= 0) return 0;
      const code = LOSS_CODES[loss];
      if (code === undefined) throw new RangeError(`unknown loss ${String(loss)}`);
      const count = rows * outputs;
      return k.outputLoss(code, ptr(out, count, 'out'), ptr(dz, count, 'dz'), ptr(y, count, 'y'), rows, outputs);
    },
    addInto(into, add, from, to) {
      if (to <= from) return;
      k.addInto(ptr(into, to, 'into') + from * 4, ptr(add, to, 'add') + from * 4, to - from);
    },
    sgdUpdate(w, g, from, to, lrMean, lrDecay) {
      if (to <= from) return;
      k.sgdUpdate(ptr(w, to, 'w') + from * 4, ptr(g, to, 'g') + from * 4, to - from, lrMean, lrDecay);
    },
    momentumUpdate(w, g, velocity, from, to, lr, invBatch, decay, momentum) {
      if (to <= from) return;
      k.momentumUpdate(ptr(w, to, 'w') + from * 4, ptr(g, to, 'g') + from * 4, ptr(velocity, to, 'velocity') + from * 4, to - from, lr, invBatch, decay, momentum);
    },
    adamUpdate(w, g, first, second, from, to, lr, invBatch, decay, beta1, beta2, epsilon, correction1, correction2) {
      if (to <= from) return;
      k.adamUpdate(ptr(w, to, 'w') + from * 4, ptr(g, to, 'g') + from * 4, ptr(first, to, 'first') + from * 4, ptr(second, to, 'second') + from * 4,
        to - from, lr, invBatch, decay, beta1, beta2, epsilon, correction1, correction2);
    },
  };
}
