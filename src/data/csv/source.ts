// The bytes of a CSV file as UTF-8, whatever it was written in: UTF-8 (with or without a BOM) is read
// where it lies (large files by range, on several threads); UTF-16 with a BOM, Latin-1/Windows-1252
// (bytes that are not UTF-8 but decode to clean text) and gzip (.csv.gz, recognised by its magic
// bytes) are decoded into memory once, up to a bound, so the parser only ever sees UTF-8. A file
// that is not text at all is named for what it looks like, in one line.
import { isUtf8 } from 'node:buffer';
import { open, stat } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { InputError, optionRef } from '../../errors.js';
import { openBounded } from '../../io/read.js';

export const ENCODINGS = ['auto', 'utf8', 'utf16le', 'utf16be', 'latin1', 'windows-1252'] as const;
export type Encoding = (typeof ENCODINGS)[number];

/** Files up to this size are read whole and parsed on the main thread. */
export const SMALL_FILE = 16 << 20;
/** The most bytes a file decodes to in memory (gzip, UTF-16, Latin-1), and the largest CSV file read. */
export const MAX_DECODED_BYTES = 1 << 30;
const MAX_CSV_FILE = 2 ** 40;
const HEAD_BYTES = 1 << 20;

export interface CsvSource {
  readonly file: string;
  /** The whole text as UTF-8 when it is in memory (small, decoded or gunzipped files), else undefined. */
  readonly bytes: Buffer | undefined;
  /** Bytes of the text: the file's size, or bytes.length. */
  readonly size: number;
  /** The first bytes of the text (all of it when in memory). */
  readonly head: Buffer;
  /** A UTF-8 BOM to skip: 3 or 0. */
  readonly bom: number;
  /** What was decoded, for a note ("windows-1252"), or null for plain UTF-8. */
  readonly decoded: string | null;
  /** Reads more of the head (a first record longer than it): up to `bytes` bytes. */
  readonly readHead: (bytes: number) => Promise<Buffer>;
}

const gunzipAsync = promisify(gunzip);

