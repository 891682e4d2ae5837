// From the raw table to a dataset: what each column is (inferred from the training file, or the
// schema a model was trained with), the checks that name file:line:column, and one pass that writes
// the targets and the encoded inputs (numbers, days, one-hot levels), in place where they fit.
import { InputError, at, optionRef } from '../../errors.js';
import type { Targets } from '../dataset.js';
import { MAX_CLASSES, checkValues } from '../limits.js';
import {
  CATEGORICAL_MAX_LEVELS,
  CLASSES_MAX_DISTINCT,
  CLASS_MIN_ROWS,
  LEVEL_MIN_ROWS,
  LEVELS_KEPT,
  dateParts,
  encodedWidth,
  float32Text,
  parseDateValue,
  sniffDateOrder,
  sortNames,
  writeDateInputs,
  type DateColumn,
  type DateValue,
  type FeatureColumn,
  type MissingPolicy,
  type Schema,
  type SchemaColumn,
} from '../schema.js';
import { quoteName } from './dialect.js';
import { looksNumeric, type NumberFormat } from './numbers.js';
import { MISSING_CELL, TEXT_CELL, isTextCell } from './parse.js';
import type { ColumnSummary, RawTable } from './table.js';

/** What the label column becomes. */
export type TargetMode = 'auto' | 'classes' | 'values';

/** Columns named by the user (by name or 0-based index) for --categorical, --numeric, --ignore-columns. */
export interface ColumnChoices {
  readonly categorical?: readonly (string | number)[] | undefined;
  readonly numeric?: readonly (string | number)[] | undefined;
  readonly ignoreColumns?: readonly (string | number)[] | undefined;
}

/** How each file column is read, and the label's classes; the outcome of inference or of a model's schema. */
export interface ColumnPlan {
  /** The schema to store (for a file read against a model: the model's). */
  readonly schema: Schema;
  /** Per schema feature column (in schema order), its column in this file. */
  readonly sources: readonly number[];
  readonly label: number;
  /** Further label columns (--label-column a,b): targets of a multi-output regression, after `label`. */
  readonly extraLabels: readonly number[];
  readonly target: 'classes' | 'values' | 'none';
  readonly classNames: readonly string[] | null;
  /** Classes known in advance (a model's): a label outside them is an error. */
  readonly closedClasses: boolean;
  readonly notes: string[];
}

const MIN_ROWS_FOR_IDS = 20;

const quoted = quoteName;

/** The file's columns for a message: each quoted as in CSV, so a name with a comma reads as one. */
export function columnList(names: readonly string[]): string {
  return `${names.slice(0, 40).map(quoteName).join(', ')}${names.length > 40 ? `, … (${names.length} in all)` : ''}`;
}

/** Resolves --categorical / --numeric / --ignore-columns entries to column indices. */
export function resolveChoices(file: string, names: readonly string[], choices: ColumnChoices): Map<number, 'categorical' | 'numeric' | 'ignored'> {
  const chosen = new Map<number, 'categorical' | 'numeric' | 'ignored'>();
  const entries: [keyof ColumnChoices, 'categorical' | 'numeric' | 'ignored'][] = [['ignoreColumns', 'ignored'], ['categorical', 'categorical'], ['numeric', 'numeric']];
  for (const [option, kind] of entries) {
    for (const entry of choices[option] ?? []) {
      const index = columnIndex(names, entry);
      if (index < 0) throw new InputError(`${optionRef(option)}: no column ${quoted(String(entry))} in ${at(file, 1)} (columns: ${columnList(names)})`);
      const before = chosen.get(index);
      if (before && before !== kind) throw new InputError(`${optionRef(option)}: column ${quoted(names[index]!)} is also named by another of --categorical, --numeric, --ignore-columns`);
      chosen.set(index, kind);
    }
  }
  return chosen;
}

/**
 * The label column(s) named by --label-column: one name or index; several as an array or a comma
 * list ("a,b": a multi-output regression), a name that holds a comma being read whole first.
 */
export function labelColumnList(file: string, names: readonly string[], entry: string | number | readonly (string | number)[]): number[] {
  const entries = Array.isArray(entry) ? entry : typeof entry === 'string' && !names.includes(entry) && entry.includes(',') ? listedNames(entry) : [entry as string | number];
  const list = entries.map((one) => {
    const index = columnIndex(names, one);
    if (index < 0) throw new InputError(`${optionRef('labelColumn')}: no column ${quoted(String(one))} in ${at(file, 1)} (columns: ${columnList(names)})`);
    return index;
  });
  const twice = list.find((c, i) => list.indexOf(c) !== i);
  if (twice !== undefined) throw new InputError(`${optionRef('labelColumn')}: column ${quoted(names[twice]!)} is named twice`);
  return list;
}

/** "a, b" → [a, b]; a name in double quotes may hold commas ("x,y",b), "" inside quotes is one quote, as in CSV. */
function listedNames(text: string): string[] {
  const parts: string[] = [];
  let part = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted && ch === '"' && text[i + 1] === '"') {
      part += '"';
      i++;
    } else if (ch === '"' && (quoted || part.trim() === '')) {
      quoted = !quoted;
      if (quoted) part = '';
    } else if (ch === ',' && !quoted) {
      parts.push(part.trim());
      part = '';
    } else part += ch;
  }
  parts.push(quoted ? part : part.trim());
  return parts;
}

