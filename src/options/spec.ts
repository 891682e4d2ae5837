// How one option is described: its type and check, default, help text, the commands it belongs to and
// whether it changes a run's arithmetic. The builders below keep each description to one line or two,
// and carry the option's value type into the library's types.
import { InputError, optionRef, spelled } from '../errors.js';

export const COMMANDS = ['train', 'tune', 'evaluate', 'predict', 'compare-modes', 'export', 'bench', 'import'] as const;
export type CommandName = (typeof COMMANDS)[number];

/** A value that failed its check: `detail` completes "<option> …". */
export class OptionProblem extends Error {}

export interface OptionSpec<V, D = unknown, C extends readonly CommandName[] = readonly CommandName[], L extends boolean = boolean> {
  readonly help: string | Partial<Record<CommandName, string>>;
  readonly commands: C;
  /** Commands that cannot run without it. */
  readonly requiredIn?: readonly CommandName[] | undefined;
  /** false: a command-line convenience (printing, logging) with no library counterpart. */
  readonly library?: L | undefined;
  /** How yargs reads it from the command line. */
  readonly cli: { readonly type: 'string' | 'number' | 'boolean'; readonly choices?: readonly string[] | undefined };
  readonly default: D;
  /** A different default for some commands (bench measures 3 epochs, not 30). */
  readonly defaultIn?: Partial<Record<CommandName, unknown>> | undefined;
  /** The default as help shows it, when it is computed (threads: the core count). */
  readonly defaultText?: string | undefined;
  /** Command-line text → value, before the check (sizes such as "128,64"). */
  readonly parse?: ((text: string) => unknown) | undefined;
  /** Throws OptionProblem(detail) for a value of the wrong type or range; returns the value to run with. */
  readonly check: (value: unknown) => V;
  /** Whether the value changes the arithmetic of a run (a checkpoint must match it to resume). */
  readonly fingerprint: Fingerprinted;
  /** For a path: how the run uses the file, for the one check of outputs against inputs (options/paths.ts). */
  readonly file?: FileRole | undefined;
}

/**
 * How a path option touches the disk. input: read (a directory: every file in it; builtin:NAME
 * reads nothing). output: replaced atomically. checkpoint-input / checkpoint-output: a directory
 * whose checkpoint file is read / written (the one written may be the one resumed from, which is
 * read whole before the first write).
 */
export type FileRole = 'input' | 'output' | 'checkpoint-input' | 'checkpoint-output';

/** true/false, or a rule over the other resolved options (epochs count only under a cosine schedule). */
export type Fingerprinted = boolean | ((resolved: Readonly<Record<string, unknown>>) => boolean);

/** What every option states; C and L keep the commands and the library flag literal, for the library's types. */
interface Common<C extends readonly CommandName[], L extends boolean> {
  readonly help: string | Partial<Record<CommandName, string>>;
  readonly defaultIn?: Partial<Record<CommandName, unknown>> | undefined;
  readonly commands: C;
  readonly requiredIn?: readonly CommandName[] | undefined;
  readonly library?: L | undefined;
  readonly fingerprint: Fingerprinted;
  readonly file?: FileRole | undefined;
}

/** Values the option resolves to: with a default, always set; without, possibly undefined. */
export type ValueOf<S> = S extends OptionSpec<infer V, infer D, any, any> ? (D extends undefined ? V | undefined : V) : never;
/** The value type a caller may pass (before defaults). */
export type InputOf<S> = S extends OptionSpec<infer V, any, any, any> ? V : never;
/** Names of the library options that belong to a command. */
export type LibraryOptionsOf<T extends Record<string, OptionSpec<unknown, unknown, readonly CommandName[], boolean>>, Command extends CommandName> = {
  [K in keyof T]: Command extends T[K]['commands'][number] ? (T[K] extends { library: false } ? never : K) : never;
}[keyof T];

function fail(detail: string): never {
  throw new OptionProblem(detail);
}

/** A value as a library caller wrote it: [16, -8], 'x', 3. */
function libraryValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(libraryValue).join(', ')}]`;
  if (typeof value === 'string') return `'${value.length > 60 ? `${value.slice(0, 60)}…` : value}'`;
  return String(value);
}

function got(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 60)}…` : value;
    return spelled(`"${shown}"`, `'${shown}'`);
  }
  if (Array.isArray(value)) return `${value.length} values (given more than once?)`;
  return String(value);
}

