// Consumers installing the packed gradpool with each package manager they use (GRADPOOL_TEST_INSTALLERS=1):
// npm 11, pnpm 9 and 10, yarn 1, yarn 4 (node_modules linker and Plug'n'Play). Each must exit 0, print
// no warning about gradpool or about build/install scripts, and run the native kernels on linux-x64
// (the prebuild: no install script runs). The installers come from the npm registry into
// test/installers/; the consumers' dependencies from each manager's cache, else the registry.
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from './helpers/files.js';
import { ROOT, npmEnv, pack, run } from './helpers/package.js';
import { sideProject } from './helpers/side-project.js';

const enabled = process.env.GRADPOOL_TEST_INSTALLERS === '1';
const tier = enabled ? test.serial : test.skip; // one at a time: yarn 1's cache is not safe for concurrent installs
const skipNote = enabled ? '' : ' (skipped: set GRADPOOL_TEST_INSTALLERS=1)';

interface Installer {
  /** The command after `node`, from the installers' project. */
  readonly add: (bin: (pkg: string, file: string) => string, tarball: string) => string[];
  /** Files the consumer project needs first. */
  readonly files?: Record<string, string>;
  /** How to start the installed CLI (a yarn PnP project has no node_modules/.bin). */
  readonly cli?: (bin: (pkg: string, file: string) => string) => string[];
}

const yarn4 = (bin: (pkg: string, file: string) => string) => bin('yarn4', 'bin/yarn.js');
const INSTALLERS: Record<string, Installer> = {
  'npm 11': { add: (bin, tarball) => [bin('npm11', 'bin/npm-cli.js'), 'install', '--no-audit', '--no-fund', '--prefer-offline', tarball] },
  'pnpm 9': { add: (bin, tarball) => [bin('pnpm9', 'bin/pnpm.cjs'), 'add', tarball] },
  'pnpm 10': { add: (bin, tarball) => [bin('pnpm10', 'bin/pnpm.cjs'), 'add', tarball] },
  'yarn 1': { add: (bin, tarball) => [bin('yarn1', 'bin/yarn.js'), 'add', `file:${tarball}`, '--non-interactive', '--no-progress'] },
  'yarn 4 (node_modules)': { add: (bin, tarball) => [yarn4(bin), 'add', `gradpool@file:${tarball}`], files: { '.yarnrc.yml': 'nodeLinker: node-modules\nenableTelemetry: false\n' } },
  'yarn 4 (Plug\'n\'Play)': { add: (bin, tarball) => [yarn4(bin), 'add', `gradpool@file:${tarball}`], files: { '.yarnrc.yml': 'enableTelemetry: false\n' }, cli: (bin) => [yarn4(bin), 'gradpool'] },
};

// The host's prebuild, as npm pack's prepack makes it, then one tarball for every installer.
const packed = enabled ? run(process.execPath, [join(ROOT, 'src/native/install.mjs'), '--prebuild'], { cwd: ROOT }).then(() => pack()) : undefined;
const installers = enabled ? sideProject('installers') : undefined;
packed?.catch(() => undefined);
installers?.catch(() => undefined);

/** Lines that warn about gradpool or about scripts that were (not) run: what consumers must never see. */
function warningsAboutUs(output: string): string[] {
  return output.split('\n').filter((line) => /gradpool|install.?script|allowScripts|build.?script|ignored.?builds|lifecycle|postinstall|YN0007|YN0004|YN0005/i.test(line) && /warn|WARN|⚠|error|ERR|YN0007|YN0004|YN0005|must be built|not covered|disabled|ignored/i.test(line));
}

for (const [name, installer] of Object.entries(INSTALLERS)) {
  tier(`${name} installs the packed gradpool with exit 0, no warning about it, and native kernels${skipNote}`, async (t) => {
    t.timeout(600_000);
    const [{ tarball }, tools] = await Promise.all([packed!, installers!]);
    const bin = (pkg: string, file: string) => join(tools, 'node_modules', pkg, file);
    const dir = join(await tempDir(), 'consumer');
    await mkdir(dir);
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }) + '\n');
    for (const [file, text] of Object.entries(installer.files ?? {})) await writeFile(join(dir, file), text);
    // Not CI (yarn 4 would install --immutable) and none of this npm test's npm_* settings.
    const env = npmEnv();
    delete env.CI;
    env.TMPDIR = await tempDir(); // yarn 1 leaves a v8-compile-cache folder in the temporary folder
    const started = Date.now();
    const installed = await run(process.execPath, installer.add(bin, tarball), { cwd: dir, env, timeoutMs: 540_000 });
    const output = installed.stdout + installed.stderr;
    t.log(`${name}: exit ${installed.code} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    t.is(installed.code, 0, output.slice(-3000));
    t.deepEqual(warningsAboutUs(output), [], output.slice(-3000));
    const others = output.split('\n').filter((line) => /warn|WARN|⚠|YN0(?!000|085|013)\d{3}/.test(line));
    if (others.length > 0) t.log(`${name}: other warnings (not gradpool's):\n${others.join('\n')}`);
    const cli = installer.cli ? [process.execPath, ...installer.cli(bin)] : [join(dir, 'node_modules', '.bin', 'gradpool')];
    const trained = await run(cli[0]!, [...cli.slice(1), 'train', '--data', 'builtin:moons', '--samples', '200', '--epochs', '1', '--kernels', process.platform === 'linux' && process.arch === 'x64' ? 'native' : 'auto', '--log-json', 'log.jsonl', '--quiet'], { cwd: dir, env });
    t.is(trained.code, 0, trained.stderr);
    t.is(trained.stderr, '', 'no note: the prebuild loaded');
    const done = JSON.parse((await readFile(join(dir, 'log.jsonl'), 'utf8')).trim().split('\n').at(-1)!) as { kernels: string };
    if (process.platform === 'linux' && process.arch === 'x64') t.regex(done.kernels, /^native-/);
    t.false(existsSync(join(dir, 'node_modules', 'gradpool', 'src', 'native', 'build')), 'nothing was built at install');
    t.log(`${name}: ${done.kernels}`);
  });
}
