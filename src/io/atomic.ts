// Every file we write goes to a temporary file in the same directory, is flushed, then renamed
// over the target: readers see the old file or the new one, never half of one.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../errors.js';

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    await rename(temporary, path);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/** Fails early (before hours of training) when `path` could not be written. */
export async function assertWritablePath(flag: string, path: string): Promise<void> {
  const directory = dirname(path);
  try {
    const info = await stat(directory);
    if (!info.isDirectory()) throw new InputError(`${flag}: ${directory} is not a directory`);
    await access(directory, constants.W_OK);
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${flag}: cannot write ${path} (${code === 'ENOENT' ? 'directory does not exist' : code ?? String(error)})`);
  }
  try {
    if ((await stat(path)).isDirectory()) throw new InputError(`${flag}: ${path} is a directory`);
  } catch (error) {
    if (error instanceof InputError) throw error;
  }
}

/** Creates `directory` if needed and fails early, naming the flag, when it cannot be written. */
export async function ensureWritableDirectory(flag: string, directory: string): Promise<void> {
  try {
    await mkdir(directory, { recursive: true });
    await access(directory, constants.W_OK);
  } catch (error) {
    throw new InputError(`${flag}: cannot use ${directory} as a directory (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}