export function columnIndex(names: readonly string[], entry: string | number): number {
  const byName = names.indexOf(String(entry));
  if (byName >= 0) return byName;
  const asIndex = typeof entry === 'number' ? entry : /^\d+$/.test(entry) ? Number(entry) : NaN;
  return Number.isInteger(asIndex) && asIndex >= 0 && asIndex < names.length ? asIndex : -1;
}

// ---------- inference (a training file) ----------

export interface InferOptions extends ColumnChoices {
  readonly target: TargetMode;
  readonly missing: MissingPolicy;
  readonly naValues: readonly string[];
  /** Label columns after the first (a multi-output regression). */
  readonly extraLabels?: readonly number[] | undefined;
  /** Per file column: how its numbers are written (sniffed, or --thousands / --decimal). */
  readonly formats: readonly NumberFormat[];
  /** Slashed dates read day first (--dayfirst) unless a column shows otherwise. */
  readonly dayfirst: boolean;
  /** Columns without a name in the header (or without a header) that were empty in the first records: a trailing delimiter. */
  readonly unnamed: ReadonlySet<number>;
}

export function inferPlan(table: RawTable, names: readonly string[], label: number, options: InferOptions): ColumnPlan {
  const { file } = table;
  const chosen = resolveChoices(file, names, options);
  const extraLabels = options.extraLabels ?? [];
  for (const l of [label, ...extraLabels]) {
    if (l >= 0 && chosen.has(l)) throw new InputError(`column ${quoted(names[l]!)} is a label column (${optionRef('labelColumn')}); it cannot also be in --${chosen.get(l) === 'ignored' ? 'ignore-columns' : chosen.get(l)}`);
  }
  const notes: string[] = [];
  const columns: SchemaColumn[] = [];
  const sources: number[] = [];
  for (let c = 0; c < table.columns; c++) {
    const name = names[c]!;
    if (c === label || extraLabels.includes(c)) {
      columns.push({ kind: 'label', name });
      continue;
    }
    const column = inferColumn(table, c, name, chosen.get(c), options);
    columns.push(column);
    if (column.kind !== 'ignored') sources.push(c);
  }
  if (sources.length === 0) {
    const ignored = columns.filter((c) => c.kind === 'ignored').map((c) => `${c.name} (${c.kind === 'ignored' ? c.reason : ''})`);
    throw new InputError(`${at(file, 1)}: needs at least one feature column besides the label column${ignored.length ? `; ignored: ${ignored.join(', ')}` : ''}`);
  }
  let target: ColumnPlan['target'] = 'none';
  let classNames: string[] | null = null;
  if (label >= 0 && extraLabels.length > 0) {
    // Several targets: a multi-output regression, each column numbers.
    if (options.target === 'classes') throw new InputError(`${optionRef('labelColumn')} names ${extraLabels.length + 1} label columns: several targets train a regression (${optionRef('loss')} mse or auto), not classes`);
    for (const l of [label, ...extraLabels]) {
      const summary = table.summaries[l]!;
      if (summary.text > 0) throw notNumbers(table.file, l, names[l]!, summary, 'model');
    }
    target = 'values';
    notes.push(`labels ${[label, ...extraLabels].map((l) => quoted(names[l]!)).join(', ')}: a regression of ${extraLabels.length + 1} targets with mse, each scaled on its own and scored in its own units`);
  } else if (label >= 0) {
    const decided = decideTarget(table, label, names[label]!, options.target, notes);
    target = decided.target;
    classNames = decided.classNames;
  }
  return { schema: { columns, missing: options.missing, naValues: [...options.naValues] }, sources, label, extraLabels, target, classNames, closedClasses: false, notes };
}

