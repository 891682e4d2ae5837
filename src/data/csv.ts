// CSV files: a header row, numeric feature columns and one label column, streamed by csv-parse
// (quoted fields, CRLF, BOM) straight into a growing Float32Array.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { CsvError, parse } from 'csv-parse';
import { InputError, at , optionRef } from '../errors.js';
import type { Dataset, Targets } from './dataset.js';

export interface CsvOptions {
  /** Column name or 0-based index (a number or a numeric string); default: the last column. */
  labelColumn?: string | number | undefined;
  /** 'classes': labels are class names; 'values': numeric regression targets. */
  labels: 'classes' | 'values';
  /** Known class names (from the training set or a model): a label outside them is an error. */
  classNames?: readonly string[] | undefined;
  /** Expected feature count (from the training set or a model). */
  features?: number | undefined;
  /** When the file has exactly `features` columns, accept it without labels (for predict). */
  allowUnlabelled?: boolean;
}

interface CsvRecord {
  record: string[];
  info: { lines: number };
}

export async function loadCsv(file: string, options: CsvOptions): Promise<Dataset> {
  await assertReadableFile(file);
  const parser = createReadStream(file).pipe(
    parse({ bom: true, trim: true, skip_empty_lines: true, info: true, relax_column_count: true, record_delimiter: ['\r\n', '\n', '\r'] }),
  );
  let header: string[] | undefined;
  let labelIndex = -1;
  let features = 0;
  let rows = 0;
  let x = new Float32Array(1024);
  const classIndex: number[] = [];
  const values: number[] = [];
  const classes = new Map<string, number>((options.classNames ?? []).map((name, i) => [name, i]));
  const closedClasses = options.classNames !== undefined;

  try {
    for await (const { record, info } of parser as AsyncIterable<CsvRecord>) {
      const line = info.lines;
      if (!header) {
        header = record;
        ({ labelIndex, features } = resolveColumns(file, header, options));
        continue;
      }
      if (record.length !== header.length) {
        throw new InputError(`${at(file, line)}: expected ${header.length} columns as in the header, found ${record.length}`);
      }
      if ((rows + 1) * features > x.length) {
        const grown = new Float32Array(Math.max(x.length * 2, (rows + 1) * features));
        grown.set(x);
        x = grown;
      }
      let offset = rows * features;
      for (let c = 0; c < record.length; c++) {
        if (c === labelIndex) continue;
        x[offset++] = parseNumber(record[c]!, file, line, c, header);
      }
      if (labelIndex >= 0) {
        const label = record[labelIndex]!;
        if (label === '') throw new InputError(`${at(file, line, labelIndex + 1)}: empty label in column "${printable(header[labelIndex]!)}"`);
        if (options.labels === 'values') {
          values.push(parseNumber(label, file, line, labelIndex, header));
        } else {
          let index = classes.get(label);
          if (index === undefined) {
            if (closedClasses) throw new InputError(`${at(file, line, labelIndex + 1)}: label "${printable(label)}" was not among the training labels (${[...classes.keys()].map(printable).join(', ')})`);
            index = classes.size;
            classes.set(label, index);
          }
          classIndex.push(index);
        }
      }
      rows++;
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    // Every parser error is about the file (not all codes start with CSV_: INVALID_OPENING_QUOTE).
    if (error instanceof CsvError) {
      const { lines } = error as CsvError & { lines?: number };
      throw new InputError(`${at(file, typeof lines === 'number' ? lines : undefined)}: ${printable(error.message || 'malformed CSV')}`);
    }
    throw error;
  }
  if (!header) throw new InputError(`${file}: empty file (expected a header row and data rows)`);
  if (rows === 0) throw new InputError(`${file}: no data rows after the header`);

  let targets: Targets;
  if (labelIndex < 0) targets = { kind: 'none' };
  else if (options.labels === 'values') targets = { kind: 'values', values: Float32Array.from(values) };
  else targets = { kind: 'classes', index: Int32Array.from(classIndex), names: [...classes.keys()] };
  // A view, not a copy: training copies the rows into the shared arena and then drops this array.
  return { source: file, rows, features, x: x.subarray(0, rows * features), targets };
}

async function assertReadableFile(file: string): Promise<void> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new InputError(`${file}: not a file`);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

function resolveColumns(file: string, header: string[], options: CsvOptions): { labelIndex: number; features: number } {
  const unlabelled = options.allowUnlabelled && options.features !== undefined && header.length === options.features;
  if (unlabelled && options.labelColumn === undefined) return { labelIndex: -1, features: header.length };
  const labelIndex = findLabelColumn(file, header, options.labelColumn);
  const features = header.length - 1;
  if (features < 1) throw new InputError(`${at(file, 1)}: needs at least one feature column besides the label column`);
  if (options.features !== undefined && features !== options.features) {
    throw new InputError(`${at(file, 1)}: has ${features} feature columns, but the model was trained on ${options.features}`);
  }
  return { labelIndex, features };
}

function findLabelColumn(file: string, header: string[], column: string | number | undefined): number {
  if (column === undefined) return header.length - 1;
  const byName = header.indexOf(String(column));
  if (byName >= 0) return byName;
  const asIndex = typeof column === 'number' ? column : /^\d+$/.test(column) ? Number(column) : NaN;
  if (Number.isInteger(asIndex) && asIndex >= 0 && asIndex < header.length) return asIndex;
  throw new InputError(`${optionRef('labelColumn')}: no column "${printable(String(column))}" in ${at(file, 1)} (columns: ${header.map(printable).join(', ')})`);
}

/** Largest finite float32: a finite double beyond it would become Infinity in the Float32Array. */
const FLOAT32_MAX = 3.4028234663852886e38;

function parseNumber(cell: string, file: string, line: number, column: number, header: string[]): number {
  const value = cell === '' ? NaN : Number(cell);
  if (!Number.isFinite(value)) {
    throw new InputError(`${at(file, line, column + 1)}: column "${printable(header[column]!)}" needs a finite number, found "${printable(cell)}"`);
  }
  if (!Number.isFinite(Math.fround(value))) {
    throw new InputError(`${at(file, line, column + 1)}: column "${printable(header[column]!)}" needs a number within ±${FLOAT32_MAX.toPrecision(5)} (float32), found "${printable(cell)}"`);
  }
  return value;
}

/**
 * Cell text as it may appear in a one-line message: a quoted cell can hold newlines and other
 * control characters, which are written as escapes (\n, \u0007) instead.
 */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => {
    const escaped = JSON.stringify(c).slice(1, -1);
    return escaped.length > 1 ? escaped : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}
