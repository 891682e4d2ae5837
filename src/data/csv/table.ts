// Reading a CSV file's records into the raw table with several threads: split the bytes at line ends,
// count each part's lines (in parallel), size the table from the counts (checked against the limits
// before anything is allocated), parse each part into its rows (in parallel, the main thread taking
// one part), then close the gaps left by blank lines and merge what each part saw per column.
//
// Quoted cells may hold line ends: a split is only kept when the quotes before it pair up (an even
// count); otherwise the file is parsed by one thread.
import { availableParallelism, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { InputError, at, optionRef } from '../../errors.js';
import { checkValues } from '../limits.js';
import { ChunkParser, countBytes, countFileRange, parseFileRange, shortCell, type CellRef, type ChunkPlace, type ChunkResult, type ChunkSetup, type ParseProblem, type RangeCount } from './parse.js';
import type { WorkerRequest } from './worker.js';

/** Below this many bytes per part, a thread costs more to start than it saves. */
const MIN_PART_BYTES = 4 << 20;
const MAX_THREADS = 8;
const WORKER_URL = new URL('./worker.js', import.meta.url);

/** The merged view of one column over the whole file. */
export interface ColumnSummary {
  numeric: number;
  /** Of the numbers, those written with currency, grouping, percent, parentheses or a +. */
  formatted: number;
  firstFormatted: CellRef | null;
  text: number;
  missing: number;
  firstMissing: CellRef | null;
  firstTexts: CellRef[];
  /** Every distinct text, in order of first appearance; cells hold chunk codes, see codeOf. */
  texts: string[];
}

export interface RawTable {
  readonly file: string;
  readonly columns: number;
  readonly rows: number;
  /** rows × columns cells (see parse.ts for the patterns), followed by unused capacity. */
  readonly u32: Uint32Array;
  readonly f32: Float32Array;
  /** File line of each row. */
  readonly lines: Int32Array;
  readonly summaries: ColumnSummary[];
  /** Maps a text cell's chunk code to its index in summaries[column].texts, for the chunk holding `row`. */
  readonly parts: readonly { readonly firstRow: number; readonly codes: readonly Int32Array[] }[];
}

export interface TableRead {
  readonly file: string;
  /** The file's bytes when already read whole (small files), else undefined: parts read their own ranges. */
  readonly bytes: Buffer | undefined;
  readonly size: number;
  /** First byte and line of the data records (after a BOM and a header). */
  readonly dataStart: number;
  readonly firstLine: number;
  readonly setup: ChunkSetup;
  /** Column names, for messages. */
  readonly names: readonly string[];
  readonly threads?: number | undefined;
  readonly onProgress?: ((bytes: number, total: number) => void) | undefined;
}

export async function readTable(read: TableRead): Promise<RawTable> {
  const { file, size, dataStart, setup } = read;
  const wanted = Math.max(1, Math.min(read.threads ?? defaultThreads(), MAX_THREADS, Math.floor((size - dataStart) / MIN_PART_BYTES)));
  let bounds = read.bytes || wanted === 1 ? [dataStart, size] : await splitPoints(file, dataStart, size, wanted);
  const workers = bounds.slice(2).map(() => new Worker(WORKER_URL));
  try {
    // Count lines per part; the main thread counts the first.
    const counts: RangeCount[] = await Promise.all([
      Promise.resolve(read.bytes ? countBytes(read.bytes, dataStart, size) : countFileRange(file, bounds[0]!, bounds[1]!)),
      ...workers.map((worker, i) => call<RangeCount>(worker, { type: 'count', file, start: bounds[i + 1]!, end: bounds[i + 2]! })),
    ]);
    let parts = counts;
    if (quoteSplit(counts)) {
      // A split falls inside a quoted cell: one part, one thread.
      bounds = [dataStart, size];
      parts = [{ newlines: counts.reduce((sum, c) => sum + c.newlines, 0), oddQuotes: false }];
      await Promise.all(workers.splice(0).map((w) => w.terminate()));
    }
    const places: ChunkPlace[] = [];
    let rowBase = 0;
    parts.forEach((count, i) => {
      const capacity = count.newlines + (i === parts.length - 1 ? 1 : 0);
      places.push({ rowBase, rowCapacity: capacity, lineBase: read.firstLine + rowBase });
      rowBase += capacity;
    });
    const capacity = rowBase;
    checkValues(file, capacity, setup.columns, 'has up to');
    const raw = new SharedArrayBuffer(capacity * setup.columns * 4);
    const lines = new SharedArrayBuffer(capacity * 4);
    const progress = new SharedArrayBuffer(8 * parts.length);
    const done = new Float64Array(progress);
    const total = size - dataStart;
    const report = read.onProgress ? () => read.onProgress!(done.reduce((a, b) => a + b, 0), total) : undefined;

    const pending = workers.map((worker, i) =>
      call<ChunkResult>(worker, { type: 'parse', file, start: bounds[i + 1]!, end: bounds[i + 2]!, setup, place: places[i + 1]!, raw, lines, progress, slot: i + 1 }),
    );
    const parser = new ChunkParser(setup, places[0]!, raw, lines);
    if (read.bytes) {
      parser.parse(read.bytes, dataStart, size);
      done[0] = total;
    } else {
      parseFileRange(parser, file, bounds[0]!, bounds[1]!, (bytes) => {
        done[0] = bytes;
        report?.();
      });
    }
    report?.();
    const timer = report && pending.length > 0 ? setInterval(report, 100) : undefined;
    let results: ChunkResult[];
    try {
      results = [parser.result(), ...(await Promise.all(pending))];
    } finally {
      if (timer) clearInterval(timer);
    }
    report?.();
    for (const result of results) if (result.problem) throw problemError(file, read.names, setup.columns, setup.maxRecordBytes, result.problem);
    return assemble(file, setup.columns, raw, lines, places, results);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * One thread per core that is free: the cores less the load average (this process's own thread
 * included), at least one. A parsing thread that finds no free core only takes turns with the
 * others and adds its start-up; the table read is the same with any count.
 */
function defaultThreads(): number {
  const cores = availableParallelism();
  const busy = Math.max(0, loadavg()[0]! - 1);
  return Math.max(1, Math.min(cores, Math.floor(cores - busy + 0.5)));
}

/** A part that starts inside a quoted cell shows as an odd quote count before it. */
function quoteSplit(counts: readonly RangeCount[]): boolean {
  let odd = false;
  for (let i = 0; i < counts.length - 1; i++) {
    odd = odd !== counts[i]!.oddQuotes;
    if (odd) return true;
  }
  return false;
}

/** [dataStart, s1, …, size]: each split just after a line feed near an equal share of the bytes. */
async function splitPoints(file: string, dataStart: number, size: number, parts: number): Promise<number[]> {
  const { open } = await import('node:fs/promises');
  const handle = await open(file, 'r');
  try {
    const points = [dataStart];
    const window = Buffer.allocUnsafe(1 << 16);
    for (let i = 1; i < parts; i++) {
      let at = Math.max(points[points.length - 1]! + 1, Math.round(dataStart + ((size - dataStart) * i) / parts));
      let split = -1;
      while (split < 0 && at < size) {
        const { bytesRead } = await handle.read(window, 0, window.length, at);
        if (bytesRead <= 0) break;
        const lf = window.subarray(0, bytesRead).indexOf(0x0a);
        if (lf >= 0) split = at + lf + 1;
        else at += bytesRead;
      }
      if (split > 0 && split < size) points.push(split);
    }
    points.push(size);
    return points;
  } finally {
    await handle.close();
  }
}

function call<T>(worker: Worker, request: WorkerRequest): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (reply: T): void => {
      worker.off('error', onError);
      resolve(reply);
    };
    const onError = (error: Error): void => {
      worker.off('message', onMessage);
      reject(error);
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
    worker.postMessage(request);
  });
}

function problemError(file: string, allNames: readonly string[], columns: number, maxRecordBytes: number, problem: ParseProblem): InputError {
  const names = allNames.map((name) => shortCell(name));
  switch (problem.kind) {
    case 'ragged':
      return new InputError(`${at(file, problem.line)}: expected ${columns} columns as in the header, found ${problem.found}${problem.first === 0x23 ? ` (a line starting with #: ${optionRef('comment')} # skips comment lines)` : ''}`);
    case 'quote':
      return new InputError(`${at(file, problem.line)}: ${problem.detail}`);
    case 'infinite':
      return new InputError(`${at(file, problem.line, problem.column + 1)}: column "${names[problem.column]}" needs a finite number, found "${problem.cell}" (infinity is not a missing value: fix or remove it)`);
    case 'float32':
      return new InputError(`${at(file, problem.line, problem.column + 1)}: column "${names[problem.column]}" needs a number within ±3.4028e+38 (float32), found "${problem.cell}"`);
    case 'levels':
      return new InputError(`${at(file, problem.line, problem.column + 1)}: column "${names[problem.column]}" has more than 4 million distinct texts in one part of the file`);
    case 'long':
      return recordTooLong(file, problem.line, problem.bytes, maxRecordBytes);
    case 'encoding':
      return new InputError(
        `${at(file, problem.line, problem.column >= 0 ? problem.column + 1 : undefined)}: bytes that are not UTF-8 ("${problem.cell}" read as Latin-1), though the start of the file is; name the file's encoding with ${optionRef('encoding')} (e.g. windows-1252) so that distinct values stay distinct`,
      );
  }
}

export function mib(bytes: number): string {
  return bytes >= 1 << 20 ? `${Math.floor(bytes / (1 << 20))} MiB` : `${bytes.toLocaleString('en-US')} bytes`;
}

/** A record (line) longer than the bound: refused naming its line, before it is held as one string. */
export function recordTooLong(file: string, line: number, bytes: number, maxRecordBytes: number): InputError {
  return new InputError(`${at(file, line)}: a record of more than ${mib(bytes > maxRecordBytes ? maxRecordBytes : bytes)} (gradpool reads records of at most ${mib(maxRecordBytes)}; is a quote left open, or is this not a CSV file?)`);
}

/** Closes the gaps between parts (blank lines leave rows unused) and merges the per-column views. */
function assemble(file: string, columns: number, raw: SharedArrayBuffer, linesBuffer: SharedArrayBuffer, places: readonly ChunkPlace[], results: readonly ChunkResult[]): RawTable {
  const u32 = new Uint32Array(raw);
  const lines = new Int32Array(linesBuffer);
  let rows = 0;
  const parts: { firstRow: number; codes: Int32Array[] }[] = [];
  const summaries: ColumnSummary[] = Array.from({ length: columns }, () => ({ numeric: 0, formatted: 0, firstFormatted: null, text: 0, missing: 0, firstMissing: null, firstTexts: [], texts: [] }));
  const index = Array.from({ length: columns }, () => new Map<string, number>());
  results.forEach((result, p) => {
    const from = places[p]!.rowBase;
    if (from !== rows && result.rows > 0) {
      u32.copyWithin(rows * columns, from * columns, (from + result.rows) * columns);
      lines.copyWithin(rows, from, from + result.rows);
    }
    const codes = result.tallies.map((tally, c) => {
      const summary = summaries[c]!;
      summary.numeric += tally.numeric;
      summary.formatted += tally.formatted;
      summary.firstFormatted ??= tally.firstFormatted;
      summary.text += tally.text;
      summary.missing += tally.missing;
      summary.firstMissing ??= tally.firstMissing;
      for (const ref of tally.firstTexts) if (summary.firstTexts.length < 3) summary.firstTexts.push(ref);
      const known = index[c]!;
      return Int32Array.from(tally.texts, (text) => {
        let code = known.get(text);
        if (code === undefined) {
          code = summary.texts.length;
          known.set(text, code);
          summary.texts.push(text);
        }
        return code;
      });
    });
    parts.push({ firstRow: rows, codes });
    rows += result.rows;
  });
  return { file, columns, rows, u32, f32: new Float32Array(raw), lines, summaries, parts };
}
