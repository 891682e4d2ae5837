// The arena: one shared WebAssembly.Memory (its buffer is a SharedArrayBuffer) holding the dataset,
// targets, epoch order, parameters, one gradient slab per shard, per-shard statistics and one
// scratch area per compute slot. Allocated once per run; workers attach once. Offsets are plain
// numbers in a JSON-able layout, so a worker rebuilds the same views from workerData.
import { InputError } from '../errors.js';
import { alignFloats, layerViews, parameterLayout, type LayerViews, type NetworkShape, type ParameterLayout } from '../model/layout.js';
import { TILE_ROWS, chunkBufferLayout, type ChunkBuffers } from '../model/network.js';
import { CONTROL_FLOAT_WORDS, CONTROL_INT_WORDS } from './control.js';

/** The first MiB belongs to the wasm kernels module (its stack / static data); ours starts after. */
export const RESERVED_BYTES = 1 << 20;
const PAGE_BYTES = 65536;
const MAX_PAGES = 65536; // wasm32: 4 GiB

export interface ArenaPlan {
  readonly shape: NetworkShape;
  /** Rows in the data region (training + validation + test rows). */
  readonly rows: number;
  /** Rows a scratch area holds at once; shards longer than this are processed in chunks. */
  readonly chunkRows: number;
  /** Gradient slabs: the most shards any batch is cut into. */
  readonly maxShards: number;
  /** Scratch areas: one per compute thread (slot 0 is the coordinator's). */
  readonly slots: number;
  /** Parameter-sized optimizer state buffers (momentum's velocity, Adam's moments). */
  readonly stateBuffers: number;
  /** Dropout on the hidden layers during training (rate 0: none), seeded by the run. */
  readonly dropout?: { readonly rate: number; readonly seed: number } | undefined;
}

/** Offsets in float32 elements from the start of the memory (also valid for Int32 views). */
export interface ArenaLayout {
  readonly plan: ArenaPlan;
  readonly params: ParameterLayout;
  readonly pages: number;
  readonly x: number;
  readonly y: number;
  readonly order: number;
  readonly parameters: number;
  readonly slabs: number;
  readonly slabStride: number;
  /** Float64 index of the per-shard [lossSum, correct] pairs. */
  readonly stats64: number;
  readonly scratch: number;
  readonly scratchStride: number;
  /** Float64 index of each slot's per-tile losses, then correct counts, for the chunk in its scratch area. */
  readonly tileStats64: number;
  /** Float64 index of each participant's phase timings (PHASES of them), written only when a command is profiled. */
  readonly timings64: number;
  readonly optimizerState: number;
  readonly control: number;
  /** Float64 index of the control block's real-valued words. */
  readonly controlReals64: number;
}

export function planArena(plan: ArenaPlan): ArenaLayout {
  const params = parameterLayout(plan.shape);
  const features = plan.shape.sizes[0]!;
  const outputs = plan.shape.sizes[plan.shape.sizes.length - 1]!;
  let cursor = RESERVED_BYTES / 4;
  const take = (floats: number): number => {
    const start = cursor;
    cursor += alignFloats(floats);
    return start;
  };
  const x = take(plan.rows * features);
  const y = take(plan.rows * outputs);
  const order = take(plan.rows);
  const parameters = take(params.length);
  const slabStride = params.length;
  const slabs = take(slabStride * plan.maxShards);
  const stats64 = take(plan.maxShards * 2 * 2) / 2;
  const scratchStride = scratchLayout(plan).floats;
  const scratch = take(scratchStride * plan.slots);
  const tileStats64 = take(plan.slots * tilesPerChunk(plan) * 2 * 2) / 2;
  const timings64 = take(plan.slots * PHASES.length * 2) / 2;
  const optimizerState = take(params.length * plan.stateBuffers);
  const control = take(CONTROL_INT_WORDS);
  const controlReals64 = take(CONTROL_FLOAT_WORDS * 2) / 2;
  const bytes = cursor * 4;
  const pages = Math.ceil(bytes / PAGE_BYTES);
  if (pages > MAX_PAGES) {
    throw new InputError(`data and model need ${(bytes / 2 ** 30).toFixed(1)} GiB of shared memory; one arena holds at most 4 GiB (use fewer rows, features or a smaller batch)`);
  }
  return { plan, params, pages, x, y, order, parameters, slabs, slabStride, stats64, scratch, scratchStride, tileStats64, timings64, optimizerState, control, controlReals64 };
}

function tilesPerChunk(plan: ArenaPlan): number {
  return Math.ceil(plan.chunkRows / TILE_ROWS);
}

