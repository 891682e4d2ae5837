// What kind of CSV a file is, from its first records: the delimiter (, ; tab |), the decimal
// separator (a comma where the delimiter is not one), and whether the first record is a header.
// Each guess can be overridden (--delimiter, --decimal, --header).
import { QUOTE, shortCell } from './parse.js';

const LF = 0x0a;
const CR = 0x0d;

export const DELIMITERS: readonly number[] = [0x2c, 0x3b, 0x09, 0x7c]; // , ; tab |
/** On a tie (as many cells either way), the rarer delimiter wins: a file using it chose it. */
const TIE_ORDER: readonly number[] = [0x3b, 0x09, 0x7c, 0x2c];

export interface TextRecord {
  readonly cells: string[];
  /** File line of its first byte. */
  readonly line: number;
  /** Byte offset just after the record (and its line ending). */
  readonly end: number;
  /** Lines up to `end`. */
  readonly lines: number;
}

/**
 * Up to `max` whole records of b[pos, end) as text (quotes removed, cells trimmed), skipping empty
 * lines. A record cut by `end` is left out unless `complete` says the data ends there. Lenient: a
 * malformed record ends the list (the parser reports it properly).
 */
export function readTextRecords(b: Buffer, pos: number, end: number, delimiter: number, max: number, complete: boolean, firstLine = 1, comment = -1): TextRecord[] {
  const records: TextRecord[] = [];
  let line = firstLine;
  while (pos < end && records.length < max) {
    const c0 = b[pos];
    if (c0 === LF || c0 === CR) {
      pos += c0 === CR && b[pos + 1] === LF ? 2 : 1;
      line++;
      continue;
    }
    if (c0 === comment || blankLine(b, pos, end, delimiter)) {
      // A comment, or delimiters and spaces only: no record (as the parser skips it).
      const lf = lineEnd(b, pos, end);
      if (lf >= end && !complete) return records;
      pos = lf;
      continue;
    }
    const startLine = line;
    const cells: string[] = [];
    let cell = '';
    let p = pos;
    let done = false;
    for (;;) {
      if (p >= end) {
        if (!complete) return records;
        cells.push(cell.trim());
        done = true;
        break;
      }
      const c = b[p]!;
      if (c === QUOTE && cell.trim() === '') {
        const close = findClosingQuote(b, p + 1, end);
        if (close < 0) return records;
        const inner = b.toString('utf8', p + 1, close).replace(/""/g, '"');
        for (let i = p; i < close; i++) if (b[i] === LF) line++;
        cell = inner;
        p = close + 1;
        while (p < end && b[p] !== delimiter && b[p] !== LF && b[p] !== CR) p++;
        continue;
      }
      if (c === delimiter) {
        cells.push(cell.trim());
        cell = '';
        p++;
        continue;
      }
      if (c === LF || c === CR) {
        cells.push(cell.trim());
        p += c === CR && b[p + 1] === LF ? 2 : 1;
        line++;
        break;
      }
      let q = p;
      while (q < end && b[q] !== delimiter && b[q] !== LF && b[q] !== CR && b[q] !== QUOTE) q++;
      if (q === p) q++;
      cell += b.toString('utf8', p, q);
      p = q;
    }
    records.push({ cells, line: startLine, end: p, lines: line - firstLine });
    pos = p;
    if (done) break;
  }
  return records;
}

function blankLine(b: Buffer, pos: number, end: number, delimiter: number): boolean {
  let p = pos;
  while (p < end && (b[p] === delimiter || b[p] === 0x20 || b[p] === 0x09)) p++;
  return p > pos && (p >= end || b[p] === LF || b[p] === CR);
}

/** The position of the line end (LF or CR) at or after pos, or end. */
export function lineEnd(b: Buffer, pos: number, end: number): number {
  const lf = b.indexOf(LF, pos);
  const cr = b.indexOf(CR, pos);
  const first = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
  return first < 0 || first > end ? end : first;
}

function findClosingQuote(b: Buffer, from: number, end: number): number {
  for (let p = from; p < end; p++) {
    if (b[p] !== QUOTE) continue;
    if (p + 1 < end && b[p + 1] === QUOTE) {
      p++;
      continue;
    }
    return p;
  }
  return -1;
}

