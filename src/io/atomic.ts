// Every file we write goes to a temporary file beside its target, is flushed, then renamed over the
// target: readers see the old file or the new one, never half of one. A symlink is written through:
// the file it points to is replaced, the link stays. Temporary files are named
// `.NAME.gradpool-tmp-PID-RANDOM`, so that those of a killed writer are recognised and removed the
// next time NAME is written.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, ftruncateSync, lstatSync, openSync, readlinkSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { assertReplaceable, WriteRefused } from './guard.js';

/** A write that failed: the message names the file and the system's reason (ENOSPC, EFBIG, …). */
export class WriteError extends Error {
  override readonly name = 'WriteError';
  readonly code: string | undefined;

  constructor(readonly path: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(`cannot write ${path}: ${describeCode(code, cause)}`);
    this.code = code;
  }
}

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EFBIG: 'the file would exceed the size limit',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOENT: 'the directory no longer exists',
  EIO: 'input/output error',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a parent is not a directory',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
};

function describeCode(code: string | undefined, cause: unknown): string {
  if (code === undefined) return cause instanceof Error ? cause.message : String(cause);
  return `${REASONS[code] ?? code.toLowerCase()} (${code})`;
}

const MAX_LINKS = 40;

/**
 * The file a write to `path` replaces: symbolic links followed (a link whose target does not exist
 * yet gives that target). Sync on purpose: a handful of lstat calls, usable from sync writers.
 */
export function writeTarget(path: string): string {
  let current = resolve(path);
  for (let hops = 0; hops < MAX_LINKS; hops++) {
    let isLink: boolean;
    try {
      isLink = lstatSync(current).isSymbolicLink();
    } catch {
      return current; // new (or unreadable: the write itself will say why)
    }
    if (!isLink) return current;
    current = resolve(dirname(current), readlinkSync(current));
  }
  throw Object.assign(new Error(`too many symbolic links at ${path}`), { code: 'ELOOP' });
}

const TMP_TAG = '.gradpool-tmp-';
/** Keeps NAME + the tag, pid and random part under the usual 255-byte name limit. */
const NAME_KEPT = 180;

function temporaryPrefix(target: string): string {
  return `.${basename(target).slice(0, NAME_KEPT)}${TMP_TAG}`;
}

