// Handing a run to torchrun: `gradpool export --format torch` writes a directory with the network as
// an nn.Module (model.py), a DDP training script that is gradpool's `train --init` of the exported
// weights (train_ddp.py, with this run's hyper-parameters in its CONFIG), the weights with their
// metadata (model.safetensors: schema, labels, scaling), and a README with the torchrun commands.
// The Python files live beside this module's source (src/torch/*.py) and are copied as they are,
// with the settings written into one marked line.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { schemaToJson, type Schema } from '../data/schema.js';
import { InputError, optionRef } from '../errors.js';
import { checkOutputDirectory, writeDirectoryAtomic } from '../io/directory.js';
import { loadModel, type Model } from '../model/model.js';
import { checkPathOptions } from '../options/paths.js';
import { resolveOptions, type OptionsInput } from '../options/resolve.js';
import { serializeSafetensors } from '../model/safetensors.js';
import { STEP_EVERY_EPOCHS, STEP_FACTOR } from '../optim/schedule.js';

/** The manifest a torch export writes; an export directory is replaced only while it matches. */
export const TORCH_MANIFEST = 'gradpool-export.json';
export const TORCH_FORMAT = 'gradpool-torch-export';

/** What the run does: the `train` options a torch export carries (those of `train --init`). */
export interface TorchRunSettings {
  readonly data?: string | undefined;
  readonly testData?: string | undefined;
  /** One label column, or several (a multi-output regression): a list, or "a,b" read as train reads it. */
  readonly labelColumn?: string | number | readonly (string | number)[] | undefined;
  readonly delimiter?: string | undefined;
  readonly decimal?: '.' | ',' | undefined;
  readonly header: 'auto' | 'yes' | 'no';
  readonly naValues?: readonly string[] | undefined;
  readonly mode: 'minibatch' | 'batch' | 'sgd';
  readonly batchSize: number;
  readonly epochs: number;
  readonly lr: number;
  readonly lrSchedule: string;
  readonly optimizer: string;
  readonly momentum: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** rmsprop's smoothing constant, where the options have it. */
  readonly alpha?: number | undefined;
  readonly weightDecay: number;
  readonly seed: number;
  readonly valSplit: number;
  readonly patience?: number | undefined;
  /** balanced: the loss weighted per class, fitted on the run's training rows (as train --class-weight). */
  readonly classWeight?: 'none' | 'balanced' | undefined;
}

/** What model.py and train_ddp.py implement; anything else is refused at export (exit 2), naming it. */
const SUPPORTED = {
  activations: ['relu', 'sigmoid', 'tanh'],
  losses: ['bce', 'cross-entropy', 'mse'],
  optimizers: ['sgd', 'momentum', 'adam'],
  schedules: ['constant', 'step', 'cosine'],
  missing: ['error', 'impute', 'drop'],
  schemaKeys: ['columns', 'missing', 'naValues'],
  columnKeys: {
    numeric: ['kind', 'name', 'fill', 'format'],
    date: ['kind', 'name', 'fill', 'order', 'parts', 'partFills'],
    categorical: ['kind', 'name', 'levels', 'missingLevel', 'other'],
    ignored: ['kind', 'name', 'reason'],
    label: ['kind', 'name'],
  } as Record<string, string[]>,
  targetScalingKeys: ['offset', 'scale', 'perTarget'],
} as const;

/** Throws InputError naming the first thing of the model or settings the generated script does not implement. */
export function checkTorchExportable(model: Model, settings: TorchRunSettings, source: string): void {
  const refuse = (what: string): never => {
    throw new InputError(`${optionRef('format')} torch: ${source} ${what}, which the generated PyTorch script does not implement; export it as safetensors or ONNX instead`);
  };
  if (!(SUPPORTED.activations as readonly string[]).includes(model.shape.activation)) refuse(`uses the ${model.shape.activation} activation`);
  if (!(SUPPORTED.losses as readonly string[]).includes(model.shape.loss)) refuse(`uses the ${model.shape.loss} loss`);
  if (!(SUPPORTED.optimizers as readonly string[]).includes(settings.optimizer)) throw new InputError(`${optionRef('optimizer')} ${settings.optimizer} is not implemented by the generated PyTorch script (${SUPPORTED.optimizers.join(', ')})`);
  if (!(SUPPORTED.schedules as readonly string[]).includes(settings.lrSchedule)) throw new InputError(`${optionRef('lrSchedule')} ${settings.lrSchedule} is not implemented by the generated PyTorch script (${SUPPORTED.schedules.join(', ')})`);
  if (model.schema) checkSchema(model.schema, refuse);
  if (model.targetScaling) {
    const keys = Object.keys(model.targetScaling);
    if (keys.some((k) => !(SUPPORTED.targetScalingKeys as readonly string[]).includes(k))) refuse(`scales its target with ${keys.join(', ')}`);
  }
}

