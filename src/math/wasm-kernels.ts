// The Kernels interface backed by the WebAssembly SIMD module built from src/wasm/assembly/kernels.ts
// (`npm run build:wasm` → dist/wasm/kernels.wasm). The module imports one shared memory; every
// Float32Array handed to these kernels must be a view over that memory's buffer, and its byteOffset is
// the pointer passed to wasm. Nothing is allocated per call.

import { readFileSync } from 'node:fs';
import { adamUpdate, momentumUpdate, type HiddenActivation, type Kernels, type LossKind } from './kernels.js';

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

const ACTIVATION_CODES: Readonly<Record<HiddenActivation, number>> = { relu: 0, sigmoid: 1, tanh: 2 };
const LOSS_CODES: Readonly<Record<LossKind, number>> = { bce: 0, 'cross-entropy': 1, mse: 2 };

interface KernelExports {
  denseForward(z: number, a: number, w: number, b: number, rows: number, inputs: number, outputs: number): void;
  denseBackwardParams(dw: number, db: number, dz: number, a: number, rows: number, inputs: number, outputs: number, accumulate: number): void;
  denseBackwardInput(da: number, dz: number, w: number, rows: number, inputs: number, outputs: number): void;
  activationForward(kind: number, values: number, count: number): void;
  activationBackward(kind: number, grad: number, a: number, count: number): void;
  outputLoss(kind: number, out: number, dz: number, y: number, rows: number, outputs: number): number;
  addInto(into: number, add: number, count: number): void;
  sgdUpdate(w: number, g: number, count: number, lrMean: number, lrDecay: number): void;
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
  let buffer = memory.buffer;
  if (!(buffer instanceof SharedArrayBuffer)) throw new TypeError('loadWasmKernels needs a shared WebAssembly.Memory');
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      abort() { throw new Error('wasm kernels aborted'); },
    },
  });
  const k = instance.exports as unknown as KernelExports;

  /** Byte pointer of a view, after checking it lies in `memory` and holds at least `count` floats. */
  function ptr(view: Float32Array, count: number, what: string): number {
    if (view.buffer !== buffer) {
      buffer = memory.buffer; // a memory's buffer object is stable unless the memory grew
      if (view.buffer !== buffer) throw new TypeError(`wasm kernels: ${what} is not a view over the kernels' WebAssembly.Memory`);
    }
    if (view.length < count) throw new RangeError(`wasm kernels: ${what} holds ${view.length} floats, needs ${count}`);
    return view.byteOffset;
  }

  function activationCode(activation: HiddenActivation): number {
    const code = ACTIVATION_CODES[activation];
    if (code === undefined) throw new RangeError(`unknown activation ${String(activation)}`);
    return code;
  }

  return {
    name: relaxed ? 'wasm-relaxed-simd' : 'wasm-simd',
    denseForward(z, a, w, b, rows, inputs, outputs) {
      if (rows <= 0 || outputs <= 0) return;
      k.denseForward(ptr(z, rows * outputs, 'z'), ptr(a, rows * inputs, 'a'), ptr(w, outputs * inputs, 'w'), ptr(b, outputs, 'b'), rows, inputs, outputs);
    },
    denseBackwardParams(dw, db, dz, a, rows, inputs, outputs, accumulate) {
      if (outputs <= 0) return;
      k.denseBackwardParams(ptr(dw, outputs * inputs, 'dw'), ptr(db, outputs, 'db'), ptr(dz, rows * outputs, 'dz'), ptr(a, rows * inputs, 'a'), rows, inputs, outputs, accumulate ? 1 : 0);
    },
    denseBackwardInput(da, dz, w, rows, inputs, outputs) {
      if (rows <= 0 || inputs <= 0) return;
      k.denseBackwardInput(ptr(da, rows * inputs, 'da'), ptr(dz, rows * outputs, 'dz'), ptr(w, outputs * inputs, 'w'), rows, inputs, outputs);
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
    sgdUpdate(w, g, from, to, lrMean, lrDecay) {
      if (to <= from) return;
      k.sgdUpdate(ptr(w, to, 'w') + from * 4, ptr(g, to, 'g') + from * 4, to - from, lrMean, lrDecay);
    },
    addInto(into, add, from, to) {
      if (to <= from) return;
      k.addInto(ptr(into, to, 'into') + from * 4, ptr(add, to, 'add') + from * 4, to - from);
    },
    // f64 arithmetic per element: the reference's loops serve (V8 compiles them well enough for updates)
    momentumUpdate,
    adamUpdate,
  };
}
