// Which kernel set a run computes with: the policy "option → kernel set" lives here, above math,
// which only provides the sets. The choice is made once, on the coordinator, and every thread of the
// run loads the same set (and the native set the same instruction-set level, chosen once per
// process): mixing them would make results depend on who computed which shard.
import { InputError, optionRef } from '../errors.js';
import { referenceKernels, type Kernels } from '../math/kernels.js';
import { loadNativeKernels, nativeIsa, nativeKernelsAvailable, nativeUnavailableReason, type NativeIsa } from '../math/native-kernels.js';
import { loadWasmKernels, wasmKernelsAvailable } from '../math/wasm-kernels.js';

/** The families of kernel sets a run can use. */
export type KernelSetName = 'native' | 'wasm' | 'typescript';
/** What a caller may ask for: a family by name, or auto (the fastest that loads here). */
export type KernelOption = 'auto' | KernelSetName;
export const KERNEL_OPTIONS: readonly KernelOption[] = ['auto', 'native', 'wasm', 'typescript'];

export function resolveKernelSet(option: KernelOption): KernelSetName {
  if (option === 'typescript') return 'typescript';
  if (option === 'native') {
    if (nativeKernelsAvailable()) return 'native';
    throw new InputError(`${optionRef('kernels')} native: ${nativeUnavailableReason()}`);
  }
  if (option === 'auto' && nativeKernelsAvailable()) return 'native';
  if (wasmKernelsAvailable()) return 'wasm';
  if (option === 'wasm') throw new InputError(`${optionRef('kernels')} wasm: the WebAssembly SIMD kernels could not be loaded on this Node`);
  return 'typescript';
}

/**
 * A line for the person running (empty when there is nothing to say): the level note of the native
 * set, or why auto fell back from native (how to build it from source is part of the reason).
 */
export function kernelNote(option: KernelOption, family: KernelSetName): string {
  if (family === 'native') return nativeIsa().note;
  if (option === 'auto') return `native kernels unavailable: ${nativeUnavailableReason()}; running the ${family === 'wasm' ? 'WebAssembly' : 'TypeScript'} kernels`;
  return '';
}

/**
 * The kernel set itself, bound to the run's shared memory. `like` is the coordinator's exact set
 * (native-avx2, wasm-relaxed-simd, …): a worker passes it so that it loads exactly that one.
 */
export function loadKernelSet(family: KernelSetName, memory: WebAssembly.Memory, like?: string): Kernels {
  if (family === 'native') return loadNativeKernels(memory, like?.startsWith('native-') ? { isa: like.slice('native-'.length) as NativeIsa } : {});
  if (family === 'wasm') return loadWasmKernels(memory, like ? { relaxedSimd: like === 'wasm-relaxed-simd' } : {});
  return referenceKernels;
}
