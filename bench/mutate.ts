// Mutation check: do the tests notice when the arithmetic is wrong? Each mutant below is a small,
// plausible bug (a batch mean squared, a weight-decay sign, a skipped chunk). For each one this
// copies the repository to a scratch directory (never touching the working tree), applies the
// mutant, builds, runs the tests, and reports which tests failed: a mutant that no test kills
// marks a hole in the suite. Not part of CI: a full run takes one `npm test` per mutant.
//   npm run bench:mutate                                      (builds first; every mutant, the whole suite)
//   node dist/bench/mutate.js --files optimizer-steps,engine-gradient,kernel-sets,threads
//   node dist/bench/mutate.js --mutants adam-no-bias-correction,sgd-decay-sign --files optimizer-steps
//   node dist/bench/mutate.js --list                          (checks every mutant still applies; runs nothing)
// The sources are refactored often: a mutant whose `find` text is no longer in its file (or is
// there more than once) stops the run before anything is built, naming it. Update its find and
// replace (one exact, unique piece of text each) and run --list until it is clean.
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { nativeKernelsAvailable } from '../src/math/native-kernels.js';
import { REPO_ROOT, machineInfo, machineLine, markdownTable, note, textTable } from './common.js';

export interface Mutant {
  /** Short id, for --mutants. */
  name: string;
  /** The bug it stands for. */
  what: string;
  /** Path from the repository root. */
  file: string;
  /** Exact text that must occur exactly once in `file`. */
  find: string;
  replace: string;
}

