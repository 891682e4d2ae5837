// The kernel sets this build can run, for tests that must cover every one of them.
// A set is any --kernels choice other than 'auto' that resolves to itself here (native where the
// addon built, wasm SIMD when it loads, the TypeScript reference always). A set added to the option
// list joins every test that loops over KERNEL_SETS without another line.
import type { Kernels } from '../../src/math/kernels.js';
import { nativeIsaLevels } from '../../src/math/native-kernels.js';
import { relaxedWasmKernelsAvailable } from '../../src/math/wasm-kernels.js';
import { KERNEL_OPTIONS, loadKernelSet, resolveKernelSet, type KernelOption, type KernelSetName } from '../../src/parallel/kernel-set.js';

function loads(option: KernelOption): boolean {
  try {
    return resolveKernelSet(option) === option;
  } catch {
    return false;
  }
}

export const KERNEL_SETS: readonly KernelSetName[] = KERNEL_OPTIONS.filter((option): option is KernelSetName => option !== 'auto' && loads(option));

/** The exact variants within each set (native instruction-set levels, wasm with and without relaxed SIMD). */
const VARIANTS: Record<KernelSetName, () => string[]> = {
  native: () => nativeIsaLevels().map((isa) => `native-${isa}`),
  wasm: () => ['wasm-simd', ...(relaxedWasmKernelsAvailable() ? ['wasm-relaxed-simd'] : [])],
  typescript: () => ['typescript'],
};

/** Every variant of every set that loads here, bound to `memory`. */
export function kernelVariants(memory: WebAssembly.Memory): { name: string; kernels: Kernels }[] {
  return KERNEL_SETS.flatMap((set) => VARIANTS[set]().map((name) => ({ name, kernels: loadKernelSet(set, memory, name) })));
}
