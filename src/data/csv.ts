// CSV files as people have them: the dialect sniffed (delimiter, decimal comma, header or not), the
// records parsed by several threads into one raw table (csv/table.ts, csv/parse.ts), each column's
// kind inferred from the training file or taken from a model's schema (csv/columns.ts), and the
// result described like every other source (dataset.ts).
import { InputError, at, flagName, optionRef } from '../errors.js';
import { materialize, type DataDescription, type Dataset } from './dataset.js';
import { MAX_COLUMNS } from './limits.js';
import { checkMissing, columnIndex, columnList, encode, inferPlan, labelColumnList, matchColumns, planAgainst, resolveChoices, type ColumnChoices, type ColumnPlan, type TargetMode } from './csv/columns.js';
import { DELIMITERS, columnNames, generatedNames, isNumberCell, lineEnd, quoteName, readTextRecords, shortCell, sniffDecimal, sniffDelimiter, sniffHeader, type TextRecord } from './csv/dialect.js';
import { describeFormat, sniffFormat, type DecimalMark, type NumberFormat, type ThousandsMark } from './csv/numbers.js';
import { openSource, readRange, type CsvSource, type Encoding } from './csv/source.js';
import { mib, readTable, recordTooLong } from './csv/table.js';
import { DEFAULT_NA_VALUES, type MissingPolicy, type NumericColumn, type Schema } from './schema.js';

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
  /** The file's text encoding; auto: a BOM, else UTF-8 when it is, else Windows-1252 (see csv/source.ts). */
  encoding?: Encoding | undefined;
  /** The thousands separator of formatted numbers (1,234.50; 'space' for a space); default: sniffed per column. */
  thousands?: ThousandsMark | 'space' | undefined;
  /** Lines starting with this character are comments (#); default: none. */
  comment?: string | undefined;
  /** Lines before the table (a title, an export date); default: sniffed (records shorter than the table's). */
  skipRows?: number | undefined;
  /** Records after the table (a total); default: a last record without a label and with text in the first column. */
  skipFooter?: number | undefined;
  /** Slashed dates (03/04/2024) are day first; default: month first, unless a column shows day first. */
  dayfirst?: boolean | undefined;
  /** The longest record read (default MAX_RECORD_BYTES): longer ones are refused naming the line. */
  maxRecordBytes?: number | undefined;
  /** Parsing threads (default: the cores, at most 8; files under 4 MB per thread use fewer). */
  threads?: number | undefined;
  /** Bytes read so far of the total, now and then while reading. */
  onProgress?: ((bytes: number, total: number) => void) | undefined;
}

/** The records a file's dialect, header and number formats are sniffed from. */
const SAMPLE_RECORDS = 51;
/** The longest record (line) read, by default; --data files with longer ones are refused naming the line. */
export const MAX_RECORD_BYTES = 64 << 20;
/** Leading records looked at for a preamble (title, export date) before the header. */
const MAX_PREAMBLE = 20;

export async function loadCsv(file: string, options: CsvOptions = {}): Promise<Dataset> {
  return materialize(await openCsv(file, options));
}

