// The byte-level CSV parser: one chunk of a file (whole records) into its rows of the raw table, a
// shared rows × columns block of 32-bit cells. A number cell holds its float32; a missing cell and
// a text cell hold NaN patterns (text: NaN + the chunk's code for that text in that column), so the
// table needs one pass and one allocation whatever the columns turn out to be. Numbers are parsed
// here, byte by byte, without making a string; only text cells are decoded.
//
// The same code runs on the main thread and in the worker threads (csv/worker.ts); it allocates
// nothing per number cell, and reports the first fatal problem of its chunk instead of throwing, so
// that the caller can name the earliest one whatever the thread count.
import { isUtf8 } from 'node:buffer';
import { closeSync, openSync, readSync } from 'node:fs';
import { parseFormatted, type NumberFormat } from './numbers.js';

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
export const QUOTE = 0x22;
const MINUS = 0x2d;
const PLUS = 0x2b;
const ZERO = 0x30;

/** Raw cell patterns (as u32): quiet NaNs that a parsed number never is. */
export const MISSING_CELL = 0x7fc00000;
export const TEXT_CELL = 0x7fc00001;
/** Codes per column and chunk: the NaN payload holds 22 bits. */
const MAX_TEXT_CODES = 0x3ffffe;

/** The largest double that still rounds to a finite float32. */
const FLOAT32_LIMIT = 3.4028235677973366e38;

const POW10 = Float64Array.from({ length: 23 }, (_, i) => 10 ** i);

/** Block size for reading a file range: records are parsed block by block. */
const BLOCK_BYTES = 1 << 20;

export function isTextCell(bits: number): boolean {
  return bits >>> 22 === 0x1ff && bits !== MISSING_CELL;
}

/** How cells are separated and numbers written. */
export interface Dialect {
  /** The delimiter byte: , ; tab or |. */
  readonly delimiter: number;
  /** The decimal separator byte: . or , */
  readonly decimal: number;
}

export interface ChunkSetup extends Dialect {
  readonly columns: number;
  /** Per column: how its numbers are written (decimal mark, thousands grouping); plain numbers use the decimal mark. */
  readonly formats: readonly NumberFormat[];
  /** A line starting with this byte is a comment (--comment), or −1. */
  readonly comment: number;
  /** The longest record read, in bytes: a longer one is refused naming its line, before it is held as a string. */
  readonly maxRecordBytes: number;
  /** Cell texts read as missing (the empty cell always is). */
  readonly naValues: readonly string[];
  /** 1 for columns whose cells are not read (ignored, or a label predict does not need). */
  readonly skip: Uint8Array;
}

/** Where a chunk's rows go: raw rows [rowBase, rowBase + rowCapacity); lineBase is the file line of its first byte. */
export interface ChunkPlace {
  readonly rowBase: number;
  readonly rowCapacity: number;
  readonly lineBase: number;
}

export interface CellRef {
  readonly line: number;
  readonly cell: string;
}

/** What one chunk saw in one column. */
export interface ColumnTally {
  numeric: number;
  /** Of the numbers, those written with currency, grouping, percent, parentheses or a + (read by the column's format). */
  formatted: number;
  firstFormatted: CellRef | null;
  text: number;
  missing: number;
  firstMissing: CellRef | null;
  /** The first few text cells (a column of numbers with a few words in it is reported with them). */
  firstTexts: CellRef[];
  /** This chunk's texts in code order. */
  texts: string[];
}

export type ParseProblem =
  | { readonly kind: 'ragged'; readonly line: number; readonly found: number; readonly first: number }
  | { readonly kind: 'quote'; readonly line: number; readonly detail: string }
  | { readonly kind: 'infinite' | 'float32'; readonly line: number; readonly column: number; readonly cell: string }
  | { readonly kind: 'levels'; readonly line: number; readonly column: number }
  | { readonly kind: 'long'; readonly line: number; readonly bytes: number }
  | { readonly kind: 'encoding'; readonly line: number; readonly column: number; readonly cell: string };

export interface ChunkResult {
  /** Records parsed (empty lines are skipped). */
  rows: number;
  tallies: ColumnTally[];
  problem: ParseProblem | null;
}

