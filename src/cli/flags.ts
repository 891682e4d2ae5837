// The command line's flags, derived from the option table: yargs declarations and the translation
// of parsed argv back into the library's options. No option is described here.
import type { Argv } from 'yargs';
import { InputError, optionRef } from '../errors.js';
import { OptionProblem, helpFor, type CommandName, type OptionSpec } from '../options/spec.js';
import { OPTIONS } from '../options/table.js';

export type Args = Record<string, unknown>;

function optionsOf(command: CommandName): [string, OptionSpec<unknown>][] {
  return (Object.entries(OPTIONS) as [string, OptionSpec<unknown>][]).filter(([, spec]) => spec.commands.includes(command));
}

/** Declares every flag of `command` on its yargs builder. */
export function addFlags<T>(y: Argv<T>, command: CommandName): Argv<T> {
  for (const [name, spec] of optionsOf(command)) {
    const value = spec.defaultIn && command in spec.defaultIn ? spec.defaultIn[command] : spec.default;
    const shownDefault = spec.defaultText ?? (value === undefined || value === false || typeof value === 'function' ? undefined : Array.isArray(value) ? value.join(',') : String(value));
    y.option(kebab(name), {
      type: spec.cli.type,
      ...(spec.cli.choices ? { choices: spec.cli.choices } : {}),
      describe: helpFor(spec, command),
      demandOption: spec.requiredIn?.includes(command) ?? false,
      // The library fills in its own defaults, so that "not given" stays visible to it (and to the
      // run fingerprint); yargs fills in only those of the command line's own flags.
      ...(spec.library === false && value !== undefined ? { default: value } : shownDefault === undefined ? {} : { defaultDescription: shownDefault }),
    });
  }
  return y;
}

/**
 * The options a command line gave, by library name: only flags that were written (defaults stay the
 * library's), each read as its kind says. A flag written twice is refused, whatever its kind.
 */
export function optionsFromArgv(argv: Args, command: CommandName): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [name, spec] of optionsOf(command)) {
    const value = argv[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) throw new InputError(`${optionRef(name)} is given ${value.length} times; give it once`);
    if (typeof value === 'number' && Number.isNaN(value)) throw new InputError(`${optionRef(name)} needs a number`);
    options[name] = typeof value === 'string' && spec.parse ? parsed(name, spec, value) : value;
  }
  return options;
}

/**
 * Refuses a flag written more than once in `args` (the raw command line), whatever its kind: yargs
 * folds a repeated switch (--quiet --quiet, --no-quiet --quiet) into one value, so the values alone
 * cannot tell. Only the command's own flags are counted; yargs reports unknown ones.
 */
export function refuseRepeatedFlags(args: readonly string[]): void {
  const command = args[0] as CommandName;
  const known = new Map(optionsOf(command).map(([name]) => [kebab(name), name]));
  if (known.size === 0) return;
  const counts = new Map<string, number>();
  for (const arg of args.slice(1)) {
    if (arg === '--') break;
    const match = /^--(?:no-)?([A-Za-z][A-Za-z0-9-]*)(?:=|$)/.exec(arg);
    const name = match && known.get(kebab(match[1]!));
    if (!name) continue;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  for (const [name, count] of counts) if (count > 1) throw new InputError(`${optionRef(name)} is given ${count} times; give it once`);
}

/** The part of `options` that the library takes (the rest is the command line's own: logs, printing). */
export function libraryPart(options: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).filter(([name]) => (OPTIONS as Record<string, OptionSpec<unknown>>)[name]?.library !== false));
}

function parsed(name: string, spec: OptionSpec<unknown>, text: string): unknown {
  try {
    return spec.parse!(text);
  } catch (error) {
    if (error instanceof OptionProblem) throw new InputError(`${optionRef(name)} ${error.message}`);
    throw error;
  }
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
