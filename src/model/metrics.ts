// What a model's outputs score against the truth: classification metrics from a confusion matrix
// (rows: actual class, columns: predicted class) with the majority-class baseline beside them, and
// regression metrics (R², RMSE, MAE) in the target's own units. One place, so that train's test set,
// evaluate and their JSON all report the same numbers.

export interface ClassMetrics {
  label: string;
  precision: number | null;
  recall: number | null;
  /** Harmonic mean of precision and recall (null where either is). */
  f1: number | null;
  support: number;
}

/** Always predicting the most common class: the accuracy a classifier has to beat. */
export interface MajorityBaseline {
  label: string;
  accuracy: number;
}

export class ConfusionMatrix {
  readonly counts: number[][];

  constructor(readonly labels: readonly string[]) {
    this.counts = labels.map(() => labels.map(() => 0));
  }

  static from(labels: readonly string[], counts: readonly (readonly number[])[]): ConfusionMatrix {
    const matrix = new ConfusionMatrix(labels);
    counts.forEach((row, a) => row.forEach((n, p) => (matrix.counts[a]![p] = n)));
    return matrix;
  }

  add(actual: number, predicted: number): void {
    this.counts[actual]![predicted]!++;
  }

  /** Precision and recall per class; null where the denominator is 0 (never predicted / absent). */
  perClass(): ClassMetrics[] {
    return this.labels.map((label, c) => {
      const truePositives = this.counts[c]![c]!;
      const support = this.counts[c]!.reduce((sum, n) => sum + n, 0);
      const predicted = this.counts.reduce((sum, row) => sum + row[c]!, 0);
      const precision = predicted ? truePositives / predicted : null;
      const recall = support ? truePositives / support : null;
      const f1 = precision === null || recall === null ? null : precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
      return { label, precision, recall, f1, support };
    });
  }

  /** The most common actual class and the share of rows it holds (ties: the first in label order). */
  baseline(): MajorityBaseline | null {
    return majorityOf(this.counts.map((row) => row.reduce((sum, n) => sum + n, 0)), this.labels);
  }

  /** The matrix and metrics as aligned text. */
  format(): string {
    const names = this.labels.map((l) => (l.length > 10 ? `${l.slice(0, 9)}…` : l));
    const width = Math.max(6, ...names.map((n) => n.length), ...this.counts.flat().map((n) => String(n).length));
    const cell = (text: string): string => text.padStart(width);
    const lines = [`${cell('actual')} │ predicted`, `${cell('')} │ ${names.map(cell).join(' ')}`];
    this.counts.forEach((row, c) => lines.push(`${cell(names[c]!)} │ ${row.map((n) => cell(String(n))).join(' ')}`));
    lines.push('', formatPerClass(this.perClass(), width));
    return lines.join('\n');
  }
}

/** The most common class among per-class counts and its share (ties: the first): the accuracy of always predicting it. */
export function majorityOf(counts: readonly number[], labels: readonly string[]): MajorityBaseline | null {
  const total = counts.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  let best = 0;
  for (let c = 1; c < counts.length; c++) if (counts[c]! > counts[best]!) best = c;
  return { label: labels[best]!, accuracy: counts[best]! / total };
}

/** Per-class precision, recall, F1 and support as aligned text (`width`: the class column's). */
export function formatPerClass(metrics: readonly ClassMetrics[], width = Math.max(6, ...metrics.map((m) => Math.min(10, m.label.length)))): string {
  const cell = (text: string): string => text.padStart(width);
  const percent = (v: number | null, pad: number): string => (v === null ? '—' : `${(v * 100).toFixed(1)}%`).padStart(pad);
  const lines = [`${cell('class')}  precision  recall  support      f1`];
  for (const m of metrics) lines.push(`${cell(m.label.length > 10 ? `${m.label.slice(0, 9)}…` : m.label)}  ${percent(m.precision, 9)}  ${percent(m.recall, 6)}  ${String(m.support).padStart(7)}  ${percent(m.f1, 6)}`);
  return lines.join('\n');
}

/** Index of the predicted class in row r of the outputs (p ≥ ½ for a single sigmoid unit). */
export function predictedClass(outputs: ArrayLike<number>, r: number, width: number): number {
  if (width === 1) return outputs[r]! >= 0.5 ? 1 : 0;
  let best = 0;
  for (let o = 1; o < width; o++) if (outputs[r * width + o]! > outputs[r * width + best]!) best = o;
  return best;
}

/**
 * Coefficient of determination from sums: 1 − Σ(y − ŷ)² / Σ(y − ȳ)², as scikit-learn's r2_score
 * (1 for a perfect fit, 0 for predicting the mean, negative for worse).
 */
export function rSquared(sumSquaredError: number, sumSquaredDeviation: number): number {
  return sumSquaredDeviation > 0 ? 1 - sumSquaredError / sumSquaredDeviation : Number.NaN;
}

/** Regression scores in the target's units; with several targets, each target's and their mean (scikit-learn's uniform average). */
export interface RegressionMetrics {
  r2: number | null;
  rmse: number;
  mae: number;
  /** Per target, in target order (one entry for a single target). */
  perTarget: { r2: number | null; rmse: number; mae: number }[];
}

/**
 * R², RMSE and MAE of `predicted` against `actual` (rows × width values each, row-major, both in the
 * target's units), summed in float64. R² is null for a target that does not vary.
 */
export function regressionMetrics(predicted: ArrayLike<number>, actual: ArrayLike<number>, rows: number, width = 1): RegressionMetrics {
  const perTarget = Array.from({ length: width }, (_, o) => {
    let mean = 0;
    for (let r = 0; r < rows; r++) mean += actual[r * width + o]!;
    mean /= Math.max(1, rows);
    let squared = 0;
    let absolute = 0;
    let deviation = 0;
    for (let r = 0; r < rows; r++) {
      const y = actual[r * width + o]!;
      const error = predicted[r * width + o]! - y;
      squared += error * error;
      absolute += Math.abs(error);
      deviation += (y - mean) * (y - mean);
    }
    const r2 = rSquared(squared, deviation);
    return { r2: Number.isNaN(r2) ? null : r2, rmse: Math.sqrt(squared / Math.max(1, rows)), mae: absolute / Math.max(1, rows) };
  });
  const mean = (values: number[]): number => values.reduce((sum, v) => sum + v, 0) / values.length;
  const r2s = perTarget.map((m) => m.r2).filter((v): v is number => v !== null);
  return { r2: r2s.length ? mean(r2s) : null, rmse: mean(perTarget.map((m) => m.rmse)), mae: mean(perTarget.map((m) => m.mae)), perTarget };
}

/** "R² 0.8123  RMSE 3.21  MAE 2.05": the regression scores as the log line and evaluate print them. */
export function formatRegression(metrics: RegressionMetrics): string {
  const number = (v: number): string => (Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : String(Number(v.toPrecision(4))));
  return `R² ${metrics.r2 === null ? '—' : metrics.r2.toFixed(4)}  RMSE ${number(metrics.rmse)}  MAE ${number(metrics.mae)}`;
}
