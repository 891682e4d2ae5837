// What each column of a table is and how it becomes network inputs: inferred from the training file,
// stored in the model, and applied unchanged to every file the model later reads (as scikit-learn's
// ColumnTransformer is fitted once and reused). One place for the encoding, so training, evaluate,
// predict and Model.predict all encode a row the same way.
import { MAX_LEVELS } from './limits.js';

/** A column read as numbers; missing cells become `fill` (the training mean) under --missing impute. */
export interface NumericColumn {
  readonly kind: 'numeric';
  readonly name: string;
  readonly fill?: number | undefined;
}

/** ISO dates (2024-03-01, optionally with a time) read as days since 1970-01-01, UTC. */
export interface DateColumn {
  readonly kind: 'date';
  readonly name: string;
  readonly fill?: number | undefined;
}

/**
 * One-hot over `levels` (sorted). A value not among them (unseen in training) is the all-zero
 * "unknown" level; a missing cell is a level of its own when training saw missing cells (imputed).
 * A column of many levels keeps its frequent ones (levels capped, as scikit-learn's min_frequency /
 * max_categories): then `other` is true, and every other value, rare or unseen, is the "other"
 * level, the last input of the column.
 */
export interface CategoricalColumn {
  readonly kind: 'categorical';
  readonly name: string;
  readonly levels: readonly string[];
  readonly missingLevel: boolean;
  readonly other?: boolean | undefined;
}

export interface IgnoredColumn {
  readonly kind: 'ignored';
  readonly name: string;
  readonly reason: string;
}

export interface LabelColumn {
  readonly kind: 'label';
  readonly name: string;
}

export type SchemaColumn = NumericColumn | DateColumn | CategoricalColumn | IgnoredColumn | LabelColumn;
export type FeatureColumn = NumericColumn | DateColumn | CategoricalColumn;
export type MissingPolicy = 'error' | 'impute' | 'drop';
export const MISSING_POLICIES: readonly MissingPolicy[] = ['error', 'impute', 'drop'];

export interface Schema {
  /** Every column of the training file, in file order. */
  readonly columns: readonly SchemaColumn[];
  /** What a missing cell does: refused, imputed, or its row dropped. */
  readonly missing: MissingPolicy;
  /** Cell texts read as missing (besides the empty cell), as in force when training. */
  readonly naValues: readonly string[];
}

/** Cell texts that mean "missing" by default (pandas' list, less its rarer spellings, plus "?"). */
export const DEFAULT_NA_VALUES: readonly string[] = ['NA', 'N/A', 'n/a', 'NaN', 'nan', '-NaN', '-nan', 'null', 'NULL', 'None', '#N/A', '<NA>', '?'];

/** Automatic thresholds (the README states them). */
export const CATEGORICAL_MAX_LEVELS = 50;
/**
 * A label with more distinct numbers than this (or any fraction) is a regression target under --loss
 * auto, unless its values are integers each seen in at least CLASS_MIN_ROWS rows: classes then.
 */
export const CLASSES_MAX_DISTINCT = 50;
export const CLASS_MIN_ROWS = 5;
/**
 * A column of more than CATEGORICAL_MAX_LEVELS levels one-hots its levels seen in at least
 * LEVEL_MIN_ROWS rows, the LEVELS_KEPT most frequent of them, plus an "other" level.
 */
export const LEVEL_MIN_ROWS = 5;
export const LEVELS_KEPT = 100;

export function isFeature(column: SchemaColumn): column is FeatureColumn {
  return column.kind === 'numeric' || column.kind === 'date' || column.kind === 'categorical';
}

export function featureColumns(schema: Schema): FeatureColumn[] {
  return schema.columns.filter(isFeature);
}

export function labelColumn(schema: Schema): LabelColumn | undefined {
  return schema.columns.find((c): c is LabelColumn => c.kind === 'label');
}

/** Every label column: one, or the targets of a multi-output regression in output order. */
export function labelColumns(schema: Schema): LabelColumn[] {
  return schema.columns.filter((c): c is LabelColumn => c.kind === 'label');
}

/** Inputs one column becomes. */
export function encodedWidth(column: SchemaColumn): number {
  if (column.kind === 'numeric' || column.kind === 'date') return 1;
  if (column.kind === 'categorical') return column.levels.length + (column.missingLevel ? 1 : 0) + (column.other ? 1 : 0);
  return 0;
}

export function schemaWidth(schema: Schema): number {
  return schema.columns.reduce((sum, column) => sum + encodedWidth(column), 0);
}

