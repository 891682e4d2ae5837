// The wasm SIMD kernels against the TypeScript reference (the checks live in helpers/kernel-agreement.ts).
// Both builds are checked: plain SIMD always, and relaxed SIMD where this Node validates it (Node 22+);
// on a Node that needs a flag for it (Node 20), a child node with --experimental-wasm-relaxed-simd runs
// this file's relaxed-SIMD tests.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadWasmKernels, relaxedWasmKernelsAvailable, wasmKernelsAvailable } from '../src/math/wasm-kernels.js';
import { memory, registerAgreementTests, RESERVED } from './helpers/kernel-agreement.js';

test('wasm kernels are available after the build and instantiate against a 300-page shared memory', (t) => {
  t.true(wasmKernelsAvailable());
  t.is(loadWasmKernels(memory, { relaxedSimd: false }).name, 'wasm-simd');
  t.is(memory.buffer.byteLength, 300 * 65536);
});

test('the wasm module keeps its own data below 1 MiB and leaves the rest of memory untouched on instantiation', (t) => {
  const fresh = new WebAssembly.Memory({ initial: 20, maximum: 20, shared: true });
  const view = new Uint32Array(fresh.buffer);
  loadWasmKernels(fresh);
  let highest = -1;
  for (let i = view.length - 1; i >= 0; i--) if (view[i] !== 0) { highest = i; break; }
  t.true(highest * 4 < RESERVED, `highest nonzero byte ${highest * 4}`);
});

registerAgreementTests('wasm-simd', loadWasmKernels(memory, { relaxedSimd: false }));

if (relaxedWasmKernelsAvailable()) {
  test('the relaxed-SIMD build loads by default where this Node validates relaxed SIMD', (t) => {
    t.is(loadWasmKernels(memory).name, 'wasm-relaxed-simd');
  });
  registerAgreementTests('wasm-relaxed-simd', loadWasmKernels(memory, { relaxedSimd: true }));
} else {
  test('the relaxed-SIMD build passes the agreement checks in a child node with --experimental-wasm-relaxed-simd', (t) => {
    t.is(loadWasmKernels(memory).name, 'wasm-simd', 'without relaxed SIMD the plain build runs');
    const root = fileURLToPath(new URL('../../', import.meta.url)); // from dist/test
    const ava = `${root}node_modules/ava/entrypoints/cli.mjs`; // the package exports no path to its bin
    const child = spawnSync(process.execPath, [ava, '--node-arguments=--experimental-wasm-relaxed-simd', '--match=*relaxed*', fileURLToPath(import.meta.url)], {
      cwd: root,
      encoding: 'utf8',
      timeout: 100_000,
    });
    const output = `${child.stdout}${child.stderr}`;
    t.is(child.status, 0, output);
    t.regex(output, /wasm-relaxed-simd dense forward matches the reference/, 'the child ran the relaxed-SIMD checks');
    t.notRegex(output, /\d+ tests? failed/, output);
  });
}
