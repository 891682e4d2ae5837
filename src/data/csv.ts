// CSV files as people have them: the dialect sniffed (delimiter, decimal comma, header or not), the
// records parsed by several threads into one raw table (csv/table.ts, csv/parse.ts), each column's
// kind inferred from the training file or taken from a model's schema (csv/columns.ts), and the
// result described like every other source (dataset.ts).
import { readFile, open, stat } from 'node:fs/promises';
import { InputError, at, optionRef } from '../errors.js';
import { materialize, type DataDescription, type Dataset } from './dataset.js';
import { checkMissing, columnIndex, encode, inferPlan, labelColumnList, matchColumns, planAgainst, resolveChoices, type ColumnChoices, type ColumnPlan, type TargetMode } from './csv/columns.js';
import { columnNames, generatedNames, readTextRecords, sniffDecimal, sniffDelimiter, sniffHeader, type TextRecord } from './csv/dialect.js';
import { readTable } from './csv/table.js';
import { DEFAULT_NA_VALUES, type MissingPolicy, type Schema } from './schema.js';

export interface CsvOptions extends ColumnChoices {
  /** Column name or 0-based index (a number or a numeric string); several (an array, or "a,b") train a multi-output regression; default: the last column. */
  labelColumn?: string | number | readonly (string | number)[] | undefined;
  /** classes, values (regression), or auto: values for a numeric label with fractions or more than 50 distinct numbers. */
  labels?: TargetMode | undefined;
  /** Known class names (from the training set or a model): a label outside them is an error. */
  classNames?: readonly string[] | undefined;
  /** A model without a schema: its input count; columns are read by position. */
  features?: number | undefined;
  /** Columns by name as a model (or the training set) read them; inference is skipped. */
  schema?: Schema | null | undefined;
  /** Accept a file without its label column (predict, and the positional case of exactly `features` columns). */
  allowUnlabelled?: boolean | undefined;
  /** Do not read the label column at all (predict: a label unseen in training is no error). */
  ignoreLabels?: boolean | undefined;
  /** Who fixed the schema, for messages (default "the model"). */
  owner?: string | undefined;
  /** , ; | or tab ('\t'); default: sniffed. */
  delimiter?: string | undefined;
  /** . or , ; default: a comma when the delimiter is not one and numbers are written 1,5. */
  decimal?: '.' | ',' | undefined;
  /** Whether the first record names the columns; auto: not when it is numbers like the rows below it. */
  header?: 'auto' | 'yes' | 'no' | undefined;
  /** More cell texts read as missing (besides the empty cell, NA, N/A, NaN, null, ? …). */
  naValues?: readonly string[] | undefined;
  /** What a missing cell does in a training file (a model's schema carries its own). */
  missing?: MissingPolicy | undefined;
  /** Parsing threads (default: the cores, at most 8; files under 4 MB per thread use fewer). */
  threads?: number | undefined;
  /** Bytes read so far of the total, now and then while reading. */
  onProgress?: ((bytes: number, total: number) => void) | undefined;
}

/** Files up to this size are read whole and parsed on the main thread. */
const SMALL_FILE = 16 << 20;
const HEAD_BYTES = 1 << 20;
const SAMPLE_RECORDS = 51;

export async function loadCsv(file: string, options: CsvOptions = {}): Promise<Dataset> {
  return materialize(await openCsv(file, options));
}

