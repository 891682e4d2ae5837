// Every path a command reads or writes, as the option table marks them (OptionSpec.file), checked in
// one call before any work: outputs against inputs and against each other (io/paths.ts).
import { InputError, optionRef } from '../errors.js';
import type { InputProtection } from '../io/guard.js';
import { checkPaths, type InputPath, type OutputPath } from '../io/paths.js';
import { CHECKPOINT_FILE } from '../run/checkpoint.js';
import { join } from 'node:path';
import type { CommandName, OptionSpec } from './spec.js';
import { OPTIONS } from './table.js';

const STREAM_PATH = /^\/dev\/(stdout|stderr|stdin|tty|fd\/\d+)$|^\/proc\/(self|\d+)\/fd\/\d+$/;

/**
 * Checks the path options of `command` found in `values` (library names: the library's resolved
 * options, or everything a command line gave, log and plot included). Throws InputError. The inputs
 * stay protected from every write of this process until the result's release().
 */
export async function checkPathOptions(command: CommandName, values: Readonly<Record<string, unknown>>): Promise<InputProtection> {
  const inputs: InputPath[] = [];
  const outputs: OutputPath[] = [];
  for (const [name, spec] of Object.entries(OPTIONS) as [string, OptionSpec<unknown>][]) {
    const value = values[name];
    if (spec.file === undefined || !spec.commands.includes(command) || typeof value !== 'string') continue;
    const ref = optionRef(name);
    switch (spec.file) {
      case 'input':
        if (!value.startsWith('builtin:')) inputs.push({ ref, path: value });
        break;
      case 'checkpoint-input':
        inputs.push({ ref, path: value === '' ? '' : join(value, CHECKPOINT_FILE) });
        break;
      case 'output':
        // A file is written beside and renamed into place: through a stream's name it would replace
        // the file the shell redirected to, or fail on a pipe.
        if (STREAM_PATH.test(value)) throw new InputError(`${ref} ${value}: names a stream, not a file; write to a file${command === 'predict' ? ` (predict ${ref} - prints to stdout)` : ''}`);
        outputs.push({ ref, path: value });
        break;
      case 'checkpoint-output':
        outputs.push({ ref, path: value, inDirectory: CHECKPOINT_FILE, mayReplace: resumeRef(command) });
        break;
    }
  }
  return checkPaths(inputs, outputs);
}

/** The option whose checkpoint a checkpoint directory may overwrite: resuming into the same directory is the usual way. */
function resumeRef(command: CommandName): string | undefined {
  const entry = (Object.entries(OPTIONS) as [string, OptionSpec<unknown>][]).find(([, spec]) => spec.file === 'checkpoint-input' && spec.commands.includes(command));
  return entry && optionRef(entry[0]);
}