function inferColumn(table: RawTable, c: number, name: string, chosen: 'categorical' | 'numeric' | 'ignored' | undefined, options: InferOptions): SchemaColumn {
  const summary = table.summaries[c]!;
  const present = summary.numeric + summary.text;
  // A format is kept where the file wrote numbers with currency, grouping or percent: later files are read the same way.
  const numeric = (): SchemaColumn => (summary.formatted > 0 ? { kind: 'numeric', name, format: options.formats[c]! } : { kind: 'numeric', name });
  if (chosen === 'ignored') return { kind: 'ignored', name, reason: 'as asked' };
  const missingLevel = summary.missing > 0 && options.missing === 'impute';
  if (chosen === 'categorical') {
    // Asked for: every level up to LEVELS_KEPT, then capped as a column of many.
    const counts = levelCounts(table, c);
    if (counts.size <= LEVELS_KEPT) return { kind: 'categorical', name, levels: sortNames(counts.keys()), missingLevel };
    const capped = capLevels(counts);
    if (capped.levels.length === 0) throw new InputError(`${at(table.file, 1, c + 1)}: ${optionRef('categorical')} column ${quoted(name)} has ${counts.size} distinct values and none in ${LEVEL_MIN_ROWS} rows or more: nothing to one-hot (it looks like an id; leave it out)`);
    return { kind: 'categorical', name, ...capped, missingLevel };
  }
  if (chosen === 'numeric') {
    if (summary.text > 0) throw notNumbers(table.file, c, name, summary, 'numeric');
    return numeric();
  }
  if (present === 0 && options.unnamed.has(c)) return { kind: 'ignored', name, reason: 'unnamed and empty: a trailing delimiter' };
  if (present === 0 && table.rows > 1) return { kind: 'ignored', name, reason: 'no values' };
  if (summary.text === 0) {
    if (present === 0) return { kind: 'numeric', name };
    const stats = numberStats(table, c);
    if (stats.constant && summary.missing === 0 && table.rows > 1) return { kind: 'ignored', name, reason: 'one value in every row' };
    if (stats.rowIds && table.rows >= MIN_ROWS_FOR_IDS && summary.missing === 0) return { kind: 'ignored', name, reason: 'unique integers in sequence, like row ids; name it as numeric to use it' };
    return numeric();
  }
  if (summary.numeric >= summary.text) throw notNumbers(table.file, c, name, summary, 'auto');
  const dates = summary.numeric === 0 ? dateColumn(summary.texts, name, options.dayfirst) : null;
  if (dates) {
    if (summary.texts.length === 1 && summary.missing === 0 && table.rows > 1) return { kind: 'ignored', name, reason: 'one value in every row' };
    return dates;
  }
  const distinct = summary.texts.length + (summary.numeric > 0 ? 1 : 0);
  if (distinct === 1 && summary.missing === 0 && table.rows > 1) return { kind: 'ignored', name, reason: 'one value in every row' };
  if (distinct > 10 && summary.texts.slice(0, 1000).every(looksNumeric)) {
    // Numbers in a way of writing them that is not read: no category, and no one-hot hint.
    const first = summary.firstTexts[0]!;
    return { kind: 'ignored', name, reason: `numbers written in a way gradpool does not read, e.g. "${first.cell}" at line ${first.line} (--thousands and --decimal name the separators)` };
  }
  if (distinct > 10 && distinct > present / 2) {
    const many = distinct > CATEGORICAL_MAX_LEVELS ? `more than ${CATEGORICAL_MAX_LEVELS} distinct texts, ` : '';
    return { kind: 'ignored', name, reason: `${many}nearly unique texts (${summary.texts.length} distinct in ${present} cells), like ids or free text; name it as categorical to one-hot its values` };
  }
  if (distinct > CATEGORICAL_MAX_LEVELS && freeText(summary.texts)) return { kind: 'ignored', name, reason: 'free text (sentences, not categories); name it as categorical to one-hot its frequent values' };
  const counts = levelCounts(table, c);
  if (counts.size <= CATEGORICAL_MAX_LEVELS) return { kind: 'categorical', name, levels: sortNames(counts.keys()), missingLevel };
  // Many levels: the frequent ones, plus "other" for the rest (and for values unseen in training).
  const capped = capLevels(counts);
  if (capped.levels.length === 0) return { kind: 'ignored', name, reason: `${counts.size} distinct texts, none in ${LEVEL_MIN_ROWS} rows or more` };
  return { kind: 'categorical', name, ...capped, missingLevel };
}

/** Rows of each distinct value of a column (numbers named as float32Text writes them), missing cells left out. */
function levelCounts(table: RawTable, c: number): Map<string, number> {
  const { u32, f32, columns, rows } = table;
  const texts = table.summaries[c]!.texts;
  const byText = new Float64Array(texts.length);
  const byNumber = new Map<number, number>();
  let part = 0;
  let nextPart = table.parts[1]?.firstRow ?? Infinity;
  let codes = table.parts[0]?.codes[c];
  for (let r = 0, i = c; r < rows; r++, i += columns) {
    while (r >= nextPart) {
      part++;
      codes = table.parts[part]!.codes[c];
      nextPart = table.parts[part + 1]?.firstRow ?? Infinity;
    }
    const bits = u32[i]!;
    if (bits === MISSING_CELL) continue;
    if (isTextCell(bits)) byText[codes![bits - TEXT_CELL]!]!++;
    else byNumber.set(f32[i]!, (byNumber.get(f32[i]!) ?? 0) + 1);
  }
  const counts = new Map<string, number>();
  texts.forEach((text, t) => byText[t]! > 0 && counts.set(text, byText[t]!));
  for (const [value, count] of byNumber) {
    const text = float32Text(value);
    counts.set(text, (counts.get(text) ?? 0) + count);
  }
  return counts;
}

/** The levels kept of a column of many: seen in LEVEL_MIN_ROWS rows or more, the LEVELS_KEPT most frequent (ties by name), sorted. */
function capLevels(counts: ReadonlyMap<string, number>): { levels: string[]; other: true } {
  const frequent = [...counts].filter(([, n]) => n >= LEVEL_MIN_ROWS).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { levels: sortNames(frequent.slice(0, LEVELS_KEPT).map(([level]) => level)), other: true };
}

/** Sentences rather than categories: most distinct texts hold three words or more. */
function freeText(texts: readonly string[]): boolean {
  const sample = texts.slice(0, 1000);
  return sample.filter((t) => t.trim().split(/\s+/).length >= 3).length > sample.length / 2;
}

