// --log-json: one JSON line per epoch, then a done line. The old log is replaced only once the new
// run has started: the first line goes to a temporary file beside the log, which is renamed over it
// as soon as that line is written (a run refused, failing or stopped before its first epoch leaves
// the old log as it was). A failure to write (a full disk) is reported once and training goes on
// without the log; the file keeps its whole lines.
import { AtomicFile, WriteError } from '../io/atomic.js';
import { WriteRefused } from '../io/guard.js';

export class JsonLog {
  private file: AtomicFile | undefined;
  private failed = false;

  /** @param warn prints the one warning (a line without the "gradpool: " prefix). */
  constructor(private readonly path: string | undefined, private readonly flag: string, private readonly warn: (message: string) => void) {}

  /** Whether a line has been written (the old log, if any, is replaced). */
  get started(): boolean {
    return this.file?.isCommitted ?? false;
  }

  write(record: object): void {
    if (this.path === undefined || this.failed) return;
    try {
      this.file ??= AtomicFile.create(this.path);
      this.file.append(`${JSON.stringify(record)}\n`);
      this.file.commit();
    } catch (error) {
      this.failed = true;
      const reason = error instanceof WriteError || error instanceof WriteRefused ? error.message : `cannot write ${this.path}: ${String(error)}`;
      this.warn(`warning: ${this.flag} ${reason}; training goes on without the log`);
    }
  }

  close(): void {
    try {
      this.file?.close();
    } catch {
      // closing a log that failed already: nothing more to report
    }
    this.file = undefined;
  }
}
