// Which kernel set a run computes with: the policy "option → kernel set" lives here, above math,
// which only provides the sets. The choice is made once, on the coordinator, and every thread of the
// run loads the same set: mixing them would make results depend on who computed which shard.
import { InputError, optionRef } from '../errors.js';
import { referenceKernels, type Kernels } from '../math/kernels.js';
import { loadWasmKernels, wasmKernelsAvailable } from '../math/wasm-kernels.js';

/** The kernel sets a run can use. */
export type KernelSetName = 'wasm' | 'typescript';
/** What a caller may ask for: a set by name, or auto (the fastest that loads here). */
export type KernelOption = 'auto' | KernelSetName;
export const KERNEL_OPTIONS: readonly KernelOption[] = ['auto', 'wasm', 'typescript'];

export function resolveKernelSet(option: KernelOption): KernelSetName {
  if (option === 'typescript') return 'typescript';
  if (wasmKernelsAvailable()) return 'wasm';
  if (option === 'wasm') throw new InputError(`${optionRef('kernels')} wasm: the WebAssembly SIMD kernels could not be loaded on this Node`);
  return 'typescript';
}

/** The kernel set itself, bound to the run's shared memory. */
export function loadKernelSet(name: KernelSetName, memory: WebAssembly.Memory): Kernels {
  return name === 'wasm' ? loadWasmKernels(memory) : referenceKernels;
}
