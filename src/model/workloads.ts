// The standard networks gradpool is measured on (bench, README tables, `gradpool bench`), on
// 784-feature inputs such as MNIST: M2 is the tutorial's net, M1 and M3 small and large MLPs.
import type { HiddenActivation } from '../math/kernels.js';

export interface Workload {
  readonly id: string;
  readonly title: string;
  readonly layers: readonly number[];
  readonly activation: HiddenActivation;
  /** 10 → softmax + cross-entropy; 2 → one sigmoid output + binary cross-entropy. */
  readonly classes: number;
  readonly loss: 'cross-entropy' | 'bce';
  readonly batchSize: number;
}

export const WORKLOAD_FEATURES = 784;

export const WORKLOADS: readonly Workload[] = [
  { id: 'M1', title: '784-128-64-10 relu, softmax, batch 128', layers: [128, 64], activation: 'relu', classes: 10, loss: 'cross-entropy', batchSize: 128 },
  { id: 'M2', title: '784-64-1 sigmoid, BCE, batch 64 (the tutorial net)', layers: [64], activation: 'sigmoid', classes: 2, loss: 'bce', batchSize: 64 },
  { id: 'M3', title: '784-512-256-10 relu, softmax, batch 256', layers: [512, 256], activation: 'relu', classes: 10, loss: 'cross-entropy', batchSize: 256 },
];

export const WORKLOAD_IDS = WORKLOADS.map((w) => w.id);

/** Layer sizes including input and output: [784, ...hidden, outputs]. */
export function workloadSizes(w: Workload): number[] {
  return [WORKLOAD_FEATURES, ...w.layers, w.loss === 'bce' ? 1 : w.classes];
}
