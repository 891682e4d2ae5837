/**
 * A problem with what the user gave us (a flag, a file, a model): the CLI prints the message
 * alone on one line and exits 2. Anything else is a failure of ours: exit 1.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** Formats a location inside a file the way compilers do: file:line[:column]. */
export function at(file: string, line?: number, column?: number): string {
  if (line === undefined) return file;
  return column === undefined ? `${file}:${line}` : `${file}:${line}:${column}`;
}