/** A date column when every text is a date (or a time) in one order; its parts from what the texts hold. */
function dateColumn(texts: readonly string[], name: string, dayfirst: boolean): DateColumn | null {
  const order = sniffDateOrder(texts, dayfirst ? 'dmy' : 'mdy');
  if (order === null) return null;
  const values: DateValue[] = [];
  for (const text of texts) {
    const value = parseDateValue(text, order);
    if (!value) return null;
    values.push(value);
  }
  const parts = dateParts(values);
  const slashed = texts.some((t) => /^\d{1,2}[-/]\d{1,2}[-/]/.test(t));
  return { kind: 'date', name, ...(slashed ? { order } : {}), ...(parts.length ? { parts } : {}) };
}

/** A column of numbers with some words in it. */
function notNumbers(file: string, c: number, name: string, summary: ColumnSummary, mode: 'auto' | 'numeric' | 'model'): InputError {
  const first = summary.firstTexts[0]!;
  const cells = summary.firstTexts.map((ref) => `"${ref.cell}" (line ${ref.line})`).join(', ');
  const count = `${summary.text} of ${summary.text + summary.numeric} cells in this column ${summary.text === 1 ? 'is not a number' : 'are not numbers'}: ${cells}${summary.text > summary.firstTexts.length ? ', …' : ''}`;
  const advice =
    mode === 'model'
      ? 'the model reads it as numbers'
      : `fix ${summary.text === 1 ? 'it' : 'them'}, mark ${summary.text === 1 ? 'it' : 'them'} missing with ${optionRef('naValues')}, or read the column as categories with ${optionRef('categorical')} ${name.length > 60 ? c : name}`;
  return new InputError(`${at(file, first.line, c + 1)}: column ${quoted(name)} needs a finite number, found "${first.cell}" (${count}; ${advice})`);
}

/** Distinct values of a column as text (numbers written as float32s read back), sorted; at most `max` (then it stops). */
function levelsOf(table: RawTable, c: number, max: number): string[] {
  const summary = table.summaries[c]!;
  const names = new Set(summary.texts.slice(0, max + 1));
  if (summary.numeric > 0) {
    const { u32, f32, columns, rows } = table;
    const values = new Set<number>();
    for (let r = 0, i = c; r < rows && values.size + names.size <= max; r++, i += columns) {
      if (u32[i]! >>> 22 !== 0x1ff) values.add(f32[i]!);
    }
    for (const value of values) names.add(float32Text(value));
  }
  return sortNames(names);
}

interface NumberStats {
  constant: boolean;
  /** Unique integers, consecutive or strictly monotonic. */
  rowIds: boolean;
}

function numberStats(table: RawTable, c: number): NumberStats {
  const { u32, f32, columns, rows } = table;
  let min = Infinity;
  let max = -Infinity;
  let integers = true;
  let increasing = true;
  let decreasing = true;
  let previous = NaN;
  let present = 0;
  for (let r = 0, i = c; r < rows; r++, i += columns) {
    if (u32[i] === MISSING_CELL) continue;
    const v = f32[i]!;
    present++;
    if (v < min) min = v;
    if (v > max) max = v;
    if (integers && v !== Math.trunc(v)) integers = false;
    if (v <= previous) increasing = false;
    if (v >= previous) decreasing = false;
    previous = v;
    if (!integers && min !== max) return { constant: false, rowIds: false };
  }
  const constant = min === max;
  if (!integers || constant || present !== rows) return { constant, rowIds: false };
  if (increasing || decreasing) return { constant, rowIds: true };
  if (max - min + 1 !== rows) return { constant, rowIds: false };
  const seen = new Uint8Array(rows);
  for (let r = 0, i = c; r < rows; r++, i += columns) {
    const slot = f32[i]! - min;
    if (seen[slot]) return { constant, rowIds: false };
    seen[slot] = 1;
  }
  return { constant, rowIds: true };
}

