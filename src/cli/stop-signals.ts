// SIGINT / SIGTERM / SIGHUP during a long run: the first one stops at the next step boundary (the
// library returns what it has, and the CLI still writes it); a second one exits at once.

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
  const onSignal = (signal: NodeJS.Signals): void => {
    const signalCode = EXIT_CODES[signal] ?? 130;
    if (controller.signal.aborted) process.exit(signalCode);
    code = signalCode;
    controller.abort();
  };
  const signals = Object.keys(EXIT_CODES) as NodeJS.Signals[];
  for (const signal of signals) process.on(signal, onSignal);
  return {
    signal: controller.signal,
    exitCode: () => code,
    dispose() {
      for (const signal of signals) process.off(signal, onSignal);
    },
  };
}
