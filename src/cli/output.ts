// What the command line prints, and how it ends. A closed stdout (`train … | head -1`) ends the
// printing, not the run: training goes on quietly, saves and exits as it would have. Messages are
// bounded and reach stderr before the process exits.

let stdoutOpen = true;
let stderrOpen = true;

/** Installs the handlers for closed or failing streams (EPIPE): once, before anything is printed. */
export function watchOutputStreams(): void {
  process.stdout.on('error', () => {
    stdoutOpen = false;
  });
  process.stderr.on('error', () => {
    stderrOpen = false;
  });
}

/** A line on stdout, while someone reads it. */
export function print(line: string): void {
  if (stdoutOpen && !process.stdout.destroyed) process.stdout.write(`${line}\n`);
}

/** One message line on stderr, bounded. */
export function printError(line: string): void {
  if (stderrOpen && !process.stderr.destroyed) process.stderr.write(`${bounded(line)}\n`);
}

/** The longest message line printed: a value quoted whole (a 300 MB CSV cell) must not flood the terminal. */
const MAX_MESSAGE = 1000;

/** Cuts the middle out of an overlong message, keeping its start (what failed) and end (advice). */
export function bounded(line: string): string {
  if (line.length <= MAX_MESSAGE) return line;
  return `${line.slice(0, 700)} … ${line.slice(-250)}`;
}

/** How long to wait for stderr to drain before exiting anyway (a reader that never reads). */
const FLUSH_LIMIT_MS = 5000;

/**
 * Exits with `code` once what was written to stdout and stderr has been handed to the system, so
 * that the last message is not cut off (over a pipe, process.exit would drop what is queued).
 */
export function exitWhenFlushed(code: number): void {
  process.exitCode = code;
  let pending = 2;
  const done = (): void => {
    if (--pending === 0) process.exit(code);
  };
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.destroyed || stream.writableFinished) done();
    else stream.write('', done);
  }
  setTimeout(() => process.exit(code), FLUSH_LIMIT_MS).unref();
}