export function integer<D extends number | (() => number) | undefined, const C extends readonly CommandName[], L extends boolean = true>(defaultValue: D, common: Common<C, L> & { min: number; max: number }): OptionSpec<number, D, C, L> {
  const { min, max } = common;
  return {
    ...common,
    cli: { type: 'number' },
    default: defaultValue,
    check: (value) => (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : fail(`must be an integer from ${min} to ${max}, got ${got(value)}`)),
  };
}

/** A finite number in a range; `above` excludes `min` itself. */
export function real<D extends number | undefined, const C extends readonly CommandName[], L extends boolean = true>(defaultValue: D, common: Common<C, L> & { min: number; max?: number; above?: boolean; below?: boolean }): OptionSpec<number, D, C, L> {
  const { min, max = Number.POSITIVE_INFINITY, above = false, below = false } = common;
  const range = `${above ? `> ${min}` : `≥ ${min}`}${Number.isFinite(max) ? ` and ${below ? '<' : '≤'} ${max}` : ''}`;
  return {
    ...common,
    cli: { type: 'number' },
    default: defaultValue,
    check: (value) => {
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(`needs a finite number ${range}, got ${got(value)}`);
      if (above ? value <= min : value < min) fail(`must be ${range}, got ${value}`);
      if (below ? value >= max : value > max) fail(`must be ${range}, got ${value}`);
      return value;
    },
  };
}

export function choice<const V extends string, D extends V | undefined, const C extends readonly CommandName[], L extends boolean = true>(choices: readonly V[], defaultValue: D, common: Common<C, L>): OptionSpec<V, D, C, L> {
  return {
    ...common,
    cli: { type: 'string', choices },
    default: defaultValue,
    check: (value) => (typeof value === 'string' && (choices as readonly string[]).includes(value) ? (value as V) : fail(`must be one of ${spelled(choices.join(', '), choices.map((c) => `'${c}'`).join(', '))}, got ${got(value)}`)),
  };
}

export function text<D extends string | undefined, const C extends readonly CommandName[], L extends boolean = true>(defaultValue: D, common: Common<C, L>): OptionSpec<string, D, C, L> {
  return {
    ...common,
    cli: { type: 'string' },
    default: defaultValue,
    check: (value) => (typeof value === 'string' ? value : fail(`needs text, got ${got(value)}`)),
  };
}

/** Several of a fixed set of names: "M1,M3" on the command line, ['M1', 'M3'] in the library. */
export function names<const V extends string, D extends readonly V[] | undefined, const C extends readonly CommandName[], L extends boolean = true>(choices: readonly V[], defaultValue: D, common: Common<C, L>): OptionSpec<V[], D, C, L> {
  const problem = (shown: string): never => fail(`must be comma-separated names from ${choices.join(', ')}, got "${shown}"`);
  return {
    ...common,
    cli: { type: 'string' },
    default: defaultValue,
    defaultText: defaultValue?.join(','),
    parse: (raw) => raw.split(',').map((part) => part.trim()),
    check: (value) => {
      if (!Array.isArray(value) || value.length === 0 || value.some((v) => !(choices as readonly unknown[]).includes(v))) return problem(Array.isArray(value) ? value.join(',') : String(value));
      return [...(value as V[])];
    },
  };
}

/** Several texts: "NA,-" on the command line, ['NA', '-'] in the library. */
export function texts<const C extends readonly CommandName[], L extends boolean = true>(common: Common<C, L>): OptionSpec<string[], undefined, C, L> {
  return {
    ...common,
    cli: { type: 'string' },
    default: undefined,
    parse: (raw) => raw.split(','),
    check: (value) => (Array.isArray(value) && value.every((v) => typeof v === 'string') ? [...(value as string[])] : fail(`needs a list of texts, got ${got(value)}`)),
  };
}

/**
 * Column names as a CSV record writes them: comma-separated, and a name with a comma (or spaces at
 * its ends) in double quotes, a quote in it doubled: `"Total, net",id` is two names.
 */
export function splitNames(raw: string): string[] {
  const names: string[] = [];
  let i = 0;
  for (;;) {
    while (raw[i] === ' ') i++;
    let name = '';
    if (raw[i] === '"') {
      for (i++; i < raw.length; i++) {
        if (raw[i] === '"' && raw[i + 1] === '"') {
          name += '"';
          i++;
        } else if (raw[i] === '"') break;
        else name += raw[i];
      }
      if (i >= raw.length) fail(`has an unclosed quote: ${got(raw)}`);
      i++;
      while (raw[i] === ' ') i++;
      if (i < raw.length && raw[i] !== ',') fail(`has text after a closing quote: ${got(raw)} (quote the whole name: "a, b")`);
    } else {
      const comma = raw.indexOf(',', i);
      name = (comma < 0 ? raw.slice(i) : raw.slice(i, comma)).trim();
      i = comma < 0 ? raw.length : comma;
    }
    names.push(name);
    if (i >= raw.length) return names;
    i++; // the comma
  }
}