export async function openSource(file: string, encoding: Encoding = 'auto'): Promise<CsvSource> {
  if (await stat(file).then((info) => info.isDirectory(), () => false)) throw new InputError(`${file}: is a directory, not a file (nor an IDX directory)`);
  const { handle, size } = await openBounded(file, { shown: file, maxBytes: MAX_CSV_FILE, what: 'CSV file' }).catch((error: unknown) => {
    if (error instanceof InputError) throw error;
    throw new InputError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  });
  const readAt = async (bytes: number): Promise<Buffer> => {
    const buffer = Buffer.allocUnsafe(Math.min(bytes, size));
    let done = 0;
    while (done < buffer.length) {
      const { bytesRead } = await handle.read(buffer, done, buffer.length - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buffer.subarray(0, done);
  };
  try {
    let head = await readAt(size <= SMALL_FILE ? size : HEAD_BYTES);
    if (isGzip(head)) {
      if (size > MAX_DECODED_BYTES) throw new InputError(`${file}: a gzip file of ${Math.round(size / 2 ** 20)} MiB; gradpool decompresses CSV files of up to ${MAX_DECODED_BYTES / 2 ** 30} GiB in memory (gunzip it first)`);
      const text = await gunzipText(file, await readAt(size));
      return decodeInMemory(file, text, encoding, 'gzip');
    }
    const whole = head.length >= size;
    const kind = encoding === 'auto' ? sniffEncoding(file, head, whole) : encoding;
    if (kind === 'utf8') {
      const bom = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
      return { file, bytes: whole ? head : undefined, size, head, bom, decoded: null, readHead: async (bytes) => (whole ? head : readRange(file, 0, Math.min(bytes, size))) };
    }
    if (size > MAX_DECODED_BYTES) throw new InputError(`${file}: ${kind} files are decoded in memory, up to ${MAX_DECODED_BYTES / 2 ** 30} GiB; convert this one to UTF-8 first (iconv -f ${kind} -t UTF-8)`);
    return decodeInMemory(file, whole ? head : await readAt(size), kind, null);
  } finally {
    await handle.close();
  }
}

/** Bytes [from, to) of a file (fewer where it is shorter): the head again, or a large file's tail. */
export async function readRange(file: string, from: number, to: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(to - from);
    const { bytesRead } = await handle.read(buffer, 0, to - from, from);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function decodeInMemory(file: string, raw: Buffer, encoding: Encoding, via: string | null): CsvSource {
  const kind = encoding === 'auto' ? sniffEncoding(file, raw, true) : encoding;
  let text: Buffer;
  if (kind === 'utf8') text = raw;
  else text = Buffer.from(decodeText(raw, kind), 'utf8');
  if (text.length > MAX_DECODED_BYTES) throw new InputError(`${file}: decodes to more than ${MAX_DECODED_BYTES / 2 ** 30} GiB of text, more than gradpool holds in memory for one CSV file`);
  const bom = text[0] === 0xef && text[1] === 0xbb && text[2] === 0xbf ? 3 : 0;
  const decoded = [via, kind === 'utf8' ? null : kind].filter((s) => s !== null).join(', ') || null;
  return { file, bytes: text, size: text.length, head: text, bom, decoded, readHead: async () => text };
}

function decodeText(raw: Buffer, kind: Exclude<Encoding, 'auto' | 'utf8'>): string {
  switch (kind) {
    case 'utf16le':
      return new TextDecoder('utf-16le').decode(raw);
    case 'utf16be':
      return new TextDecoder('utf-16be').decode(raw);
    case 'latin1':
      return raw.toString('latin1');
    case 'windows-1252':
      return windows1252(raw);
  }
}

/**
 * Windows-1252: Latin-1 but for 0x80–0x9F, which hold € ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ Ž ‘ ’ “ ” • – — ˜ ™ š › œ ž Ÿ
 * (the five unassigned bytes stay C1 controls, as the WHATWG decoder keeps them). Node's own
 * TextDecoder('windows-1252') decodes plain Latin-1, so the table is ours.
 */
const CP1252_HIGH = '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

function windows1252(raw: Buffer): string {
  const latin = raw.toString('latin1');
  return /[\u0080-\u009f]/.test(latin) ? latin.replace(/[\u0080-\u009f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]!) : latin;
}

function isGzip(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

async function gunzipText(file: string, raw: Buffer): Promise<Buffer> {
  try {
    // One byte past the bound tells "more than" from "exactly"; decompression stops there.
    const text = await gunzipAsync(raw, { maxOutputLength: MAX_DECODED_BYTES + 1 });
    if (text.length > MAX_DECODED_BYTES) throw new InputError(`${file}: decompresses to more than ${MAX_DECODED_BYTES / 2 ** 30} GiB (decompression stopped there)`);
    return text;
  } catch (error) {
    if (error instanceof InputError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) throw new InputError(`${file}: decompresses to more than ${MAX_DECODED_BYTES / 2 ** 30} GiB (decompression stopped there)`);
    throw new InputError(`${file}: a corrupt or cut-off gzip file (${(error as Error).message})`);
  }
}

/** Formats that are not text, by their first bytes: named so the message says what the file is. */
const MAGIC: readonly [number[], string][] = [
  [[0x50, 0x4b, 0x03, 0x04], 'a zip archive (an Excel .xlsx or .ods workbook is one): save it as CSV first'],
  [[0xd0, 0xcf, 0x11, 0xe0], 'an old Excel .xls (OLE) file: save it as CSV first'],
  [[0x25, 0x50, 0x44, 0x46], 'a PDF file'],
  [[0x89, 0x50, 0x4e, 0x47], 'a PNG image'],
  [[0xff, 0xd8, 0xff], 'a JPEG image'],
  [[0x50, 0x41, 0x52, 0x31], 'a Parquet file: convert it to CSV first'],
  [[0x42, 0x5a, 0x68], 'a bzip2 file: decompress it first (bunzip2)'],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'an xz file: decompress it first (unxz)'],
  [[0x28, 0xb5, 0x2f, 0xfd], 'a zstd file: decompress it first (unzstd)'],
  [[0x53, 0x51, 0x4c, 0x69, 0x74, 0x65], 'an SQLite database'],
  [[0x7f, 0x45, 0x4c, 0x46], 'an executable (ELF)'],
];

/**
 * What text encoding the head is in: a BOM says so; valid UTF-8 is UTF-8; bytes that are not UTF-8
 * but decode as Windows-1252 to text without control characters are Windows-1252. Anything else is
 * refused as not text.
 */
export function sniffEncoding(file: string, head: Buffer, whole: boolean): Exclude<Encoding, 'auto'> {
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf16be';
  for (const [magic, what] of MAGIC) if (magic.every((byte, i) => head[i] === byte)) throw new InputError(`${file}: is ${what}, not a CSV text file`);
  const nul = head.indexOf(0);
  if (nul >= 0) {
    const pairs = Math.min(head.length >> 1, 4096);
    let evenNuls = 0;
    let oddNuls = 0;
    for (let i = 0; i < pairs; i++) {
      if (head[2 * i] === 0) evenNuls++;
      if (head[2 * i + 1] === 0) oddNuls++;
    }
    if (oddNuls > pairs * 0.4 && evenNuls === 0) throw new InputError(`${file}: looks like UTF-16 text without a byte order mark; name it with ${optionRef('encoding')} utf16le`);
    if (evenNuls > pairs * 0.4 && oddNuls === 0) throw new InputError(`${file}: looks like UTF-16 text without a byte order mark; name it with ${optionRef('encoding')} utf16be`);
    throw new InputError(`${file}: looks like binary data, not CSV text (a NUL byte at offset ${nul})`);
  }
  // A head cut inside a character is still UTF-8: up to 3 bytes of an unfinished sequence at its end.
  const cut = whole ? head.length : utf8Boundary(head);
  if (isUtf8(head.subarray(0, cut))) return 'utf8';
  const text = windows1252(head);
  const control = /[\u0000-\u0008\u000b\u000e-\u001f\u007f\u0081\u008d\u008f\u0090\u009d]/.exec(text);
  if (control) throw new InputError(`${file}: looks like binary data, not CSV text (control byte 0x${control[0].charCodeAt(0).toString(16).padStart(2, '0')}); if it is text, name its encoding with ${optionRef('encoding')}`);
  return 'windows-1252';
}

function utf8Boundary(b: Buffer): number {
  let end = b.length;
  for (let back = 1; back <= 3 && end - back >= 0; back++) {
    const byte = b[end - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: keep looking for the lead
    if (byte >= 0xc0) return end - back; // a lead byte whose sequence may be unfinished
    return end;
  }
  return end;
}