/** Classes or values for the label column; --loss auto picks values for many or fractional numbers. */
function decideTarget(table: RawTable, label: number, name: string, mode: TargetMode, notes: string[]): { target: 'classes' | 'values'; classNames: string[] | null } {
  const summary = table.summaries[label]!;
  if (mode === 'values') {
    if (summary.text > 0) throw notNumbers(table.file, label, name, summary, 'model');
    return { target: 'values', classNames: null };
  }
  if (mode === 'auto' && summary.text === 0 && summary.numeric > 0) {
    // Integers that repeat are classes (labels 0..99 in many rows each); fractions, or integers
    // most of which are rare, are values. The choice is said in a note naming --loss.
    const { u32, f32, columns, rows } = table;
    const counts = new Map<number, number>();
    let fractional = false;
    for (let r = 0, i = label; r < rows; r++, i += columns) {
      if (u32[i] === MISSING_CELL) continue;
      const v = f32[i]!;
      if (v !== Math.trunc(v)) {
        fractional = true;
        break;
      }
      counts.set(v, (counts.get(v) ?? 0) + 1);
      if (counts.size > MAX_CLASSES) break;
    }
    const repeated = !fractional && counts.size <= MAX_CLASSES && Math.min(...counts.values()) >= CLASS_MIN_ROWS;
    if (counts.size > CLASSES_MAX_DISTINCT && repeated) {
      notes.push(`label ${quoted(name)} holds ${counts.size} distinct integers, each in ${CLASS_MIN_ROWS} rows or more: read as ${counts.size} classes (--loss mse reads them as a regression target)`);
    } else if (fractional || counts.size > CLASSES_MAX_DISTINCT) {
      notes.push(`label ${quoted(name)} holds numbers (${fractional ? 'with fractions' : `more than ${CLASSES_MAX_DISTINCT} distinct`}): regression with mse, reported in the label's units (${fractional ? '' : `some in fewer than ${CLASS_MIN_ROWS} rows; `}--loss cross-entropy reads them as classes)`);
      return { target: 'values', classNames: null };
    }
  }
  const classNames = levelsOf(table, label, MAX_CLASSES + 1);
  if (classNames.length > MAX_CLASSES) throw new InputError(`${at(table.file, 1, label + 1)}: label column ${quoted(name)} has more than ${MAX_CLASSES} distinct values, too many classes (${optionRef('loss')} mse reads numbers as values)`);
  return { target: 'classes', classNames };
}

// ---------- a file read against a schema (a model's, or the training set's) ----------

export interface AgainstOptions {
  /** Labels wanted: required (evaluate, test data), optional (present or not), ignored (predict). */
  readonly labels: 'required' | 'optional' | 'ignore';
  readonly classNames: readonly string[] | null;
  readonly target: 'classes' | 'values';
  /** The label column(s) by name or index (--label-column), else the schema's. */
  readonly labelColumn?: string | number | readonly (string | number)[] | undefined;
  /** Who fixed the schema, for messages: "the model" or "the training data". */
  readonly owner: string;
}

/** Which file column feeds each schema column: by name, or by position in a file without a header. */
export function matchColumns(file: string, names: readonly string[], hasHeader: boolean, schema: Schema, options: AgainstOptions): ColumnMatch {
  const features = schema.columns.filter((c): c is FeatureColumn => c.kind === 'numeric' || c.kind === 'date' || c.kind === 'categorical');
  const schemaLabels = schema.columns.filter((c) => c.kind === 'label');
  const schemaLabel = schemaLabels[0];
  const notes: string[] = [];
  let label = -1;
  let extraLabels: number[] = [];
  if (options.labels !== 'ignore') {
    if (options.labelColumn !== undefined) {
      [label = -1, ...extraLabels] = labelColumnList(file, names, options.labelColumn);
    } else if (schemaLabels.length > 1) {
      // Every target of a multi-output model, or none (predict-like rows without targets).
      const found = schemaLabels.map((c) => names.indexOf(c.name));
      const absent = schemaLabels.filter((_, i) => found[i]! < 0);
      if (absent.length > 0 && absent.length < found.length) throw new InputError(`${at(file, 1)}: missing label column${absent.length === 1 ? '' : 's'} ${absent.map((c) => quoted(c.name)).join(', ')} (${options.owner} has ${schemaLabels.length} targets: ${schemaLabels.map((c) => quoted(c.name)).join(', ')})`);
      if (absent.length === 0) [label = -1, ...extraLabels] = found;
    } else if (schemaLabel) label = names.indexOf(schemaLabel.name);
    const wanted = schemaLabels.length || 1;
    if (label >= 0 && extraLabels.length + 1 !== wanted) throw new InputError(`${optionRef('labelColumn')}: names ${extraLabels.length + 1} label column${extraLabels.length ? 's' : ''}, ${options.owner} has ${wanted} target${wanted === 1 ? '' : 's'}`);
  }
  let sources = features.map((column) => names.indexOf(column.name));
  if (!hasHeader && sources.some((s) => s < 0)) {
    // No header: by position, when the file has the training file's columns (with or without the label).
    const all = schema.columns.length;
    const withoutLabel = schema.columns.filter((c) => c.kind !== 'label');
    if (names.length === all) {
      sources = features.map((column) => schema.columns.indexOf(column));
      if (options.labels !== 'ignore' && options.labelColumn === undefined && schemaLabel) label = schema.columns.indexOf(schemaLabel);
    } else if (names.length === withoutLabel.length) {
      sources = features.map((column) => withoutLabel.indexOf(column));
      if (options.labelColumn === undefined) label = -1;
    }
  }
  const missing = features.filter((_, i) => sources[i]! < 0).map((c) => quoted(c.name));
  if (missing.length > 0) {
    throw new InputError(`${at(file, 1)}: missing column${missing.length === 1 ? '' : 's'} ${missing.join(', ')} that ${options.owner} reads (the file has ${names.slice(0, 20).map((n) => quoted(n)).join(', ')}${names.length > 20 ? ', …' : ''})`);
  }
  if (label < 0 && options.labels === 'required') {
    throw new InputError(`${at(file, 1)}: no label column${schemaLabel ? ` ${quoted(schemaLabel.name)}` : ''} to evaluate against (name it with ${optionRef('labelColumn')})`);
  }
  const used = new Set([...sources, label, ...extraLabels]);
  const known = new Set(schema.columns.map((c) => c.name));
  const extra = names.filter((name, c) => !used.has(c) && !known.has(name) && hasHeader);
  if (extra.length > 0) notes.push(`${file}: column${extra.length === 1 ? '' : 's'} ${extra.map((n) => quoted(n)).join(', ')} not used by ${options.owner}: ignored`);
  return { sources, label, extraLabels, notes };
}