function temporaryPath(target: string): string {
  return join(dirname(target), `${temporaryPrefix(target)}${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** When this process started: temporaries older than that belong to an earlier run. */
const RUN_STARTED_MS = Date.now() - process.uptime() * 1000;
/** A temporary untouched this long is abandoned whoever owns the pid now (pids are reused). */
const ABANDONED_MS = 24 * 3600 * 1000;

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes our temporaries of `target` that a writer left behind when it was killed: those from an
 * earlier run whose process is gone (or untouched for a day). Best effort: errors are ignored.
 * Returns how many were removed.
 */
export async function removeStaleTemporaries(target: string): Promise<number> {
  const prefix = temporaryPrefix(target);
  const directory = dirname(target);
  let names: string[];
  try {
    names = (await readdir(directory)).filter((name) => name.startsWith(prefix));
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const match = /^(\d+)-[0-9a-f]+$/.exec(name.slice(prefix.length));
    if (!match) continue;
    const pid = Number(match[1]);
    const path = join(directory, name);
    try {
      const { mtimeMs } = await stat(path);
      const earlierRun = mtimeMs < RUN_STARTED_MS && pid !== process.pid && !processAlive(pid);
      if (earlierRun || Date.now() - mtimeMs > ABANDONED_MS) {
        await unlink(path);
        removed++;
      }
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}

/** The permission bits of an existing target, so that replacing a file keeps its mode. */
function modeOf(target: string): number | undefined {
  try {
    return statSync(target).mode & 0o7777;
  } catch {
    return undefined;
  }
}

export interface WriteOptions {
  /**
   * Reads the flushed temporary file back before it replaces anything (a model file: proof that
   * gradpool can load what it wrote). Its error is thrown as it is, and the target is left alone.
   */
  readonly verify?: ((temporary: string) => Promise<void>) | undefined;
}

/**
 * The target of `path` as it is now, checked just before a rename (guard.ts): links followed again,
 * since one may have been swapped in while the file was written.
 */
function checkedTarget(path: string, planned: string): string {
  let target: string;
  try {
    target = writeTarget(path);
  } catch (error) {
    throw new WriteError(path, error);
  }
  if (target !== planned) throw new WriteRefused(`cannot write ${path}: it now leads to ${target}, not ${planned} as when the write began (nothing was written)`);
  assertReplaceable(path, target);
  return target;
}

/**
 * Writes `data` to `path` atomically. Failures throw WriteError naming the path; a target that is
 * not a regular file, or is an input of a run in progress, throws WriteRefused (checked before the
 * temporary file is made and again just before the rename).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: WriteOptions = {}): Promise<void> {
  let target: string;
  try {
    target = writeTarget(path);
  } catch (error) {
    throw new WriteError(path, error);
  }
  assertReplaceable(path, target);
  await removeStaleTemporaries(target);
  const temporary = temporaryPath(target);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  /** Errors of ours (verify, the guard) pass as they are; the system's become a WriteError. */
  let ours = false;
  try {
    handle = await open(temporary, 'wx', modeOf(target) ?? 0o666);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    ours = true;
    if (options.verify) await options.verify(temporary);
    checkedTarget(path, target);
    ours = false;
    await rename(temporary, target);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    if (ours || error instanceof WriteError) throw error;
    throw new WriteError(path, error);
  }
  syncDirectory(dirname(target));
}

/** Makes a rename durable across a power cut (best effort: not every file system allows it). */
export function syncDirectory(directory: string): void {
  try {
    const fd = openSync(directory, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not supported here
  }
}

/**
 * A file written in pieces (a log): appended to a temporary file until commit() renames it over the
 * target; appends after that go on into the target. A failed append leaves the file at its last
 * complete piece (never half a line) and throws WriteError. close() before commit() removes the
 * temporary and leaves the old target as it was.
 */
export class AtomicFile {
  private fd: number | undefined;
  private length = 0;
  private committed = false;
  private readonly temporary: string;

  private constructor(readonly path: string, private readonly target: string) {
    this.temporary = temporaryPath(target);
  }

  /** Creates the temporary file now (stale ones of this target are removed in the background). */
  static create(path: string): AtomicFile {
    let file: AtomicFile;
    try {
      file = new AtomicFile(path, writeTarget(path));
    } catch (error) {
      throw new WriteError(path, error);
    }
    assertReplaceable(path, file.target);
    void removeStaleTemporaries(file.target);
    try {
      file.fd = openSync(file.temporary, 'wx', modeOf(file.target) ?? 0o666);
    } catch (error) {
      throw new WriteError(path, error);
    }
    return file;
  }

  append(data: string | Uint8Array): void {
    if (this.fd === undefined) throw new WriteError(this.path, new Error('the file is closed'));
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    try {
      let done = 0;
      while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, this.length + done);
      this.length += bytes.length;
    } catch (error) {
      try {
        ftruncateSync(this.fd, this.length);
      } catch {
        // the truncate may fail too; the next reader still sees whole pieces up to `length`
      }
      throw new WriteError(this.path, error);
    }
  }

  /** Flushes and renames the file over its target; later appends go to the target. */
  commit(): void {
    if (this.committed || this.fd === undefined) return;
    try {
      fsyncSync(this.fd);
    } catch (error) {
      throw new WriteError(this.path, error);
    }
    checkedTarget(this.path, this.target);
    try {
      renameSync(this.temporary, this.target);
    } catch (error) {
      throw new WriteError(this.path, error);
    }
    this.committed = true;
    syncDirectory(dirname(this.target));
  }

  get isCommitted(): boolean {
    return this.committed;
  }

  /** Closes the file; an uncommitted one is removed, leaving the target untouched. */
  close(): void {
    if (this.fd === undefined) return;
    try {
      if (this.committed) fsyncSync(this.fd);
    } catch {
      // flushed as far as the system allows
    }
    closeSync(this.fd);
    this.fd = undefined;
    if (!this.committed) {
      try {
        unlinkSync(this.temporary);
      } catch {
        // already gone
      }
    }
  }
}
