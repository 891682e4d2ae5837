// gradpool's public API.
export { train, type TrainResult, type StopReason } from './train.js';
export { Model, loadModel, type Evaluation } from './model/model.js';
export { loadDataset } from './data/load.js';
export type { Dataset, Targets } from './data/dataset.js';
export { InputError } from './errors.js';
export { DEFAULTS, type TrainOptions, type EpochEntry, type LossChoice } from './options.js';
export type { HiddenActivation, LossKind } from './math/kernels.js';
export type { Mode } from './data/batches.js';
