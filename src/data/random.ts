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
