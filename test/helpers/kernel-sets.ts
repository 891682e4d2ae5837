// The kernel sets this build can run, for tests that must cover every one of them.
// A set is any --kernels choice other than 'auto' that resolves to itself here (the wasm SIMD
// build when it loads, the TypeScript reference always). A set added to the option list (e.g.
// 'native') joins every test that loops over KERNEL_SETS without another line.
import { KERNEL_OPTIONS, resolveKernelSet, type KernelOption, type KernelSetName } from '../../src/parallel/kernel-set.js';

function loads(option: KernelOption): boolean {
  try {
    return resolveKernelSet(option) === option;
  } catch {
    return false;
  }
}

export const KERNEL_SETS: readonly KernelSetName[] = KERNEL_OPTIONS.filter((option): option is KernelSetName => option !== 'auto' && loads(option));

/** The sets that are not the TypeScript reference: those compared against it. */
export const FAST_KERNEL_SETS: readonly KernelSetName[] = KERNEL_SETS.filter((set) => set !== 'typescript');
