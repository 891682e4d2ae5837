// gradpool against other trainers on the same workloads, data and thread counts, in one run.
//   npm run bench:compare                            (builds first)
//   node dist/bench/compare.js --threads 1,2 --workloads M1 --epochs 2 --samples 4000 --no-save
// Peers, each run in its own child process (so that no two trainers share a process or a heap):
//   torch        /usr/bin/python3 bench/peers/torch_mlp.py (Debian: apt-get install -y python3-torch libopenblas0-pthread)
//                with OMP_NUM_THREADS=MKL_NUM_THREADS=T, OPENBLAS_NUM_THREADS=1
//   torch-blasT  the same with OPENBLAS_NUM_THREADS=T: Debian's torch does its matrix products in
//                libblas.so.3 (OpenBLAS when installed), so OPENBLAS_NUM_THREADS=1 keeps them on one thread
//   tfjs-cpu   dist/bench/peers/tfjs.js --backend cpu     (npm install --no-save @tensorflow/tfjs @tensorflow/tfjs-backend-wasm)
//   tfjs-wasm  dist/bench/peers/tfjs.js --backend wasm
// Peers that are absent or fail are reported as skipped with the reason; nothing is estimated.
// The rows every trainer sees are builtinDataset('blobs', …) with the seed train() uses, exported
// once per workload as raw little-endian float32 features + int32 labels into a temp directory.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinDataset } from '../src/data/builtin.js';
import {
  FEATURES,
  LR,
  SEED,
  fmtFixed,
  fmtInt,
  machineInfo,
  machineLine,
  markdownTable,
  note,
  parseBenchFlags,
  runGradpool,
  saveResults,
  steadyRate,
  textTable,
  type Align,
  type GradpoolRun,
  type Workload,
} from './common.js';

const TORCH_SCRIPT = fileURLToPath(new URL('../../bench/peers/torch_mlp.py', import.meta.url));
const TFJS_SCRIPT = fileURLToPath(new URL('./peers/tfjs.js', import.meta.url));
const PEERS = ['torch', 'torch-blasT', 'tfjs-cpu', 'tfjs-wasm'] as const;
type PeerName = (typeof PEERS)[number];

const flags = parseBenchFlags('compare', { epochs: 4 }, {
  peers: { type: 'string', default: PEERS.join(','), describe: 'comma-separated peers to run' },
  python: { type: 'string', default: '/usr/bin/python3', describe: 'the Python with torch (Debian: python3-torch)' },
  'peer-timeout': { type: 'number', default: 3600, describe: 'seconds one peer run may take' },
});
const peerNames = String(flags.peers)
  .split(',')
  .map((p) => p.trim())
  .filter((p) => p !== '');
for (const p of peerNames) if (!(PEERS as readonly string[]).includes(p)) throw new Error(`--peers: unknown peer "${p}" (choose from ${PEERS.join(', ')})`);
const selected = PEERS.filter((p) => peerNames.includes(p));
const python = String(flags.python);
const peerTimeoutMs = (flags['peer-timeout'] as number) * 1000;

interface PeerEpoch {
  epoch: number;
  samplesPerSec: number;
  loss: number;
  accuracy: number;
}
/** What a peer child printed as its last stdout line, sorted into one of three outcomes. */
type PeerOutput =
  | { kind: 'skipped'; reason: string }
  | { kind: 'error'; message: string }
  | { kind: 'ok'; epochs: PeerEpoch[]; threads: number | undefined; info: Record<string, unknown> };

interface PeerCell {
  samplesPerSec: number | null;
  perEpochSamplesPerSec?: number[];
  finalLoss?: number;
  finalAccuracy?: number;
  /** Threads the peer really used (tfjs: always 1). */
  threads?: number;
  error?: string;
}

interface PeerStatus {
  status: 'ok' | 'skipped' | 'error';
  reason?: string;
  /** Version, BLAS, flags as the peer reported them (from its first successful run). */
  info?: Record<string, unknown>;
}

