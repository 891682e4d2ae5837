// Preprocessing fitted on the training rows only, stored in the model and applied to every row the
// model later sees: imputation of missing numbers (the training mean), feature scaling
// (x ← (x − offset) · scale) and, for regression, target scaling (y ← (y − offset) · scale).

export type NormalizationKind = 'none' | 'minmax' | 'standard';
export const NORMALIZATIONS: readonly NormalizationKind[] = ['none', 'minmax', 'standard'];
/** auto: what the data source says (standard for a table's numeric columns, none for pixels and builtin sets). */
export type NormalizeChoice = 'auto' | NormalizationKind;
export const NORMALIZE_CHOICES: readonly NormalizeChoice[] = ['auto', ...NORMALIZATIONS];

export interface Normalization {
  readonly kind: Exclude<NormalizationKind, 'none'>;
  readonly offset: Float32Array;
  readonly scale: Float32Array;
}

/**
 * Regression targets as trained: y_scaled = (y − offset) · scale; predictions are mapped back.
 * Several targets (--label-column a,b) are scaled each by its own entry of `perTarget` (then offset
 * is 0 and scale 1, unused).
 */
export interface TargetScaling {
  readonly offset: number;
  readonly scale: number;
  readonly perTarget?: readonly { readonly offset: number; readonly scale: number }[] | undefined;
}

/** The offset and scale of target `o` (0 for a single target). */
export function scalingOf(scaling: TargetScaling, o: number): { offset: number; scale: number } {
  return scaling.perTarget ? scaling.perTarget[o]! : scaling;
}

/** The smallest normal float32: a spread below it has no reciprocal that float32 arithmetic can use. */
const FLOAT32_MIN_NORMAL = 2 ** -126;
/** float32's relative resolution: differences below it, relative to the values, are rounding noise. */
const FLOAT32_EPSILON = 2 ** -23;

/**
 * Whether values that differ by `spread` around `magnitude` (the largest |value|) are constant for
 * float32 training: scaling by 1/spread would overflow (0 and 1e-44), or the differences are
 * float32 rounding (1e6 and 1e6 + 1e-3). Such a column or target is treated as constant.
 */
export function negligibleSpread(spread: number, magnitude: number): boolean {
  return !(spread >= FLOAT32_MIN_NORMAL) || spread <= magnitude * FLOAT32_EPSILON || !Number.isFinite(Math.fround(1 / spread));
}

/**
 * Per-feature statistics over the rows listed in `rows` of x (rows × features). Features whose
 * `scaled` entry is 0 (one-hot inputs) keep offset 0 and scale 1; null when nothing is scaled.
 * A feature whose spread is negligible (negligibleSpread) is treated as constant (scale 1) and its
 * index pushed onto `constant`, for a note. With `fills`, a missing (NaN) input is read as its fill
 * (applyImputation's rule), so the scaling fits the inputs as imputed without writing them.
 */