/** Columns by name or 0-based index: "id,2" on the command line (a name with a comma quoted: '"a, b",id'); names or numbers in the library. */
export function columns<const C extends readonly CommandName[], L extends boolean = true>(common: Common<C, L>): OptionSpec<(string | number)[], undefined, C, L> {
  return {
    ...common,
    cli: { type: 'string' },
    default: undefined,
    parse: splitNames,
    check: (value) => {
      const ok = Array.isArray(value) && value.length > 0 && value.every((v) => (typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isInteger(v) && v >= 0));
      return ok ? [...(value as (string | number)[])] : fail(`needs column names or 0-based indices (comma-separated on the command line), got ${Array.isArray(value) ? JSON.stringify(value).slice(0, 60) : got(value)}`);
    },
  };
}

/** A column by name, or by 0-based index (a number in the library, digits on the command line; a name may be quoted as in CSV). */
export function column<const C extends readonly CommandName[], L extends boolean = true>(common: Common<C, L>): OptionSpec<string | number, undefined, C, L> {
  return {
    ...common,
    cli: { type: 'string' },
    default: undefined,
    parse: (raw) => (raw.trim().startsWith('"') ? splitNames(raw).join(',') : raw),
    check: (value) => (typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value) && value >= 0) ? value : fail(`needs a column name or 0-based index, got ${got(value)}`)),
  };
}

/**
 * The label column, or several (a multi-output regression): a name or 0-based index; several as an
 * array in the library, "a,b" on the command line (split where the data's columns are known, so
 * that a name holding a comma still reads whole).
 */
export function labelColumns<const C extends readonly CommandName[], L extends boolean = true>(common: Common<C, L>): OptionSpec<string | number | (string | number)[], undefined, C, L> {
  const one = (v: unknown): v is string | number => (typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isInteger(v) && v >= 0);
  return {
    ...common,
    cli: { type: 'string' },
    default: undefined,
    // quoted names, as in CSV, may hold commas: "a, b" is one column, "a, b",c two
    parse: (raw) => {
      if (!raw.includes('"')) return raw;
      const list = splitNames(raw);
      return list.length === 1 ? list[0]! : list;
    },
    check: (value) => {
      if (one(value)) return value;
      if (Array.isArray(value) && value.length > 0 && value.every(one)) return [...(value as (string | number)[])];
      return fail(`needs a column name or 0-based index, or several (${spelled('a,b', "['a', 'b']")}) for several targets, got ${Array.isArray(value) ? JSON.stringify(value).slice(0, 60) : typeof value === 'object' && value !== null ? 'an object' : got(value)}`);
    },
  };
}

/**
 * Where the data comes from: a spec string (builtin:NAME, a path) or, in the library, a dataset
 * already in memory (its contents are checked where it is used).
 */
export function dataSource<T extends object, const C extends readonly CommandName[]>(common: Common<C, true>): OptionSpec<string | T, undefined, C, true> {
  return {
    ...common,
    cli: { type: 'string' },
    default: undefined,
    check: (value) => ((typeof value === 'string' && value !== '') || (typeof value === 'object' && value !== null && !Array.isArray(value)) ? (value as string | T) : fail(`is required: builtin:NAME, a CSV file, an IDX directory or a Dataset; got ${value === '' ? 'an empty string' : got(value)}`)),
  };
}

/** A file path, or (in the library) an object already loaded from such a file, e.g. a Model. */
export function pathOr<T, const C extends readonly CommandName[]>(isObject: (value: unknown) => value is T, what: string, common: Common<C, true>): OptionSpec<string | T, undefined, C, true> {
  return {
    ...common,
    cli: { type: 'string' },
    default: undefined,
    check: (value) => ((typeof value === 'string' && value !== '') || isObject(value) ? value : fail(`needs a path or ${what}, got ${value === '' ? 'an empty path' : got(value)}`)),
  };
}

/** A file or directory path: a non-empty string. */
export function path<const C extends readonly CommandName[], L extends boolean = true>(common: Common<C, L>): OptionSpec<string, undefined, C, L> {
  return {
    ...common,
    cli: { type: 'string' },
    default: undefined,
    check: (value) => (typeof value === 'string' && value !== '' ? value : fail(`needs a path, got ${value === '' ? 'an empty one' : got(value)}`)),
  };
}

