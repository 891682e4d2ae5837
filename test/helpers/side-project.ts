// Test-only packages that must not be gradpool devDependencies (install scripts, other platforms'
// binaries, bins named node): each lives in a project of its own under test/, installed on first use
// with its install scripts off, and again whenever a pinned version is not the installed one.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, npm } from './package.js';

interface Pinned {
  readonly name: string;
  readonly version: string;
  /** The package's folder inside the side project. */
  readonly dir: string;
}

/** The packages the side project test/<project>/ pins, by their alias, and where they install. */
export function pinnedPackages(project: string): Pinned[] {
  const root = join(ROOT, 'test', project);
  const { devDependencies } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  return Object.entries(devDependencies).map(([name, spec]) => ({ name, version: spec.slice(spec.lastIndexOf('@') + 1), dir: join(root, 'node_modules', name) }));
}

function installedVersion(dir: string): string | undefined {
  const manifest = join(dir, 'package.json');
  return existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version : undefined;
}

/**
 * test/<project>/ installed (npm ci --ignore-scripts; --force where its packages are for another
 * platform), resolving to its folder. From npm's cache when it holds them, else the registry.
 */
export async function sideProject(project: string, options: { force?: boolean } = {}): Promise<string> {
  const root = join(ROOT, 'test', project);
  if (pinnedPackages(project).some(({ version, dir }) => installedVersion(dir) !== version)) {
    await npm(['ci', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', ...(options.force ? ['--force'] : [])], root);
  }
  return root;
}
