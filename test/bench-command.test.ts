// `gradpool bench` measures the installed trainer on this machine; the in-repo benchmarks share its code.
import test from 'ava';
import { runCli } from './helpers/cli.js';

test('gradpool bench --json reports every thread step, the kernels, and GFLOP/s as computed', async (t) => {
  const result = await runCli(['bench', '--layers', '16', '--batch-size', '64', '--samples', '800', '--rounds', '1', '--epochs', '2', '--threads', '2', '--json'], {
    env: { ...process.env, GRADPOOL_THREADS_BEYOND_CORES: '1' },
  });
  t.is(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { rows: { threads: number; samplesPerSec: number; gflops: number; kernels: string; speedup: number | null }[] };
  t.deepEqual(report.rows.map((r) => r.threads), [1, 2]);
  // 784-16-10: W = 784·16 + 16·10, W₀ = 784·16, so 6W − 2W₀ flops per sample
  const flopsPerSample = 6 * (784 * 16 + 16 * 10) - 2 * 784 * 16;
  for (const row of report.rows) {
    t.true(row.samplesPerSec > 0);
    t.true(Math.abs((row.gflops * 1e9) / row.samplesPerSec - flopsPerSample) < 1e-6 * flopsPerSample);
    t.regex(row.kernels, /^(native-(avx512|avx2|generic)|wasm-(relaxed-)?simd|typescript)$/);
  }
  t.is(report.rows[0]!.speedup, 1);
});

test('gradpool bench refuses an unknown workload, naming the flag', async (t) => {
  const result = await runCli(['bench', '--workloads', 'M9']);
  t.is(result.code, 2);
  t.regex(result.stderr, /^gradpool: --workloads must be comma-separated names from M1, M2, M3, got "M9"/);
});

test('gradpool bench --batch-sizes measures each batch size on every thread step, with efficiency = speedup ÷ threads', async (t) => {
  const result = await runCli(['bench', '--layers', '16', '--batch-sizes', '16,64', '--samples', '800', '--rounds', '1', '--epochs', '2', '--threads', '2', '--json'], {
    env: { ...process.env, GRADPOOL_THREADS_BEYOND_CORES: '1' },
  });
  t.is(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { rows: { batchSize: number; threads: number; speedup: number; efficiency: number }[] };
  t.deepEqual(report.rows.map((r) => [r.batchSize, r.threads]), [[16, 1], [16, 2], [64, 1], [64, 2]]);
  for (const row of report.rows) t.true(Math.abs(row.efficiency - row.speedup / row.threads) < 1e-12, JSON.stringify(row));
  const table = await runCli(['bench', '--layers', '16', '--batch-sizes', '32', '--samples', '400', '--rounds', '1', '--epochs', '1', '--threads', '2'], {
    env: { ...process.env, GRADPOOL_THREADS_BEYOND_CORES: '1' },
  });
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /workload\s+batch\s+threads\s+used\s+samples\/s\s+speedup\s+efficiency/);
});