export function flag<const C extends readonly CommandName[], L extends boolean = true>(common: Common<C, L>): OptionSpec<boolean, false, C, L> {
  return {
    ...common,
    cli: { type: 'boolean' },
    default: false,
    check: (value) => (typeof value === 'boolean' ? value : fail(`is a switch (true or false), got ${got(value)}`)),
  };
}

/** A list of sizes such as hidden layers: "128,64" on the command line, [128, 64] in the library. */
export function sizes<D extends readonly number[] | undefined, const C extends readonly CommandName[], L extends boolean = true>(defaultValue: D, common: Common<C, L> & { max: number; example: string }): OptionSpec<readonly number[], D, C, L> {
  const { max, example } = common;
  // The command line writes 128,64; the library [128, 64].
  const problem = (shown: string, given?: unknown): never =>
    fail(`must be ${spelled('comma-separated integers', 'an array of integers')} from 1 to ${max} such as ${spelled(example, `[${example.split(',').join(', ')}]`)}, got ${spelled(`"${shown}"`, libraryValue(given ?? shown))}`);
  return {
    ...common,
    cli: { type: 'string' },
    default: defaultValue,
    defaultText: defaultValue?.join(','),
    parse: (raw) => {
      const parts = raw.split(',');
      if (raw.trim() === '' || parts.some((part) => !/^\s*\d+\s*$/.test(part))) problem(raw);
      return parts.map(Number);
    },
    check: (value) => {
      if (!Array.isArray(value) || value.length === 0) return problem(Array.isArray(value) ? '' : String(value), value);
      if (value.some((size) => !Number.isInteger(size) || size < 1 || size > max)) problem(value.join(','), value);
      return [...(value as number[])];
    },
  };
}

/** Runs an option's check, turning its problem into an InputError that names the option. */
export function checkOption<V>(name: string, spec: OptionSpec<V>, value: unknown): V {
  try {
    return spec.check(value);
  } catch (error) {
    if (error instanceof OptionProblem) throw new InputError(`${optionRef(name)} ${error.message}`);
    throw error;
  }
}

/** The default of an option for one command (computed ones computed now). */
export function defaultFor(spec: OptionSpec<unknown>, command: CommandName): unknown {
  const value = spec.defaultIn && command in spec.defaultIn ? spec.defaultIn[command] : spec.default;
  return typeof value === 'function' ? (value as () => unknown)() : value;
}

/** The help text of an option for one command. */
export function helpFor(spec: OptionSpec<unknown>, command: CommandName): string {
  return typeof spec.help === 'string' ? spec.help : (spec.help[command] ?? Object.values(spec.help)[0] ?? '');
}

/** Several numbers: "0.001,0.003" on the command line, [0.001, 0.003] in the library. */
export function reals<const C extends readonly CommandName[], L extends boolean = true>(common: Common<C, L> & { min: number }): OptionSpec<number[], undefined, C, L> {
  const { min } = common;
  return {
    ...common,
    cli: { type: 'string' },
    default: undefined,
    parse: (raw) => raw.split(',').map((part) => (part.trim() === '' ? Number.NaN : Number(part))),
    check: (value) => (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= min) ? [...(value as number[])] : fail(`needs comma-separated numbers ≥ ${min}, got ${Array.isArray(value) ? value.join(',') : got(value)}`)),
  };
}

/** Several networks' hidden layers: "32;64,64" on the command line (';' between networks), [[32], [64, 64]] in the library. */
export function sizeLists<const C extends readonly CommandName[], L extends boolean = true>(common: Common<C, L> & { max: number }): OptionSpec<number[][], undefined, C, L> {
  const { max } = common;
  const problem = (shown: string): never => fail(`must be networks separated by ';', each comma-separated sizes from 1 to ${max} such as 32;64,64, got "${shown}"`);
  return {
    ...common,
    cli: { type: 'string' },
    default: undefined,
    parse: (raw) => raw.split(';').map((net) => (/^\s*\d+\s*(,\s*\d+\s*)*$/.test(net) ? net.split(',').map(Number) : problem(raw))),
    check: (value) => {
      const ok = Array.isArray(value) && value.length > 0 && value.every((net) => Array.isArray(net) && net.length > 0 && net.every((size) => Number.isInteger(size) && size >= 1 && size <= max));
      return ok ? (value as number[][]).map((net) => [...net]) : problem(Array.isArray(value) ? JSON.stringify(value).slice(0, 60) : String(value));
    },
  };
}
