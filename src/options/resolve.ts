// Options as the library receives them → the values a run uses: defaults filled in, every value
// checked against the table, the rules between options applied. Errors name the option as the
// caller wrote it (InputError spells it `threads` for the library, `--threads` for the CLI).
import { availableParallelism } from 'node:os';
import { InputError, describeValue, optionRef } from '../errors.js';
import { checkOption, defaultFor, type CommandName, type InputOf, type LibraryOptionsOf, type OptionSpec, type ValueOf } from './spec.js';
import { OPTIONS, type OptionName } from './table.js';

type Table = typeof OPTIONS;
type LibraryOptions<C extends CommandName> = LibraryOptionsOf<Table, C>;

/** What a library caller passes for a command (every option optional but those the command requires). */
export type OptionsInput<C extends CommandName> = { [K in LibraryOptions<C>]?: InputOf<Table[K]> | undefined };
/** The checked values, defaults filled in. */
export type Resolved<C extends CommandName> = { readonly [K in LibraryOptions<C>]: ValueOf<Table[K]> };

/** Keys a caller may pass besides the table's options (callbacks and the like). */
export function resolveOptions<C extends CommandName>(command: C, input: unknown, extraKeys: readonly string[] = []): Resolved<C> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new InputError(`${command}: options must be an object, got ${describeValue(input)}`);
  // Own properties only: an inherited `out` (Object.prototype.out = …) is not an option, and keys
  // such as `constructor` or `toString` are unknown options, not the table's inherited members.
  const given = input as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    const spec = Object.hasOwn(OPTIONS, key) ? (OPTIONS as Record<string, OptionSpec<unknown>>)[key] : undefined;
    const known = spec !== undefined && spec.library !== false && spec.commands.includes(command);
    if (!known && !extraKeys.includes(key)) throw new InputError(`${command}: unknown option ${describeValue(key)}`);
  }
  const resolved: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(OPTIONS) as [OptionName, OptionSpec<unknown>][]) {
    if (spec.library === false || !spec.commands.includes(command)) continue;
    const value = Object.hasOwn(given, name) ? given[name] : undefined;
    if (value === undefined) {
      if (spec.requiredIn?.includes(command)) throw new InputError(`${optionRef(name)} is required`);
      resolved[name] = defaultFor(spec, command);
    } else {
      resolved[name] = checkOption(name, spec, value);
    }
  }
  applyRules(resolved, given);
  return resolved as Resolved<C>;
}

/** Rules that involve more than one option, or the machine. */
function applyRules(options: Record<string, unknown>, given: Record<string, unknown>): void {
  // A table's data-driven defaults supply the split when valSplit is left out (train checks again
  // once the data is read); a builtin set never gets one.
  const splitMayCome = given.valSplit === undefined && !(typeof options.data === 'string' && options.data.startsWith('builtin:'));
  if (options.patience !== undefined && options.valSplit === 0 && !splitMayCome) {
    throw new InputError(`${optionRef('patience')} needs a validation set: add ${optionRef('valSplit')} (e.g. 0.1)`);
  }
  if (typeof options.threads === 'number') options.threads = threadsToRun(options.threads);
}

/**
 * Threads beyond the cores only take turns on them, and every barrier then waits for a thread that
 * is not running: the run gets slower, never faster, and the results are the same either way. So
 * the count that runs is capped at the cores. (GRADPOOL_THREADS_BEYOND_CORES=1 lifts the cap, so
 * that tests on a small machine still run many participants through the claiming and joining.)
 */
function threadsToRun(asked: number): number {
  return process.env.GRADPOOL_THREADS_BEYOND_CORES === '1' ? asked : Math.min(asked, availableParallelism());
}

/** Everything that changes the arithmetic of a run, as the table marks it, plus facts of the run. */
export function runFingerprint(resolved: Readonly<Record<string, unknown>>, facts: Readonly<Record<string, unknown>>): string {
  const marked: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(OPTIONS) as [OptionName, OptionSpec<unknown>][]) {
    if (!(name in resolved)) continue;
    const counts = typeof spec.fingerprint === 'function' ? spec.fingerprint(resolved) : spec.fingerprint;
    if (counts) marked[name] = resolved[name];
  }
  return JSON.stringify({ ...marked, ...facts });
}

/** The library's defaults, for reading (computed ones, such as threads, are left out). */
export const DEFAULTS: Readonly<Record<string, unknown>> = Object.freeze(
  Object.fromEntries(
    (Object.entries(OPTIONS) as [string, OptionSpec<unknown>][])
      .filter(([, spec]) => spec.library !== false && spec.default !== undefined && typeof spec.default !== 'function')
      .map(([name, spec]) => [name, spec.default]),
  ),
);
