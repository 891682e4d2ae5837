// Classification metrics from a confusion matrix (rows: actual class, columns: predicted class).

export interface ClassMetrics {
  label: string;
  precision: number | null;
  recall: number | null;
  support: number;
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
      return { label, precision: predicted ? truePositives / predicted : null, recall: support ? truePositives / support : null, support };
    });
  }

  /** The matrix and metrics as aligned text. */
  format(): string {
    const names = this.labels.map((l) => (l.length > 10 ? `${l.slice(0, 9)}…` : l));
    const width = Math.max(6, ...names.map((n) => n.length), ...this.counts.flat().map((n) => String(n).length));
    const cell = (text: string): string => text.padStart(width);
    const lines = [`${cell('actual')} │ predicted`, `${cell('')} │ ${names.map(cell).join(' ')}`];
    this.counts.forEach((row, c) => lines.push(`${cell(names[c]!)} │ ${row.map((n) => cell(String(n))).join(' ')}`));
    lines.push('', `${cell('class')}  precision  recall  support`);
    for (const m of this.perClass()) {
      const percent = (v: number | null): string => (v === null ? '—' : `${(v * 100).toFixed(1)}%`).padStart(9);
      lines.push(`${cell(m.label.length > 10 ? `${m.label.slice(0, 9)}…` : m.label)}  ${percent(m.precision)}  ${percent(m.recall).slice(3)}  ${String(m.support).padStart(7)}`);
    }
    return lines.join('\n');
  }
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
 * (1 for a perfect fit, 0 for predicting the mean, negative for worse). Written minimal by the
 * defaults helper for the epoch line; the regression metrics of issue 17 may replace it.
 */
export function rSquared(sumSquaredError: number, sumSquaredDeviation: number): number {
  return sumSquaredDeviation > 0 ? 1 - sumSquaredError / sumSquaredDeviation : Number.NaN;
}
