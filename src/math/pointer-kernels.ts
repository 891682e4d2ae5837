// The one adapter from the Kernels interface to kernels that take byte offsets into a shared memory:
// the WebAssembly module (wasm-kernels.ts) and the native addon (native-kernels.ts) export the same
// functions, with ops passed as their registry codes (ops.ts). Every Float32Array handed to the
// returned kernels must be a view over that memory's buffer; its byteOffset is the pointer passed on.
// Nothing is allocated per call.
import type { Kernels } from './kernels.js';
import { ACTIVATIONS, LOSSES, OPTIMIZERS_BY_NAME } from './ops.js';

/** What both the wasm module and the native addon export: offsets in bytes, sizes in elements. */
export interface PointerExports {
  denseForward(z: number, a: number, w: number, b: number, rows: number, inputs: number, outputs: number, from: number, to: number): void;
  denseBackwardParams(dw: number, db: number, dz: number, a: number, rows: number, inputs: number, outputs: number, accumulate: number, from: number, to: number): void;
  denseBackwardInput(da: number, dz: number, w: number, rows: number, inputs: number, outputs: number): void;
  activationForward(code: number, out: number, z: number, count: number, parameter: number, columns: number, stride: number): void;
  activationBackward(code: number, grad: number, saved: number, count: number, parameter: number, columns: number, stride: number): void;
  outputLoss(code: number, out: number, dz: number, y: number, rows: number, outputs: number): number;
  addInto(into: number, add: number, count: number): void;
  gatherRows(into: number, data: number, order: number, rows: number, width: number): void;
  optimizerUpdate(code: number, w: number, g: number, first: number, second: number, count: number,
    h0: number, h1: number, h2: number, h3: number, h4: number, h5: number, h6: number, h7: number): void;
}

/** A registry entry's code, or a RangeError for a name the registry lacks. */
function codeOf(table: Readonly<Record<string, { code: number }>>, name: string, what: string): number {
  const entry = table[name];
  if (entry === undefined) throw new RangeError(`unknown ${what} ${String(name)}`);
  return entry.code;
}

/** Floats that `count` elements in runs of `columns`, `stride` apart, reach (a RangeError for runs that do not tile `count`). */
function runsSpan(count: number, columns: number, stride: number): number {
  if (!(columns > 0 && count % columns === 0 && (stride >= columns || count === columns))) throw new RangeError(`activation runs: ${count} elements in runs of ${columns}, ${stride} apart`);
  return count === columns ? count : (count / columns - 1) * stride + columns;
}

/**
 * Kernels over `exports`, named `name`; `family` ("wasm kernels", "native kernels") starts the
 * messages of refused views.
 */
