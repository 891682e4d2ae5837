// Test-only fault injection, reachable only through an environment variable that no flag sets:
// GRADPOOL_TEST_WORKER_FAULT=throw@N or exit@N makes the worker thread in scratch slot 1 throw, or its thread exit, on its
// Nth command. The fault tests use it to prove that training stops cleanly when a worker fails.
// It lives with the tests so that the published package does not contain it: the worker entry
// imports it (from dist/test/helpers/) only when the variable is set.

export function testFaultHook(slot: number): (() => void) | undefined {
  const spec = process.env.GRADPOOL_TEST_WORKER_FAULT;
  if (!spec || slot !== 1) return undefined;
  const match = /^(throw|exit)@(\d+)$/.exec(spec);
  if (!match) return undefined;
  const [, kind, at] = match;
  let commands = 0;
  return () => {
    if (++commands !== Number(at)) return;
    if (kind === 'exit') process.exit(3); // in a worker thread this ends the thread only
    throw new Error(`injected test fault on command ${commands}`);
  };
}