export const MUTANTS: readonly Mutant[] = [
  // ---- the batch mean ----
  { name: 'mean-dropped', what: '1/m dropped: the update uses the gradient sum', file: 'src/parallel/coordinator.ts', find: 'command.invBatch = 1 / (end - start);', replace: 'command.invBatch = 1;' },
  { name: 'mean-squared', what: '1/m squared (invBatch = 1/rows/rows)', file: 'src/parallel/coordinator.ts', find: 'command.invBatch = 1 / (end - start);', replace: 'command.invBatch = 1 / (end - start) / (end - start);' },
  // ---- the update rules (sgd's and Adam's correction are passed from optim/optimizers.ts to every
  // kernel set; momentum and Adam run in the native kernels where the addon built — the default
  // there — and in the TypeScript reference functions for the wasm and typescript sets) ----
  { name: 'sgd-decay-sign', what: 'SGD weight decay with the sign flipped (every kernel set)', file: 'src/math/ops.ts', find: 'h[1] = s.lr * p.weightDecay;', replace: 'h[1] = -s.lr * p.weightDecay;' },
  { name: 'momentum-decay-sign', what: 'momentum weight decay with the sign flipped (reference)', file: 'src/math/kernels.ts', find: 'const v = momentum * first[i]! + g[i]! * invBatch + decay * wi;', replace: 'const v = momentum * first[i]! + g[i]! * invBatch - decay * wi;' },
  { name: 'adam-decay-sign-native', what: 'Adam weight decay with the sign flipped (native)', file: 'src/native/kernels.cc', find: 'const double gi = g[i] * invBatch + coupled * wi;', replace: 'const double gi = g[i] * invBatch - coupled * wi;' },
  { name: 'momentum-mu-ignored', what: "momentum's μ ignored (reference)", file: 'src/math/kernels.ts', find: 'const v = momentum * first[i]! + g[i]! * invBatch + decay * wi;', replace: 'const v = g[i]! * invBatch + decay * wi;' },
  { name: 'momentum-mu-ignored-native', what: "momentum's μ ignored (native)", file: 'src/native/kernels.cc', find: 'const double v = momentum * velocity[i] + g[i] * invBatch + decay * wi;', replace: 'const double v = g[i] * invBatch + decay * wi;' },
  { name: 'adam-no-bias-correction', what: "Adam's bias correction removed (every kernel set)", file: 'src/math/ops.ts', find: 'h[6] = 1 - p.beta1 ** s.step; h[7] = 1 - p.beta2 ** s.step;', replace: 'h[6] = 1; h[7] = 1;' },
  { name: 'adam-step-off-by-one', what: "Adam's bias correction one step ahead (every kernel set)", file: 'src/math/ops.ts', find: 'h[6] = 1 - p.beta1 ** s.step; h[7] = 1 - p.beta2 ** s.step;', replace: 'h[6] = 1 - p.beta1 ** (s.step + 1); h[7] = 1 - p.beta2 ** (s.step + 1);' },
  { name: 'wasm-sgd-no-decay', what: 'wasm sgdUpdate ignores weight decay (SIMD part)', file: 'src/wasm/assembly/kernels.ts', find: 'const vKeep = f32x4.splat(keep);', replace: 'const vKeep = f32x4.splat(<f32>1);' },
  { name: 'native-sgd-no-decay', what: 'native sgdUpdate ignores weight decay', file: 'src/native/kernels.cc', find: 'const float keep = (float)(1 - lrDecay);', replace: 'const float keep = 1.0f;' },
  // ---- shards, chunks, slabs, reduction ----
  { name: 'chunk-skipped', what: 'the second chunk of every shard longer than 64 rows skipped', file: 'src/parallel/engine.ts', find: 'chunk < end; chunk += this.buffers.capacity)', replace: 'chunk < end; chunk += 2 * this.buffers.capacity)' },
  { name: 'chunk-overwrites', what: 'every chunk overwrites its shard\'s slab (all but the last chunk lost)', file: 'src/parallel/engine.ts', find: 'this.buffers, rows, chunk > start)', replace: 'this.buffers, rows, false)' },
  { name: 'shard-skipped', what: 'the last shard of every batch skipped (its slab keeps old values)', file: 'src/parallel/engine.ts', find: 'if (shard >= command.shards) return claimed;', replace: 'if (shard >= command.shards - 1) return claimed;' },
  { name: 'order-ignored', what: 'rows gathered in storage order, ignoring the shuffled order', file: 'src/parallel/engine.ts', find: 'const sample = order[from + r]!;', replace: 'const sample = from + r;' },
  { name: 'wasm-overwrite-accumulates', what: 'wasm denseBackwardParams adds to db in overwrite mode', file: 'src/wasm/assembly/kernels.ts', find: 'let acc = add ? v128.load(db + (o << 2)) : f32x4.splat(0);', replace: 'let acc = v128.load(db + (o << 2));' },
  {
    name: 'reduction-order',
    what: 'slabs added one after another instead of the pairwise tree (the same on every thread count)',
    file: 'src/optim/reduce.ts',
    find: '    for (let target = 0; target + stride < count; target += 2 * stride) {\n      kernels.addInto(slabs[target]!, slabs[target + stride]!, from, to);\n    }',
    replace: '    if (stride === 1) for (let s = 1; s < count; s++) kernels.addInto(slabs[0]!, slabs[s]!, from, to);',
  },
  // ---- numerics of the output layer ----
  { name: 'softmax-no-shift-native', what: 'softmax without the max shift, in the native kernels (the default where the addon built)', file: 'src/native/kernels.cc', find: 'for (size_t o = 0; o < outputs; o++) max = (double)zr[o] > max || zr[o] != zr[o] ? (double)zr[o] : max;', replace: 'max = 0;' },
  { name: 'softmax-no-shift-wasm', what: 'softmax without the max shift, in the wasm kernels (the default without the addon)', file: 'src/wasm/assembly/kernels.ts', find: 'for (let i: usize = 0; i < ost; i += 4) max = Math.max(max, <f64>load<f32>(out + row + i));', replace: 'max = 0;' },
  { name: 'softmax-no-shift-reference', what: 'softmax without the max shift, in the TypeScript reference kernels', file: 'src/math/kernels.ts', find: 'for (let o = 0; o < width; o++) max = Math.max(max, z[row + o]!);', replace: 'max = 0;' },
  // ---- the epoch loop ----
  { name: 'step-zero-based', what: 'train() numbers its steps from 0 (Adam divides by 1 − β⁰ = 0)', file: 'src/train.ts', find: 'coordinator.trainStep(start, end, lr, this.step + 1)', replace: 'coordinator.trainStep(start, end, lr, this.step)' },
  // ---- memory ----
  { name: 'worker-leak', what: 'a worker thread keeps 4 KB per command', file: 'src/parallel/round.ts', find: '    Atomics.add(control, DONE, 1);\n    Atomics.notify(control, DONE);', replace: '    ((globalThis as { leak?: unknown[] }).leak ??= []).push(new Float64Array(512));\n    Atomics.add(control, DONE, 1);\n    Atomics.notify(control, DONE);' },
];

