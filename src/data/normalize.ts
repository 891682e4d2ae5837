// Feature normalization: statistics from the training rows only, stored in the model and applied
// to every row the model later sees (x ← (x − offset) · scale).

export type NormalizationKind = 'none' | 'minmax' | 'standard';
export const NORMALIZATIONS: readonly NormalizationKind[] = ['none', 'minmax', 'standard'];

export interface Normalization {
  readonly kind: Exclude<NormalizationKind, 'none'>;
  readonly offset: Float32Array;
  readonly scale: Float32Array;
}

/** Per-feature statistics over the rows listed in `rows` of x (rows × features). */
export function fitNormalization(kind: NormalizationKind, x: Float32Array, features: number, rows: ArrayLike<number>): Normalization | null {
  if (kind === 'none') return null;
  const offset = new Float32Array(features);
  const scale = new Float32Array(features);
  for (let f = 0; f < features; f++) {
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (let i = 0; i < rows.length; i++) {
      const v = x[rows[i]! * features + f]!;
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    if (kind === 'minmax') {
      offset[f] = min;
      scale[f] = max > min ? 1 / (max - min) : 1; // a constant feature stays as it is, shifted to 0
    } else {
      const mean = sum / rows.length;
      let squares = 0;
      for (let i = 0; i < rows.length; i++) {
        const d = x[rows[i]! * features + f]! - mean;
        squares += d * d;
      }
      const std = Math.sqrt(squares / rows.length);
      offset[f] = mean;
      scale[f] = std > 0 ? 1 / std : 1;
    }
  }
  return { kind, offset, scale };
}

/** Applies a fitted normalization in place to rows [fromRow, toRow) of x. */
export function applyNormalization(normalization: Normalization | null, x: Float32Array, features: number, fromRow: number, toRow: number): void {
  if (!normalization) return;
  const { offset, scale } = normalization;
  for (let r = fromRow; r < toRow; r++) {
    const base = r * features;
    for (let f = 0; f < features; f++) x[base + f] = (x[base + f]! - offset[f]!) * scale[f]!;
  }
}