/** The schema as its file stores it, held to the features the script reads (csvread may add more). */
function checkSchema(schema: Schema, refuse: (what: string) => never): void {
  const json = schemaToJson(schema) as Record<string, unknown>;
  for (const key of Object.keys(json)) if (!(SUPPORTED.schemaKeys as readonly string[]).includes(key)) refuse(`has a schema with "${key}"`);
  if (!(SUPPORTED.missing as readonly string[]).includes(schema.missing)) refuse(`treats missing cells by "${schema.missing}"`);
  for (const column of json.columns as Record<string, unknown>[]) {
    const allowed = SUPPORTED.columnKeys[String(column.kind)];
    if (!allowed) refuse(`reads column "${String(column.name)}" as ${String(column.kind)}`);
    const extra = Object.keys(column).find((key) => !allowed!.includes(key));
    if (extra !== undefined) refuse(`reads column "${String(column.name)}" with "${extra}"`);
  }
}

/** The train_ddp.py settings, as the Python literal of its CONFIG line. */
function configLine(settings: TorchRunSettings): string {
  const config = {
    data: settings.data === undefined ? null : settings.data.startsWith('builtin:') ? null : resolve(settings.data),
    testData: settings.testData === undefined ? null : resolve(settings.testData),
    labelColumn: settings.labelColumn === undefined ? null : Array.isArray(settings.labelColumn) ? settings.labelColumn.map(String) : String(settings.labelColumn),
    delimiter: settings.delimiter ?? null,
    decimal: settings.decimal ?? null,
    header: settings.header,
    naValues: settings.naValues ?? [],
    mode: settings.mode,
    batchSize: settings.batchSize,
    epochs: settings.epochs,
    lr: settings.lr,
    lrSchedule: settings.lrSchedule,
    optimizer: settings.optimizer,
    momentum: settings.momentum,
    beta1: settings.beta1,
    beta2: settings.beta2,
    epsilon: settings.epsilon,
    alpha: settings.alpha ?? 0.99,
    weightDecay: settings.weightDecay,
    seed: settings.seed,
    valSplit: settings.valSplit,
    patience: settings.patience ?? null,
    classWeight: settings.classWeight ?? 'none',
    stepEveryEpochs: STEP_EVERY_EPOCHS,
    stepFactor: STEP_FACTOR,
  };
  const entries = Object.entries(config).map(([key, value]) => `    ${JSON.stringify(key)}: ${pythonLiteral(value)},`);
  return ['# Written by gradpool export: the run it continues. Each entry is also a flag of this script.', 'CONFIG = {', ...entries, '}'].join('\n');
}

/** A JSON value as Python source (a JSON string is a Python string literal; numbers as JavaScript writes them read back the same). */
function pythonLiteral(value: unknown): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (Array.isArray(value)) return `[${value.map(pythonLiteral).join(', ')}]`;
  return JSON.stringify(value);
}

const PYTHON_DIR = new URL('../../../src/torch/', import.meta.url);

async function pythonSource(name: string): Promise<string> {
  return readFile(new URL(name, PYTHON_DIR), 'utf8');
}

/** The files of a torch export, by name. */
export async function torchExportFiles(model: Model, settings: TorchRunSettings, version: string): Promise<Map<string, string | Uint8Array>> {
  const script = await pythonSource('train_ddp.py');
  if (!script.includes('# @CONFIG@')) throw new Error('src/torch/train_ddp.py lost its # @CONFIG@ line');
  const weights = serializeSafetensors(model.shape, model.layers, model.labels, model.normalization, { schema: model.schema, targetScaling: model.targetScaling, heldOut: model.heldOut });
  return new Map<string, string | Uint8Array>([
    ['model.py', await pythonSource('model.py')],
    ['train_ddp.py', script.replace('# @CONFIG@', configLine(settings))],
    ['model.safetensors', weights],
    ['README.md', readme(model, settings, version)],
  ]);
}

/** The library's options for a torch export: train's run options, `init` (the model to continue) and `out` (the directory). */
export type TorchExportOptions = OptionsInput<'export'>;

/**
 * Writes the directory for torchrun: the run that `train` with these options and `init` would be,
 * as a whole (temporary directory, then rename). Returns the directory and the files written.
 */
