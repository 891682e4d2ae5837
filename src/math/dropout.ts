// Inverted dropout on a hidden layer's outputs, for training only: a unit is kept with probability
// 1 − rate and then scaled by 1/(1 − rate), so that evaluation (no dropout) sees the same expected
// values. Whether a unit is kept is a hash of (seed, step, row of the batch, layer, unit) — nothing
// about who computes the row — so the weights never depend on the thread count or a team's split.
// Plain TypeScript over any Float32Array/Float64Array view: it serves every kernel set, since the
// wasm and native sets work on views of the same shared memory.
import type { Floats } from './kernels.js';

/** Which rows a chunk holds, for the masks: the run's seed, the 1-based step and the batch row of buffer row 0. */
export interface DropoutRows {
  readonly rate: number;
  readonly seed: number;
  step: number;
  batchRow: number;
}

/** murmur3's finaliser: a 32-bit mix whose every output bit depends on every input bit. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The hash of one row's units of one layer, before the unit is mixed in. */
function rowHash(seed: number, step: number, row: number, layer: number): number {
  return mix(mix(mix(mix(seed ^ 0x2545f491) ^ step) ^ row) ^ layer);
}

function unitKept(base: number, unit: number, rate: number): boolean {
  return mix(base ^ Math.imul(unit + 1, 0x9e3779b9)) / 2 ** 32 >= rate;
}

/** True when unit `unit` of layer `layer` is kept in batch row `row` (of rows.step). */
export function dropoutKeeps(rows: DropoutRows, row: number, layer: number, unit: number): boolean {
  return unitKept(rowHash(rows.seed, rows.step, row, layer), unit, rows.rate);
}

/**
 * out[r, u] = keeps(r, u) ? input[r, u] / (1 − rate) : 0 for view rows [from, to) and units [first, end)
 * (default: all) of [· × width] views (out may be input: in place). Forward on the outputs, backward on
 * their gradient: the same mask.
 */
export function applyDropout(out: Floats, input: Floats, from: number, to: number, width: number, layer: number, rows: DropoutRows, first = 0, end = width): void {
  const scale = 1 / (1 - rows.rate);
  for (let r = from; r < to; r++) {
    const base = rowHash(rows.seed, rows.step, rows.batchRow + r, layer);
    for (let u = first, i = r * width + first; u < end; u++, i++) out[i] = unitKept(base, u, rows.rate) ? input[i]! * scale : 0;
  }
}
