// Seeded random streams. Each purpose (init, split, shuffle, data) draws from its own stream
// derived from the one user seed, so changing e.g. the validation split leaves the init alone.
import seedrandom from 'seedrandom';

export type Random = () => number;

export function randomStream(seed: number, purpose: string): Random {
  return seedrandom.alea(`${seed}:${purpose}`);
}

/** Standard normal via Box–Muller (one of the pair; simple and plenty fast for data generation). */
export function gaussian(random: Random): number {
  let u = 0;
  while (u === 0) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Fisher–Yates: permutes `values` in place, uniformly. */
export function shuffleInPlace(values: Int32Array, random: Random): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = values[i]!;
    values[i] = values[j]!;
    values[j] = swap;
  }
}

/** A stream whose position can be saved in a checkpoint and restored exactly. */
export interface ResumableRandom {
  readonly next: Random;
  state(): object;
}

export function resumableStream(seed: number, purpose: string, state?: object): ResumableRandom {
  const generator = state ? seedrandom.alea('', { state: state as seedrandom.State.Alea }) : seedrandom.alea(`${seed}:${purpose}`, { state: true });
  return { next: () => generator(), state: () => generator.state() };
}

/**
 * Why `state` cannot be a shuffle stream's saved position, or null if it can: exactly Alea's fields,
 * s0..s2 fractions in [0, 1) and the carry c a whole number in [0, 2091639) (what next() keeps).
 */
export function shuffleStateProblem(state: unknown): string | null {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return 'must be an object {c, s0, s1, s2}';
  const record = state as Record<string, unknown>;
  const keys = Object.keys(record).sort().join(',');
  if (keys !== 'c,s0,s1,s2') return `must have exactly the fields c, s0, s1, s2, got {${keys}}`;
  for (const key of ['s0', 's1', 's2']) {
    const v = record[key];
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) return `${key} must be a number in [0, 1), got ${String(v)}`;
  }
  const c = record.c;
  if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= 2091639) return `c must be a whole number in [0, 2091639), got ${String(c)}`;
  return null;
}