export function pointerKernels(name: string, family: string, memory: WebAssembly.Memory, k: PointerExports): Kernels {
  let buffer = memory.buffer;

  /** Byte offset of a view, after checking it lies in `memory` and holds at least `count` floats. */
  function ptr(view: Float32Array, count: number, what: string): number {
    if (view.buffer !== buffer) {
      buffer = memory.buffer; // a memory's buffer object is stable unless the memory grew (its address never moves)
      if (view.buffer !== buffer) throw new TypeError(`${family}: ${what} is not a view over the kernels' WebAssembly.Memory`);
    }
    if (view.length < count) throw new RangeError(`${family}: ${what} holds ${view.length} floats, needs ${count}`);
    return view.byteOffset;
  }

  return {
    name,
    denseForward(z, a, w, b, rows, inputs, outputs, from = 0, to = outputs) {
      if (rows <= 0 || outputs <= 0 || to <= from) return;
      if (!(from >= 0 && to <= outputs)) throw new RangeError(`${family}: neurons [${from}, ${to}) lie outside [0, ${outputs})`);
      k.denseForward(ptr(z, rows * outputs, 'z'), ptr(a, rows * inputs, 'a'), ptr(w, outputs * inputs, 'w'), ptr(b, outputs, 'b'), rows, Math.max(inputs, 0), outputs, from, to);
    },
    denseBackwardParams(dw, db, dz, a, rows, inputs, outputs, accumulate, from = 0, to = outputs) {
      if (outputs <= 0 || to <= from) return;
      if (!(from >= 0 && to <= outputs)) throw new RangeError(`${family}: neurons [${from}, ${to}) lie outside [0, ${outputs})`);
      k.denseBackwardParams(ptr(dw, outputs * inputs, 'dw'), ptr(db, outputs, 'db'), ptr(dz, rows * outputs, 'dz'), ptr(a, rows * inputs, 'a'), Math.max(rows, 0), Math.max(inputs, 0), outputs, accumulate ? 1 : 0, from, to);
    },
    denseBackwardInput(da, dz, w, rows, inputs, outputs) {
      if (rows <= 0 || inputs <= 0) return;
      k.denseBackwardInput(ptr(da, rows * inputs, 'da'), ptr(dz, rows * outputs, 'dz'), ptr(w, outputs * inputs, 'w'), rows, inputs, Math.max(outputs, 0));
    },
    activationForward(activation, out, z, count, parameter, columns = count, stride = columns) {
      if (count <= 0) return;
      const span = runsSpan(count, columns, stride);
      k.activationForward(codeOf(ACTIVATIONS, activation, 'activation'), ptr(out, span, 'out'), ptr(z, span, 'z'), count, parameter, columns, stride);
    },
    activationBackward(activation, grad, saved, count, parameter, columns = count, stride = columns) {
      if (count <= 0) return;
      const span = runsSpan(count, columns, stride);
      k.activationBackward(codeOf(ACTIVATIONS, activation, 'activation'), ptr(grad, span, 'grad'), ptr(saved, span, 'saved'), count, parameter, columns, stride);
    },
    outputLoss(loss, out, dz, y, rows, outputs) {
      if (rows <= 0 || outputs <= 0) return 0;
      const code = codeOf(LOSSES, loss, 'loss');
      const count = rows * outputs;
      return k.outputLoss(code, ptr(out, count, 'out'), ptr(dz, count, 'dz'), ptr(y, count, 'y'), rows, outputs);
    },
    addInto(into, add, from, to) {
      if (to <= from) return;
      k.addInto(ptr(into, to, 'into') + from * 4, ptr(add, to, 'add') + from * 4, to - from);
    },
    gatherRows(into, at, data, order, start, rows, width) {
      if (rows <= 0 || width <= 0) return;
      if (order.buffer !== memory.buffer) throw new TypeError(`${family}: order is not a view over the kernels' WebAssembly.Memory`);
      if (!(start >= 0 && start + rows <= order.length)) throw new RangeError(`${family}: order holds ${order.length} rows, needs [${start}, ${start + rows})`);
      const dataRows = Math.floor(data.length / width);
      for (let r = start; r < start + rows; r++) {
        const row = order[r]!;
        if (!(row >= 0 && row < dataRows)) throw new RangeError(`${family}: order[${r}] = ${row} is not a row of the data (${dataRows} rows)`);
      }
      k.gatherRows(ptr(into, (at + rows) * width, 'into') + at * width * 4, ptr(data, dataRows * width, 'data'), order.byteOffset + start * 4, rows, width);
    },
    optimizerUpdate(optimizer, w, g, first, second, from, to, h) {
      if (to <= from) return;
      const code = codeOf(OPTIMIZERS_BY_NAME, optimizer, 'optimizer');
      const states = OPTIMIZERS_BY_NAME[optimizer].state.length;
      // a state buffer the rule does not keep is never touched: w's offset stands in for it
      const skip = from * 4;
      const wp = ptr(w, to, 'w') + skip;
      const firstp = states > 0 ? ptr(first, to, 'first') + skip : wp;
      const secondp = states > 1 ? ptr(second, to, 'second') + skip : wp;
      k.optimizerUpdate(code, wp, ptr(g, to, 'g') + skip, firstp, secondp, to - from,
        h[0]!, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!, h[6]!, h[7]!);
    },
  };
}