/** The cell text a message may quote: at most 60 characters, control characters escaped. */
export function shortCell(text: string): string {
  const cut = text.length > 60 ? `${text.slice(0, 60)}…` : text;
  return cut.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => {
    const escaped = JSON.stringify(c).slice(1, -1);
    return escaped.length > 1 ? escaped : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

const INFINITE = /^[+-]?(inf|infinity)$/i;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parses whole records into the raw table; see the file comment. */
export class ChunkParser {
  private readonly u32: Uint32Array;
  private readonly f32: Float32Array;
  private readonly lines: Int32Array;
  private readonly columns: number;
  private readonly delimiter: number;
  private readonly decimals: Uint8Array;
  private readonly formats: readonly NumberFormat[];
  private readonly comment: number;
  readonly maxRecordBytes: number;
  private readonly skip: Uint8Array;
  private readonly na: Set<string>;
  private readonly dictionaries: Map<string, number>[];
  private readonly rowEnd: number;
  private row: number;
  private line: number;
  readonly tallies: ColumnTally[];
  /** Number cells per column (kept apart from the tallies: it is counted in the hot loop). */
  private readonly numbers: Int32Array;
  problem: ParseProblem | null = null;

  constructor(setup: ChunkSetup, place: ChunkPlace, raw: SharedArrayBuffer, lines: SharedArrayBuffer) {
    this.u32 = new Uint32Array(raw);
    this.f32 = new Float32Array(raw);
    this.lines = new Int32Array(lines);
    this.columns = setup.columns;
    this.delimiter = setup.delimiter;
    this.formats = setup.formats;
    this.decimals = Uint8Array.from(setup.formats, (f) => f.decimal.charCodeAt(0));
    this.comment = setup.comment;
    this.maxRecordBytes = setup.maxRecordBytes;
    this.skip = setup.skip;
    this.na = new Set(['', ...setup.naValues]);
    this.dictionaries = Array.from({ length: setup.columns }, () => new Map());
    this.tallies = Array.from({ length: setup.columns }, () => ({ numeric: 0, formatted: 0, firstFormatted: null, text: 0, missing: 0, firstMissing: null, firstTexts: [], texts: [] }));
    this.numbers = new Int32Array(setup.columns);
    this.row = place.rowBase;
    this.rowEnd = place.rowBase + place.rowCapacity;
    this.line = place.lineBase;
    this.rowBase = place.rowBase;
  }

  private readonly rowBase: number;

  result(): ChunkResult {
    this.tallies.forEach((tally, c) => (tally.numeric = this.numbers[c]!));
    return { rows: this.row - this.rowBase, tallies: this.tallies, problem: this.problem };
  }

  /**
   * Parses the records in b[pos, end): whole records only (the caller cuts blocks at record ends),
   * the last one possibly without a line ending. Stops at the first problem.
   */
  parse(b: Buffer, pos: number, end: number): void {
    const C = this.columns;
    const D = this.delimiter;
    const trimTab = D !== TAB;
    const { u32, f32, skip, numbers, decimals } = this;
    const COMMENT = this.comment;
    let row = this.row;
    let line = this.line;
    records: while (pos < end) {
      let c = b[pos]!;
      if (c === LF) {
        pos++;
        line++;
        continue;
      }
      if (c === CR) {
        pos++;
        if (pos < end && b[pos] === LF) pos++;
        line++;
        continue;
      }
      if (c === COMMENT || blankRecord(b, pos, end, D)) {
        // A comment line, or one of delimiters and spaces only (,,,, from a spreadsheet): no row.
        while (pos < end && b[pos] !== LF && b[pos] !== CR) pos++;
        continue;
      }
      const recordLine = line;
      const recordStart = pos;
      const base = row * C;
      let col = 0;
      for (;;) {
        while (pos < end && ((c = b[pos]!) === SPACE || (c === TAB && trimTab))) pos++;
        c = pos < end ? b[pos]! : -1;
        if (col === 0 && (c === LF || c === CR || c === -1)) {
          // A line of spaces only: an empty line.
          if (c === LF) pos++;
          else if (c === CR) pos += pos + 1 < end && b[pos + 1] === LF ? 2 : 1;
          if (c !== -1) line++;
          continue records;
        }
        if (col < C && skip[col] === 1) {
          // Not read: find the end of the cell (quotes still delimit it) and mark it missing.
          if (c === QUOTE) {
            const closed = this.quoted(b, pos, end, recordLine);
            if (closed < 0) break records;
            for (let i = pos; i < closed; i++) if (b[i] === LF) line++;
            pos = closed;
            while (pos < end && ((c = b[pos]!) === SPACE || (c === TAB && trimTab))) pos++;
          } else {
            while (pos < end && (c = b[pos]!) !== D && c !== LF && c !== CR) {
              if (c === QUOTE) {
                this.problem = { kind: 'quote', line: recordLine, detail: 'a quote inside an unquoted cell (quote the whole cell and double the quote: "a ""b"" c")' };
                break records;
              }
              pos++;
            }
          }
          u32[base + col] = MISSING_CELL;
        } else if (c === QUOTE) {
          const closed = this.quoted(b, pos, end, recordLine);
          if (closed < 0) break records;
          const text = this.quotedText;
          for (let i = pos; i < closed; i++) if (b[i] === LF) line++;
          pos = closed;
          while (pos < end && ((c = b[pos]!) === SPACE || (c === TAB && trimTab))) pos++;
          if (col < C && !this.textCell(text.trim(), base, col, recordLine)) break records;
        } else if (c === D || c === LF || c === CR || c === -1) {
          if (col < C) this.missingCell('', base, col, recordLine);
        } else {
          // A number, byte by byte: [+-] digits [. digits] [e [+-] digits]; up to 15 significant
          // digits are exact in a double, and a float32 keeps fewer than 9 of them.
          const start = pos;
          let p = pos;
          let negative = false;
          if (c === MINUS) {
            negative = true;
            p++;
          } else if (c === PLUS) p++;
          // Digits past the 15th significant one only move the decimal point (or are dropped after it).
          let mantissa = 0;
          let exponent = 0;
          let digits = 0;
          let d = p < end ? b[p]! - ZERO : -1;
          while (d >>> 0 <= 9) {
            if (mantissa < 1e15) mantissa = mantissa * 10 + d;
            else exponent++;
            digits++;
            d = ++p < end ? b[p]! - ZERO : -1;
          }
          if (p < end && col < C && b[p] === decimals[col]) {
            d = ++p < end ? b[p]! - ZERO : -1;
            while (d >>> 0 <= 9) {
              if (mantissa < 1e15) {
                mantissa = mantissa * 10 + d;
                exponent--;
              }
              digits++;
              d = ++p < end ? b[p]! - ZERO : -1;
            }
          }
          let number = digits > 0;
          if (number && p < end && (b[p] === 0x65 || b[p] === 0x45)) {
            p++;
            let negativeExponent = false;
            if (p < end && (b[p] === MINUS || b[p] === PLUS)) negativeExponent = b[p++] === MINUS;
            let e = 0;
            let exponentDigits = 0;
            d = p < end ? b[p]! - ZERO : -1;
            while (d >>> 0 <= 9) {
              if (e < 100_000) e = e * 10 + d;
              exponentDigits++;
              d = ++p < end ? b[p]! - ZERO : -1;
            }
            if (exponentDigits === 0) number = false;
            exponent += negativeExponent ? -e : e;
          }
          let after = p;
          while (after < end && ((c = b[after]!) === SPACE || (c === TAB && trimTab))) after++;
          c = after < end ? b[after]! : -1;
          if (number && (c === D || c === LF || c === CR || c === -1)) {
            let value: number;
            if (mantissa === 0) value = 0;
            else if (exponent === 0) value = mantissa;
            else if (exponent > 0 && exponent <= 22) value = mantissa * POW10[exponent]!;
            else if (exponent < 0 && exponent >= -22) value = mantissa / POW10[-exponent]!;
            else value = Number(`${mantissa}e${exponent}`);
            if (negative) value = -value;
            if (col < C) {
              if (value > FLOAT32_LIMIT || value < -FLOAT32_LIMIT) {
                this.problem = { kind: 'float32', line: recordLine, column: col, cell: b.toString('utf8', start, p) };
                break records;
              }
              f32[base + col] = value;
              numbers[col] = numbers[col]! + 1;
            }
            pos = after;
          } else {
            // Text: to the end of the cell.
            p = pos;
            while (p < end && (c = b[p]!) !== D && c !== LF && c !== CR) {
              if (c === QUOTE) {
                this.problem = { kind: 'quote', line: recordLine, detail: 'a quote inside an unquoted cell (quote the whole cell and double the quote: "a ""b"" c")' };
                break records;
              }
              p++;
            }
            if (p - recordStart > this.maxRecordBytes) {
              this.problem = { kind: 'long', line: recordLine, bytes: p - recordStart };
              break records;
            }
            if (col < C) {
              const text = this.decode(b, pos, p, recordLine, col);
              if (text === null || !this.textCell(text.trim(), base, col, recordLine)) break records;
            }
            pos = p;
          }
        }
        col++;
        c = pos < end ? b[pos]! : -1;
        if (c === D) {
          pos++;
          continue;
        }
        if (c === LF) {
          pos++;
          line++;
        } else if (c === CR) {
          pos += pos + 1 < end && b[pos + 1] === LF ? 2 : 1;
          line++;
        } else if (c !== -1) {
          this.problem = { kind: 'quote', line: recordLine, detail: `unexpected ${JSON.stringify(String.fromCharCode(c))} after a closing quote (a quoted cell ends at its closing quote)` };
          break records;
        }
        break;
      }
      if (col !== C) {
        this.problem = { kind: 'ragged', line: recordLine, found: col, first: b[recordStart]! };
        break;
      }
      if (pos - recordStart > this.maxRecordBytes) {
        this.problem = { kind: 'long', line: recordLine, bytes: pos - recordStart };
        break;
      }
      if (row >= this.rowEnd) throw new Error(`csv: more records than the ${this.rowEnd - this.rowBase} lines counted in the chunk`);
      this.lines[row] = recordLine;
      row++;
    }
    this.row = row;
    this.line = line;
  }

  private quotedText = '';

  /** The record being read is longer than the bound (the reader could not hold a whole one). */
  recordTooLong(bytes: number): void {
    this.problem ??= { kind: 'long', line: this.line, bytes };
  }

  /** Reads the quoted cell starting at b[pos] (a quote) into quotedText; returns the position after its closing quote, or −1. */
  private quoted(b: Buffer, pos: number, end: number, recordLine: number): number {
    let p = pos + 1;
    let segment = p;
    let text = '';
    for (;;) {
      const q = b.indexOf(QUOTE, p);
      if (q < 0 || q >= end) {
        this.problem = { kind: 'quote', line: recordLine, detail: 'a quoted cell is never closed (unclosed quote)' };
        return -1;
      }
      if (q - pos > this.maxRecordBytes) {
        this.problem = { kind: 'long', line: recordLine, bytes: q - pos };
        return -1;
      }
      if (q + 1 < end && b[q + 1] === QUOTE) {
        text += this.decode(b, segment, q + 1, recordLine, -1) ?? '';
        p = q + 2;
        segment = p;
        continue;
      }
      text += this.decode(b, segment, q, recordLine, -1) ?? '';
      if (this.problem) return -1;
      this.quotedText = text;
      return q + 1;
    }
  }

  /**
   * A cell's bytes as text. Bytes that are not UTF-8 would decode to U+FFFD, and two distinct values
   * (Müller, Möller in Latin-1) to one: refused naming the line instead (the file is read as UTF-8
   * because its first part was; --encoding names another).
   */
  private decode(b: Buffer, from: number, to: number, line: number, column: number): string | null {
    const text = b.toString('utf8', from, to);
    if (text.includes('\ufffd') && !isUtf8(b.subarray(from, to))) {
      this.problem ??= { kind: 'encoding', line, column, cell: shortCell(b.toString('latin1', from, to)) };
      return null;
    }
    return text;
  }

  private missingCell(text: string, base: number, col: number, line: number): void {
    this.u32[base + col] = MISSING_CELL;
    const tally = this.tallies[col]!;
    tally.missing++;
    tally.firstMissing ??= { line, cell: shortCell(text) };
  }

  /** A cell that was not a plain number: missing, a number after all (quoted, or in another spelling), or text. */
  private textCell(text: string, base: number, col: number, line: number): boolean {
    if (this.na.has(text)) {
      this.missingCell(text, base, col, line);
      return true;
    }
    // A text seen before in this column is text again: no number checks (a label column's every cell).
    const dictionary = this.dictionaries[col]!;
    const known = dictionary.get(text);
    if (known !== undefined) return this.storeText(text, known, base, col, line);
    if (INFINITE.test(text)) {
      this.problem = { kind: 'infinite', line, column: col, cell: shortCell(text) };
      return false;
    }
    const format = this.formats[col]!;
    // With a decimal comma, a point groups thousands: 1.234 is no plain number there.
    const normalized = format.decimal === ',' ? (text.includes('.') ? '' : text.replace(',', '.')) : text;
    const plain = NUMBER.test(normalized) && !text.startsWith('+');
    const value = plain ? Number(normalized) : parseFormatted(text, format);
    const tally = this.tallies[col]!;
    if (!Number.isNaN(value)) {
      if (!(Math.abs(value) <= FLOAT32_LIMIT)) {
        this.problem = { kind: 'float32', line, column: col, cell: shortCell(text) };
        return false;
      }
      this.f32[base + col] = value;
      this.numbers[col] = this.numbers[col]! + 1;
      if (!plain) {
        tally.formatted++;
        tally.firstFormatted ??= { line, cell: shortCell(text) };
      }
      return true;
    }

    const code = tally.texts.length;
    if (code >= MAX_TEXT_CODES) {
      this.problem = { kind: 'levels', line, column: col };
      return false;
    }
    dictionary.set(text, code);
    tally.texts.push(text);
    return this.storeText(text, code, base, col, line);
  }

  private storeText(text: string, code: number, base: number, col: number, line: number): boolean {
    const tally = this.tallies[col]!;
    this.u32[base + col] = TEXT_CELL + code;
    tally.text++;
    if (tally.firstTexts.length < 3) tally.firstTexts.push({ line, cell: shortCell(text) });
    return true;
  }
}

/** Whether the record at b[pos] holds only delimiters and spaces up to its line end. */
function blankRecord(b: Buffer, pos: number, end: number, delimiter: number): boolean {
  let p = pos;
  let c = 0;
  while (p < end && ((c = b[p]!) === delimiter || c === SPACE || c === TAB)) p++;
  return p > pos && (p >= end || b[p] === LF || b[p] === CR);
}

/**
 * The end of the last whole record in b[from, to): just after the last line feed outside quotes
 * (b[from] starts a record), or after the last lone carriage return in a file without line feeds;
 * `from` when there is none.
 */
export function lastRecordEnd(b: Buffer, from: number, to: number): number {
  const quote = b.indexOf(QUOTE, from);
  if (quote < 0 || quote >= to) {
    const lf = b.lastIndexOf(LF, to - 1);
    if (lf >= from) return lf + 1;
    const cr = b.lastIndexOf(CR, to - 1);
    return cr >= from && cr < to - 1 ? cr + 1 : from;
  }
  let inside = false;
  let last = from;
  for (let i = from; i < to; i++) {
    const c = b[i];
    if (c === QUOTE) inside = !inside;
    else if (c === LF && !inside) last = i + 1;
  }
  return last;
}

/** Line feeds in a range, and whether it holds an odd number of quote bytes. */
export interface RangeCount {
  newlines: number;
  oddQuotes: boolean;
}

/** Line ends (a line feed, or a carriage return not followed by one) and quote parity in b[from, to). */
export function countBytes(b: Buffer, from: number, to: number): RangeCount {
  let newlines = 0;
  for (let i = b.indexOf(LF, from); i >= 0 && i < to; i = b.indexOf(LF, i + 1)) newlines++;
  for (let i = b.indexOf(CR, from); i >= 0 && i < to; i = b.indexOf(CR, i + 1)) if (i + 1 >= to || b[i + 1] !== LF) newlines++;
  let odd = false;
  const first = b.indexOf(QUOTE, from);
  if (first >= 0 && first < to) for (let i = first; i < to; i++) if (b[i] === QUOTE) odd = !odd;
  return { newlines, oddQuotes: odd };
}

/** countBytes over a file range, read block by block. */
export function countFileRange(file: string, start: number, end: number): RangeCount {
  const fd = openSync(file, 'r');
  try {
    const block = Buffer.allocUnsafe(4 * BLOCK_BYTES);
    let newlines = 0;
    let odd = false;
    let endedWithCr = false;
    for (let at = start; at < end; ) {
      const n = readSync(fd, block, 0, Math.min(block.length, end - at), at);
      if (n <= 0) break;
      // A CR LF split between two blocks was counted as a lone CR.
      if (endedWithCr && block[0] === LF) newlines--;
      const count = countBytes(block, 0, n);
      newlines += count.newlines;
      odd = odd !== count.oddQuotes;
      endedWithCr = block[n - 1] === CR;
      at += n;
    }
    return { newlines, oddQuotes: odd };
  } finally {
    closeSync(fd);
  }
}

/**
 * Parses the records of file bytes [start, end) (start is a record start; end a record end or the end
 * of the file). `progress(bytes)` is called after each block with the bytes done so far.
 */
export function parseFileRange(parser: ChunkParser, file: string, start: number, end: number, progress?: (bytes: number) => void): void {
  const fd = openSync(file, 'r');
  try {
    let buffer = Buffer.allocUnsafe(BLOCK_BYTES);
    let held = 0;
    let at = start;
    for (;;) {
      const wanted = Math.min(buffer.length - held, end - at);
      const n = wanted > 0 ? readSync(fd, buffer, held, wanted, at) : 0;
      at += n;
      held += n;
      const last = at >= end || n === 0;
      const stop = last ? held : lastRecordEnd(buffer, 0, held);
      if (stop === 0 && !last) {
        // One record longer than the buffer: make room for it, up to the bound on a record.
        if (held > parser.maxRecordBytes) {
          parser.recordTooLong(held);
          break;
        }
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, held);
        buffer = bigger;
        continue;
      }
      parser.parse(buffer, 0, stop);
      if (parser.problem || last) break;
      buffer.copy(buffer, 0, stop, held);
      held -= stop;
      progress?.(at - start - held);
    }
    progress?.(end - start);
  } finally {
    closeSync(fd);
  }
}
