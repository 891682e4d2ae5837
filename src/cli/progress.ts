// A progress bar inside long epochs, on a terminal only (cli-progress); silent when piped.
import cliProgress from 'cli-progress';

/** Epochs shorter than this never show a bar: it would only flicker. */
const SHOW_AFTER_MS = 700;

export class EpochProgress {
  private bar: cliProgress.SingleBar | undefined;
  private epochStarted = 0;
  private epoch = 0;

  /** epochs may change once the data is read (a table's defaults choose them). */
  constructor(private readonly stream: NodeJS.WriteStream, public epochs: number) {}

  static enabled(stream: NodeJS.WriteStream, quiet: boolean): boolean {
    return !quiet && stream.isTTY === true;
  }

  update(done: number, total: number, epoch: number): void {
    if (epoch !== this.epoch) {
      this.epoch = epoch;
      this.epochStarted = Date.now();
    }
    if (!this.bar) {
      if (Date.now() - this.epochStarted < SHOW_AFTER_MS || done >= total) return;
      this.bar = new cliProgress.SingleBar(
        { stream: this.stream, format: `epoch ${epoch}/${this.epochs} [{bar}] {percentage}% {value}/{total} samples  eta {eta}s`, hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, done);
    }
    this.bar.update(done);
  }

  /** Removes the bar before the epoch's line is printed. */
  finishEpoch(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

/** A bar of the bytes read while a data file loads (after SHOW_AFTER_MS), on a terminal only. */
export class LoadProgress {
  private bar: cliProgress.SingleBar | undefined;
  private readonly started = Date.now();

  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(bytes: number, total: number): void {
    const mb = (n: number): number => Math.round(n / 1e5) / 10;
    if (!this.bar) {
      if (Date.now() - this.started < SHOW_AFTER_MS || bytes >= total) return;
      this.bar = new cliProgress.SingleBar(
        { stream: this.stream, format: 'reading [{bar}] {percentage}% {value}/{total} MB  eta {eta}s', hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(mb(total), mb(bytes));
    }
    this.bar.update(mb(bytes));
  }

  finish(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
