// Training under a limited address space (ulimit -v). V8 checks WebAssembly memory bounds with
// guard pages: every WebAssembly.Memory, the arena included, reserves 10 GiB of address space
// whatever its size, so under a limit below about 12 GB (more with more threads) the arena cannot
// be allocated at all. Node's --disable-wasm-trap-handler makes V8 check bounds in the compiled
// code instead, and a memory then reserves only its maximum (the arena's own size: arena.ts). It is
// a process-wide flag, read at start-up, so a training command under a finite limit runs itself
// again, once, with it. The parent only waits: it forwards stop signals to the child over the IPC
// channel and exits as the child did.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const FLAG = '--disable-wasm-trap-handler';
/** Commands that allocate an arena (a shared WebAssembly.Memory). */
const TRAINING_COMMANDS: ReadonlySet<string> = new Set(['train', 'compare-modes', 'bench']);
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type StopSignal = (typeof STOP_SIGNALS)[number];
/** The key of the parent's message that forwards a signal. */
const FORWARDED = 'gradpoolForwardedSignal';
/** Set in the child's environment: this process is a relaunch, its IPC channel is its parent's. */
const RELAUNCHED = 'GRADPOOL_RELAUNCHED';

/** The soft limit on this process's address space in bytes (Linux's /proc/self/limits), or null: unlimited or unknown. */
export function addressSpaceLimit(): number | null {
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return null;
  }
  const soft = /^Max address space\s+(\S+)/m.exec(text)?.[1];
  const bytes = Number(soft);
  return soft === undefined || soft === 'unlimited' || !Number.isFinite(bytes) ? null : bytes;
}

function boundsChecked(): boolean {
  return process.execArgv.includes(FLAG) || (process.env.NODE_OPTIONS ?? '').split(/\s+/).includes(FLAG);
}

/** Whether `command` must run again with bounds checks: it trains, and the address space is limited. */
export function needsRelaunch(command: string | undefined): boolean {
  return command !== undefined && TRAINING_COMMANDS.has(command) && !boundsChecked() && addressSpaceLimit() !== null;
}

/** Runs this command line again with bounds checks in a child process, and exits as it does. */
export function relaunch(): void {
  const child = spawn(process.execPath, [...process.execArgv, FLAG, ...process.argv.slice(1)], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env: { ...process.env, [RELAUNCHED]: '1' } });
  const forward = (signal: StopSignal): void => {
    if (child.connected) child.send({ [FORWARDED]: signal });
  };
  for (const signal of STOP_SIGNALS) process.on(signal, forward);
  child.on('error', (error) => {
    process.stderr.write(`gradpool: error: cannot run node ${FLAG} (${error.message})\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const stop of STOP_SIGNALS) process.off(stop, forward);
    // Killed by a signal: die of the same one, so that the shell sees what happened.
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}

let forwardedListener: ((signal: StopSignal) => void) | undefined;

/**
 * In a relaunched child: the signals its parent forwards go to `listener` (undefined: none, then a
 * forwarded signal is raised here, as if it had been sent to this process).
 */
export function onForwardedSignal(listener: ((signal: StopSignal) => void) | undefined): void {
  forwardedListener = listener;
}

/** In a relaunched child (one with the IPC channel): take the parent's forwarded signals; die with the parent. */
export function attachToParent(): void {
  if (process.env[RELAUNCHED] !== '1' || !process.channel) return;
  delete process.env[RELAUNCHED];
  process.on('message', (message: unknown) => {
    const signal = (message as Record<string, unknown> | null)?.[FORWARDED];
    if (!STOP_SIGNALS.includes(signal as StopSignal)) return;
    if (forwardedListener) forwardedListener(signal as StopSignal);
    else process.kill(process.pid, signal as StopSignal);
  });
  // The parent is gone only if it was killed (it waits for this process otherwise): so is the run.
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  // The channel alone must not keep this process alive.
  process.channel.unref();
}