/** Which file column feeds each schema feature column, and the label column(s): -1 for none. */
export interface ColumnMatch {
  sources: number[];
  label: number;
  extraLabels: number[];
  notes: string[];
}

export function planAgainst(table: RawTable, names: readonly string[], schema: Schema, match: ColumnMatch, options: AgainstOptions): ColumnPlan {
  const features = schema.columns.filter((c): c is FeatureColumn => c.kind === 'numeric' || c.kind === 'date' || c.kind === 'categorical');
  features.forEach((column, i) => {
    const c = match.sources[i]!;
    const summary = table.summaries[c]!;
    if (column.kind === 'numeric' && summary.text > 0) throw notNumbers(table.file, c, names[c]!, summary, 'model');
    if (column.kind === 'date') {
      if (summary.numeric > 0) throw new InputError(`${at(table.file, 1, c + 1)}: column ${quoted(names[c]!)} holds numbers, ${options.owner} reads it as dates`);
      const bad = summary.texts.find((t) => !parseDateValue(t, column.order));
      if (bad !== undefined) throw new InputError(`${table.file}: column ${quoted(names[c]!)} needs dates (${column.order === 'dmy' ? 'DD/MM/YYYY' : 'MM/DD/YYYY'}, YYYY-MM-DD, or times), found "${bad.slice(0, 60)}"`);
    }
  });
  let target: ColumnPlan['target'] = 'none';
  if (match.label >= 0) {
    target = options.target;
    if (target === 'values') {
      for (const l of [match.label, ...match.extraLabels]) {
        const summary = table.summaries[l]!;
        if (summary.text > 0) throw notNumbers(table.file, l, names[l]!, summary, 'model');
      }
    }
  }
  const classNames = target === 'classes' ? (options.classNames ?? decideTarget(table, match.label, names[match.label]!, 'classes', []).classNames) : null;
  return { schema, sources: match.sources, label: match.label, extraLabels: match.label >= 0 ? match.extraLabels : [], target, classNames, closedClasses: options.classNames !== null, notes: match.notes };
}

// ---------- the checks over whole columns, then the one pass ----------

/** Missing cells in used columns under --missing error: one message with the count per column and the first place. */
export function checkMissing(table: RawTable, names: readonly string[], plan: ColumnPlan, purpose: 'train' | 'read'): void {
  const features = plan.schema.columns.filter((c): c is FeatureColumn => c.kind === 'numeric' || c.kind === 'date' || c.kind === 'categorical');
  const missing = plan.sources.map((c, i) => ({ c, column: features[i]!, summary: table.summaries[c]! })).filter((m) => m.summary.missing > 0);
  if (missing.length === 0) return;
  const first = missing.reduce((a, b) => (b.summary.firstMissing!.line < a.summary.firstMissing!.line ? b : a));
  const total = missing.reduce((sum, m) => sum + m.summary.missing, 0);
  const perColumn = missing
    .map((m) => `${quoted(names[m.c]!)} ${m.summary.missing} (first at line ${m.summary.firstMissing!.line}${m.summary.firstMissing!.cell === '' ? ', empty' : `, "${m.summary.firstMissing!.cell}"`})`)
    .join(', ');
  const advice =
    purpose === 'train'
      ? `add ${optionRef('missing')} impute (numbers: the training mean; categories: a level of their own; kept in the model) or ${optionRef('missing')} drop (drops those rows)`
      : 'the model was trained without --missing impute: fill them in, or train with --missing impute';
  throw new InputError(`${at(table.file, first.summary.firstMissing!.line, first.c + 1)}: ${total} missing cell${total === 1 ? '' : 's'} (empty, NA, NaN, …): ${perColumn}; ${advice}`);
}

export interface Encoded {
  readonly rows: number;
  readonly features: number;
  readonly x: Float32Array;
  readonly targets: Targets;
  readonly dropped: number;
}

/**
 * Writes targets and inputs for every row: in place over the raw table when the inputs are no wider
 * than the file's rows (each row is read before anything is written over it), else into a new array.
 */
