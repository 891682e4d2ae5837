/**
 * A problem with what the user gave us (a flag, a file, a model): the CLI prints the message
 * alone on one line and exits 2. Anything else is a failure of ours: exit 1.
 *
 * A message may name options through optionRef(name). They read as the library spells them
 * (`valSplit`) in `message`, and as flags (`--val-split`) in `forCommandLine()`, so that an error
 * names the option the way its caller wrote it.
 */
export class InputError extends Error {
  override readonly name = 'InputError';

  constructor(message: string) {
    // The contract is one short line: a newline quoted from a bad file must not break it, and a
    // value quoted from it (a 300 MB CSV cell) is cut to its first characters.
    const template = oneLine(shortenQuoted(message));
    super(spellOptions(template, (name) => name));
    // Kept out of sight (not enumerable): printing the error shows its message, not this.
    Object.defineProperty(this, 'template', { value: template, enumerable: false });
  }

  /** The message with options spelled as command-line flags. */
  forCommandLine(): string {
    return spellOptions((this as unknown as { template: string }).template, flagName);
  }
}

// Private-use characters bracket an option name inside a message: never in a user's text by accident,
// and not control characters, so oneLine leaves them alone.
const OPEN = '\ue000';
const CLOSE = '\ue001';
const REFERENCE = new RegExp(`${OPEN}([A-Za-z0-9]+)${CLOSE}`, 'g');

/** Names an option (camelCase, as in the library) inside an InputError message. */
export function optionRef(name: string): string {
  return `${OPEN}${name}${CLOSE}`;
}

function spellOptions(template: string, spell: (name: string) => string): string {
  const library = spell === flagName ? 1 : 2;
  return template.replace(REFERENCE, (_, name: string) => spell(name)).replace(SPELLED, (...groups: string[]) => groups[library]!);
}

/**
 * A value or an example that the command line and the library write differently: `128,64` and
 * `[128, 64]`, `"impute"` and `'impute'`. An InputError's message shows `library`, its
 * forCommandLine() `commandLine`.
 */
export function spelled(commandLine: string, library: string): string {
  return `${ALT_OPEN}${commandLine}${ALT_BETWEEN}${library}${ALT_CLOSE}`;
}
const ALT_OPEN = '\ue002';
const ALT_BETWEEN = '\ue003';
const ALT_CLOSE = '\ue004';
const SPELLED = new RegExp(`${ALT_OPEN}([^${ALT_BETWEEN}]*)${ALT_BETWEEN}([^${ALT_CLOSE}]*)${ALT_CLOSE}`, 'g');

/** valSplit → --val-split */
export function flagName(option: string): string {
  return `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Control characters (newlines above all) written as JSON escapes, so that a message stays one line. */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The most characters of a quoted value a message shows. */
const QUOTED_CHARS = 60;

/**
 * Quoted values ("…", JSON escapes allowed inside), paired from the left, cut to their first
 * QUOTED_CHARS characters. A plain scan: a regular expression overflows V8's stack on a 300 MB value.
 */
function shortenQuoted(text: string): string {
  let result = '';
  let copied = 0;
  for (let i = text.indexOf('"'); i >= 0 && i < text.length; ) {
    const end = closingQuote(text, i);
    if (end < 0) break; // unpaired: leave the rest alone
    if (end - i - 1 > QUOTED_CHARS) {
      result += `${text.slice(copied, i + 1 + QUOTED_CHARS)}…"`;
      copied = end + 1;
    }
    i = text.indexOf('"', end + 1);
  }
  return copied === 0 ? text : result + text.slice(copied);
}

/** The quote closing the one at `open` (not one escaped by a backslash), or -1. */
function closingQuote(text: string, open: number): number {
  for (let from = open + 1; ; ) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return -1;
    let backslashes = 0;
    while (quote - backslashes - 1 > open && text[quote - backslashes - 1] === '\\') backslashes++;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

/**
 * A value read from a file, for a message: short and safe for any JSON (JSON.stringify of a deeply
 * nested array overflows the stack).
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

/** Formats a location inside a file the way compilers do: file:line[:column]. */
export function at(file: string, line?: number, column?: number): string {
  if (line === undefined) return file;
  return column === undefined ? `${file}:${line}` : `${file}:${line}:${column}`;
}
