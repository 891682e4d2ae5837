// kill -9 during checkpointing, again and again: every checkpoint left behind must load or be
// refused cleanly (exit 2, one line), and every resume must end on exactly the weights of the run
// that was never interrupted.
//   npm run bench:kill-loop                          (builds first; 24 kills)
//   node dist/bench/kill-loop.js --kills 40 --seed 7 --save
//
// How: one reference run trains E epochs uninterrupted and saves its model. Then a chain of runs
// shares one checkpoint directory: each resumes from it (when there is a checkpoint) and writes a
// checkpoint after every epoch; the moment a checkpoint write starts (its temporary file appears,
// seen through fs.watch), the run gets SIGKILL after a random delay of 0–DELAY ms, so the kill falls
// before, during or just after the write. After each kill, a separate run resumes from the
// checkpoint to the end (into another file) and its model must equal the reference byte for byte;
// a checkpoint that is refused must be refused with exit 2 and one line. The next run in the chain
// must also remove the temporary the killed writer left. When the chain reaches the last epochs it
// starts over in a fresh directory.
import { spawn } from 'node:child_process';
import { watch } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULTS_DIR, machineInfo, machineLine, note, saveResults, textTable } from './common.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const text = at >= 0 ? process.argv[at + 1] : process.env[`BENCH_${name.toUpperCase()}`];
  const value = text === undefined ? fallback : Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a number ≥ 0, got ${text}`);
  return value;
}

const KILLS = flag('kills', 24);
const SEED = flag('seed', 1);
const EPOCHS = flag('epochs', 10);
const DELAY_MS = flag('delay', 40);
const SAVE = process.argv.includes('--save');

// ≈ 1.1 M parameters with Adam: a 13 MB checkpoint, one step per epoch, so that writing the
// checkpoint is a large share of every epoch and kills land inside it.
const RUN = ['--data', 'builtin:blobs', '--samples', '256', '--features', '64', '--classes', '4', '--layers', '1024,1024', '--batch-size', '256', '--optimizer', 'adam', '--lr', '0.001', '--threads', '1', '--quiet', '--epochs', String(EPOCHS)];

/** mulberry32: a small seeded generator, so that a run of the loop can be repeated. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function cli(args: string[]): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/** Runs the chain's next run and kills it once a checkpoint write has started (unless it finishes first). */
function runAndKill(dir: string, resume: boolean, delay: () => number): Promise<Exit & { killed: boolean; afterMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'train', ...RUN, '--checkpoint-dir', dir, ...(resume ? ['--resume', dir] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let killed = false;
    let afterMs = 0;
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const watcher = watch(dir, (_event, name) => {
      if (killed || typeof name !== 'string' || !name.startsWith(`.checkpoint.gpck.gradpool-tmp-${child.pid}-`)) return;
      killed = true;
      afterMs = delay();
      setTimeout(() => child.kill('SIGKILL'), afterMs);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      watcher.close();
      resolve({ code, signal, stderr, killed: signal === 'SIGKILL', afterMs });
    });
  });
}

function temporaries(names: string[]): string[] {
  return names.filter((name) => name.includes('.gradpool-tmp-'));
}

async function main(): Promise<void> {
  const machine = machineInfo();
  note(`kill-loop: ${KILLS} kills, ${EPOCHS} epochs per run, kill 0–${DELAY_MS} ms after a checkpoint write starts, seed ${SEED}`);
  note(machineLine(machine));
  const work = await mkdtemp(join(tmpdir(), 'gradpool-kill-loop-'));
  const reference = join(work, 'reference.safetensors');
  const straight = await cli(['train', ...RUN, '--out', reference]);
  if (straight.code !== 0) throw new Error(`the reference run failed: ${straight.stderr}`);
  const referenceBytes = await readFile(reference);
  const next = random(SEED);

  const counts = { kills: 0, midWrite: 0, loaded: 0, refused: 0, bitExact: 0, mismatched: 0, failed: 0, leftTemporaries: 0, removedTemporaries: 0, chains: 1 };
  const failures: string[] = [];
  const epochsAtKill: number[] = [];
  let chain = await mkdtemp(join(work, 'chain-'));
  let hasCheckpoint = false;
  let pendingTemporaries: string[] = [];

  while (counts.kills < KILLS) {
    const run = await runAndKill(chain, hasCheckpoint, () => next() * DELAY_MS);
    const names = await readdir(chain);
    // The temporaries a killed writer left before this run must be gone once this run wrote a checkpoint.
    for (const name of pendingTemporaries) {
      if (names.includes(name)) failures.push(`a killed writer's temporary survived the next write: ${name}`);
      else counts.removedTemporaries++;
    }
    pendingTemporaries = [];
    if (!run.killed) {
      if (run.code !== 0) {
        counts.failed++;
        failures.push(`a chain run ended with exit ${run.code}: ${run.stderr.trim()}`);
      }
      // The chain reached its last epoch: start a new one.
      await rm(chain, { recursive: true, force: true });
      chain = await mkdtemp(join(work, 'chain-'));
      hasCheckpoint = false;
      counts.chains++;
      continue;
    }
    counts.kills++;
    const left = temporaries(names);
    if (left.length > 0) counts.midWrite++;
    counts.leftTemporaries += left.length;
    pendingTemporaries = left;
    hasCheckpoint = names.includes('checkpoint.gpck');
    if (!hasCheckpoint) {
      note(`kill ${counts.kills}: ${run.afterMs.toFixed(1)} ms into the first write; no checkpoint yet`);
      continue;
    }
    // Resume this checkpoint to the end, elsewhere, and compare with the reference.
    const resumedPath = join(work, `resumed-${counts.kills}.safetensors`);
    const resumed = await cli(['train', ...RUN, '--resume', chain, '--out', resumedPath]);
    const lines = resumed.stderr.trim().split('\n').filter(Boolean);
    let outcome: string;
    if (resumed.code === 0) {
      counts.loaded++;
      const same = (await readFile(resumedPath)).equals(referenceBytes);
      if (same) counts.bitExact++;
      else {
        counts.mismatched++;
        failures.push(`kill ${counts.kills}: the resumed model differs from the reference`);
      }
      outcome = same ? 'loaded, resumed bit-exact' : 'loaded, resumed DIFFERENT';
      await rm(resumedPath, { force: true });
    } else if (resumed.code === 2 && lines.length === 1) {
      counts.refused++;
      outcome = `refused cleanly: ${lines[0]}`;
    } else {
      counts.failed++;
      outcome = `FAILED (exit ${resumed.code}): ${resumed.stderr.trim()}`;
      failures.push(`kill ${counts.kills}: ${outcome}`);
    }
    const epoch = /"epoch":(\d+)/.exec((await readFile(join(chain, 'checkpoint.gpck'))).toString('latin1', 12, 4096))?.[1];
    epochsAtKill.push(Number(epoch ?? -1));
    note(`kill ${counts.kills}: ${run.afterMs.toFixed(1)} ms after a write started${left.length ? ', temporary left' : ''}; checkpoint at epoch ${epoch}: ${outcome}`);
    // Near the end of the run the next chain run would finish before any kill: start over.
    if (Number(epoch) >= EPOCHS - 1) {
      await rm(chain, { recursive: true, force: true });
      chain = await mkdtemp(join(work, 'chain-'));
      hasCheckpoint = false;
      pendingTemporaries = [];
      counts.chains++;
    }
  }
  await rm(work, { recursive: true, force: true });

  const rows = Object.entries(counts).map(([name, value]) => [name, String(value)]);
  console.log(textTable(['measure', 'count'], rows, ['l', 'r']));
  console.log(`checkpoint epochs at the kills: ${epochsAtKill.join(' ')}`);
  if (failures.length > 0) console.log(`\nFAILURES:\n${failures.join('\n')}`);
  else console.log('\nevery checkpoint loaded or was refused cleanly; every resume was bit-exact; every temporary of a killed writer was removed by the next write');
  if (SAVE) note(`saved ${saveResults('kill-loop', new Date().toISOString(), { machine, kills: KILLS, epochs: EPOCHS, delayMs: DELAY_MS, seed: SEED, counts, epochsAtKill, failures })} (${RESULTS_DIR})`);
  process.exitCode = failures.length > 0 ? 1 : 0;
}

await main();