export function encode(table: RawTable, names: readonly string[], plan: ColumnPlan, dropMissing: boolean): Encoded {
  const { file, u32, f32, columns: C, rows, lines } = table;
  const features = plan.schema.columns.filter((c): c is FeatureColumn => c.kind === 'numeric' || c.kind === 'date' || c.kind === 'categorical');
  const F = features.reduce((sum, c) => sum + encodedWidth(c), 0);
  // The one-hot width counts before anything is allocated for it (a column of many levels).
  checkValues(file, rows, F + 1 + plan.extraLabels.length, F > C ? `one-hot encodes to` : 'has');
  const inPlace = F <= C;
  const out = inPlace ? f32 : new Float32Array(rows * F);
  const row32 = new Uint32Array(C);
  const rowF = new Float32Array(row32.buffer);

  // Per feature column: where it reads, how it writes.
  const steps = features.map((column, i) => {
    const source = plan.sources[i]!;
    const texts = table.summaries[source]!.texts;
    if (column.kind === 'categorical') {
      const levelIndex = new Map(column.levels.map((level, l) => [level, l]));
      return { kind: 2, source, width: encodedWidth(column), missingSlot: column.missingLevel ? column.levels.length : -1, ofText: Int32Array.from(texts, (t) => levelIndex.get(t) ?? -1), levelIndex, other: column.other === true };
    }
    if (column.kind === 'date') {
      // Each distinct text's inputs once (days, then the parts), copied per row.
      const width = encodedWidth(column);
      const days = new Float64Array(texts.length * width);
      texts.forEach((text, t) => writeDateInputs(column, text, days, t * width) || days.fill(NaN, t * width, (t + 1) * width));
      return { kind: 1, source, width, days, missingSlot: -1 };
    }
    return { kind: 0, source, width: 1, missingSlot: -1 };
  });
  const levelOfNumber = (step: (typeof steps)[number], value: number): number => (step as { levelIndex?: Map<string, number> }).levelIndex?.get(float32Text(value)) ?? -1;

  const labelAt = plan.label;
  // Regression targets: the label column's, then those of the further label columns, per row.
  const targetColumns = [labelAt, ...plan.extraLabels];
  const T = targetColumns.length;
  const classes = plan.target === 'classes' ? new Int32Array(rows) : null;
  const values = plan.target === 'values' ? new Float32Array(rows * T) : null;
  const classIndex = new Map((plan.classNames ?? []).map((name, i) => [name, i]));
  const classOfText = plan.target === 'classes' ? Int32Array.from(table.summaries[labelAt]!.texts, (t) => classIndex.get(t) ?? -1) : null;
  const classOfNumber = new Map<number, number>();
  /** The class of a label cell, or −1 when it is not among the known classes. */
  const classOfCell = (bits: number, value: number, codes: readonly Int32Array[]): number => {
    if (isTextCell(bits)) return classOfText![codes[labelAt]![bits - TEXT_CELL]!]!;
    let cached = classOfNumber.get(value);
    if (cached === undefined) {
      cached = classIndex.get(float32Text(value)) ?? -1;
      classOfNumber.set(value, cached);
    }
    return cached;
  };
  const usedColumns = steps.map((s) => s.source);

  // Numbers only (the usual large file): straight from the table, each row's label read before its
  // inputs are written (writes never pass the reads: sources rise and the inputs are fewer than the cells).
  if (!dropMissing && steps.every((s) => s.kind === 0)) {
    const sources = Int32Array.from(steps, (s) => s.source);
    const smallClass = classes ? smallIntegerClasses(plan.classNames!) : null;
    for (let r = 0; r < rows; r++) {
      const base = r * C;
      if (labelAt >= 0 && plan.target !== 'none') {
        const bits = u32[base + labelAt]!;
        if (bits === MISSING_CELL) throw missingLabel(table, names, labelAt, r);
        if (values) {
          for (let t = 0; t < T; t++) {
            if (u32[base + targetColumns[t]!] === MISSING_CELL) throw missingLabel(table, names, targetColumns[t]!, r);
            values[r * T + t] = f32[base + targetColumns[t]!]!;
          }
        } else if (smallClass && !isTextCell(bits) && f32[base + labelAt]! >>> 0 < smallClass.length && f32[base + labelAt] === (f32[base + labelAt]! >>> 0)) {
          const index = smallClass[f32[base + labelAt]!]!;
          if (index < 0) throw unknownLabel(table, names, plan, r, labelAt, bits, table.parts[partOf(table, r)]!.codes);
          classes![r] = index;
        } else {
          const index = classOfCell(bits, f32[base + labelAt]!, table.parts[partOf(table, r)]!.codes);
          if (index < 0) throw unknownLabel(table, names, plan, r, labelAt, bits, table.parts[partOf(table, r)]!.codes);
          classes![r] = index;
        }
      }
      const o = r * F;
      for (let k = 0; k < F; k++) out[o + k] = f32[base + sources[k]!]!;
    }
    const targets: Targets = values ? valueTargets(values, names, targetColumns) : classes ? { kind: 'classes', index: classes, names: plan.classNames! } : { kind: 'none' };
    return { rows, features: F, x: out.subarray(0, rows * F), targets, dropped: 0 };
  }

  let part = 0;
  let nextPart = table.parts[1]?.firstRow ?? Infinity;
  let codes = table.parts[0]?.codes ?? [];
  let written = 0;
  let dropped = 0;
  for (let r = 0; r < rows; r++) {
    while (r >= nextPart) {
      part++;
      codes = table.parts[part]!.codes;
      nextPart = table.parts[part + 1]?.firstRow ?? Infinity;
    }
    const base = r * C;
    for (let c = 0; c < C; c++) row32[c] = u32[base + c]!;
    if (dropMissing) {
      let skip = labelAt >= 0 && plan.target !== 'none' && targetColumns.some((l) => row32[l] === MISSING_CELL);
      for (let k = 0; k < usedColumns.length && !skip; k++) if (row32[usedColumns[k]!] === MISSING_CELL) skip = true;
      if (skip) {
        dropped++;
        continue;
      }
    }
    if (labelAt >= 0 && plan.target !== 'none') {
      const bits = row32[labelAt]!;
      if (bits === MISSING_CELL) throw missingLabel(table, names, labelAt, r);
      if (values) {
        for (let t = 0; t < T; t++) {
          if (row32[targetColumns[t]!] === MISSING_CELL) throw missingLabel(table, names, targetColumns[t]!, r);
          values[written * T + t] = rowF[targetColumns[t]!]!;
        }
      } else {
        const index = classOfCell(bits, rowF[labelAt]!, codes);
        if (index < 0) throw unknownLabel(table, names, plan, r, labelAt, bits, codes);
        classes![written] = index;
      }
    }
    let o = written * F;
    for (let k = 0; k < steps.length; k++) {
      const step = steps[k]!;
      const bits = row32[step.source]!;
      if (step.kind === 0) {
        out[o++] = bits === MISSING_CELL ? NaN : rowF[step.source]!;
      } else if (step.kind === 1) {
        const width = step.width;
        if (bits === MISSING_CELL) for (let j = 0; j < width; j++) out[o + j] = NaN;
        else {
          const from = codes[step.source]![bits - TEXT_CELL]! * width;
          for (let j = 0; j < width; j++) out[o + j] = (step as { days: Float64Array }).days[from + j]!;
        }
        o += width;
      } else {
        const width = step.width;
        for (let j = 0; j < width; j++) out[o + j] = 0;
        let level: number;
        if (bits === MISSING_CELL) level = step.missingSlot;
        else if (isTextCell(bits)) level = (step as { ofText: Int32Array }).ofText[codes[step.source]![bits - TEXT_CELL]!]!;
        else level = levelOfNumber(step, rowF[step.source]!);
        if (level >= 0) out[o + level] = 1;
        else if ((step as { other?: boolean }).other && bits !== MISSING_CELL) out[o + width - 1] = 1;
        o += width;
      }
    }
    written++;
  }
  let targets: Targets;
  if (values) targets = valueTargets(written === rows ? values : values.slice(0, written * T), names, targetColumns);
  else if (classes) targets = { kind: 'classes', index: written === rows ? classes : classes.slice(0, written), names: plan.classNames! };
  else targets = { kind: 'none' };
  return { rows: written, features: F, x: out.subarray(0, written * F), targets, dropped };
}

