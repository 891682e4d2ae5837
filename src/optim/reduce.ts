// Combining the shards' gradient sums, over a range of parameters so that several threads can
// each take a slice. Elementwise, so any slicing gives identical results.
import type { Kernels } from '../math/kernels.js';

/**
 * Adds slabs[0..count) into slabs[0] over [from, to) in a fixed pairwise tree:
 * (0+1)(2+3)… then (0+2)(4+6)… — the same order whatever thread runs which slice.
 */
export function treeReduce(kernels: Kernels, slabs: readonly Float32Array[], count: number, from: number, to: number): void {
  for (let stride = 1; stride < count; stride *= 2) {
    for (let target = 0; target + stride < count; target += 2 * stride) {
      kernels.addInto(slabs[target]!, slabs[target + stride]!, from, to);
    }
  }
}