export function fitNormalization(kind: NormalizationKind, x: Float32Array, features: number, rows: ArrayLike<number>, scaled: Uint8Array | null = null, constant: number[] = [], fills: Float32Array | null = null): Normalization | null {
  if (kind === 'none') return null;
  if (scaled && !scaled.includes(1)) return null;
  const offset = new Float32Array(features);
  const scale = new Float32Array(features).fill(1);
  for (let f = 0; f < features; f++) {
    if (scaled && scaled[f] === 0) continue;
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    // Without fills a NaN stays NaN, as it was read.
    const fill = fills ? fills[f]! : NaN;
    for (let i = 0; i < rows.length; i++) {
      let v = x[rows[i]! * features + f]!;
      if (v !== v) v = fill;
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    const magnitude = Math.max(Math.abs(min), Math.abs(max));
    let spread = max - min;
    if (kind === 'minmax') {
      offset[f] = min;
    } else {
      const mean = sum / rows.length;
      let squares = 0;
      for (let i = 0; i < rows.length; i++) {
        let v = x[rows[i]! * features + f]!;
        if (v !== v) v = fill;
        const d = v - mean;
        squares += d * d;
      }
      offset[f] = mean;
      spread = max > min ? Math.min(spread, Math.sqrt(squares / rows.length)) : 0;
    }
    // A constant feature stays as it is, shifted to 0; so does one whose spread float32 cannot use.
    if (max > min && negligibleSpread(spread, magnitude)) constant.push(f);
    else if (max > min) scale[f] = 1 / (kind === 'minmax' ? max - min : spread);
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

/**
 * The mean of each feature over the listed rows, missing (NaN) cells left out: what a missing number
 * becomes. Features that are never missing get their mean too (a later file may miss them); a feature
 * missing in every training row gets 0.
 */
export function fitImputation(x: Float32Array, features: number, rows: ArrayLike<number>): Float32Array {
  const sums = new Float64Array(features);
  const counts = new Float64Array(features);
  for (let i = 0; i < rows.length; i++) {
    const base = rows[i]! * features;
    for (let f = 0; f < features; f++) {
      const v = x[base + f]!;
      if (v === v) {
        sums[f] = sums[f]! + v;
        counts[f] = counts[f]! + 1;
      }
    }
  }
  return Float32Array.from(sums, (sum, f) => (counts[f]! > 0 ? sum / counts[f]! : 0));
}

/** Replaces NaN inputs of rows [fromRow, toRow) with their feature's fill value (where it has one). */
export function applyImputation(fills: Float32Array | null, x: Float32Array, features: number, fromRow: number, toRow: number): void {
  if (!fills) return;
  for (let i = fromRow * features, end = toRow * features, f = 0; i < end; i++, f = f + 1 === features ? 0 : f + 1) {
    if (x[i] !== x[i]) x[i] = fills[f]!;
  }
}

/**
 * Mean and standard deviation of the targets of the listed rows (y holds one value per row). A
 * negligible spread (negligibleSpread) keeps scale 1: the target is treated as constant, and
 * `constant`, when given, is set to true for a note.
 */
export function fitTargetScaling(y: Float32Array, rows: ArrayLike<number>, constant?: { value: boolean }, width = 1): TargetScaling {
  if (width > 1) return { offset: 0, scale: 1, perTarget: Array.from({ length: width }, (_, o) => fitOneTarget(y, rows, constant, width, o)) };
  return fitOneTarget(y, rows, constant, 1, 0);
}

/** Mean and spread of target `o` of `width` per row (y row-major). */
function fitOneTarget(y: Float32Array, rows: ArrayLike<number>, constant: { value: boolean } | undefined, width: number, o: number): { offset: number; scale: number } {
  let sum = 0;
  let magnitude = 0;
  for (let i = 0; i < rows.length; i++) {
    const v = y[rows[i]! * width + o]!;
    sum += v;
    magnitude = Math.max(magnitude, Math.abs(v));
  }
  const mean = sum / rows.length;
  let squares = 0;
  for (let i = 0; i < rows.length; i++) {
    const d = y[rows[i]! * width + o]! - mean;
    squares += d * d;
  }
  const std = Math.sqrt(squares / rows.length);
  const negligible = std > 0 && negligibleSpread(std, magnitude);
  if (constant && negligible) constant.value = true;
  return { offset: Math.fround(mean), scale: Math.fround(std > 0 && !negligible ? 1 / std : 1) };
}

/** Scales values [from, to) of y (whole rows of the targets, row-major). */
export function applyTargetScaling(scaling: TargetScaling | null, y: Float32Array, from: number, to: number): void {
  if (!scaling) return;
  const width = scaling.perTarget?.length ?? 1;
  for (let i = from, o = 0; i < to; i++, o = o + 1 === width ? 0 : o + 1) {
    const { offset, scale } = scalingOf(scaling, o);
    y[i] = (y[i]! - offset) * scale;
  }
}

/** Scaled output (of target `o`) → original units. */
export function unscaleTarget(scaling: TargetScaling | null, value: number, o = 0): number {
  if (!scaling) return value;
  const { offset, scale } = scalingOf(scaling, o);
  return value / scale + offset;
}