interface Row {
  workload: string;
  threads: number;
  gradpool: GradpoolRun;
  peers: Partial<Record<PeerName, PeerCell>>;
  /** gradpool samples/s ÷ peer samples/s. */
  ratios: Partial<Record<PeerName, number | null>>;
}

function runChild(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string; spawnError?: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), peerTimeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr, spawnError: error.message });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr: signal ? `${stderr}\nkilled by ${signal} (--peer-timeout ${peerTimeoutMs / 1000} s)` : stderr });
    });
  });
}

function lastJsonLine(stdout: string): PeerOutput | null {
  const lines = stdout.trim().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!line.startsWith('{')) continue;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return null;
    }
    if (typeof parsed.skipped === 'string') return { kind: 'skipped', reason: parsed.skipped };
    if (typeof parsed.error === 'string') return { kind: 'error', message: parsed.error };
    if (!Array.isArray(parsed.epochs)) return null;
    const { epochs, ...info } = parsed;
    return { kind: 'ok', epochs: epochs as PeerEpoch[], threads: typeof parsed.threads === 'number' ? parsed.threads : undefined, info };
  }
  return null;
}

function tail(text: string, lines = 3): string {
  return text.trim().split('\n').slice(-lines).join(' | ');
}

async function runPeer(peer: PeerName, w: Workload, threads: number, dir: string): Promise<PeerOutput> {
  const common = [
    '--dir', dir,
    '--rows', String(flags.samples),
    '--features', String(FEATURES),
    '--classes', String(w.classes),
    '--layers', w.layers.join(','),
    '--activation', w.activation,
    '--loss', w.loss,
    '--batch-size', String(w.batchSize),
    '--epochs', String(flags.epochs),
    '--lr', String(LR),
    '--seed', String(SEED),
  ];
  let result;
  if (peer === 'torch' || peer === 'torch-blasT') {
    if (!existsSync(python)) return { kind: 'skipped', reason: `${python} not found (Debian: apt-get install -y python3-torch)` };
    // The machine's OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE pin old kernels; unset both for this child only.
    const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: peer === 'torch-blasT' ? String(threads) : '1' };
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    result = await runChild(python, [TORCH_SCRIPT, ...common, '--threads', String(threads)], env);
  } else {
    result = await runChild(process.execPath, [TFJS_SCRIPT, ...common, '--backend', peer === 'tfjs-cpu' ? 'cpu' : 'wasm'], process.env);
  }
  if (result.spawnError) return { kind: 'skipped', reason: `cannot start: ${result.spawnError}` };
  const output = lastJsonLine(result.stdout);
  if (output?.kind === 'skipped') {
    return peer.startsWith('torch') ? { kind: 'skipped', reason: `${output.reason} (Debian: apt-get install -y python3-torch)` } : output;
  }
  if (output?.kind === 'error') return { kind: 'error', message: `${output.message}${result.stderr.trim() ? ` — ${tail(result.stderr)}` : ''}` };
  if (!output || result.code !== 0) return { kind: 'error', message: `exit ${String(result.code)}: ${tail(result.stderr || result.stdout) || 'no output'}` };
  return output;
}

function cellOf(output: PeerOutput): PeerCell {
  if (output.kind === 'skipped') return { samplesPerSec: null, error: output.reason };
  if (output.kind === 'error') return { samplesPerSec: null, error: output.message };
  const perEpoch = output.epochs.map((e) => e.samplesPerSec);
  const last = output.epochs[output.epochs.length - 1];
  return {
    samplesPerSec: steadyRate(perEpoch),
    perEpochSamplesPerSec: perEpoch,
    finalLoss: last?.loss,
    finalAccuracy: last?.accuracy,
    threads: output.threads,
  };
}

const machine = machineInfo();
note(`compare: ${flags.workloads.map((w) => w.id).join(',')} × threads ${flags.threads.join(',')}, ${flags.samples} samples, ${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'}; peers ${selected.join(', ') || 'none'}`);
note(machineLine(machine));

