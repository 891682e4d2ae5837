// A piscina task that does nothing: bench/coordination.ts times piscina's own round trip with it.
export default function noop(): number {
  return 0;
}