/** The delimiter that splits the sample's records into the same number (> 1) of cells most consistently. */
export function sniffDelimiter(b: Buffer, pos: number, end: number, complete: boolean, comment = -1): number {
  let best = { delimiter: 0x2c, consistency: 0, cells: 1, tie: TIE_ORDER.length };
  for (const delimiter of DELIMITERS) {
    const records = readTextRecords(b, pos, end, delimiter, 30, complete, 1, comment);
    if (records.length === 0) continue;
    const counts = new Map<number, number>();
    for (const r of records) counts.set(r.cells.length, (counts.get(r.cells.length) ?? 0) + 1);
    let mode = 1;
    let modeCount = 0;
    for (const [cells, count] of counts) if (cells > 1 && (count > modeCount || (count === modeCount && cells > mode))) [mode, modeCount] = [cells, count];
    if (mode < 2) continue;
    const consistency = modeCount / records.length;
    const tie = TIE_ORDER.indexOf(delimiter);
    const better = consistency > best.consistency || (consistency === best.consistency && (mode > best.cells || (mode === best.cells && tie < best.tie)));
    if (better) best = { delimiter, consistency, cells: mode, tie };
  }
  return best.delimiter;
}

const COMMA_DECIMAL = /^[+-]?\d*,\d+([eE][+-]?\d+)?$/;
const POINT_DECIMAL = /^[+-]?\d*\.\d+([eE][+-]?\d+)?$/;

/** A comma is the decimal separator when the delimiter is not a comma and numbers are written 1,5 (and none 1.5). */
export function sniffDecimal(records: readonly TextRecord[], delimiter: number): number {
  if (delimiter === 0x2c) return 0x2e;
  let commas = 0;
  let points = 0;
  for (const r of records) {
    for (const cell of r.cells) {
      if (COMMA_DECIMAL.test(cell)) commas++;
      else if (POINT_DECIMAL.test(cell)) points++;
    }
  }
  return commas > 0 && points === 0 ? 0x2c : 0x2e;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function isNumberCell(cell: string, decimal: number): boolean {
  return NUMBER.test(decimal === 0x2c ? cell.replace(',', '.') : cell);
}

/**
 * Whether the first record names the columns: not when all its cells are numbers, nor when the
 * columns below it are numbers and so are its cells in those columns; yes otherwise.
 */
export function sniffHeader(records: readonly TextRecord[], decimal: number, na: ReadonlySet<string>): boolean {
  const [first, ...rest] = records;
  if (!first) return false;
  if (first.cells.every((cell) => isNumberCell(cell, decimal))) return false;
  let forHeader = 0;
  let against = 0;
  first.cells.forEach((cell, column) => {
    const below = rest.map((r) => r.cells[column]).filter((c): c is string => c !== undefined && !na.has(c));
    if (below.length === 0 || !below.every((c) => isNumberCell(c, decimal))) return;
    if (isNumberCell(cell, decimal)) against++;
    else if (!na.has(cell)) forHeader++;
  });
  return forHeader > 0 || against === 0;
}

/** A column name as messages list it: quoted as a CSV cell would be, so "a, b" reads as one name. */
export function quoteName(name: string): string {
  const cut = shortCell(name);
  return `"${cut.replace(/"/g, '""')}"`;
}

/** Column names from a header record: trimmed; an empty one is columnN, a repeated one gets .1, .2… */
export function columnNames(header: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return header.map((raw, i) => {
    let name = raw === '' ? `column${i + 1}` : raw;
    const count = seen.get(name) ?? 0;
    seen.set(name, count + 1);
    if (count > 0) {
      let suffix = count;
      while (seen.has(`${name}.${suffix}`)) suffix++;
      name = `${name}.${suffix}`;
      seen.set(name, 1);
    }
    return name;
  });
}

export function generatedNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `column${i + 1}`);
}

export function delimiterName(delimiter: number): string {
  return delimiter === 0x09 ? 'tab' : delimiter === 0x2c ? 'comma' : delimiter === 0x3b ? 'semicolon' : delimiter === 0x7c ? 'pipe' : JSON.stringify(String.fromCharCode(delimiter));
}

export { shortCell };
