// The Kernels interface backed by the WebAssembly SIMD module built from src/wasm/assembly/kernels.ts
// (`npm run build:wasm` → dist/wasm/kernels.wasm). The module imports one shared memory; every
// Float32Array handed to these kernels must be a view over that memory's buffer, and its byteOffset is
// the pointer passed to wasm (the adapter is pointer-kernels.ts, shared with the native set).

import { readFileSync } from 'node:fs';
import type { Kernels } from './kernels.js';
import { pointerKernels, type PointerExports } from './pointer-kernels.js';

/** This file compiles to dist/src/math/wasm-kernels.js; the modules sit in dist/wasm/. */
const WASM_URL = new URL('../../wasm/kernels.wasm', import.meta.url);
/** The same source built with relaxed SIMD: the products' multiply-adds are f32x4.relaxed_madd. */
const RELAXED_WASM_URL = new URL('../../wasm/kernels-relaxed.wasm', import.meta.url);

/** The smallest module that uses 128-bit SIMD: (func (param v128 v128) (result v128) f32x4.add). */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x07, 0x01, 0x60, 0x02, 0x7b, 0x7b, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00,
  0x0a, 0x0b, 0x01, 0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0xfd, 0xe4, 0x01, 0x0b,
]);

/**
 * (func (param v128 v128 v128) (result v128) f32x4.relaxed_madd): validates on Node 22 and later, and
 * on Node 20 only with --experimental-wasm-relaxed-simd.
 */
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00,
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b,
]);

/** undefined: not tried yet; null: unavailable (file missing, no SIMD, or it failed to compile). */
let cachedModule: WebAssembly.Module | null | undefined;
let cachedRelaxedModule: WebAssembly.Module | null | undefined;
let unavailableReason = '';

function compiledModule(): WebAssembly.Module | null {
  if (cachedModule !== undefined) return cachedModule;
  cachedModule = null;
  try {
    if (!WebAssembly.validate(SIMD_PROBE)) {
      unavailableReason = 'this runtime does not support WebAssembly SIMD';
    } else {
      cachedModule = new WebAssembly.Module(readFileSync(WASM_URL));
    }
  } catch (error) {
    unavailableReason = `cannot load ${WASM_URL.pathname}: ${(error as Error).message}`;
  }
  return cachedModule;
}

/** The relaxed-SIMD build, where the runtime validates relaxed SIMD and the file compiles; else null. */
function compiledRelaxedModule(): WebAssembly.Module | null {
  if (cachedRelaxedModule !== undefined) return cachedRelaxedModule;
  cachedRelaxedModule = null;
  try {
    if (compiledModule() !== null && WebAssembly.validate(RELAXED_SIMD_PROBE)) cachedRelaxedModule = new WebAssembly.Module(readFileSync(RELAXED_WASM_URL));
  } catch {
    // a missing or invalid relaxed build only costs speed: the plain build serves
  }
  return cachedRelaxedModule;
}

/** True when dist/wasm/kernels.wasm exists, compiles, and the runtime has WebAssembly SIMD. */
export function wasmKernelsAvailable(): boolean {
  return compiledModule() !== null;
}

/** True when the relaxed-SIMD build loads here (loadWasmKernels then uses it by default). */
export function relaxedWasmKernelsAvailable(): boolean {
  return compiledRelaxedModule() !== null;
}

/**
 * Instantiates the SIMD kernels against `memory`, which must be the shared memory
 * (`new WebAssembly.Memory({ initial, maximum, shared: true })`) whose buffer every view passed to
 * the returned kernels lives in. The module keeps its own constants in the first 1 MiB of that
 * memory and writes nowhere else but the output views it is given. Throws when the kernels are
 * unavailable (check wasmKernelsAvailable() first) or the memory is not shared.
 * The relaxed-SIMD build runs where it loads (its fused multiply-adds round differently from the plain
 * build's); `relaxedSimd: false` asks for the plain build, `true` insists on the relaxed one.
 */
export function loadWasmKernels(memory: WebAssembly.Memory, options: { relaxedSimd?: boolean } = {}): Kernels {
  const plain = compiledModule();
  if (plain === null) throw new Error(`wasm kernels unavailable: ${unavailableReason}`);
  const relaxed = options.relaxedSimd === false ? null : compiledRelaxedModule();
  if (options.relaxedSimd === true && relaxed === null) throw new Error('wasm kernels: relaxed SIMD is unavailable on this runtime (Node 20 needs --experimental-wasm-relaxed-simd)');
  const module = relaxed ?? plain;
  if (!(memory.buffer instanceof SharedArrayBuffer)) throw new TypeError('loadWasmKernels needs a shared WebAssembly.Memory');
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      abort() { throw new Error('wasm kernels aborted'); },
    },
  });
  return pointerKernels(relaxed ? 'wasm-relaxed-simd' : 'wasm-simd', 'wasm kernels', memory, instance.exports as unknown as PointerExports);
}
