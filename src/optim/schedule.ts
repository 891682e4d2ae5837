// Learning-rate schedules, as a pure function of progress so a resumed run continues exactly.

export type ScheduleName = 'constant' | 'step' | 'cosine';
export const SCHEDULES: readonly ScheduleName[] = ['constant', 'step', 'cosine'];

/** Epochs per decay for 'step', and its factor. */
export const STEP_EVERY_EPOCHS = 10;
export const STEP_FACTOR = 0.5;

/** lr at the given 0-based epoch and fraction of it done, for a run of `epochs` epochs. */
export function scheduledLearningRate(name: ScheduleName, baseLr: number, epoch: number, fraction: number, epochs: number): number {
  switch (name) {
    case 'constant':
      return baseLr;
    case 'step': // halve every STEP_EVERY_EPOCHS epochs
      return baseLr * STEP_FACTOR ** Math.floor(epoch / STEP_EVERY_EPOCHS);
    case 'cosine': // from lr down to 0 over the whole run, per step
      return 0.5 * baseLr * (1 + Math.cos((Math.PI * (epoch + fraction)) / epochs));
  }
}
