// A directory of files written as a whole: the files go into a temporary directory beside the
// target (`.NAME.gradpool-tmp-PID-RANDOM`, as atomic.ts names its temporaries), each flushed, and the
// directory is then renamed into place, so that a reader sees no directory or a complete one, never
// half of one. An existing target is replaced only when that loses nothing: it is empty, or it holds
// exactly the files of an earlier such write, unchanged (the manifest lists them with their SHA-256).
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../errors.js';
import { processAlive, syncDirectory, WriteError, writeTarget } from './atomic.js';

/** The manifest's own content: which files the write made, by SHA-256. */
interface Manifest {
  readonly format: string;
  readonly files: Record<string, string>;
}

export type DirectoryState = 'new' | 'empty' | 'earlier-write';

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Whether `path` may receive the directory: it does not exist (its parent does), it is an empty
 * directory, or it holds exactly an earlier write's files, unchanged. Anything else is an
 * InputError naming `ref`. Run it before any work; writeDirectoryAtomic checks again.
 */
export async function checkOutputDirectory(ref: string, path: string, manifestName: string, format: string): Promise<DirectoryState> {
  if (path === '') throw new InputError(`${ref} needs a directory path, got an empty one`);
  let target: string;
  try {
    target = writeTarget(path);
  } catch (error) {
    throw new InputError(`${ref} ${path}: cannot follow the link (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let info;
  try {
    info = await lstat(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new InputError(`${ref} ${path}: cannot use it (${code ?? String(error)})`);
    const parent = dirname(target);
    const parentInfo = await stat(parent).catch(() => undefined);
    if (!parentInfo?.isDirectory()) throw new InputError(`${ref} ${path}: directory ${parent} does not exist`);
    return 'new';
  }
  if (!info.isDirectory()) throw new InputError(`${ref} ${path} exists and is not a directory; name a new or empty directory`);
  const names = await readdir(target);
  if (names.length === 0) return 'empty';
  if (await isEarlierWrite(target, names, manifestName, format)) return 'earlier-write';
  throw new InputError(`${ref} ${path} is a directory that is not empty (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}); name a new or empty directory (an earlier export is replaced only while its files are as written and nothing was added)`);
}

async function isEarlierWrite(target: string, names: readonly string[], manifestName: string, format: string): Promise<boolean> {
  if (!names.includes(manifestName)) return false;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(target, manifestName), 'utf8')) as Manifest;
  } catch {
    return false;
  }
  if (manifest?.format !== format || typeof manifest.files !== 'object' || manifest.files === null) return false;
  const listed = Object.keys(manifest.files);
  if (names.length !== listed.length + 1 || !listed.every((name) => names.includes(name))) return false;
  for (const name of listed) {
    const info = await lstat(join(target, name)).catch(() => undefined);
    if (!info?.isFile()) return false;
    if (sha256(await readFile(join(target, name))) !== manifest.files[name]) return false;
  }
  return true;
}

/**
 * Writes `files` (name → content; plain names, no folders) as the directory `path`, with a manifest
 * `manifestName` listing them. Throws InputError when the target may not be replaced (see
 * checkOutputDirectory), WriteError naming the path when the system refuses a write; either way
 * nothing is left behind and an earlier directory stays as it was.
 */
export async function writeDirectoryAtomic(ref: string, path: string, files: ReadonlyMap<string, string | Uint8Array>, manifestName: string, format: string): Promise<void> {
  const state = await checkOutputDirectory(ref, path, manifestName, format);
  const target = writeTarget(path);
  await removeStaleDirectories(target);
  const temporary = siblingName(target, 'tmp');
  const manifest: Manifest = { format, files: Object.fromEntries([...files].map(([name, data]) => [name, sha256(data)])) };
  const all = new Map(files).set(manifestName, `${JSON.stringify(manifest, null, 2)}\n`);
  let aside: string | undefined;
  try {
    await mkdir(temporary, { mode: 0o777 });
    for (const [name, data] of all) {
      if (name !== basename(name) || name.startsWith('.')) throw new Error(`not a plain file name: ${name}`);
      const handle = await open(join(temporary, name), 'wx', name.endsWith('.py') ? 0o777 : 0o666);
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    syncDirectory(temporary);
    // Checked again just before the rename: what the target holds may have changed while we wrote.
    const now = await checkOutputDirectory(ref, path, manifestName, format);
    if (now !== state) throw new InputError(`${ref} ${path} changed while the export was written (it was ${state}, it is ${now} now); nothing was written`);
    if (state === 'earlier-write') {
      // A directory cannot be renamed over a non-empty one: the earlier write steps aside first and
      // comes back if the new one cannot take its place.
      aside = siblingName(target, 'old');
      await rename(target, aside);
    }
    try {
      await rename(temporary, target);
    } catch (error) {
      if (aside) await rename(aside, target).catch(() => undefined);
      aside = undefined;
      throw error;
    }
  } catch (error) {
    await rm(temporary, { recursive: true, force: true }).catch(() => undefined);
    if (error instanceof InputError) throw error;
    throw new WriteError(path, error);
  }
  if (aside) await rm(aside, { recursive: true, force: true }).catch(() => undefined);
  syncDirectory(dirname(target));
}

function siblingName(target: string, kind: 'tmp' | 'old'): string {
  return join(dirname(target), `.${basename(target).slice(0, 180)}.gradpool-${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Temporary directories of this target left by a writer that was killed (its process is gone). */
async function removeStaleDirectories(target: string): Promise<void> {
  const prefix = `.${basename(target).slice(0, 180)}.gradpool-`;
  const names = await readdir(dirname(target)).catch(() => [] as string[]);
  for (const name of names) {
    // Only temporaries: an 'old' directory of a writer killed mid-replace may be the only copy left.
    const match = /^tmp-(\d+)-[0-9a-f]+$/.exec(name.startsWith(prefix) ? name.slice(prefix.length) : '');
    if (!match || Number(match[1]) === process.pid || processAlive(Number(match[1]))) continue;
    await rm(join(dirname(target), name), { recursive: true, force: true }).catch(() => undefined);
  }
}