const status: Partial<Record<PeerName, PeerStatus>> = {};
const rows: Row[] = [];
const tmp = await mkdtemp(join(os.tmpdir(), 'gradpool-compare-'));
try {
  if (os.endianness() !== 'LE') throw new Error('the exported data files are little-endian; this machine is big-endian');
  for (const w of flags.workloads) {
    // Exactly the rows train() generates for the same options (train's builtin seed is options.seed).
    const dataset = builtinDataset('blobs', { samples: flags.samples, features: FEATURES, classes: w.classes, seed: SEED });
    if (dataset.targets.kind !== 'classes') throw new Error('builtin:blobs without class labels');
    const dir = join(tmp, w.id);
    await mkdir(dir);
    await writeFile(join(dir, 'x.f32'), new Uint8Array(dataset.x.buffer, dataset.x.byteOffset, dataset.x.byteLength));
    await writeFile(join(dir, 'y.i32'), new Uint8Array(dataset.targets.index.buffer, dataset.targets.index.byteOffset, dataset.targets.index.byteLength));

    const run = async (peer: PeerName, threads: number): Promise<PeerCell | undefined> => {
      const known = status[peer];
      if (known?.status === 'skipped') return undefined;
      note(`  ${w.id} ${peer} threads ${threads} …`);
      const output = await runPeer(peer, w, threads, dir);
      if (output.kind === 'skipped') {
        status[peer] = { status: 'skipped', reason: output.reason };
        note(`    skipped: ${output.reason}`);
        return undefined;
      }
      const cell = cellOf(output);
      if (cell.error !== undefined) {
        note(`    failed: ${cell.error}`);
        if (!known) status[peer] = { status: 'error', reason: cell.error };
      } else {
        if (known?.status !== 'ok' && output.kind === 'ok') status[peer] = { status: 'ok', info: output.info };
        note(`    ${fmtInt(cell.samplesPerSec)} samples/s (epochs ${(cell.perEpochSamplesPerSec ?? []).map((r) => fmtInt(r)).join(', ')}), loss ${fmtFixed(cell.finalLoss, 4)}`);
      }
      return cell;
    };

    // The tfjs backends are single-threaded: one run per workload, shown against every thread count.
    const singleThreaded: Partial<Record<PeerName, PeerCell>> = {};
    for (const peer of selected) {
      if (peer.startsWith('torch')) continue;
      const cell = await run(peer, 1);
      if (cell) singleThreaded[peer] = cell;
    }
    for (const threads of flags.threads) {
      note(`  ${w.id} gradpool threads ${threads} …`);
      const gradpool = await runGradpool(w, threads, flags.epochs, flags.samples, flags.kernels);
      note(`    ${fmtInt(gradpool.samplesPerSec)} samples/s (epochs ${gradpool.perEpoch.map((r) => fmtInt(r)).join(', ')}), loss ${gradpool.finalLoss.toFixed(4)}`);
      const peers: Partial<Record<PeerName, PeerCell>> = { ...singleThreaded };
      for (const peer of selected) {
        if (!peer.startsWith('torch')) continue;
        // With one thread both torch settings are the same environment: run it once.
        if (threads === 1 && peer === 'torch-blasT' && peers.torch) {
          peers[peer] = peers.torch;
          if (status.torch) status[peer] ??= status.torch;
          continue;
        }
        const cell = await run(peer, threads);
        if (cell) peers[peer] = cell;
      }
      const ratios: Partial<Record<PeerName, number | null>> = {};
      for (const peer of selected) {
        const rate = peers[peer]?.samplesPerSec;
        if (peers[peer]) ratios[peer] = rate ? gradpool.samplesPerSec / rate : null;
      }
      rows.push({ workload: w.id, threads, gradpool, peers, ratios });
    }
    await rm(dir, { recursive: true, force: true });
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}

// A peer that ran at least once has columns; one that never ran is listed as skipped.
for (const peer of selected) status[peer] ??= { status: 'skipped', reason: 'not run' };
const shown = selected.filter((p) => status[p]?.status !== 'skipped');
const headers = ['workload', 'threads', 'gradpool', ...shown.flatMap((p) => [p, `gradpool ÷ ${p}`])];
const align: Align[] = ['l', 'r', 'r', ...shown.flatMap((): Align[] => ['r', 'r'])];
const cells = rows.map((r) => [
  r.workload,
  String(r.threads),
  fmtInt(r.gradpool.samplesPerSec),
  ...shown.flatMap((p) => {
    const cell = r.peers[p];
    if (!cell || cell.samplesPerSec === null) return ['failed', '—'];
    return [fmtInt(cell.samplesPerSec), fmtFixed(r.ratios[p], 2, '×')];
  }),
]);
const skippedLines = selected.filter((p) => status[p]?.status === 'skipped').map((p) => `- ${p}: skipped (${status[p]?.reason ?? 'unknown'})`);
const failedLines = rows.flatMap((r) => shown.flatMap((p) => (r.peers[p]?.error ? [`- ${p} ${r.workload} threads ${r.threads}: failed (${r.peers[p]?.error ?? ''})`] : [])));
const peerNotes = shown.filter((p) => status[p]?.status === 'ok').map((p) => {
  const info = status[p]?.info ?? {};
  if (p.startsWith('torch')) {
    const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
    const libraries = strings(info.libraries).filter((l) => /blas|mkl|blis/i.test(l));
    const optimized = libraries.some((l) => /openblas|mkl|blis/i.test(l));
    const warning = optimized || libraries.length === 0 ? '' : ' — WARNING: no optimized BLAS loaded (the netlib reference BLAS?), so torch is far slower than usual: apt-get install -y libopenblas0-pthread';
    const build = strings(info.blas).filter((l) => /CPU capability|BLAS_INFO/.test(l));
    return `- ${p}: torch ${String(info.version ?? '?')}, ${build.join(', ')}; BLAS library loaded: ${libraries.join(', ') || 'unknown'}; OMP_NUM_THREADS=MKL_NUM_THREADS=T, OPENBLAS_NUM_THREADS=${p === 'torch' ? '1' : 'T'}, 1 interop thread, OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset${warning}`;
  }
  return `- ${p} ${String(info.version ?? '?')}: backend ${String(info.backend ?? '?')}, 1 thread${p === 'tfjs-wasm' ? `, SIMD ${String(info.simd)}, wasm threads ${String(info.multithread)} (tfjs disables them in Node)` : ' (plain JavaScript kernels)'}`;
});
const legend = flags.workloads.map((w) => `${w.id}: ${w.title}`).join('; ');
const settings = `builtin:blobs ${flags.samples} × ${FEATURES}, seed ${SEED}, plain SGD lr ${LR}, gradpool with ${flags.kernelsUsed} kernels (--kernels ${flags.kernels}), ${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'}, samples/s = ${flags.epochs > 2 ? `median of epochs 2..${flags.epochs}` : flags.epochs === 2 ? 'epoch 2' : 'epoch 1 (no warm-up epoch excluded)'}`;
const columns = `All rate columns are samples/s; gradpool ÷ peer > 1 means gradpool is faster. The tfjs peers are single-threaded: one run per workload, compared with every gradpool thread count.`;
const notes = [...peerNotes, ...skippedLines, ...failedLines].join('\n');

console.log(textTable(headers, cells, align));
console.log(`\n${legend}\n${settings}\n${columns}\n${notes}`);

if (flags.save) {
  const path = saveResults('compare', machine.date, {
    benchmark: 'compare',
    machine,
    settings: { data: 'builtin:blobs', samples: flags.samples, features: FEATURES, seed: SEED, lr: LR, optimizer: 'sgd', epochs: flags.epochs, threads: flags.threads, kernels: flags.kernels, kernelsUsed: flags.kernelsUsed },
    workloads: flags.workloads,
    peers: status,
    rows,
  });
  note(`saved ${path}`);
}

console.log('\n<!-- markdown -->');
console.log(`**gradpool vs. other trainers** — ${machineLine(machine)}\n`);
console.log(markdownTable(headers, cells, align));
console.log(`\n${legend}. ${settings}. ${columns}\n\n${notes}`);
