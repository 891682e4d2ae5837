// The native kernels (src/native, through src/math/native-kernels.ts) against the TypeScript reference,
// at every instruction-set level this machine can run; the checks live in helpers/kernel-agreement.ts.
import { Worker } from 'node:worker_threads';
import { loadNativeKernels, nativeIsa, nativeIsaLevels, nativeKernelsAvailable, nativeUnavailableReason } from '../src/math/native-kernels.js';
import { memory, registerAgreementTests } from './helpers/kernel-agreement.js';
import { nativeSkipNote, nativeTest } from './helpers/native.js';

nativeTest(`the native addon was built by npm install and loads${nativeSkipNote}`, (t) => {
  t.true(nativeKernelsAvailable(), nativeUnavailableReason());
  t.true(nativeIsaLevels().includes('generic'), `levels: ${nativeIsaLevels().join(', ')}`);
  t.is(loadNativeKernels(memory).name, `native-${nativeIsa().isa}`);
});

for (const isa of nativeIsaLevels()) registerAgreementTests(`native-${isa}`, loadNativeKernels(memory, { isa }));

nativeTest(`GRADPOOL_NATIVE_ISA picks a level, and a level the CPU lacks or an unknown name falls back to the best one with a reason${nativeSkipNote}`, (t) => {
  const saved = process.env.GRADPOOL_NATIVE_ISA;
  try {
    const levels = nativeIsaLevels();
    process.env.GRADPOOL_NATIVE_ISA = 'generic';
    t.deepEqual(nativeIsa(), { isa: 'generic', note: '' });
    process.env.GRADPOOL_NATIVE_ISA = 'sse9';
    t.deepEqual(nativeIsa(), { isa: levels[0]!, note: `GRADPOOL_NATIVE_ISA=sse9: levels are avx512, avx2, generic; using ${levels[0]}` });
    if (!levels.includes('avx512')) {
      process.env.GRADPOOL_NATIVE_ISA = 'avx512';
      t.regex(nativeIsa().note, /avx512: (this CPU lacks it|the addon was built without it); using/);
    }
  } finally {
    if (saved === undefined) delete process.env.GRADPOOL_NATIVE_ISA;
    else process.env.GRADPOOL_NATIVE_ISA = saved;
  }
});

nativeTest(`an unsupported level is refused by name${nativeSkipNote}`, (t) => {
  t.throws(() => loadNativeKernels(memory, { isa: 'avx9' as never }), { instanceOf: RangeError, message: /avx9/ });
});

nativeTest(`a worker thread loads the addon and computes in place on the same shared memory, also after the memory grew${nativeSkipNote}`, async (t) => {
  const grow = new WebAssembly.Memory({ initial: 20, maximum: 40, shared: true });
  const main = new Float32Array(grow.buffer, 1 << 20, 16);
  main.set([1, 2, 3, 4]);
  grow.grow(10);
  // in the worker: z[0] = a[0..3]·w[0..3] + b[0] with a = main[0..4), w = b = ones placed after it
  const source = `
    import { workerData, parentPort } from 'node:worker_threads';
    const { loadNativeKernels } = await import(workerData.module);
    const k = loadNativeKernels(workerData.memory);
    const v = (offset, n) => new Float32Array(workerData.memory.buffer, (1 << 20) + offset * 4, n);
    v(4, 5).fill(1);
    k.denseForward(v(9, 1), v(0, 4), v(4, 4), v(8, 1), 1, 4, 1);
    parentPort.postMessage(k.name);
  `;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(source)}`), {
    workerData: { memory: grow, module: new URL('../src/math/native-kernels.js', import.meta.url).href },
  });
  const name = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  t.is(name, `native-${nativeIsa().isa}`);
  t.is(new Float32Array(grow.buffer, 1 << 20, 16)[9], 1 + 2 + 3 + 4 + 1);
});
