// gradpool against other trainers on the same workloads, data and thread counts, in one run.
//   npm run bench:compare                            (builds first)
//   node dist/bench/compare.js --threads 1,2 --workloads M1 --epochs 2 --samples 4000 --rounds 1 --no-save --force
// Peers, each run in its own child process (so that no two trainers share a process or a heap):
//   torch        /usr/bin/python3 bench/peers/torch_mlp.py (Debian: apt-get install -y python3-torch libopenblas0-pthread)
//                with OMP_NUM_THREADS=MKL_NUM_THREADS=T, OPENBLAS_NUM_THREADS=1
//   torch-blasT  the same with OPENBLAS_NUM_THREADS=T: Debian's torch does its matrix products in
//                libblas.so.3 (OpenBLAS when installed), so OPENBLAS_NUM_THREADS=1 keeps them on one thread
//   tfjs-cpu   dist/bench/peers/tfjs.js --backend cpu     (npm install --no-save @tensorflow/tfjs @tensorflow/tfjs-backend-wasm)
//   tfjs-wasm  dist/bench/peers/tfjs.js --backend wasm
// Peers that are absent or fail are reported as skipped with the reason; nothing is estimated.
// Rounds: for each workload, --rounds rounds each run every cell (gradpool and each peer at each
// thread count) once, every round starting one cell later, so that drift of the machine's speed
// over minutes falls on all of them alike. Each rate is the median over rounds, shown with its
// min–max; gradpool ÷ peer is the median of the per-round ratios.
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
  median,
  note,
  parseBenchFlags,
  preflight,
  rotate,
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