/** Regression targets: one value per row, or with several label columns one per column, named. */
function valueTargets(values: Float32Array, names: readonly string[], targetColumns: readonly number[]): Targets {
  return targetColumns.length > 1 ? { kind: 'values', values, names: targetColumns.map((c) => names[c]!) } : { kind: 'values', values };
}

/** Class index by label value for classes named 0, 1, 2, … (in any order, up to 4096), or null. */
function smallIntegerClasses(names: readonly string[]): Int32Array | null {
  if (names.length === 0 || !names.every((n) => /^\d{1,4}$/.test(n) && Number(n) < 4096)) return null;
  const table = new Int32Array(Math.max(...names.map(Number)) + 1).fill(-1);
  names.forEach((n, i) => (table[Number(n)] = i));
  return table;
}

function partOf(table: RawTable, row: number): number {
  let part = 0;
  while (part + 1 < table.parts.length && table.parts[part + 1]!.firstRow <= row) part++;
  return part;
}

function unknownLabel(table: RawTable, names: readonly string[], plan: ColumnPlan, row: number, label: number, bits: number, codes: readonly Int32Array[]): InputError {
  const text = isTextCell(bits) ? table.summaries[label]!.texts[codes[label]![bits - TEXT_CELL]!]! : float32Text(new Float32Array(new Uint32Array([bits]).buffer)[0]!);
  const shown = text.slice(0, 60).replace(/[\u0000-\u001f]/g, (ch) => JSON.stringify(ch).slice(1, -1));
  const known = plan.classNames!.slice(0, 20).map((n) => n.slice(0, 60)).join(', ');
  return new InputError(`${at(table.file, table.lines[row]!, label + 1)}: label "${shown}" was not among the training labels (${known}${plan.classNames!.length > 20 ? ', …' : ''})`);
}

function missingLabel(table: RawTable, names: readonly string[], label: number, row: number): InputError {
  const first = table.summaries[label]!.firstMissing;
  const cell = first && first.line === table.lines[row] ? first.cell : '';
  const what = cell === '' ? 'empty label' : `missing label "${cell}"`;
  // The last row is often a footer (a total); elsewhere a row really lacks its label.
  const fix = row === table.rows - 1 ? `if line ${table.lines[row]} is a footer, ${optionRef('skipFooter')} 1 leaves it out; ${optionRef('missing')} drop leaves out every row without a label` : `${optionRef('missing')} drop leaves such rows out`;
  return new InputError(`${at(table.file, table.lines[row]!, label + 1)}: ${what} in column ${quoted(names[label]!)} (${fix})`);
}
