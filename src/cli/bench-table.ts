// `gradpool bench` on the terminal: the machine in one line, then one aligned row per measurement.
import os from 'node:os';
import type { ThroughputRow, ThroughputSettings } from '../throughput.js';

export function machineDescription(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpu}, ${os.availableParallelism()} cores available, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()}-${os.arch()}`;
}

export function formatThroughput(rows: readonly ThroughputRow[], settings: ThroughputSettings): string {
  const headers = ['workload', 'batch', 'threads', 'used', 'samples/s', 'speedup', 'efficiency', 'GFLOP/s', 'kernels'];
  const cells = rows.map((r) => [
    r.workload,
    String(r.batchSize),
    String(r.threads),
    String(r.participants),
    Math.round(r.samplesPerSec).toLocaleString('en-US'),
    r.speedup === null ? '—' : `${r.speedup.toFixed(2)}×`,
    r.efficiency === null ? '—' : `${Math.round(r.efficiency * 100)}%`,
    r.gflops.toFixed(1),
    r.kernels,
  ]);
  const widths = headers.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  const line = (row: readonly string[]): string => row.map((cell, c) => (c === 0 || c === headers.length - 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd();
  const titles = [...new Map(rows.map((r) => [r.workload, r.title])).entries()].map(([id, title]) => `${id}: ${title}`);
  return [
    line(headers),
    ...cells.map(line),
    '',
    ...titles,
    `Data: ${settings.data}, plain SGD, lr ${settings.lr}.`,
    `samples/s: median of epochs 2..${settings.epochs} of a run, then over ${settings.rounds} interleaved round${settings.rounds === 1 ? '' : 's'}.`,
    'used: most threads that shared one step (small batches use fewer).',
    'efficiency: speedup ÷ threads, by workload and batch size (--batch-sizes sweeps rows per thread).',
    'GFLOP/s: 6W − 2W₀ per sample, as computed (W weights, W₀ of the first layer).',
  ].join('\n');
}
