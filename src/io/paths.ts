// The one check of a run's output paths, before any work: each must be a regular file or a new path
// in a writable directory (a symlink counts as the file it points to), and none may be the same file
// as an input or as another output — compared by device and inode for files that exist, by real
// path for new ones. Refusals are InputErrors naming the option(s) and path(s).
import { constants } from 'node:fs';
import { access, lstat, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { writeTarget } from './atomic.js';
import { protectInputs, type InputProtection } from './guard.js';

/** A file the run reads. A directory stands for every file directly in it (an IDX directory). */
export interface InputPath {
  /** The option as a message names it (optionRef(name)). */
  readonly ref: string;
  readonly path: string;
}

/** A file the run replaces. */
export interface OutputPath {
  readonly ref: string;
  /** As the caller gave it: the file, or with `inDirectory` the directory. */
  readonly path: string;
  /** The file is this name inside `path`, a directory created if missing (a checkpoint directory). */
  readonly inDirectory?: string | undefined;
  /** The ref of an input this output may be: one read whole before the first write (a resumed checkpoint). */
  readonly mayReplace?: string | undefined;
}

interface Identity {
  /** dev:ino of a file that exists, or new:REALPATH of one that does not yet. */
  readonly key: string;
  readonly ref: string;
  readonly path: string;
}

/**
 * Checks the paths, then protects the inputs (guard.ts): until release(), every write in this process
 * refuses to replace one of them, whatever its path has become by then.
 */
export async function checkPaths(inputs: readonly InputPath[], outputs: readonly OutputPath[]): Promise<InputProtection> {
  const written: (Identity & { mayReplace: string | undefined })[] = [];
  for (const output of outputs) {
    if (output.path === '') throw new InputError(`${output.ref} needs a path, got an empty one`);
    if (output.inDirectory === undefined && /[\\/]$/.test(output.path)) throw new InputError(`${output.ref} ${output.path}: ends in a slash, so it names a directory; name the file to write (e.g. ${output.path}model.json)`);
    const file = output.inDirectory === undefined ? output.path : join(await checkOutputDirectory(output), output.inDirectory);
    written.push({ ...(await checkOutputFile(output, file, output.inDirectory !== undefined)), mayReplace: output.mayReplace });
  }
  const read: Identity[] = [];
  for (const input of inputs) {
    if (input.path === '') throw new InputError(`${input.ref} needs a path, got an empty one`);
    read.push(...(await inputIdentities(input)));
  }
  for (const [i, out] of written.entries()) {
    const input = read.find((r) => r.key === out.key && r.ref !== out.mayReplace);
    if (input) throw new InputError(`${out.ref} ${out.path} is the same file as ${input.ref} ${input.path}: writing it would destroy the input; choose another path`);
    const other = written.slice(0, i).find((w) => w.key === out.key);
    if (other) throw new InputError(`${other.ref} ${other.path} and ${out.ref} ${out.path} are the same file; give each output its own path`);
  }
  const replaceable = new Set(outputs.map((o) => o.mayReplace));
  return protectInputs(read.filter((r) => !replaceable.has(r.ref)).map((r) => r.path));
}

/** A directory that exists, or one that can be created (its nearest existing ancestor is a writable directory). */
async function checkOutputDirectory(output: OutputPath): Promise<string> {
  const directory = output.path;
  let ancestor = resolve(directory);
  for (;;) {
    let info;
    try {
      info = await stat(ancestor);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && dirname(ancestor) !== ancestor) {
        ancestor = dirname(ancestor);
        continue;
      }
      if (code === 'ENOTDIR') throw new InputError(`${output.ref} ${directory}: a parent is not a directory`);
      throw new InputError(`${output.ref} ${directory}: cannot use it (${code ?? String(error)})`);
    }
    if (!info.isDirectory()) throw new InputError(`${output.ref} ${directory}: ${ancestor} is not a directory`);
    await assertWritableDirectory(output.ref, directory, ancestor);
    return directory;
  }
}

async function checkOutputFile(output: OutputPath, file: string, directoryMayBeNew: boolean): Promise<Identity> {
  const shown = file;
  let target: string;
  try {
    target = writeTarget(file);
  } catch (error) {
    throw new InputError(`${output.ref} ${shown}: cannot follow the link (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let info;
  try {
    info = await lstat(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new InputError(`${output.ref} ${shown}: ${await firstNonDirectory(target)} is not a directory`);
    if (code !== 'ENOENT') throw new InputError(`${output.ref} ${shown}: cannot use it (${code ?? String(error)})`);
    return { key: `new:${await newPathKey(output, shown, target, directoryMayBeNew)}`, ref: output.ref, path: shown };
  }
  if (info.isDirectory()) throw new InputError(`${output.ref} ${shown} is a directory; name a file to write`);
  if (!info.isFile()) throw new InputError(`${output.ref} ${shown} is not a regular file (${kindOf(info)}); gradpool writes only regular files`);
  await assertWritableDirectory(output.ref, shown, dirname(target));
  return { key: `${info.dev}:${info.ino}`, ref: output.ref, path: shown };
}

/** The real path a new file will have; its directory must exist (unless it is one we create) and be writable. */
async function newPathKey(output: OutputPath, shown: string, target: string, directoryMayBeNew: boolean): Promise<string> {
  const directory = dirname(target);
  let info;
  try {
    info = await stat(directory);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && directoryMayBeNew) return target;
    if (code === 'ENOENT') throw new InputError(`${output.ref} ${shown}: directory ${directory} does not exist`);
    throw new InputError(`${output.ref} ${shown}: cannot use ${directory} (${code ?? String(error)})`);
  }
  if (!info.isDirectory()) throw new InputError(`${output.ref} ${shown}: ${directory} is not a directory`);
  await assertWritableDirectory(output.ref, shown, directory);
  return join(await realpath(directory), basename(target));
}

async function assertWritableDirectory(ref: string, shown: string, directory: string): Promise<void> {
  try {
    await access(directory, constants.W_OK);
  } catch (error) {
    throw new InputError(`${ref} ${shown}: cannot write in ${directory} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

/** The first component of `path` that exists and is not a directory (for ENOTDIR). */
async function firstNonDirectory(path: string): Promise<string> {
  let current = path;
  const chain: string[] = [];
  while (dirname(current) !== current) {
    chain.unshift(current);
    current = dirname(current);
  }
  for (const part of chain) {
    try {
      if (!(await stat(part)).isDirectory()) return part;
    } catch {
      return dirname(part);
    }
  }
  return dirname(path);
}

function kindOf(info: { isCharacterDevice(): boolean; isBlockDevice(): boolean; isFIFO(): boolean; isSocket(): boolean }): string {
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isFIFO()) return 'a named pipe';
  if (info.isSocket()) return 'a socket';
  return 'a special file';
}

/** The most files of an input directory compared (an IDX directory holds four). */
const DIRECTORY_FILES = 1000;

async function inputIdentities(input: InputPath): Promise<Identity[]> {
  let info;
  try {
    info = await stat(input.path);
  } catch {
    return []; // missing or unreadable: the loader reports it
  }
  if (!info.isDirectory()) return [{ key: `${info.dev}:${info.ino}`, ref: input.ref, path: input.path }];
  const identities: Identity[] = [];
  try {
    for (const name of (await readdir(input.path)).slice(0, DIRECTORY_FILES)) {
      const path = join(input.path, name);
      const entry = await stat(path).catch(() => undefined);
      if (entry?.isFile()) identities.push({ key: `${entry.dev}:${entry.ino}`, ref: input.ref, path });
    }
  } catch {
    // unreadable directory: the loader reports it
  }
  return identities;
}
