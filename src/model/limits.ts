// How large a network may be, checked from its sizes before anything is allocated for it: the same
// limits for a network a run is about to train and for one a model file (JSON, safetensors), an
// --init model or a checkpoint describes. A few header bytes must not be able to ask predict for
// gigabytes of weights or of working memory.
import { MAX_CLASSES, MAX_LEVELS } from '../data/limits.js';
import { MAX_LAYER_SIZE, parameterCount, type NetworkShape } from './layout.js';
import { chunkBufferLayout } from './network.js';

/**
 * Parameters a network may have: 2^28 float32 (1 GiB), a quarter of the 4 GiB arena a run trains
 * in, which also holds a gradient slab per shard, the optimizer state and the rows.
 */
export const MAX_PARAMETERS = 2 ** 28;

/** Layers of weights a network may have: far beyond a useful depth, and a bound on the per-layer work of reading a header. */
export const MAX_DEPTH = 1000;

/** Rows predict and evaluate push through the network at once. */
export const INFERENCE_ROWS = 256;

/** Working memory (activations, gradients, targets) of INFERENCE_ROWS rows through the network: 1 GiB. */
export const MAX_BATCH_BUFFER_BYTES = 2 ** 30;

/** 1 GiB, 1.13 GiB, 640 MiB: rounded up, so that a size just past a limit never prints as the limit. */
function size(bytes: number): string {
  const gib = bytes / 2 ** 30;
  if (gib < 1) return `${Math.ceil(bytes / 2 ** 20)} MiB`;
  return Number.isInteger(gib) ? `${gib} GiB` : `${(Math.ceil(gib * 100) / 100).toFixed(2)} GiB`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * Why a network of this shape is too large for gradpool (one line, naming the limit), or null.
 * Reads only the sizes: safe on a shape straight from a file's header.
 */
export function networkSizeProblem(shape: NetworkShape): string | null {
  const { sizes } = shape;
  const shown = sizes.length > 8 ? `${sizes.slice(0, 8).join(',')},…` : sizes.join(',');
  if (sizes.length - 1 > MAX_DEPTH) return `${count(sizes.length - 1)} layers of weights; at most ${count(MAX_DEPTH)}`;
  const parameters = parameterCount(shape);
  if (parameters > MAX_PARAMETERS) return `layer sizes ${shown} make ${count(parameters)} parameters; at most ${count(MAX_PARAMETERS)} (${size(MAX_PARAMETERS * 4)} of float32) fit a run`;
  const hidden = sizes.slice(1, -1).findIndex((s) => s > MAX_LAYER_SIZE);
  if (hidden >= 0) return `layer sizes ${shown}: hidden layer ${hidden + 1} has ${count(sizes[hidden + 1]!)} units; at most ${count(MAX_LAYER_SIZE)} (the limit of --layers)`;
  const outputs = sizes[sizes.length - 1]!;
  if (outputs > MAX_CLASSES) return `layer sizes ${shown}: ${count(outputs)} outputs; at most ${count(MAX_CLASSES)} (the most classes a label column may have)`;
  const bytes = chunkBufferLayout(shape, INFERENCE_ROWS).floats * 4;
  if (bytes > MAX_BATCH_BUFFER_BYTES) return `layer sizes ${shown} need ${size(bytes)} of working memory for a batch of ${INFERENCE_ROWS} rows; at most ${size(MAX_BATCH_BUFFER_BYTES)} (the layers are too wide)`;
  return null;
}

/**
 * Why a schema as a file records it (not yet checked) one-hots a column into more levels than
 * training would (MAX_LEVELS), or null: counted before the levels are read into a schema.
 */
export function schemaSizeProblem(raw: unknown): string | null {
  const columns = (raw as { columns?: unknown } | null)?.columns;
  if (!Array.isArray(columns)) return null; // the schema's own parser says what is wrong
  for (const [i, column] of columns.entries()) {
    const levels = (column as { levels?: unknown } | null)?.levels;
    if (Array.isArray(levels) && levels.length > MAX_LEVELS) return `schema.columns[${i}] one-hots ${count(levels.length)} levels; at most ${count(MAX_LEVELS)} (the most a categorical column may have in training)`;
  }
  return null;
}
