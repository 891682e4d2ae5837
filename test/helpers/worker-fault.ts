// The environment that makes a spawned gradpool's worker in slot 1 fail on its Nth command (see
// worker-fault-preload.cts): `throw@N` or `exit@N`.
import { fileURLToPath } from 'node:url';

const PRELOAD = fileURLToPath(new URL('./worker-fault-preload.cjs', import.meta.url));

export function workerFaultEnv(spec: string): NodeJS.ProcessEnv {
  return { GRADPOOL_TEST_WORKER_FAULT: spec, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${JSON.stringify(PRELOAD)}`.trim() };
}
