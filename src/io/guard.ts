// The one check every write makes, at write time, just before its rename: the file it replaces must
// be a regular file (or not exist yet), and must not be a file that a run in progress reads. The
// start-up check (paths.ts) gives the early, friendly refusal; this one is what no caller can skip:
// a path that became a device, a FIFO or a symlink to the data while the run trained is caught here.
import { lstatSync, statSync, type Stats } from 'node:fs';
import { InputError } from '../errors.js';

/** A write refused because of what its target is now: bad input (exit 2), nothing written. */
export class WriteRefused extends InputError {}

interface Protected {
  readonly path: string;
  /** dev:ino when the run started. */
  readonly key: string | undefined;
}

/** Inputs of runs in progress in this process, by registration. */
const registry = new Map<symbol, readonly Protected[]>();

function keyOf(info: Stats): string {
  return `${info.dev}:${info.ino}`;
}

function currentKey(path: string): string | undefined {
  try {
    const info = statSync(path);
    return info.isFile() ? keyOf(info) : undefined;
  } catch {
    return undefined;
  }
}

/** Registered inputs: until release(), no write in this process may replace them. */
export interface InputProtection {
  release(): void;
}

/** Protects the files at `paths` (regular files; others are ignored) from every write until released. */
export function protectInputs(paths: readonly string[]): InputProtection {
  const token = Symbol('inputs');
  registry.set(
    token,
    paths.map((path) => ({ path, key: currentKey(path) })),
  );
  return { release: () => void registry.delete(token) };
}

export function describeKind(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isFIFO()) return 'a named pipe';
  if (info.isSocket()) return 'a socket';
  if (info.isSymbolicLink()) return 'a symbolic link';
  return 'a special file';
}

/**
 * Throws WriteRefused unless `target` (links already followed) may be replaced now: missing, or a
 * regular file that no run in progress reads. `shown` is the path as the caller gave it.
 */
export function assertReplaceable(shown: string, target: string): void {
  let info: Stats;
  try {
    info = lstatSync(target);
  } catch {
    return; // a new file: nothing to lose
  }
  if (!info.isFile()) throw new WriteRefused(`cannot write ${shown}: it is ${describeKind(info)} now; gradpool replaces only regular files`);
  const key = keyOf(info);
  for (const inputs of registry.values()) {
    for (const input of inputs) {
      if (input.key === key || currentKey(input.path) === key) {
        throw new WriteRefused(`cannot write ${shown}: it is now the same file as the input ${input.path}; writing it would destroy the input (nothing was written)`);
      }
    }
  }
}