/** What a profiled participant times, in this order (milliseconds summed over the command). */
export const PHASES = ['compute', 'team waits', 'step barrier', 'reduce and update'] as const;

export function allocateArena(layout: ArenaLayout): WebAssembly.Memory {
  // The maximum is the plan's own size: the arena never grows, and without guard pages V8 reserves
  // exactly the maximum. With them (Node's default) any memory reserves 10 GiB of address space,
  // which a limit (ulimit -v) may not allow: the CLI then relaunches itself (cli/relaunch.ts); a
  // library caller is told how.
  try {
    return new WebAssembly.Memory({ initial: layout.pages, maximum: layout.pages, shared: true });
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new RangeError(`cannot reserve ${Math.ceil((layout.pages * PAGE_BYTES) / 2 ** 20)} MiB of shared memory (${error.message}); under a limit on address space (ulimit -v) run node with --disable-wasm-trap-handler, which lets a WebAssembly memory reserve only its size instead of 10 GiB`, { cause: error });
  }
}

/** Typed views over the whole arena, built once per thread. */
export interface ArenaViews {
  readonly heap: Float32Array;
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly order: Int32Array;
  readonly parameters: Float32Array;
  readonly parameterLayers: LayerViews[];
  readonly slabs: Float32Array[];
  readonly slabLayers: LayerViews[][];
  readonly stats: Float64Array;
  /** Per slot: the loss of each tile of the chunk in that slot's scratch area … */
  readonly tileLosses: Float64Array[];
  /** … and its count of correct predictions. */
  readonly tileCorrect: Float64Array[];
  /** Per participant (0 … slots − 1): PHASES timings of the last profiled command. */
  readonly timings: Float64Array[];
  readonly optimizerState: Float32Array[];
  readonly control: Int32Array;
  readonly controlReals: Float64Array;
}

export function arenaViews(memory: WebAssembly.Memory, layout: ArenaLayout): ArenaViews {
  const buffer = memory.buffer;
  const { plan, params } = layout;
  const features = plan.shape.sizes[0]!;
  const outputs = plan.shape.sizes[plan.shape.sizes.length - 1]!;
  const floats = (offset: number, length: number): Float32Array => new Float32Array(buffer, offset * 4, length);
  const parameters = floats(layout.parameters, params.length);
  const slabs = Array.from({ length: plan.maxShards }, (_, s) => floats(layout.slabs + s * layout.slabStride, params.length));
  return {
    heap: new Float32Array(buffer),
    x: floats(layout.x, plan.rows * features),
    y: floats(layout.y, plan.rows * outputs),
    order: new Int32Array(buffer, layout.order * 4, plan.rows),
    parameters,
    parameterLayers: layerViews(params, parameters),
    slabs,
    slabLayers: slabs.map((slab) => layerViews(params, slab)),
    stats: new Float64Array(buffer, layout.stats64 * 8, plan.maxShards * 2),
    tileLosses: Array.from({ length: plan.slots }, (_, slot) => new Float64Array(buffer, (layout.tileStats64 + slot * tilesPerChunk(plan) * 2) * 8, tilesPerChunk(plan))),
    tileCorrect: Array.from({ length: plan.slots }, (_, slot) => new Float64Array(buffer, (layout.tileStats64 + (slot * 2 + 1) * tilesPerChunk(plan)) * 8, tilesPerChunk(plan))),
    timings: Array.from({ length: plan.slots }, (_, slot) => new Float64Array(buffer, (layout.timings64 + slot * PHASES.length) * 8, PHASES.length)),
    optimizerState: Array.from({ length: plan.stateBuffers }, (_, s) => floats(layout.optimizerState + s * params.length, params.length)),
    control: controlWords(memory, layout),
    controlReals: new Float64Array(buffer, layout.controlReals64 * 8, CONTROL_FLOAT_WORDS),
  };
}

/** The control block's int words alone (a worker needs them before it knows its scratch slot). */
export function controlWords(memory: WebAssembly.Memory, layout: ArenaLayout): Int32Array {
  return new Int32Array(memory.buffer, layout.control * 4, CONTROL_INT_WORDS);
}

/** The scratch area of one compute slot, as the network's chunk buffers. */
export function scratchBuffers(memory: WebAssembly.Memory, layout: ArenaLayout, slot: number): ChunkBuffers {
  return scratchLayout(layout.plan).place(new Float32Array(memory.buffer), layout.scratch + slot * layout.scratchStride);
}

function scratchLayout(plan: ArenaPlan): ReturnType<typeof chunkBufferLayout> {
  return chunkBufferLayout(plan.shape, plan.chunkRows, (plan.dropout?.rate ?? 0) > 0);
}
