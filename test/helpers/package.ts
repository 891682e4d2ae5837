// The package as a user gets it: `npm pack` of this checkout, installed into a fresh project.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './files.js';

/** The repository root (this file runs from dist/test/helpers/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * The environment for a child npm: without the npm_* variables that `npm test` exports (they would
 * make the child act on this repository's configuration and package), keeping where the cache is.
 */
export function npmEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig', 'npm_config_registry']);
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_') || keep.has(key.toLowerCase())));
}

export async function npm(args: readonly string[], cwd: string): Promise<ProcessResult> {
  const result = await run('npm', args, { cwd, env: npmEnv(), timeoutMs: 180_000 });
  if (result.code !== 0) throw new Error(`npm ${args.join(' ')} exited ${result.code}: ${result.stderr.slice(-2000)}`);
  return result;
}

export interface PackedFile {
  path: string;
  size: number;
}

export interface Packed {
  tarball: string;
  files: PackedFile[];
  /** Compressed bytes. */
  size: number;
  unpackedSize: number;
}

/** `npm pack` of the current build (scripts skipped: the test run has built it already, and a rebuild would race the other tests). */
export async function pack(): Promise<Packed> {
  const dir = await tempDir();
  const result = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT);
  const [info] = JSON.parse(result.stdout) as { filename: string; files: PackedFile[]; size: number; unpackedSize: number }[];
  return { tarball: join(dir, info!.filename), files: info!.files, size: info!.size, unpackedSize: info!.unpackedSize };
}

/**
 * A new project with the tarball installed, as `npm install gradpool` would (install scripts run).
 * The dependencies come from npm's cache when `npm ci` already put them there, else the registry.
 */
export async function installInFreshProject(tarball: string, extraArgs: readonly string[] = []): Promise<string> {
  const dir = join(await tempDir(), 'consumer');
  await mkdir(dir);
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }) + '\n');
  await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', ...extraArgs, tarball], dir);
  return dir;
}
