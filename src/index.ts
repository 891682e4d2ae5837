// gradpool's public API.
export { train, TrainingFailure, type TrainResult, type StopReason, type TrainOptions, type TrainCallbacks, type LossChoice, type DataSummary } from './train.js';
export { Model, loadModel, type Evaluation, type PredictRow, type ModelPreprocessing } from './model/model.js';
export type { ClassMetrics, MajorityBaseline, RegressionMetrics } from './model/metrics.js';
export { loadDataset, loadTrainingData } from './options/load-options.js';
export type { Dataset, Targets } from './data/dataset.js';
export type { Schema, SchemaColumn, MissingPolicy, CellValue } from './data/schema.js';
export type { CompareOptions, CompareRun } from './compare.js';
export { renderTrainingPlot } from './report/charts.js';
export { renderCompareReport } from './report/compare-report.js';
import type { CompareOptions, CompareRun } from './compare.js';
import { compareModesWithReport } from './report/compare-report.js';

/**
 * Trains once per mode (batch GD, each mini-batch size, SGD) with everything else equal, writes the
 * HTML report to options.out (unless stopped before any epoch finished), and returns the runs.
 */
export async function compareModes(options: CompareOptions): Promise<CompareRun[]> {
  return (await compareModesWithReport(options)).runs;
}
export { InputError } from './errors.js';
export { DEFAULTS } from './options/resolve.js';
export type { EpochEntry } from './run/history.js';
export type { KernelOption, KernelSetId, KernelSetName } from './parallel/kernel-set.js';
export type { NativeIsa } from './math/native-kernels.js';
export type { NetworkShape } from './model/layout.js';
export type { LoadOptions } from './data/load.js';
export type { HiddenActivation, LossKind } from './math/kernels.js';
export type { Mode } from './data/batches.js';
export type { OptimizerName } from './optim/optimizers.js';
export type { ScheduleName } from './optim/schedule.js';
export type { Normalization, NormalizationKind, TargetScaling } from './data/normalize.js';
export { Preprocessor, type PreprocessorParts } from './data/preprocess.js';
export { tune, type TuneOptions, type TuneReport, type TuneResult, type TuneConfig, type TuneGrid } from './tune.js';
export type { ChosenDefaults, ChosenValues } from './defaults.js';
export type { HeldOut } from './model/json-file.js';
export { exportTorch, type TorchExportOptions } from './torch/export.js';