export async function openCsv(file: string, options: CsvOptions = {}): Promise<DataDescription> {
  const source = await openSource(file, options.encoding ?? 'auto');
  const maxRecordBytes = options.maxRecordBytes ?? MAX_RECORD_BYTES;
  const notes: string[] = [];
  if (source.decoded) notes.push(`${file}: read as ${source.decoded} (${flagName('encoding')} names another encoding)`);
  const comment = commentByte(options.comment);
  let head = source.head;
  let complete = head.length >= source.size;
  // --skip-rows: lines before the table, skipped as they are (they need not be CSV).
  let start = source.bom;
  let line = 1;
  for (let skipped = 0; skipped < (options.skipRows ?? 0); skipped++) {
    let end = lineEnd(head, start, head.length);
    while (end >= head.length && !complete && head.length < maxRecordBytes) {
      head = await source.readHead(head.length * 4);
      complete = head.length >= source.size;
      end = lineEnd(head, start, head.length);
    }
    if (end >= head.length) throw new InputError(`${file}: ${optionRef('skipRows')} ${options.skipRows} skips past the end of the file (or past a line of more than ${mib(maxRecordBytes)})`);
    start = end + (head[end] === 0x0d && head[end + 1] === 0x0a ? 2 : 1);
    line++;
  }
  // Leading lines starting with # are comments whatever --comment says (an export's notes before the table).
  let leadingComments = 0;
  for (;;) {
    let end = lineEnd(head, start, head.length);
    while (end >= head.length && !complete && head.length <= maxRecordBytes) {
      head = await source.readHead(Math.min(head.length * 4, maxRecordBytes + 1));
      complete = head.length >= source.size;
      end = lineEnd(head, start, head.length);
    }
    if (end >= head.length && !complete) throw recordTooLong(file, line, head.length, maxRecordBytes);
    if (end - start > maxRecordBytes) throw recordTooLong(file, line, end - start, maxRecordBytes);
    if (options.comment !== undefined || head[start] !== 0x23 || end >= head.length) {
      checkWidth(file, head, start, end, line, delimiterByte(options.delimiter));
      break;
    }
    start = end + (head[end] === 0x0d && head[end + 1] === 0x0a ? 2 : 1);
    line++;
    leadingComments++;
  }
  if (leadingComments > 0) notes.push(`${file}: skipped ${leadingComments} comment line${leadingComments === 1 ? '' : 's'} (#) before the table; ${flagName('comment')} # skips them anywhere`);
  const sniffWindow = (): number => Math.min(head.length, Math.max(1 << 16, nthLineEnd(head, start, 3)));
  const delimiter = delimiterByte(options.delimiter) ?? sniffDelimiter(head, start, sniffWindow(), complete && sniffWindow() === head.length, comment);
  let sample = readTextRecords(head, start, head.length, delimiter, SAMPLE_RECORDS, complete, line, comment);
  while (sample.length < 2 && !complete && head.length < maxRecordBytes) {
    head = await source.readHead(Math.min(head.length * 4, maxRecordBytes + 1));
    complete = head.length >= source.size;
    sample = readTextRecords(head, start, head.length, delimiter, SAMPLE_RECORDS, complete, line, comment);
  }
  let recordStart = start;
  for (const record of sample) {
    if (record.end - recordStart > maxRecordBytes) throw recordTooLong(file, record.line, record.end - recordStart, maxRecordBytes);
    recordStart = record.end;
  }
  if (sample.length === 0) {
    if (!complete) throw recordTooLong(file, line, head.length - start, maxRecordBytes);
    throw new InputError(`${file}: empty file (expected a header row and data rows)${comment >= 0 || start > 0 ? ', once comments and skipped rows are left out' : ''}`);
  }
  // Very wide files are refused from the first record, before a column is set up.
  if (sample[0]!.cells.length > MAX_COLUMNS) throw new InputError(`${at(file, sample[0]!.line)}: ${sample[0]!.cells.length.toLocaleString('en-US')} columns; gradpool reads at most ${MAX_COLUMNS.toLocaleString('en-US')} columns of a CSV file`);
  // Sniffed only with the dialect: a --delimiter that splits the records unevenly is the user's word, and its ragged rows are the message.
  const preamble = options.skipRows === undefined && options.delimiter === undefined ? preambleLength(sample) : 0;
  const before = preamble > 0 ? sample[preamble - 1]! : null;
  if (preamble > 0) {
    const skippedLine = sample[0]!;
    notes.push(`${file}: skipped ${preamble} line${preamble === 1 ? '' : 's'} before the table (line ${skippedLine.line}: "${shortCell(skippedLine.cells.filter((c) => c !== '').join(' '))}"), shorter than its rows; ${flagName('skipRows')} names how many`);
    sample = sample.slice(preamble);
  }
  const first = sample[0]!;
  const fileDecimal = options.decimal === ',' ? 0x2c : options.decimal === '.' ? 0x2e : sniffDecimal(sample, delimiter);
  const naValues = [...DEFAULT_NA_VALUES, ...(options.naValues ?? []).filter((v) => !DEFAULT_NA_VALUES.includes(v))];
  const na = new Set(['', ...naValues, ...(options.schema?.naValues ?? [])]);
  const hasHeader = decideHeader(options, sample, fileDecimal, na);
  const names = hasHeader ? columnNames(first.cells) : generatedNames(first.cells.length);
  const columns = names.length;
  const body = hasHeader ? sample.slice(1) : sample;
  // Unnamed columns empty in the first records: what a trailing delimiter (a,b,label,) leaves.
  const unnamed = new Set<number>();
  for (let c = 0; c < columns; c++) if ((!hasHeader || first.cells[c] === '') && body.length > 0 && body.every((r) => (r.cells[c] ?? '') === '')) unnamed.add(c);
  let defaultLabel = columns - 1;
  while (defaultLabel > 0 && unnamed.has(defaultLabel)) defaultLabel--;

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
    label = unlabelled ? -1 : findLabelColumn(file, names, options.labelColumn, defaultLabel);
    if (columns - (label < 0 ? 0 : 1) < 1) throw new InputError(`${at(file, 1)}: needs at least one feature column besides the label column`);
    const features = columns - (label < 0 ? 0 : 1);
    if (features !== options.features) throw new InputError(`${at(file, 1)}: has ${features} feature columns, but the model was trained on ${options.features}`);
    if (options.ignoreLabels && label >= 0) skip[label] = 1;
  } else {
    const list = options.allowUnlabelled && options.labelColumn === undefined ? [] : options.labelColumn === undefined ? [defaultLabel] : labelColumnList(file, names, options.labelColumn);
    [label = -1, ...extraLabels] = list;
    if (columns < 1 + list.length && label >= 0) throw new InputError(`${at(file, 1)}: needs at least one feature column besides the label column${list.length > 1 ? 's' : ''}`);
    for (const [c, kind] of resolveChoices(file, names, options)) if (kind === 'ignored' && !list.includes(c)) skip[c] = 1;
  }

  // How each column writes its numbers: the model's, else sniffed from the first records (--thousands overrides).
  const formats = numberFormats(file, names, body, fileDecimal, options, mode === 'schema' ? match! : null);

  const dataStart = hasHeader ? first.end : before ? before.end : start;
  const dataLine = hasHeader ? line + first.lines : before ? line + before.lines : line;
  const dataEnd = await footerStart(source, head, dataStart, delimiter, comment, label >= 0 ? label : options.schema ? schemaLabelIndex(names, options.schema) : -1, options.skipFooter, notes, fileDecimal, na);
  const table = await readTable({
    file,
    bytes: source.bytes,
    size: dataEnd,
    dataStart,
    firstLine: dataLine,
    setup: { columns, delimiter, decimal: fileDecimal, naValues: [...na].filter((v) => v !== ''), skip, formats, comment, maxRecordBytes },
    names,
    threads: options.threads,
    onProgress: options.onProgress,
  });
  if (table.rows === 0) throw new InputError(`${file}: no data rows${hasHeader ? ' after the header' : ''}`);

  let plan: ColumnPlan;
  let policy: MissingPolicy;
  if (mode === 'infer') {
    policy = options.missing ?? 'error';
    plan = inferPlan(table, names, label, { ...options, extraLabels, target: options.labels ?? 'auto', missing: policy, naValues: naValues.filter((v) => !DEFAULT_NA_VALUES.includes(v)), formats, dayfirst: options.dayfirst ?? false, unnamed });
    const written = plan.schema.columns.filter((c): c is NumericColumn => c.kind === 'numeric' && c.format !== undefined);
    if (written.length > 0) {
      const shown = written.map((c) => {
        const summary = table.summaries[names.indexOf(c.name)]!;
        return `${quoteName(c.name)} (${describeFormat(c.format!)}, e.g. "${summary.firstFormatted?.cell ?? ''}")`;
      });
      notes.push(`${file}: numbers written with currency signs, thousands separators, percents or (negatives) read as numbers: ${shown.join(', ')}; ${flagName('thousands')} names the separator`);
    }
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
  notes.push(...plan.notes);
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

/**
 * Leading records that are not the table: fewer cells than the records after them (a title, "Exported
 * 2024-01-02"), or one filled cell in a wide table (a title padded with delimiters by a spreadsheet).
 */
function preambleLength(sample: readonly TextRecord[]): number {
  if (sample.length < 3) return 0;
  const counts = new Map<number, number>();
  for (const r of sample) counts.set(r.cells.length, (counts.get(r.cells.length) ?? 0) + 1);
  const [width, seen] = [...counts].reduce((a, b) => (b[1] > a[1] || (b[1] === a[1] && b[0] > a[0]) ? b : a));
  if (width < 2 || seen < 2) return 0;
  let n = 0;
  while (n < Math.min(MAX_PREAMBLE, sample.length - 2)) {
    const r = sample[n]!;
    const filled = r.cells.filter((c) => c !== '').length;
    if (r.cells.length < width || (width >= 3 && filled === 1 && sample[n + 1]!.cells.filter((c) => c !== '').length > 1)) n++;
    else break;
  }
  // Only before a table that is regular below it (a wrong --delimiter makes ragged records: no preamble, the ragged error).
  return n > 0 && sample.slice(n).every((r) => r.cells.length === width) ? n : 0;
}

/** Refuses a first line with more cells than MAX_COLUMNS by counting its delimiters, before any cell becomes a string. */
function checkWidth(file: string, b: Buffer, from: number, to: number, line: number, delimiter: number | undefined): void {
  for (const d of delimiter === undefined ? DELIMITERS : [delimiter]) {
    let cells = 1;
    for (let i = b.indexOf(d, from); i >= 0 && i < to; i = b.indexOf(d, i + 1)) cells++;
    if (cells > MAX_COLUMNS) throw new InputError(`${at(file, line)}: ${cells.toLocaleString('en-US')} columns; gradpool reads at most ${MAX_COLUMNS.toLocaleString('en-US')} columns of a CSV file`);
  }
}

/** The end of the nth line after pos (or the buffer's end). */
function nthLineEnd(b: Buffer, pos: number, n: number): number {
  let p = pos;
  for (let i = 0; i < n && p < b.length; i++) p = lineEnd(b, p, b.length) + 1;
  return Math.min(p, b.length);
}

function commentByte(comment: string | undefined): number {
  if (comment === undefined || comment === '' || comment === 'none') return -1;
  if (comment.length !== 1 || comment.charCodeAt(0) > 0x7f || /["\r\n\s]/.test(comment)) throw new InputError(`${optionRef('comment')} must be one character such as #, got ${JSON.stringify(comment.slice(0, 60))}`);
  return comment.charCodeAt(0);
}

function schemaLabelIndex(names: readonly string[], schema: Schema): number {
  const label = schema.columns.find((c) => c.kind === 'label');
  return label ? names.indexOf(label.name) : -1;
}

/** Per column, how its numbers are written: see numbers.ts. */
function numberFormats(file: string, names: readonly string[], body: readonly TextRecord[], fileDecimal: number, options: CsvOptions, match: { sources: number[] } | null): NumberFormat[] {
  const decimal: DecimalMark = fileDecimal === 0x2c ? ',' : '.';
  const thousands = options.thousands === 'space' ? ' ' : options.thousands;
  if (thousands !== undefined && thousands === options.decimal) throw new InputError(`${optionRef('thousands')} ${thousands} is also the decimal mark; name the other with ${optionRef('decimal')}`);
  const formats = names.map((_, c) => {
    const sniffed = sniffFormat(body.map((r) => r.cells[c] ?? ''), decimal).format;
    if (thousands === undefined) return sniffed;
    return { decimal: options.decimal ?? (thousands === '.' ? ',' : thousands === ',' ? '.' : sniffed.decimal), thousands };
  });
  if (match && options.schema) {
    // A model reads each column as its training file wrote it.
    const features = options.schema.columns.filter((c) => c.kind === 'numeric' || c.kind === 'date' || c.kind === 'categorical');
    features.forEach((column, i) => {
      const c = match.sources[i]!;
      if (c >= 0 && column.kind === 'numeric' && column.format) formats[c] = column.format;
    });
  }
  for (const f of formats) if (f.thousands === f.decimal) throw new InputError(`${file}: ${optionRef('thousands')} ${f.thousands} is also the decimal mark; name the other with ${optionRef('decimal')}`);
  return formats;
}

/**
 * Where the data ends: before the last `skipFooter` records (--skip-footer), or before a footer
 * the file has: a last record without a label whose first cell is text in a column of numbers, or
 * a word like Total (skipped with a note). Else the end of the text.
 */
async function footerStart(source: CsvSource, head: Buffer, dataStart: number, delimiter: number, comment: number, label: number, skipFooter: number | undefined, notes: string[], decimal: number, na: ReadonlySet<string>): Promise<number> {
  const size = source.size;
  if (skipFooter === 0) return size;
  const tail = source.bytes ?? (await readRange(source.file, Math.max(dataStart, size - (1 << 16)), size));
  const tailStart = source.bytes ? 0 : Math.max(dataStart, size - (1 << 16));
  let end = tail.length;
  let cut = size;
  const records: { start: number; cells: string[] }[] = [];
  for (let n = 0; n < (skipFooter ?? 1); n++) {
    // Back over line ends and blank lines, then to the start of the line.
    for (;;) {
      while (end > 0 && (tail[end - 1] === 0x0a || tail[end - 1] === 0x0d)) end--;
      let s = end;
      while (s > 0 && tail[s - 1] !== 0x0a && tail[s - 1] !== 0x0d) s--;
      if (tailStart + s < dataStart || (s === 0 && tailStart > 0)) return size; // not found in the tail
      const text = readTextRecords(tail, s, end, delimiter, 1, true, 1, comment)[0];
      if (!text) {
        end = s;
        if (s === 0) return size;
        continue;
      }
      records.push({ start: tailStart + s, cells: text.cells });
      cut = tailStart + s;
      end = s;
      break;
    }
  }
  if (skipFooter !== undefined) return cut;
  const last = records[0];
  if (!last || !footerIsRecord(source, tail, tailStart, last.start - tailStart, dataStart)) return size;
  const labelCell = label >= 0 ? (last.cells[label] ?? '') : '';
  const firstFeature = label === 0 ? 1 : 0;
  const cell = last.cells[firstFeature] ?? '';
  const text = cell !== '' && !na.has(cell) && !isNumberCell(cell, decimal);
  const totalWord = /^(grand\s+)?(total|totals|sum|subtotal|average|mean|count)\b/i.test(cell);
  if ((label >= 0 ? na.has(labelCell) : totalWord) && text && last.start > dataStart) {
    if (!totalWord && head.length > 0) {
      // Only when the first column holds numbers above it: a column of names ends in a name.
      const above = readTextRecords(head, dataStart, head.length, delimiter, 20, head.length >= size, 1, comment).map((r) => r.cells[firstFeature] ?? '');
      if (above.length === 0 || !above.some((c) => isNumberCell(c, decimal))) return size;
    }
    notes.push(`${source.file}: the last line ("${shortCell(last.cells.filter((c) => c !== '').join(' '))}") has no label and text in the first column, a footer: left out (${flagName('skipFooter')} 0 reads it, ${flagName('skipFooter')} N leaves out N lines)`);
    return last.start;
  }
  return size;
}

/**
 * Whether a line start is a record start, not a line inside a quoted cell: the quotes before it pair
 * up. Counted from the data's start when the text is in memory; in a tail of a large file, only a
 * tail without quotes before the line is trusted.
 */
function footerIsRecord(source: CsvSource, tail: Buffer, tailStart: number, at: number, dataStart: number): boolean {
  const from = source.bytes ? dataStart : 0;
  let odd = false;
  for (let i = tail.indexOf(0x22, from); i >= 0 && i < at; i = tail.indexOf(0x22, i + 1)) odd = !odd;
  if (odd) return false;
  return source.bytes !== undefined || tailStart === dataStart || tail.subarray(0, at).indexOf(0x22) < 0;
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
function findLabelColumn(file: string, names: readonly string[], column: string | number | readonly (string | number)[] | undefined, defaultLabel: number): number {
  if (column === undefined) return defaultLabel;
  if (typeof column !== 'string' && typeof column !== 'number') throw new InputError(`${optionRef('labelColumn')}: a model without a schema reads one label column`);
  const index = columnIndex(names, column);
  if (index >= 0) return index;
  throw new InputError(`${optionRef('labelColumn')}: no column ${quoteName(String(column))} in ${at(file, 1)} (columns: ${columnList(names)})`);
}

function delimiterByte(delimiter: string | undefined): number | undefined {
  if (delimiter === undefined) return undefined;
  if (delimiter === 'tab' || delimiter === '\\t') return 0x09;
  if (delimiter.length !== 1 || /["\r\n]/.test(delimiter) || delimiter.charCodeAt(0) > 0x7f) throw new InputError(`${optionRef('delimiter')} must be one character such as , ; | or tab, got ${JSON.stringify(delimiter.slice(0, 60))}`);
  return delimiter.charCodeAt(0);
}

