// The option table is the one description of every option: the library and the CLI both follow it.
import test from 'ava';
import { availableParallelism } from 'node:os';
import { InputError, train } from '../src/index.js';
import { COMMANDS, helpFor, type OptionSpec } from '../src/options/spec.js';
import { OPTIONS } from '../src/options/table.js';
import { runCli } from './helpers/cli.js';

test('every option has help text for each command it belongs to', (t) => {
  for (const [name, spec] of Object.entries(OPTIONS) as [string, OptionSpec<unknown>][]) {
    t.true(spec.commands.length > 0, `${name} belongs to a command`);
    for (const command of spec.commands) t.true(helpFor(spec, command).length > 4, `${name} has help for ${command}`);
    for (const command of spec.commands) t.true((COMMANDS as readonly string[]).includes(command));
  }
});

test('a library error names the option as the library spells it', async (t) => {
  const error = await t.throwsAsync(train({ data: 'builtin:moons', valSplit: 1.5 }), { instanceOf: InputError });
  t.regex(error!.message, /^valSplit must be/);
  t.notRegex(error!.message, /--/);
});

test('a command-line error names the same option as a flag', async (t) => {
  const result = await runCli(['train', '--data', 'builtin:moons', '--val-split', '1.5']);
  t.is(result.code, 2);
  t.regex(result.stderr, /^gradpool: --val-split must be/);
});

test('an option the library does not know is refused, naming it', async (t) => {
  await t.throwsAsync(train({ data: 'builtin:moons', epoch: 3 } as never), { instanceOf: InputError, message: /unknown option "epoch"/ });
  await t.throwsAsync(train(null as never), { instanceOf: InputError, message: /options must be an object/ });
});

test('a flag given twice is refused, whatever its kind', async (t) => {
  for (const flag of ['--threads', '--epochs', '--activation', '--out']) {
    const value = flag === '--activation' ? 'relu' : flag === '--out' ? 'm.json' : '2';
    const result = await runCli(['train', '--data', 'builtin:moons', flag, value, flag, value]);
    t.is(result.code, 2, flag);
    t.regex(result.stderr, new RegExp(`${flag} is given 2 times`), flag);
  }
});

test('the thread count that runs is the resolved one: at most the cores', async (t) => {
  const result = await train({ data: 'builtin:blobs', samples: 2048, features: 784, classes: 10, layers: [256], batchSize: 1024, epochs: 1, threads: 64, seed: 3 });
  t.is(result.shardsByParticipant.length, Math.min(64, availableParallelism()));
  t.true(result.history.every((entry) => entry.threads <= availableParallelism()));
});
