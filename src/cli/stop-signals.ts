// SIGINT / SIGTERM / SIGHUP during a long run: the first one stops at the next step boundary (the
// library returns what it has, and the CLI still writes it); a second one exits at once.
import { onForwardedSignal } from './relaunch.js';

export interface StopSignals {
  readonly signal: AbortSignal;
  /** 130 after SIGINT, 143 after SIGTERM, 129 after SIGHUP, 0 if none arrived. */
  exitCode(): number;
  dispose(): void;
}

/** The shell's convention: 128 + the signal number. */
const EXIT_CODES: Readonly<Partial<Record<NodeJS.Signals, number>>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

export function listenForStopSignals(): StopSignals {
  const controller = new AbortController();
  let code = 0;
  // A relaunched CLI (relaunch.ts) hears a signal sent to its whole process group (Ctrl-C) twice:
  // directly and forwarded by its parent. Counted apart per signal, the larger count is the stops.
  const heard = new Map<string, number>();
  let stops = 0;
  const onSignal = (signal: NodeJS.Signals, how: 'direct' | 'forwarded'): void => {
    const count = (key: string): number => heard.get(key) ?? 0;
    const before = Math.max(count(`direct ${signal}`), count(`forwarded ${signal}`));
    heard.set(`${how} ${signal}`, count(`${how} ${signal}`) + 1);
    if (Math.max(count(`direct ${signal}`), count(`forwarded ${signal}`)) === before) return; // the other copy of a stop already heard
    const signalCode = EXIT_CODES[signal] ?? 130;
    if (++stops > 1) process.exit(signalCode);
    code = signalCode;
    controller.abort();
  };
  const direct = (signal: NodeJS.Signals): void => onSignal(signal, 'direct');
  const signals = Object.keys(EXIT_CODES) as NodeJS.Signals[];
  for (const signal of signals) process.on(signal, direct);
  onForwardedSignal((signal) => onSignal(signal, 'forwarded'));
  return {
    signal: controller.signal,
    exitCode: () => code,
    dispose() {
      for (const signal of signals) process.off(signal, direct);
      onForwardedSignal(undefined);
    },
  };
}