export async function openCsv(file: string, options: CsvOptions = {}): Promise<DataDescription> {
  const size = await fileSize(file);
  let head = size <= SMALL_FILE ? await readWhole(file) : await readHead(file, HEAD_BYTES);
  const bom = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  let complete = head.length >= size;
  const delimiter = delimiterByte(options.delimiter) ?? sniffDelimiter(head, bom, Math.min(head.length, 1 << 16), complete);
  let sample = readTextRecords(head, bom, head.length, delimiter, SAMPLE_RECORDS, complete);
  while (sample.length < 2 && !complete && head.length < 64 << 20) {
    head = await readHead(file, head.length * 4);
    complete = head.length >= size;
    sample = readTextRecords(head, bom, head.length, delimiter, SAMPLE_RECORDS, complete);
  }
  const first = sample[0];
  if (!first) throw new InputError(`${file}: empty file (expected a header row and data rows)`);
  const decimal = options.decimal === ',' ? 0x2c : options.decimal === '.' ? 0x2e : sniffDecimal(sample, delimiter);
  const naValues = [...DEFAULT_NA_VALUES, ...(options.naValues ?? []).filter((v) => !DEFAULT_NA_VALUES.includes(v))];
  const na = new Set(['', ...naValues, ...(options.schema?.naValues ?? [])]);
  const hasHeader = decideHeader(options, sample, decimal, na);
  const names = hasHeader ? columnNames(first.cells) : generatedNames(first.cells.length);
  const columns = names.length;

  // Which columns are read, before reading them.
  const mode = options.schema ? 'schema' : options.features !== undefined ? 'positional' : 'infer';
  let label = -1;
  let extraLabels: number[] = [];
  let match: ReturnType<typeof matchColumns> | undefined;
  const skip = new Uint8Array(columns);
  const against = { labels: options.ignoreLabels ? 'ignore' : options.allowUnlabelled ? 'optional' : 'required', classNames: options.classNames ?? null, labelColumn: options.labelColumn, owner: options.owner ?? 'the model' } as const;
  if (mode === 'schema') {
    match = matchColumns(file, names, hasHeader, options.schema!, { ...against, target: options.labels === 'values' ? 'values' : 'classes' });
    const used = new Set([...match.sources, match.label, ...match.extraLabels]);
    for (let c = 0; c < columns; c++) if (!used.has(c)) skip[c] = 1;
    label = match.label;
  } else if (mode === 'positional') {
    const unlabelled = (options.allowUnlabelled && options.labelColumn === undefined && columns === options.features) || (options.ignoreLabels && columns === options.features);
    label = unlabelled ? -1 : findLabelColumn(file, names, options.labelColumn);
    if (columns - (label < 0 ? 0 : 1) < 1) throw new InputError(`${at(file, 1)}: needs at least one feature column besides the label column`);
    const features = columns - (label < 0 ? 0 : 1);
    if (features !== options.features) throw new InputError(`${at(file, 1)}: has ${features} feature columns, but the model was trained on ${options.features}`);
    if (options.ignoreLabels && label >= 0) skip[label] = 1;
  } else {
    const list = options.allowUnlabelled && options.labelColumn === undefined ? [] : options.labelColumn === undefined ? [names.length - 1] : labelColumnList(file, names, options.labelColumn);
    [label = -1, ...extraLabels] = list;
    if (columns < 1 + list.length && label >= 0) throw new InputError(`${at(file, 1)}: needs at least one feature column besides the label column${list.length > 1 ? 's' : ''}`);
    for (const [c, kind] of resolveChoices(file, names, options)) if (kind === 'ignored' && !list.includes(c)) skip[c] = 1;
  }

  const dataStart = hasHeader ? first.end : bom;
  const table = await readTable({
    file,
    bytes: size <= SMALL_FILE ? head : undefined,
    size,
    dataStart,
    firstLine: hasHeader ? 1 + first.lines : 1,
    setup: { columns, delimiter, decimal, naValues: [...na].filter((v) => v !== ''), skip },
    names,
    threads: options.threads,
    onProgress: options.onProgress,
  });
  if (table.rows === 0) throw new InputError(`${file}: no data rows${hasHeader ? ' after the header' : ''}`);

  let plan: ColumnPlan;
  let policy: MissingPolicy;
  if (mode === 'infer') {
    policy = options.missing ?? 'error';
    plan = inferPlan(table, names, label, { ...options, extraLabels, target: options.labels ?? 'auto', missing: policy, naValues: naValues.filter((v) => !DEFAULT_NA_VALUES.includes(v)) });
  } else {
    const schema = options.schema ?? positionalSchema(names, label);
    const matched = match ?? { sources: names.map((_, c) => c).filter((c) => c !== label), label: skip[label] ? -1 : label, extraLabels: [], notes: [] };
    plan = planAgainst(table, names, schema, matched, { ...against, target: options.labels === 'values' ? 'values' : 'classes' });
    // A model that imputes fills missing cells; one that drops them drops rows when evaluating, and
    // refuses them when predicting (a prediction per row of the file).
    policy = schema.missing === 'drop' && !options.ignoreLabels ? 'drop' : schema.missing === 'impute' ? 'impute' : 'error';
  }
  if (policy === 'error') checkMissing(table, names, plan, mode === 'infer' ? 'train' : 'read');
  const encoded = encode(table, names, plan, policy === 'drop');
  if (encoded.rows === 0) throw new InputError(`${file}: every row has a missing cell; ${optionRef('missing')} drop left no rows (try ${optionRef('missing')} impute)`);
  const notes = [...plan.notes];
  if (encoded.dropped > 0) notes.push(`${file}: ${encoded.dropped} of ${table.rows} rows dropped for missing cells (missing: drop)`);
  const { x } = encoded;
  return {
    source: file,
    rows: encoded.rows,
    features: encoded.features,
    targets: encoded.targets,
    schema: mode === 'positional' ? null : plan.schema,
    autoNormalize: 'standard',
    notes,
    writeFeatures: (into) => into.set(x),
    x,
  };
}

function decideHeader(options: CsvOptions, sample: readonly TextRecord[], decimal: number, na: ReadonlySet<string>): boolean {
  if (options.header === 'yes') return true;
  if (options.header === 'no') return false;
  const schema = options.schema;
  if (schema && sample[0]!.cells.some((cell) => schema.columns.some((c) => c.name === cell))) return true;
  return sniffHeader(sample, decimal, na);
}

/** A model without a schema reads every column but the label as a number, by position. */
function positionalSchema(names: readonly string[], label: number): Schema {
  return { columns: names.map((name, c) => (c === label ? { kind: 'label', name } : { kind: 'numeric', name })), missing: 'error', naValues: [] };
}

/** The one label column of a model without a schema (a multi-output model always has one). */
function findLabelColumn(file: string, names: readonly string[], column: string | number | readonly (string | number)[] | undefined): number {
  if (column === undefined) return names.length - 1;
  if (typeof column !== 'string' && typeof column !== 'number') throw new InputError(`${optionRef('labelColumn')}: a model without a schema reads one label column`);
  const index = columnIndex(names, column);
  if (index >= 0) return index;
  throw new InputError(`${optionRef('labelColumn')}: no column "${String(column).slice(0, 60)}" in ${at(file, 1)} (columns: ${names.map((n) => n.slice(0, 60)).join(', ')})`);
}

function delimiterByte(delimiter: string | undefined): number | undefined {
  if (delimiter === undefined) return undefined;
  if (delimiter === 'tab' || delimiter === '\\t') return 0x09;
  if (delimiter.length !== 1 || /["\r\n]/.test(delimiter) || delimiter.charCodeAt(0) > 0x7f) throw new InputError(`${optionRef('delimiter')} must be one character such as , ; | or tab, got ${JSON.stringify(delimiter.slice(0, 60))}`);
  return delimiter.charCodeAt(0);
}

async function fileSize(file: string): Promise<number> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new InputError(`${file}: not a file`);
    return info.size;
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

async function readWhole(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new InputError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

async function readHead(file: string, bytes: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