const argv = yargs(hideBin(process.argv))
  .scriptName('mutate')
  .usage('$0 [--files a,b] [--mutants x,y] [--list]\n\nApplies each mutant to a scratch copy of the repository, builds, runs the tests, and prints which tests killed it.')
  .option('files', { type: 'string', describe: 'comma-separated test files to run, as names (optimizer-steps), test/*.ts or dist/test/*.js paths; default: the whole suite, as npm test runs it' })
  .option('mutants', { type: 'string', describe: `comma-separated mutant names; default: all ${MUTANTS.length}` })
  .option('list', { type: 'boolean', default: false, describe: 'print the mutants and check that each still applies; run nothing' })
  .option('timeout', { type: 'number', default: 900, describe: 'seconds one test run may take; a run past it counts as killed (timed out)' })
  .option('keep', { type: 'boolean', default: false, describe: 'keep the scratch copy (its path is printed)' })
  .option('out', { type: 'string', describe: 'also write the results as JSON to this file' })
  .strict()
  .version(false)
  .help()
  .parseSync();

/** Fails loudly, before anything runs, for every mutant whose find text is not exactly once in its file. */
function checkMutants(root: string, mutants: readonly Mutant[]): void {
  const problems: string[] = [];
  for (const m of mutants) {
    const path = join(root, m.file);
    if (!existsSync(path)) {
      problems.push(`${m.name}: ${m.file} does not exist`);
      continue;
    }
    const count = readFileSync(path, 'utf8').split(m.find).length - 1;
    if (count !== 1) problems.push(`${m.name}: its find text occurs ${count} times in ${m.file} (needs exactly 1): ${JSON.stringify(m.find)}`);
  }
  if (problems.length > 0) {
    process.stderr.write(`mutate: ${problems.length} mutant${problems.length === 1 ? '' : 's'} no longer appl${problems.length === 1 ? 'ies' : 'y'} to the sources; update MUTANTS in bench/mutate.ts:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.exit(2);
  }
}

function selectMutants(): Mutant[] {
  if (!argv.mutants) return [...MUTANTS];
  return argv.mutants.split(',').map((name) => {
    const m = MUTANTS.find((candidate) => candidate.name === name.trim());
    if (!m) throw new Error(`--mutants: unknown mutant "${name}" (see --list)`);
    return m;
  });
}

function testFiles(): string[] {
  if (!argv.files) return [];
  return argv.files.split(',').map((f) => {
    const name = f.trim().replace(/^(dist\/)?test\//, '').replace(/\.test\.(ts|js)$/, '');
    const path = `dist/test/${name}.test.js`;
    if (!existsSync(join(REPO_ROOT, 'test', `${name}.test.ts`))) throw new Error(`--files: no test/${name}.test.ts`);
    return path;
  });
}

/** The working tree as git sees it (tracked and untracked, not ignored), copied; node_modules linked. */
function scratchCopy(): string {
  const dir = mkdtempSync(join(os.tmpdir(), 'gradpool-mutate-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\0').filter((f) => f !== '');
  for (const file of files) {
    const from = join(REPO_ROOT, file);
    if (!existsSync(from)) continue; // deleted in the working tree
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(from, join(dir, file));
  }
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

interface RunResult {
  code: number | null;
  timedOut: boolean;
  failed: string[];
  passed: number;
  seconds: number;
  tail: string;
}

/** The process group running now (a build or a test run), for the signal handlers below. */
let running: number | undefined;

function run(command: string, args: string[], cwd: string, timeoutSeconds: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running = child.pid;
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let timedOut = false;
    // The whole process group: ava and the test processes it started.
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, timeoutSeconds * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      running = undefined;
      const failed = [...output.matchAll(/^not ok \d+ - (.*)$/gm)].map((m) => m[1]!.replace(/\s+#.*$/, '').trim());
      const passed = [...output.matchAll(/^ok \d+ - /gm)].length;
      resolve({ code, timedOut, failed, passed, seconds: (performance.now() - started) / 1000, tail: output.trim().split('\n').slice(-15).join('\n') });
    });
  });
}

/** What must be rebuilt, besides the TypeScript, after `file` changed: the wasm module or the native addon. */
function artifactOf(file: string): 'wasm' | 'native' | null {
  return file.startsWith('src/wasm/') ? 'wasm' : file.startsWith('src/native/') ? 'native' : null;
}

async function buildArtifact(dir: string, artifact: 'wasm' | 'native'): Promise<RunResult> {
  if (artifact === 'wasm') return run('npm', ['run', '--silent', 'build:wasm'], dir, 300);
  // npm's install step builds the addon; it never fails, so a build that did not happen is read from its line.
  // --prebuild: always build afresh (a prebuilt addon, which the package tests leave in prebuilds/,
  // would otherwise be used as it is) and copy the result there too, so both places hold this build.
  const result = await run(process.execPath, ['src/native/install.mjs', '--prebuild'], dir, 900);
  return /native kernels built/.test(result.tail) ? result : { ...result, code: result.code || 1 };
}

async function build(dir: string, artifacts: ReadonlySet<'wasm' | 'native'>): Promise<RunResult> {
  for (const artifact of artifacts) {
    const result = await buildArtifact(dir, artifact);
    if (result.code !== 0) return result;
  }
  return run('npx', ['tsc', '-p', '.'], dir, 600);
}

const mutants = selectMutants();
checkMutants(REPO_ROOT, argv.list ? MUTANTS : mutants);
if (argv.list) {
  console.log(textTable(['mutant', 'file', 'what'], MUTANTS.map((m) => [m.name, m.file, m.what]), ['l', 'l', 'l']));
  console.log(`\nall ${MUTANTS.length} mutants apply to the sources in ${REPO_ROOT}`);
  process.exit(0);
}
const files = testFiles();
const machine = machineInfo();
note(`mutate: ${mutants.length} mutant${mutants.length === 1 ? '' : 's'} × ${files.length ? files.join(' ') : 'the whole suite'}`);
note(machineLine(machine));

const dir = scratchCopy();
note(`scratch copy: ${dir}`);
// Stopped from outside: end the build or test run in progress and remove the copy (unless --keep).
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    if (running !== undefined) {
      try {
        process.kill(-running, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    if (!argv.keep) rmSync(dir, { recursive: true, force: true });
    note(`mutate: stopped by ${signal}${argv.keep ? `; kept ${dir}` : ''}`);
    process.exit(code);
  });
}
interface Row { mutant: Mutant; result: RunResult | null; killedBy: string[]; status: 'killed' | 'survived' | 'timed out' | 'build failed' }
const rows: Row[] = [];
let exitCode = 0;
try {
  note('building the unmutated copy …');
  const first = await run('npm', ['run', '--silent', 'build'], dir, 900);
  if (first.code !== 0) throw new Error(`the unmutated copy does not build:\n${first.tail}`);
  // The native addon is built by npm's install step, which a copy has not had; where it builds
  // in the working tree it must build here too, or the native mutants would test nothing.
  if (nativeKernelsAvailable()) {
    const native = await buildArtifact(dir, 'native');
    if (native.code !== 0) throw new Error(`the native addon builds in the working tree but not in the copy:\n${native.tail}`);
  } else note('  (no native addon here: the native mutants can only survive; build it with npm install)');
  const ava = ['ava', '--tap', ...files];
  note('baseline: the tests on the unmutated copy …');
  const baseline = await run('npx', ava, dir, argv.timeout);
  note(`  ${baseline.passed} passed, ${baseline.failed.length} failed in ${baseline.seconds.toFixed(0)} s`);
  if (baseline.timedOut) throw new Error('the baseline run timed out');
  if (baseline.passed === 0) throw new Error(`the baseline ran no tests:\n${baseline.tail}`);
  // A test that fails without any mutant cannot say anything about one.
  const alreadyFailing = new Set(baseline.failed);
  for (const f of alreadyFailing) note(`  fails already, not counted as a kill: ${f}`);

  for (const [index, mutant] of mutants.entries()) {
    const path = join(dir, mutant.file);
    const original = readFileSync(path, 'utf8');
    writeFileSync(path, original.replace(mutant.find, mutant.replace));
    const artifact = artifactOf(mutant.file);
    note(`[${index + 1}/${mutants.length}] ${mutant.name}: ${mutant.what}`);
    let row: Row;
    const built = await build(dir, new Set(artifact ? [artifact] : []));
    if (built.code !== 0) {
      row = { mutant, result: built, killedBy: [], status: 'build failed' };
    } else {
      const result = await run('npx', ava, dir, argv.timeout);
      const killedBy = result.failed.filter((f) => !alreadyFailing.has(f));
      row = { mutant, result, killedBy, status: result.timedOut ? 'timed out' : killedBy.length > 0 ? 'killed' : 'survived' };
    }
    writeFileSync(path, original);
    // The wasm module or addon built from the mutant is rebuilt from the restored source at once,
    // so that no mutant ever runs with another one's leftovers.
    if (artifact) {
      const restored = await buildArtifact(dir, artifact);
      if (restored.code !== 0) throw new Error(`the restored ${artifact} kernels do not build after ${mutant.name}:\n${restored.tail}`);
    }
    rows.push(row);
    note(`  ${row.status}${row.killedBy.length ? ` by ${row.killedBy.length} test${row.killedBy.length === 1 ? '' : 's'}: ${row.killedBy.slice(0, 3).join('; ')}${row.killedBy.length > 3 ? '; …' : ''}` : ''} (${(row.result?.seconds ?? 0).toFixed(0)} s)`);
    if (row.status === 'build failed') note(row.result!.tail);
  }
  // Leave the copy as it started (with --keep it may be inspected).
  await build(dir, new Set());
} finally {
  if (argv.keep) note(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

const survived = rows.filter((r) => r.status === 'survived' || r.status === 'build failed');
if (survived.length > 0) exitCode = 1;
const headers = ['mutant', 'what', 'result', 'killed by'];
const cells = rows.map((r) => [r.mutant.name, r.mutant.what, r.status, r.killedBy.length === 0 ? '—' : `${r.killedBy.slice(0, 2).join('; ')}${r.killedBy.length > 2 ? ` (+${r.killedBy.length - 2} more)` : ''}`]);
console.log(textTable(headers, cells, ['l', 'l', 'l', 'l']));
console.log(`\n${rows.length - survived.length} of ${rows.length} mutants killed; tests: ${files.length ? files.join(', ') : 'the whole suite'}`);
console.log('\n<!-- markdown -->');
console.log(`**mutation check** — ${machineLine(machine)}\n`);
console.log(markdownTable(headers, cells, ['l', 'l', 'l', 'l']));
if (argv.out) {
  writeFileSync(argv.out, JSON.stringify({ benchmark: 'mutate', machine, files, rows: rows.map((r) => ({ ...r.mutant, status: r.status, killedBy: r.killedBy, seconds: r.result?.seconds ?? null })) }, null, 2) + '\n');
  note(`saved ${argv.out}`);
}
process.exit(exitCode);
