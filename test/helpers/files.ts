// Temporary folders that are removed when the test file ends, what a file is (to prove that a run
// left it alone: same bytes, same inode), and CLI runs under a ulimit: a file-size limit (EFBIG
// without filling a disk) or an address-space limit.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { lstat, mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, type CliResult } from './cli.js';

// One folder per test process holds every tempDir() of its test file; it goes when that process
// exits (ava runs each file in its own process; failed and timed-out tests end it normally too).
// Not an ava hook: declaring one here would start the file's tests at the next tick, before a test
// file's top-level await (onnx.test.ts) has declared them.
let root: string | undefined;

function removeRoot(): void {
  if (root === undefined) return;
  rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  root = undefined;
}

process.once('exit', removeRoot);

/** A new empty folder under /tmp, removed with everything in it when the test file ends. */
export async function tempDir(): Promise<string> {
  root ??= mkdtempSync(join(tmpdir(), 'gradpool-test-'));
  return mkdtemp(join(root, 'd-'));
}

export interface FileState {
  readonly ino: number;
  readonly dev: number;
  readonly kind: 'file' | 'symlink' | 'other';
  readonly sha256: string;
}

/** The file at `path` itself (a symlink is not followed): inode and content hash. */
export async function fileState(path: string): Promise<FileState> {
  const info = await lstat(path);
  const kind = info.isSymbolicLink() ? 'symlink' : info.isFile() ? 'file' : 'other';
  const sha256 = kind === 'file' ? createHash('sha256').update(await readFile(path)).digest('hex') : '';
  return { ino: info.ino, dev: info.dev, kind, sha256 };
}

/** Names in `dir` (hidden ones included), sorted: to see that no temporary file was left. */
export async function listing(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/**
 * The built CLI as a child process under a ulimit: `-f` files of at most `kib` KiB, `-v` at most
 * `kib` KiB of address space. bash execs node, so the child's pid is the CLI's; `detached` makes it
 * the leader of a process group of its own (a signal to -pid then reaches the group, as Ctrl-C does).
 */
export function spawnCliUnderLimit(option: '-f' | '-v', kib: number, args: string[], options: { cwd?: string; detached?: boolean } = {}): ChildProcessWithoutNullStreams {
  // bash's ulimit counts 1024-byte blocks.
  return spawn('bash', ['-c', `ulimit ${option} ${kib} && exec "$0" "$@"`, process.execPath, CLI, ...args], { cwd: options.cwd, detached: options.detached ?? false, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** The built CLI under a ulimit (see spawnCliUnderLimit), run to its end. */
export function runCliUnderLimit(option: '-f' | '-v', kib: number, args: string[], options: { cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCliUnderLimit(option, kib, args, options);
    child.stdin.end();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The built CLI as a child process whose files may grow to at most `kib` KiB (ulimit -f). */
export function runCliWithFileLimit(kib: number, args: string[], options: { cwd?: string } = {}): Promise<CliResult> {
  return runCliUnderLimit('-f', kib, args, options);
}

/**
 * stderr without the notice a run prints before its outcome where the native addon is missing
 * ("native kernels unavailable: …; running the WebAssembly kernels"), so that one-line checks hold
 * on a machine without a C++ compiler too.
 */
export function withoutNotices(stderr: string): string {
  return stderr.replace(/^gradpool: native kernels unavailable: .*; running the (WebAssembly|TypeScript) kernels\n/gm, '');
}

/** stderr as exactly one line (what the one-line contract promises), or a failure message. */
export function oneLine(stderr: string): string | undefined {
  if (!stderr.endsWith('\n')) return undefined;
  const lines = stderr.slice(0, -1).split('\n');
  return lines.length === 1 ? lines[0] : undefined;
}
