// One line of training history: what the CLI prints per epoch, --log-json writes, and a checkpoint keeps.

export interface EpochEntry {
  epoch: number;
  loss: number;
  /** null for regression (--loss mse on numeric targets). */
  accuracy: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
  /** Regression with a validation split: R² on the validation rows (absent in older checkpoints). */
  valR2?: number | null;
  samplesPerSec: number;
  /** Seconds since training started, at the end of this epoch. */
  seconds: number;
  /** Learning rate at the end of the epoch (after the schedule). */
  lr: number;
  /** Most participants that shared one step in this epoch (1: the coordinator computed alone). */
  threads: number;
}
