// Bounded reads of the files a run is given (models, checkpoints, data): only regular files, and only
// up to a size bound checked before a byte is read. A device (/dev/zero) or a FIFO is refused before
// it is read; the open itself never blocks (O_NONBLOCK: a FIFO without a writer would otherwise hold
// a thread, and the process's exit, for ever), and the kind is checked again on the opened file.
import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { describeKind } from './guard.js';

export interface ReadBound {
  /** Names the file in messages, e.g. "--model m.json" or "--resume ck/checkpoint.gpck". */
  readonly shown: string;
  /** The most bytes read; a larger file is refused before reading. */
  readonly maxBytes: number;
  /** What the file is, for the size message ("a model file"). */
  readonly what: string;
}

function gib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${Math.round(bytes / 2 ** 20)} MiB`;
}

/** A message for a file that is not regular: a directory, device, FIFO or socket. */
function notRegular(shown: string, kind: string): InputError {
  return new InputError(`${shown}: is ${kind}, not a regular file; gradpool reads only regular files`);
}

/**
 * Refuses (InputError) a path that exists and is neither a regular file nor, where `directories`
 * allows, a directory; before anything opens it. Missing paths pass: the reader says so itself.
 */
export async function assertRegularInput(path: string, shown: string, directories = false): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch {
    return;
  }
  if (info.isFile() || (directories && info.isDirectory())) return;
  throw notRegular(shown, describeKind(info));
}

/**
 * Opens a regular file for reading without blocking, and checks what was opened: a regular file of
 * at most `maxBytes` bytes. Returns the handle and the size.
 */
export async function openBounded(path: string, bound: ReadBound): Promise<{ handle: FileHandle; size: number }> {
  await assertRegularInput(path, bound.shown);
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw notRegular(bound.shown, describeKind(info));
    if (info.size > bound.maxBytes) throw new InputError(`${bound.shown}: ${gib(info.size)} is more than any ${bound.what} gradpool writes (at most ${gib(bound.maxBytes)}); refused before reading`);
    return { handle, size: info.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** The whole of a regular file of at most `maxBytes` bytes (what the file held when it was opened). */
export async function readBounded(path: string, bound: ReadBound): Promise<Buffer> {
  const { handle, size } = await openBounded(path, bound);
  try {
    const buffer = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await handle.read(buffer, done, size - done, done);
      if (bytesRead === 0) break; // the file shrank meanwhile: what is there is what the parser gets
      done += bytesRead;
    }
    return done === size ? buffer : buffer.subarray(0, done);
  } finally {
    await handle.close();
  }
}
