// Test-only fault injection, preloaded into every thread with `node --require` (NODE_OPTIONS), so the
// package never loads it: GRADPOOL_TEST_WORKER_FAULT=throw@N or exit@N makes the worker thread in
// scratch slot 1 throw, or its thread exit, on its Nth command. It listens on the channel the worker
// entry publishes on (WORKER_COMMAND_CHANNEL in src/parallel/protocol.ts).
import { subscribe } from 'node:diagnostics_channel';

const match = /^(throw|exit)@(\d+)$/.exec(process.env.GRADPOOL_TEST_WORKER_FAULT ?? '');
if (match) {
  const [, kind, at] = match;
  subscribe('gradpool:worker-command', (raw) => {
    const message = raw as { slot: number; commands: number; fault: Error | undefined };
    if (message.slot !== 1 || message.commands !== Number(at)) return;
    if (kind === 'exit') process.exit(3); // in a worker thread this ends the thread only
    message.fault = new Error(`injected test fault on command ${message.commands}`);
  });
}
