// Test-only preload (node --import): at a stage of the data load named by GRADPOOL_TEST_SIGNAL_AT
// (read: before the data is read; copy: while the rows are copied into shared memory), the process
// sends itself the signal named by GRADPOOL_TEST_SIGNAL (a real signal, through kill(2)). The load is
// then provably in progress: the subscriber runs inside it, on the thread that loads. A signal a
// process sends itself is delivered before kill returns, so its handler is only waiting for the
// event loop when the load goes on. Lives with the tests: the package never loads it.
import { subscribe } from 'node:diagnostics_channel';
import { writeSync } from 'node:fs';

const at = process.env.GRADPOOL_TEST_SIGNAL_AT;
const signal = (process.env.GRADPOOL_TEST_SIGNAL ?? 'SIGINT') as NodeJS.Signals;
let sent = false;
subscribe('gradpool:load', (message) => {
  const { stage } = message as { stage: string };
  if (sent || stage !== at) return;
  sent = true;
  writeSync(2, `test-hook: ${signal} sent while loading (${stage})\n`);
  process.kill(process.pid, signal);
});
