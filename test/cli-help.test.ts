// The command line behaves as people expect of one: help and version at every level, suggestions.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { runCli } from './helpers/cli.js';

const COMMANDS = ['train', 'evaluate', 'predict', 'compare-modes', 'export'];
const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

test('--version and -v print the package version and exit 0', async (t) => {
  for (const flag of ['--version', '-v']) {
    const result = await runCli([flag]);
    t.is(result.code, 0, flag);
    t.is(result.stdout.trim(), version, flag);
  }
});

test('-h and --help exit 0 at the top and for every command, without demanding required flags', async (t) => {
  for (const args of [['-h'], ['--help'], ...COMMANDS.flatMap((c) => [[c, '-h'], [c, '--help']])]) {
    const result = await runCli(args);
    t.is(result.code, 0, args.join(' '));
    t.regex(result.stdout, /Options:/, args.join(' '));
    t.is(result.stderr, '', args.join(' '));
  }
});

test('every flag in a command\'s help has a description, and the help fits 80 columns', async (t) => {
  for (const command of COMMANDS) {
    const { stdout } = await runCli([command, '--help']);
    const flagLines = stdout.split('\n').filter((line) => /^\s+--[a-z-]+\s/.test(line));
    t.true(flagLines.length > 2, command);
    // a flag with no description shows only its type tag on its line
    for (const line of flagLines) t.notRegex(line, /^\s+--[a-z0-9-]+\s+\[(string|number|boolean)\]/, `${command}: ${line.trim()}`);
    for (const line of stdout.split('\n')) t.true([...line].length <= 80, `${command}: "${line}" is ${[...line].length} columns`);
  }
});

test('a mistyped command suggests the nearest one and exits 2', async (t) => {
  const result = await runCli(['trian', '--data', 'builtin:moons']);
  t.is(result.code, 2);
  t.regex(result.stderr, /^gradpool: unknown command "trian"\. Did you mean train\?/);
  t.is(result.stderr.trim().split('\n').length, 1);
});
