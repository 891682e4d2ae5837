// The op registry (src/math/ops.ts) is the one place an op is declared: the C++ and AssemblyScript
// kernels switch on its codes, and these tests hold each switch to it (every entry's code labelled
// with its name, no code the registry lacks), while the kernel agreement tests
// (test/helpers/kernel-agreement.ts) prove by running them that code N computes the op named N.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { ACTIVATIONS, HYPER_PARAMETERS, LOSSES, OPTIMIZERS_BY_NAME, type HyperName } from '../src/math/ops.js';
import { OPTIONS } from '../src/options/table.js';

/** This file runs as dist/test/op-registry.test.js: the sources are two levels up. */
const source = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** The body of the function that starts with `head` (up to the first line that is a lone `}`). */
function body(text: string, head: string): string {
  const start = text.indexOf(head);
  if (start < 0) throw new Error(`no ${head}`);
  return text.slice(start, text.indexOf('\n}\n', start));
}

/** code → name, from `case 3:  // leaky-relu`, `case 3: { // leaky-relu` and `kind == 3) { // leaky-relu` labels. */
function labelledCodes(text: string): Map<number, string> {
  const codes = new Map<number, string>();
  for (const match of text.matchAll(/(?:case (\d+):|kind == (\d+)\)) *\{? *\/\/ *([a-z][a-z-]*)/g)) {
    const code = Number(match[1] ?? match[2]);
    if (codes.has(code)) throw new Error(`code ${code} labelled twice`);
    codes.set(code, match[3]!);
  }
  return codes;
}

const registry = (table: Readonly<Record<string, { code: number }>>): Map<number, string> => new Map(Object.entries(table).map(([name, op]) => [op.code, name]));

const SWITCHES: ReadonlyArray<[string, string, Readonly<Record<string, { code: number }>>]> = [
  ['src/native/kernels.cc', 'void activation_forward_run(', ACTIVATIONS],
  ['src/native/kernels.cc', 'void activation_backward_run(', ACTIVATIONS],
  ['src/native/kernels.cc', 'double output_loss(', LOSSES],
  ['src/native/kernels.cc', 'void optimizer_update(', OPTIMIZERS_BY_NAME],
  ['src/wasm/assembly/kernels.ts', 'function activationForwardRun(', ACTIVATIONS],
  ['src/wasm/assembly/kernels.ts', 'function activationBackwardRun(', ACTIVATIONS],
  ['src/wasm/assembly/kernels.ts', 'export function outputLoss(', LOSSES],
  ['src/wasm/assembly/kernels.ts', 'export function optimizerUpdate(', OPTIMIZERS_BY_NAME],
];

for (const [file, head, table] of SWITCHES) {
  test(`${file} ${head.replace(/\($/, '')} switches on exactly the registry's codes, each labelled with its op`, (t) => {
    const found = labelledCodes(body(source(file), head));
    t.deepEqual([...found.entries()].sort(([a], [b]) => a - b), [...registry(table).entries()].sort(([a], [b]) => a - b));
  });
}

test('registry codes are 0, 1, 2, … in each table, so that a switch has no gaps', (t) => {
  for (const table of [ACTIVATIONS, LOSSES, OPTIMIZERS_BY_NAME] as const) {
    const codes = Object.values(table).map((op) => op.code).sort((a, b) => a - b);
    t.deepEqual(codes, codes.map((_, i) => i));
  }
});

test('every hyper-parameter is an option row with the registry default, and every optimizer reads only declared ones', (t) => {
  for (const [name, hyper] of Object.entries(HYPER_PARAMETERS) as [HyperName, (typeof HYPER_PARAMETERS)[HyperName]][]) {
    const row = OPTIONS[name];
    t.is(row.default, hyper.default, name);
    t.is(row.cli.type, 'number', name);
    t.notThrows(() => row.check(hyper.default), name);
    t.throws(() => row.check(hyper.min - 1), undefined, `${name}: below its minimum`);
  }
  for (const [name, op] of Object.entries(OPTIMIZERS_BY_NAME)) {
    for (const h of op.hyper) t.true(h in HYPER_PARAMETERS, `${name} reads ${h}`);
    t.true(op.state.length <= 2, `${name}: the kernels take two state buffers at most`);
  }
});
