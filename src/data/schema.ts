// What each column of a table is and how it becomes network inputs: inferred from the training file,
// stored in the model, and applied unchanged to every file the model later reads (as scikit-learn's
// ColumnTransformer is fitted once and reused). One place for the encoding, so training, evaluate,
// predict and Model.predict all encode a row the same way.
import { MAX_LEVELS } from './limits.js';
import { THOUSANDS_MARKS, describeFormat, parseFormatted, type NumberFormat } from './csv/numbers.js';

/**
 * A column read as numbers; missing cells become `fill` (the training mean) under --missing impute.
 * `format`: how the training file wrote them when it used currency, grouping or percent (1.234,50 €),
 * so that every later file is read the same way; absent: plain numbers in the file's decimal mark.
 */
export interface NumericColumn {
  readonly kind: 'numeric';
  readonly name: string;
  readonly fill?: number | undefined;
  readonly format?: NumberFormat | undefined;
}

/** What a date column adds besides its days: the month (1–12), the weekday (0 Monday … 6) and the hour (0–24, minutes as fractions). */
export type DatePart = 'month' | 'weekday' | 'hour';
export const DATE_PARTS: readonly DatePart[] = ['month', 'weekday', 'hour'];

/**
 * Dates (2024-03-01, 12/19/2024, 19.12.2024, optionally with a time of day; or times alone) read as
 * days since 1970-01-01 UTC, then one input per part. `order`: how a slashed date is read (month or
 * day first), absent: month first. `parts` absent (models before parts): the days alone.
 * `partFills`: the training means of the parts, under --missing impute.
 */
export interface DateColumn {
  readonly kind: 'date';
  readonly name: string;
  readonly fill?: number | undefined;
  readonly order?: DateOrder | undefined;
  readonly parts?: readonly DatePart[] | undefined;
  readonly partFills?: readonly number[] | undefined;
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
  if (column.kind === 'numeric') return 1;
  if (column.kind === 'date') return 1 + (column.parts?.length ?? 0);
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
    if (column.kind === 'numeric' || column.kind === 'date') mask.fill(1, offset, offset + encodedWidth(column));
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
    if (column.kind === 'date') column.partFills?.forEach((fill, i) => (fills[offset + 1 + i] = fill));
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
    if (column.kind === 'date' && column.parts?.length) return { ...column, fill: inputFills[at]!, partFills: Array.from(inputFills.subarray(at + 1, at + 1 + column.parts.length)) };
    return column.kind === 'numeric' || column.kind === 'date' ? { ...column, fill: inputFills[at]! } : column;
  });
  return { ...schema, columns };
}