/** 1 for inputs that feature scaling applies to (numbers and dates), 0 for one-hot inputs. */
export function scaledInputs(schema: Schema): Uint8Array {
  const mask = new Uint8Array(schemaWidth(schema));
  let offset = 0;
  for (const column of schema.columns) {
    if (column.kind === 'numeric' || column.kind === 'date') mask[offset] = 1;
    offset += encodedWidth(column);
  }
  return mask;
}

/** Per input: the value a missing (NaN) input takes, or NaN where none is stored. */
export function fillValues(schema: Schema): Float32Array | null {
  if (schema.missing !== 'impute') return null;
  const fills = new Float32Array(schemaWidth(schema)).fill(NaN);
  let offset = 0;
  for (const column of schema.columns) {
    if ((column.kind === 'numeric' || column.kind === 'date') && column.fill !== undefined) fills[offset] = column.fill;
    offset += encodedWidth(column);
  }
  return fills;
}

/** The schema with the training means stored for imputation (per input, as fitted on training rows). */
export function withFills(schema: Schema, inputFills: Float32Array): Schema {
  let offset = 0;
  const columns = schema.columns.map((column) => {
    const at = offset;
    offset += encodedWidth(column);
    return column.kind === 'numeric' || column.kind === 'date' ? { ...column, fill: inputFills[at]! } : column;
  });
  return { ...schema, columns };
}

/** A short description of a column for the schema printout: "categorical (3 levels)". */
export function describeColumn(column: SchemaColumn): string {
  switch (column.kind) {
    case 'numeric':
      return 'numeric';
    case 'date':
      return 'date (days since 1970-01-01)';
    case 'categorical':
      return `categorical (${column.levels.length} level${column.levels.length === 1 ? '' : 's'}${column.other ? ' + other' : ''}${column.missingLevel ? ' + missing' : ''})`;
    case 'ignored':
      return `ignored (${column.reason})`;
    case 'label':
      return 'label';
  }
}

// ---------- values ----------

/** Numbers as text the way JavaScript writes them, in numeric order when all of them are numbers. */
export function sortNames(names: Iterable<string>): string[] {
  const list = [...names];
  const numbers = list.map((name) => (isNumberText(name) ? Number(name) : NaN));
  if (list.length > 0 && numbers.every((n) => Number.isFinite(n))) {
    return list.map((name, i) => [name, numbers[i]!] as const).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([name]) => name);
  }
  return list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function isNumberText(text: string): boolean {
  return NUMBER_TEXT.test(text);
}

/** The shortest decimal that reads back as the same float32: how a number cell names a class or level. */
export function float32Text(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return String(value);
  for (let digits = 1; digits <= 9; digits++) {
    const text = String(Number(value.toPrecision(digits)));
    if (Math.fround(Number(text)) === value) return text;
  }
  return String(value);
}

const DATE = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?)?(Z|[+-]\d{2}:?\d{2})?$/;
const DAY_MS = 86_400_000;

/** Days since 1970-01-01 (UTC) of an ISO date such as 2024-03-01 or 2024-03-01T12:30:00Z, or NaN. */
export function parseDate(text: string): number {
  const m = DATE.exec(text);
  if (!m) return NaN;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second >= 61) return NaN;
  let ms = Date.UTC(year, month - 1, day, hour, minute, 0) + second * 1000;
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return NaN; // 2023-02-30
  const zone = m[7];
  if (zone && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return ms / DAY_MS;
}

// ---------- encoding one row (Model.predict on raw values) ----------

export type CellValue = number | string | null | undefined;

/**
 * Writes one row of raw values (one per feature column, in schema order) as inputs at out[offset…]:
 * numbers as they are, dates as days, categories one-hot; missing (null, undefined, NaN, an NA
 * text) as NaN for the model to fill, or the missing level. Returns a problem, or null.
 */
export function encodeValues(schema: Schema, values: readonly CellValue[], out: Float32Array, offset: number): string | null {
  const columns = featureColumns(schema);
  if (values.length !== columns.length) return `has ${values.length} values, the model reads ${columns.length} columns (${columns.map((c) => c.name).join(', ')})`;
  const na = new Set(['', ...schema.naValues]);
  let at = offset;
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]!;
    const value = values[i];
    const missing = value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value)) || (typeof value === 'string' && na.has(value.trim()));
    if (column.kind === 'categorical') {
      const width = encodedWidth(column);
      out.fill(0, at, at + width);
      if (missing) {
        if (column.missingLevel) out[at + column.levels.length] = 1;
      } else {
        const text = typeof value === 'number' ? float32Text(Math.fround(value)) : String(value).trim();
        const level = column.levels.indexOf(text);
        if (level >= 0) out[at + level] = 1;
        else if (column.other) out[at + width - 1] = 1;
      }
      at += width;
      continue;
    }
    let number = NaN;
    if (!missing) {
      if (typeof value === 'number') number = column.kind === 'date' ? NaN : value;
      else number = column.kind === 'date' ? parseDate(String(value).trim()) : isNumberText(String(value).trim()) ? Number(String(value).trim()) : NaN;
      if (!Number.isFinite(number)) return `column "${column.name}" needs ${column.kind === 'date' ? 'a date (YYYY-MM-DD)' : 'a finite number'}, got ${JSON.stringify(typeof value === 'string' ? value.slice(0, 60) : value)}`;
    }
    out[at++] = number;
  }
  return null;
}

