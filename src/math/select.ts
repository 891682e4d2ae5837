// Which kernels a thread runs: the native addon when it loaded, else the wasm SIMD build, else the
// TypeScript reference. The choice is made once, on the coordinator, and every thread of the run uses
// the same set (and the native set the same instruction-set level, chosen once per process):
// mixing them would make results depend on who computed which shard.
import type { KernelOption } from '../options.js';
import type { KernelChoice } from '../parallel/protocol.js';
import { InputError } from '../errors.js';
import { referenceKernels, type Kernels } from './kernels.js';
import { loadNativeKernels, nativeKernelsAvailable, nativeUnavailableReason, type NativeIsa } from './native-kernels.js';
import { loadWasmKernels, wasmKernelsAvailable } from './wasm-kernels.js';

export function resolveKernelChoice(option: KernelOption): KernelChoice {
  if (option === 'typescript') return 'typescript';
  if (option === 'native') {
    if (nativeKernelsAvailable()) return 'native';
    throw new InputError(`--kernels native: ${nativeUnavailableReason()}`);
  }
  if (option === 'auto' && nativeKernelsAvailable()) return 'native';
  if (wasmKernelsAvailable()) return 'wasm';
  if (option === 'wasm') throw new InputError('--kernels wasm: the WebAssembly SIMD kernels could not be loaded on this Node');
  return 'typescript';
}

/**
 * The kernels for `choice`, attached to `memory`. `like` is the name of the coordinator's set: a worker
 * passes it so that it loads exactly that set (the same native level, the same wasm build).
 */
export function selectKernels(choice: KernelChoice, memory: WebAssembly.Memory, like?: string): Kernels {
  if (choice === 'native') return loadNativeKernels(memory, like?.startsWith('native-') ? { isa: like.slice('native-'.length) as NativeIsa } : {});
  if (choice === 'wasm') return loadWasmKernels(memory, like ? { relaxedSimd: like === 'wasm-relaxed-simd' } : {});
  return referenceKernels;
}