/** A short description of a column for the schema printout: "categorical (3 levels)". */
export function describeColumn(column: SchemaColumn): string {
  switch (column.kind) {
    case 'numeric':
      return column.format ? `numeric (written ${describeFormat(column.format)})` : 'numeric';
    case 'date':
      return `date (days since 1970-01-01)${column.parts?.length ? ` + ${column.parts.join(', ')}` : ''}`;
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

/** How a date like 03/04/2024 is read: month first (US, the default) or day first (--dayfirst). */
export type DateOrder = 'mdy' | 'dmy';

const ISO_DATE = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ](.+))?$/;
const SLASHED_DATE = /^(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})(?:[T ,]\s*(.+))?$/;
const TIME = /^(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?\s*([AaPp][Mm])?\s*(Z|[+-]\d{2}:?\d{2})?$/;
const DAY_MS = 86_400_000;

/** A date or time as read: days since 1970-01-01 UTC (a time alone: the fraction of a day), and its parts. */
export interface DateValue {
  readonly days: number;
  readonly month: number;
  readonly weekday: number;
  readonly hour: number;
  /** Whether the text held a time of day; a time alone has no date. */
  readonly time: boolean;
  readonly date: boolean;
}

function clock(text: string): { hour: number; minute: number; second: number; zoneMinutes: number } | null {
  const m = TIME.exec(text.trim());
  if (!m) return null;
  let hour = Number(m[1]);
  const minute = Number(m[2]);
  const second = Number(m[3] ?? '0');
  const meridiem = m[4]?.toLowerCase();
  if (meridiem) {
    if (hour < 1 || hour > 12) return null;
    hour = (hour % 12) + (meridiem === 'pm' ? 12 : 0);
  }
  if (hour > 23 || minute > 59 || second >= 61) return null;
  let zoneMinutes = 0;
  const zone = m[5];
  if (zone && zone !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    zoneMinutes = (zone[0] === '-' ? -1 : 1) * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
  }
  return { hour, minute, second, zoneMinutes };
}

/**
 * A date (ISO 2024-03-01; slashed 12/19/2024 month first, or day first for `order` dmy; dotted
 * 19.12.2024 always day first), optionally with a time of day (14:30, 2:30 PM, 14:30:05Z), or a time
 * alone; null when the text is none of these (or no real day: 2023-02-30).
 */
export function parseDateValue(text: string, order: DateOrder = 'mdy'): DateValue | null {
  let year: number;
  let month: number;
  let day: number;
  let rest: string | undefined;
  const iso = ISO_DATE.exec(text);
  if (iso) {
    [year, month, day] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
    rest = iso[4];
  } else {
    const slashed = SLASHED_DATE.exec(text);
    if (!slashed) {
      const time = clock(text);
      if (!time) return null;
      const hour = time.hour + time.minute / 60 + time.second / 3600;
      return { days: hour / 24, month: NaN, weekday: NaN, hour, time: true, date: false };
    }
    const [a, b] = [Number(slashed[1]), Number(slashed[3])];
    const dayFirst = slashed[2] === '.' || order === 'dmy';
    [day, month] = dayFirst ? [a, b] : [b, a];
    year = Number(slashed[4]);
    if (slashed[4]!.length === 2) {
      if (slashed[2] !== '/') return null; // 1.2.34 is a version sooner than a date
      year += year < 70 ? 2000 : 1900;
    }
    rest = slashed[5];
  }
  if (month < 1 || month > 12 || day < 1 || day > 31) return null;
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return null; // 2023-02-30
  const time = rest === undefined ? { hour: 0, minute: 0, second: 0, zoneMinutes: 0 } : clock(rest);
  if (!time) return null;
  const ms = Date.UTC(year, month - 1, day, time.hour, time.minute, 0) + time.second * 1000 - time.zoneMinutes * 60_000;
  const weekday = (new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7;
  return { days: ms / DAY_MS, month, weekday, hour: time.hour + time.minute / 60 + time.second / 3600, time: rest !== undefined, date: true };
}

/** Days since 1970-01-01 (UTC) of a date such as 2024-03-01 or 2024-03-01T12:30:00Z, or NaN. */
export function parseDate(text: string, order: DateOrder = 'mdy'): number {
  return parseDateValue(text, order)?.days ?? NaN;
}

/** Writes a date column's inputs (days, then its parts) for one cell's text at out[at…]; false when it is no date. */
export function writeDateInputs(column: DateColumn, text: string, out: Float32Array | Float64Array, at: number): boolean {
  const value = parseDateValue(text, column.order);
  if (!value) return false;
  out[at] = value.days;
  column.parts?.forEach((part, i) => (out[at + 1 + i] = value[part]));
  return true;
}

/** The parts a date column gets from its texts: month and weekday for dates, the hour for times. */
export function dateParts(values: readonly DateValue[]): DatePart[] {
  const dates = values.some((v) => v.date);
  const times = values.some((v) => v.time);
  return [...(dates ? (['month', 'weekday'] as const) : []), ...(dates && times ? (['hour'] as const) : [])];
}

/**
 * How a column of slashed dates is written: day first when a first field is over 12, month first when
 * a second one is; null when both occur (not dates in one order). Otherwise `preferred`.
 */
export function sniffDateOrder(texts: Iterable<string>, preferred: DateOrder): DateOrder | null {
  let dayFirst = false;
  let monthFirst = false;
  for (const text of texts) {
    const m = SLASHED_DATE.exec(text);
    if (!m || m[2] === '.') continue;
    if (Number(m[1]) > 12) dayFirst = true;
    if (Number(m[3]) > 12) monthFirst = true;
  }
  if (dayFirst && monthFirst) return null;
  return dayFirst ? 'dmy' : monthFirst ? 'mdy' : preferred;
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
    const width = encodedWidth(column);
    if (missing) out.fill(NaN, at, at + width);
    else if (column.kind === 'date') {
      if (typeof value !== 'string' || !writeDateInputs(column, value.trim(), out, at)) return `column "${column.name}" needs a date (YYYY-MM-DD, MM/DD/YYYY, …), got ${JSON.stringify(typeof value === 'string' ? value.slice(0, 60) : value)}`;
    } else {
      const text = String(value).trim();
      const number = typeof value === 'number' ? value : isNumberText(text) ? Number(text) : parseFormatted(text, column.format ?? { decimal: '.', thousands: ',' });
      if (!Number.isFinite(number)) return `column "${column.name}" needs a finite number, got ${JSON.stringify(typeof value === 'string' ? value.slice(0, 60) : value)}`;
      out[at] = number;
    }
    at += width;
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
  const finite = (v: unknown, where: string): number | undefined => (v === undefined ? undefined : typeof v === 'number' && Number.isFinite(v) ? v : fail(`${where} must be a finite number`));
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
      case 'numeric': {
        keys(c, ['kind', 'name', 'fill', 'format'], where);
        const fill = finite(c.fill, `${where}.fill`);
        let format: NumberFormat | undefined;
        if (c.format !== undefined) {
          const f = object(c.format, `${where}.format`);
          keys(f, ['decimal', 'thousands'], `${where}.format`);
          if (f.decimal !== '.' && f.decimal !== ',') fail(`${where}.format.decimal must be "." or ","`);
          if (!(THOUSANDS_MARKS as readonly unknown[]).includes(f.thousands) || f.thousands === f.decimal) fail(`${where}.format.thousands must be one of ${THOUSANDS_MARKS.map((m) => JSON.stringify(m)).join(', ')}, not the decimal mark`);
          format = { decimal: f.decimal as NumberFormat['decimal'], thousands: f.thousands as NumberFormat['thousands'] };
        }
        return { kind: 'numeric', name, ...(fill === undefined ? {} : { fill }), ...(format ? { format } : {}) };
      }
      case 'date': {
        keys(c, ['kind', 'name', 'fill', 'order', 'parts', 'partFills'], where);
        const fill = finite(c.fill, `${where}.fill`);
        if (c.order !== undefined && c.order !== 'mdy' && c.order !== 'dmy') fail(`${where}.order must be "mdy" or "dmy"`);
        const parts = c.parts === undefined ? undefined : strings(c.parts, `${where}.parts`);
        if (parts && (parts.some((p) => !(DATE_PARTS as readonly string[]).includes(p)) || new Set(parts).size !== parts.length)) fail(`${where}.parts must be distinct names from ${DATE_PARTS.join(', ')}`);
        let partFills: number[] | undefined;
        if (c.partFills !== undefined) {
          if (!Array.isArray(c.partFills) || c.partFills.length !== (parts?.length ?? 0)) fail(`${where}.partFills must hold one number per part`);
          partFills = (c.partFills as unknown[]).map((v, k) => finite(v, `${where}.partFills[${k}]`)!);
        }
        return { kind: 'date', name, ...(fill === undefined ? {} : { fill }), ...(c.order ? { order: c.order as DateOrder } : {}), ...(parts ? { parts: parts as DatePart[] } : {}), ...(partFills ? { partFills } : {}) };
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