// ---------- the model file's copy ----------

/** The schema as JSON for a model file. */
export function schemaToJson(schema: Schema): unknown {
  return { columns: schema.columns.map((c) => ({ ...c })), missing: schema.missing, naValues: [...schema.naValues] };
}

/** Reads a schema back from a model file, checking that it encodes exactly `inputs` inputs. */
export function parseSchema(value: unknown, inputs: number, fail: (what: string) => never, outputs = 1): Schema {
  const object = (v: unknown, where: string): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(`${where} must be an object`));
  const strings = (v: unknown, where: string): string[] => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : fail(`${where} must be an array of strings`));
  const keys = (o: Record<string, unknown>, allowed: string[], where: string): void => {
    for (const key of Object.keys(o)) if (!allowed.includes(key)) fail(`${where}: unexpected key ${JSON.stringify(key.slice(0, 60))}`);
  };
  const root = object(value, 'schema');
  keys(root, ['columns', 'missing', 'naValues'], 'schema');
  if (!MISSING_POLICIES.includes(root.missing as MissingPolicy)) fail(`schema.missing must be one of ${MISSING_POLICIES.join(', ')}`);
  const naValues = strings(root.naValues, 'schema.naValues');
  if (!Array.isArray(root.columns) || root.columns.length === 0 || root.columns.length > 1 << 20) return fail('schema.columns must be a non-empty array');
  const names = new Set<string>();
  let labels = 0;
  const columns = (root.columns as unknown[]).map((raw, i): SchemaColumn => {
    const where = `schema.columns[${i}]`;
    const c = object(raw, where);
    if (typeof c.name !== 'string') fail(`${where}.name must be a string`);
    const name = c.name as string;
    if (names.has(name)) fail(`${where}: column name ${JSON.stringify(name.slice(0, 60))} appears twice`);
    names.add(name);
    switch (c.kind) {
      case 'numeric':
      case 'date': {
        keys(c, ['kind', 'name', 'fill'], where);
        if (c.fill !== undefined && !(typeof c.fill === 'number' && Number.isFinite(c.fill))) fail(`${where}.fill must be a finite number`);
        return { kind: c.kind, name, ...(c.fill === undefined ? {} : { fill: c.fill as number }) };
      }
      case 'categorical': {
        keys(c, ['kind', 'name', 'levels', 'missingLevel', 'other'], where);
        // Refused from its size before anything is sized by it (a crafted schema of a million levels).
        if (Array.isArray(c.levels) && c.levels.length > MAX_LEVELS) fail(`${where}.levels: ${c.levels.length.toLocaleString('en-US')} levels, more than the ${MAX_LEVELS.toLocaleString('en-US')} a column may one-hot`);
        const levels = strings(c.levels, `${where}.levels`);
        if (new Set(levels).size !== levels.length) fail(`${where}.levels: a level appears twice`);
        if (typeof c.missingLevel !== 'boolean') fail(`${where}.missingLevel must be true or false`);
        if (c.other !== undefined && typeof c.other !== 'boolean') fail(`${where}.other must be true or false`);
        return { kind: 'categorical', name, levels, missingLevel: c.missingLevel as boolean, ...(c.other ? { other: true } : {}) };
      }
      case 'ignored':
        keys(c, ['kind', 'name', 'reason'], where);
        return { kind: 'ignored', name, reason: typeof c.reason === 'string' ? c.reason : fail(`${where}.reason must be a string`) };
      case 'label':
        keys(c, ['kind', 'name'], where);
        labels++;
        return { kind: 'label', name };
      default:
        return fail(`${where}.kind must be numeric, date, categorical, ignored or label`);
    }
  });
  // Several label columns: the targets of a multi-output regression, one output each.
  if (labels > 1 && labels !== outputs) fail(`schema: ${labels} label columns for ${outputs} outputs`);
  const schema: Schema = { columns, missing: root.missing as MissingPolicy, naValues };
  const width = schemaWidth(schema);
  if (width !== inputs) fail(`schema encodes ${width} inputs, the network has ${inputs}`);
  return schema;
}