const flags = parseBenchFlags(
  'compare',
  { epochs: 4 },
  {
    peers: { type: 'string', default: PEERS.join(','), describe: 'comma-separated peers to run: torch (its BLAS on 1 thread), torch-blasT (BLAS on T threads), tfjs-cpu, tfjs-wasm (both 1 thread)' },
    python: { type: 'string', default: '/usr/bin/python3', describe: 'the Python with torch (Debian: python3-torch)' },
    'peer-timeout': { type: 'number', default: 3600, describe: 'seconds one peer run may take' },
    rounds: { type: 'number', default: 3, describe: 'rounds per workload; each runs every cell once, in rotating order; rates are medians over rounds with min–max' },
  },
  {
    what: 'gradpool side by side with PyTorch and TensorFlow.js on the same workloads, data and thread counts. Each peer runs in its own process; peers that are absent are listed as skipped.',
    examples: [
      ['node dist/bench/compare.js', 'every workload and peer, threads 1..cores, 3 rounds'],
      ['node dist/bench/compare.js --peers torch,torch-blasT --workloads M1 --threads 1,2', 'gradpool against PyTorch only'],
      ['node dist/bench/compare.js --threads 1,2 --workloads M1 --epochs 2 --samples 4000 --rounds 1 --no-save --force', 'a quick check that the script runs'],
    ],
  },
);
const rounds = flags.rounds as number;
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${String(rounds)}`);
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

/** Median and range of a quantity over rounds (null: no round gave a number). */
interface Spread {
  median: number | null;
  min: number | null;
  max: number | null;
}

function spreadOf(values: readonly (number | null | undefined)[]): Spread {
  const numbers = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (numbers.length === 0) return { median: null, min: null, max: null };
  return { median: median(numbers), min: Math.min(...numbers), max: Math.max(...numbers) };
}

interface Row {
  workload: string;
  threads: number;
  /** gradpool's runs, one per round. */
  gradpool: GradpoolRun[];
  gradpoolSamplesPerSec: Spread;
  /** Each peer's runs, one per round (tfjs: its single-threaded runs, shown on every thread row). */
  peers: Partial<Record<PeerName, PeerCell[]>>;
  peerSamplesPerSec: Partial<Record<PeerName, Spread>>;
  /** gradpool samples/s ÷ peer samples/s, per round (runs of the same round are close in time), summarized. */
  ratios: Partial<Record<PeerName, Spread>>;
}

/** How many threads the peer's matrix products run on, for the column header. */
const PEER_THREADS: Record<PeerName, string> = { torch: 'BLAS 1 thread', 'torch-blasT': 'BLAS T threads', 'tfjs-cpu': '1 thread', 'tfjs-wasm': '1 thread' };

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
const checks = preflight('compare', machine, flags.force);
note(`compare: ${flags.workloads.map((w) => w.id).join(',')} × threads ${flags.threads.join(',')}, ${flags.samples} samples, ${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'}, ${rounds} round${rounds === 1 ? '' : 's'}; peers ${selected.join(', ') || 'none'}`);
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

    const runPeerCell = async (peer: PeerName, threads: number): Promise<PeerCell | undefined> => {
      const known = status[peer];
      if (known?.status === 'skipped') return undefined;
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

    // The cells of this workload: gradpool and torch at every thread count; the tfjs backends are
    // single-threaded, so they run once per round and stand against every thread count. With one
    // thread both torch settings are the same environment: torch-blasT reuses torch's run there.
    type Cell = { peer: PeerName | 'gradpool'; threads: number };
    const cells: Cell[] = [
      ...selected.filter((p) => !p.startsWith('torch')).map((peer): Cell => ({ peer, threads: 1 })),
      ...flags.threads.flatMap((threads): Cell[] => [
        { peer: 'gradpool', threads },
        ...selected.filter((p) => p === 'torch' || (p === 'torch-blasT' && threads > 1)).map((peer): Cell => ({ peer, threads })),
      ]),
    ];
    const gradpoolRuns = new Map<number, GradpoolRun[]>(flags.threads.map((t) => [t, []]));
    const peerRuns = new Map<string, PeerCell[]>();
    const key = (peer: PeerName, threads: number): string => `${peer}@${threads}`;
    for (let round = 0; round < rounds; round++) {
      for (const cell of rotate(cells, round)) {
        note(`  ${w.id} round ${round + 1}/${rounds} ${cell.peer} threads ${cell.threads} …`);
        if (cell.peer === 'gradpool') {
          const run = await runGradpool(w, cell.threads, flags.epochs, flags.samples, flags.kernels);
          note(`    ${fmtInt(run.samplesPerSec)} samples/s (epochs ${run.perEpoch.map((r) => fmtInt(r)).join(', ')}), loss ${run.finalLoss.toFixed(4)}`);
          gradpoolRuns.get(cell.threads)!.push(run);
          continue;
        }
        // A cell that failed in every round so far keeps its place, so that rounds stay aligned.
        const result = await runPeerCell(cell.peer, cell.threads);
        if (!peerRuns.has(key(cell.peer, cell.threads))) peerRuns.set(key(cell.peer, cell.threads), []);
        peerRuns.get(key(cell.peer, cell.threads))!.push(result ?? { samplesPerSec: null, error: status[cell.peer]?.reason ?? 'skipped' });
      }
    }
    for (const threads of flags.threads) {
      const gradpool = gradpoolRuns.get(threads)!;
      const peers: Partial<Record<PeerName, PeerCell[]>> = {};
      for (const peer of selected) {
        const runs = peer.startsWith('tfjs') ? peerRuns.get(key(peer, 1)) : peer === 'torch-blasT' && threads === 1 ? peerRuns.get(key('torch', 1)) : peerRuns.get(key(peer, threads));
        if (runs) peers[peer] = runs;
      }
      if (threads === 1 && status.torch && selected.includes('torch-blasT')) status['torch-blasT'] ??= status.torch;
      const peerSamplesPerSec: Partial<Record<PeerName, Spread>> = {};
      const ratios: Partial<Record<PeerName, Spread>> = {};
      for (const [peer, runs] of Object.entries(peers) as [PeerName, PeerCell[]][]) {
        peerSamplesPerSec[peer] = spreadOf(runs.map((r) => r.samplesPerSec));
        // Round by round: gradpool's run and the peer's run of the same round.
        ratios[peer] = spreadOf(runs.map((r, i) => (r.samplesPerSec && gradpool[i] ? gradpool[i]!.samplesPerSec / r.samplesPerSec : null)));
      }
      rows.push({ workload: w.id, threads, gradpool, gradpoolSamplesPerSec: spreadOf(gradpool.map((r) => r.samplesPerSec)), peers, peerSamplesPerSec, ratios });
    }
    await rm(dir, { recursive: true, force: true });
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}

const fmtRate = (s: Spread | undefined): string => (s?.median == null ? 'failed' : rounds === 1 ? fmtInt(s.median) : `${fmtInt(s.median)} [${fmtInt(s.min)}–${fmtInt(s.max)}]`);
const fmtRatio = (s: Spread | undefined): string => (s?.median == null ? '—' : rounds === 1 ? fmtFixed(s.median, 2, '×') : `${fmtFixed(s.median, 2, '×')} [${fmtFixed(s.min, 2)}–${fmtFixed(s.max, 2)}]`);

// A peer that ran at least once has columns; one that never ran is listed as skipped.
for (const peer of selected) status[peer] ??= { status: 'skipped', reason: 'not run' };
const shown = selected.filter((p) => status[p]?.status !== 'skipped');
const peerLabel = (p: PeerName): string => `${p.startsWith('torch') ? 'torch' : p} (${PEER_THREADS[p]})`;
const headers = ['workload', 'threads', 'gradpool', ...shown.flatMap((p) => [peerLabel(p), `gradpool ÷ ${peerLabel(p)}`])];
const align: Align[] = ['l', 'r', 'r', ...shown.flatMap((): Align[] => ['r', 'r'])];
const cells = rows.map((r) => [r.workload, String(r.threads), fmtRate(r.gradpoolSamplesPerSec), ...shown.flatMap((p) => [fmtRate(r.peerSamplesPerSec[p]), fmtRatio(r.ratios[p])])]);
const skippedLines = selected.filter((p) => status[p]?.status === 'skipped').map((p) => `- ${p}: skipped (${status[p]?.reason ?? 'unknown'})`);
const failedLines = rows.flatMap((r) => shown.flatMap((p) => (r.peers[p] ?? []).flatMap((cell, round) => (cell.error ? [`- ${p} ${r.workload} threads ${r.threads} round ${round + 1}: failed (${cell.error})`] : []))));
const peerNotes = shown.filter((p) => status[p]?.status === 'ok').map((p) => {
  const info = status[p]?.info ?? {};
  if (p.startsWith('torch')) {
    const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
    const libraries = strings(info.libraries).filter((l) => /blas|mkl|blis/i.test(l));
    const optimized = libraries.some((l) => /openblas|mkl|blis/i.test(l));
    const warning = optimized || libraries.length === 0 ? '' : ' — WARNING: no optimized BLAS loaded (the netlib reference BLAS?), so torch is far slower than usual: apt-get install -y libopenblas0-pthread';
    const build = strings(info.blas).filter((l) => /CPU capability|BLAS_INFO/.test(l));
    const blas = p === 'torch' ? 'OPENBLAS_NUM_THREADS=1: its matrix products run on ONE thread at every T; only its element-wise ops use T threads' : 'OPENBLAS_NUM_THREADS=T: its matrix products use T threads';
    return `- ${peerLabel(p)}: torch ${String(info.version ?? '?')}, ${build.join(', ')}; BLAS library loaded: ${libraries.join(', ') || 'unknown'}; torch.set_num_threads(T), OMP_NUM_THREADS=MKL_NUM_THREADS=T, ${blas}; 1 interop thread; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset${warning}`;
  }
  return `- ${peerLabel(p)} ${String(info.version ?? '?')}: backend ${String(info.backend ?? '?')}, 1 thread at every T${p === 'tfjs-wasm' ? `, SIMD ${String(info.simd)}, wasm threads ${String(info.multithread)} (tfjs disables them in Node)` : ' (plain JavaScript kernels)'}`;
});
const legend = flags.workloads.map((w) => `${w.id}: ${w.title}`).join('; ');
const settings = `builtin:blobs ${flags.samples} × ${FEATURES}, seed ${SEED}, plain SGD lr ${LR}, gradpool with ${flags.kernelsUsed} kernels (--kernels ${flags.kernels}), ${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'}, samples/s = ${flags.epochs > 2 ? `median of epochs 2..${flags.epochs}` : flags.epochs === 2 ? 'epoch 2' : 'epoch 1 (no warm-up epoch excluded)'}`;
const columns =
  `All rate columns are samples/s${rounds > 1 ? `: the median over ${rounds} interleaved rounds [min–max]` : ' from one round (no spread: use --rounds 3 for numbers worth keeping)'}; ` +
  `gradpool ÷ peer is the median of the per-round ratios${rounds > 1 ? ' [min–max]' : ''}, > 1 means gradpool is faster. Each peer column names the threads its matrix products use; gradpool uses T. The tfjs peers are single-threaded: their runs stand against every gradpool thread count.`;
const notes = [...peerNotes, ...skippedLines, ...failedLines, ...(checks.forced ? [`- WARNING (--force): ${checks.problems.join('; ')}`] : [])].join('\n');

console.log(textTable(headers, cells, align));
console.log(`\n${legend}\n${settings}\n${columns}\n${notes}`);

if (flags.save) {
  const path = saveResults('compare', machine.date, {
    benchmark: 'compare',
    machine,
    preflight: checks,
    settings: { data: 'builtin:blobs', samples: flags.samples, features: FEATURES, seed: SEED, lr: LR, optimizer: 'sgd', epochs: flags.epochs, threads: flags.threads, rounds, kernels: flags.kernels, kernelsUsed: flags.kernelsUsed, peerThreads: PEER_THREADS },
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
