// SIGINT / SIGTERM during a long run: the first one stops at the next step boundary (the library
// returns what it has, and the CLI still writes it); a second one exits at once.

export interface StopSignals {
  readonly signal: AbortSignal;
  /** 130 after SIGINT, 143 after SIGTERM, 0 if neither arrived. */
  exitCode(): number;
  dispose(): void;
}

export function listenForStopSignals(): StopSignals {
  const controller = new AbortController();
  let code = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    const signalCode = signal === 'SIGTERM' ? 143 : 130;
    if (controller.signal.aborted) process.exit(signalCode);
    code = signalCode;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    exitCode: () => code,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
