// Turns a --data spec into a Dataset: builtin:NAME, an IDX directory or images file, or a CSV file.
import { InputError , optionRef } from '../errors.js';
import { builtinDataset, builtinPending, type BuiltinOptions } from './builtin.js';
import { loadCsv, type CsvOptions } from './csv.js';
import { materialize, pendingFrom, type Dataset, type PendingDataset, type Targets } from './dataset.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, idxDirectoryFiles, isIdxDirectory, loadIdxDataset, loadIdxImages, openIdxDirectory, sniffIdxMagic } from './idx.js';

export interface LoadOptions extends Partial<CsvOptions> {
  /** Parameters of builtin sets (defaults: the set's own; seed 1). */
  builtin?: BuiltinOptions | undefined;
  /** Labels (IDX idx1-ubyte, plain or .gz) for a spec that is an IDX images file: --labels. */
  labelsFile?: string | undefined;
}

export async function loadDataset(spec: string, given: LoadOptions = {}): Promise<Dataset> {
  const options = withDefaults(given);
  if (spec.startsWith('builtin:')) return builtinDataset(spec.slice('builtin:'.length), options.builtin);
  if (await isIdxDirectory(spec)) {
    const { training } = await idxDirectoryFiles(spec);
    return conformIdx(await loadIdxDataset(training.images, training.labels), options);
  }
  const magic = await sniffIdxMagic(spec);
  if (magic === IDX_IMAGES_MAGIC) return loadIdxImagesFile(spec, options);
  if (magic === IDX_LABELS_MAGIC) throw new InputError(`${spec}: is an IDX labels file; pass the images file as the data and this one as ${optionRef('labels')}`);
  if (options.labelsFile !== undefined) throw new InputError(`${optionRef('labels')} ${options.labelsFile}: only goes with an IDX images file, and ${spec} is not one`);
  return loadCsv(spec, options);
}

/**
 * The training set and, for an MNIST-style directory with t10k-* files, its test set (class names
 * shared between the two). Any other spec has no test set of its own.
 */
export async function loadTrainingData(spec: string, options: LoadOptions = {}): Promise<{ training: Dataset; test: Dataset | undefined }> {
  const { training, test } = await openTrainingData(spec, options);
  return { training: materialize(training), test: test && materialize(test) };
}

/**
 * As loadTrainingData, but builtin sets and IDX directories come back with their features not yet
 * produced, so that training can write them straight into its shared memory.
 */
export async function openTrainingData(spec: string, given: LoadOptions = {}): Promise<{ training: PendingDataset; test: PendingDataset | undefined }> {
  const options = withDefaults(given);
  if (spec.startsWith('builtin:')) return { training: builtinPending(spec.slice('builtin:'.length), options.builtin), test: undefined };
  if (await isIdxDirectory(spec)) {
    const { training, test } = await openIdxDirectory(spec);
    return { training: conformIdx(training, options), test: test && conformIdx(test, options) };
  }
  return { training: pendingFrom(await loadDataset(spec, options)), test: undefined };
}

async function loadIdxImagesFile(spec: string, options: FullLoadOptions): Promise<Dataset> {
  if (options.labelsFile !== undefined) return conformIdx(await loadIdxDataset(spec, options.labelsFile), options);
  if (!options.allowUnlabelled) throw new InputError(`${spec}: an IDX images file needs its labels: pass ${optionRef('labels')} FILE (an idx1-ubyte file)`);
  const images = await loadIdxImages(spec);
  return conformIdx({ source: spec, rows: images.count, features: images.rows * images.cols, x: images.pixels, targets: { kind: 'none' } }, options);
}

/**
 * Applies what the caller knows, as loadCsv does for a CSV: numeric targets for regression, the
 * feature count and the class names of the training set or model (label "7" must stay class "7").
 */
function conformIdx<T extends Pick<Dataset, 'source' | 'features' | 'targets'>>(dataset: T, options: FullLoadOptions): T {
  if (options.features !== undefined && dataset.features !== options.features) {
    throw new InputError(`${dataset.source}: has ${dataset.features} features (pixels per image), but the model was trained on ${options.features}`);
  }
  const { targets } = dataset;
  if (targets.kind !== 'classes') return dataset;
  if (options.labels === 'values') {
    const values = Float32Array.from(targets.index, (c) => Number(targets.names[c]));
    return { ...dataset, targets: { kind: 'values', values } };
  }
  if (options.classNames === undefined) return dataset;
  return { ...dataset, targets: remapClasses(dataset.source, targets, options.classNames) };
}

function remapClasses(source: string, targets: Extract<Targets, { kind: 'classes' }>, classNames: readonly string[]): Targets {
  const known = new Map(classNames.map((name, i) => [name, i]));
  const index = new Int32Array(targets.index.length);
  for (let r = 0; r < index.length; r++) {
    const name = targets.names[targets.index[r]!]!;
    const mapped = known.get(name);
    if (mapped === undefined) throw new InputError(`${source}: image ${r} has label "${name}", which was not among the training labels (${classNames.join(', ')})`);
    index[r] = mapped;
  }
  return { kind: 'classes', index, names: [...classNames] };
}

type FullLoadOptions = CsvOptions & { builtin: BuiltinOptions; labelsFile?: string | undefined };

function withDefaults(options: LoadOptions): FullLoadOptions {
  if (typeof options !== 'object' || options === null) throw new InputError('loadDataset: options must be an object');
  return { ...options, labels: options.labels ?? 'classes', builtin: options.builtin ?? { seed: 1 } };
}