export async function exportTorch(options: TorchExportOptions): Promise<{ out: string; files: string[] }> {
  const resolved = resolveOptions('export', options);
  const { init, data } = resolved;
  if (init === undefined) throw new InputError(`${optionRef('format')} torch needs the model to start from: ${optionRef('model')} M (or ${optionRef('init')} M, as train takes it)`);
  if (data !== undefined && typeof data !== 'string') throw new InputError(`${optionRef('data')}: a torch export names a CSV file for the script to read, not a Dataset in memory`);
  // Inputs here; the output is a directory: new, empty, or an unchanged earlier export.
  await checkPathOptions('export', { ...resolved, out: undefined });
  const out = resolved.out!;
  await checkOutputDirectory(optionRef('out'), out, TORCH_MANIFEST, TORCH_FORMAT);
  const model = typeof init === 'string' ? await loadModel(init) : init;
  const settings: TorchRunSettings = { ...resolved, data };
  checkTorchExportable(model, settings, typeof init === 'string' ? init : 'the model');
  const files = await torchExportFiles(model, settings, packageVersion());
  await writeDirectoryAtomic(optionRef('out'), out, files, TORCH_MANIFEST, TORCH_FORMAT);
  return { out, files: [...files.keys(), TORCH_MANIFEST] };
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function readme(model: Model, settings: TorchRunSettings, version: string): string {
  const data = settings.data && !settings.data.startsWith('builtin:') ? resolve(settings.data) : 'DATA.csv';
  const sizes = model.shape.sizes.join('-');
  const optimizer = settings.optimizer === 'adam' ? `adam (β1 ${settings.beta1}, β2 ${settings.beta2}, ε ${settings.epsilon})` : settings.optimizer === 'momentum' ? `momentum ${settings.momentum}` : 'sgd';
  const batch = settings.mode === 'batch' ? 'the whole training set' : settings.mode === 'sgd' ? '1 row' : `${settings.batchSize} rows`;
  return `# A gradpool run for torchrun (PyTorch DDP)

Written by gradpool ${version} (\`gradpool export --format torch\`). The network is ${sizes}, ${model.shape.activation}, ${model.shape.loss} loss${model.labels ? `, classes ${model.labels.slice(0, 10).join(', ')}${model.labels.length > 10 ? ', …' : ''}` : ', regression'}.

| file | what it is |
| --- | --- |
| \`model.safetensors\` | the starting weights, with the model's schema, labels and scaling in its metadata |
| \`model.py\` | \`GradpoolNet\`: the network as an \`nn.Sequential\` whose names match the weights; \`load(path)\` |
| \`train_ddp.py\` | the run: ${settings.epochs} epochs, batch ${batch} (global, split over the ranks), lr ${settings.lr} (${settings.lrSchedule}), ${optimizer}, weight decay ${settings.weightDecay}, seed ${settings.seed}, validation split ${settings.valSplit}${settings.patience === undefined ? '' : `, patience ${settings.patience}`} |
| \`${TORCH_MANIFEST}\` | what gradpool wrote (a later export may replace this directory only while these files are unchanged) |

## Run it

One machine, two processes (CPU: gloo; with CUDA: NCCL, one GPU per process):

\`\`\`sh
torchrun --standalone --nproc_per_node=2 train_ddp.py --data ${data} --out trained.safetensors
\`\`\`

Several machines (run the same line on each, with its own \`--node_rank\`; HOST:29500 is reachable from all):

\`\`\`sh
torchrun --nnodes=2 --nproc_per_node=8 --node_rank=0 --rdzv_backend=c10d --rdzv_endpoint=HOST:29500 --rdzv_id=gradpool train_ddp.py --data ${data} --out trained.safetensors
\`\`\`

Every flag of the run can be changed on the script's command line (\`python3 train_ddp.py --help\`):
\`--epochs\`, \`--lr\`, \`--batch-size\`, \`--test-data\`, \`--log-json\`, \`--threads\` (CPU threads per
process; default: the cores over the processes of the node), \`--device cpu\`, …

Data larger than one machine's memory: add \`--shard-data\`. Each process then keeps only its share
of the rows (the file is read twice, once to count the rows); batches are drawn from each process's
own rows, so the batch order is no longer gradpool's (a full batch, \`--mode batch\`, still is).

On Debian's python3-torch 1.13 under Python 3.11, add \`--redirects 2 --tee 2\` after \`torchrun\` (its
default 0 fails on an enum change in Python 3.11), and use \`--rdzv_backend=c10d
--rdzv_endpoint=127.0.0.1:PORT\` instead of \`--standalone\` to run two jobs side by side (its port
is fixed at 29400).

## Bring it back

\`\`\`sh
gradpool import trained.safetensors --out trained.json      # or use trained.safetensors directly
gradpool evaluate --model trained.json --data test.csv
gradpool predict --model trained.json --data new.csv --out predictions.csv
gradpool export --model trained.json --format onnx --out trained.onnx
\`\`\`

## What is the same as gradpool

The run is gradpool's \`train --init model.safetensors\` with the same flags: the same validation
split and batch order (gradpool's seeded streams, reproduced bit for bit), each step the mean gradient
of the whole global batch, the same optimizer update, learning-rate schedule and early stopping. The
CSV file is read through the model's schema as gradpool reads it: columns by name, numbers (decimal
comma where the file uses one; currency signs, thousands separators, percents and (negatives) as the
training file wrote them), dates and times (ISO, slashed month or day first as the model reads them,
dotted) with their month, weekday and hour inputs, one-hot levels (an unseen value is all zeros, or
the "other" level of a column of many), missing cells refused, imputed or dropped as the model was
trained, then the model's scaling and label order; regression targets (one, or several) are scaled as
in training and a single target's losses are reported in its units; \`--class-weight balanced\`
weighs each training row's loss by its class, fitted on the training rows. Results match gradpool's
to float32 rounding (the sums run in another order), not bit for bit.

Without \`--shard-data\`, every process keeps all the encoded rows (rows × ${model.inputs} float32) in memory.
`;
}
