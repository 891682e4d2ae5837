// Turns a --data spec into a dataset description: builtin:NAME, an IDX directory or images file, or a
// CSV file. What the caller knows already (a model's schema and classes, or the training set's for
// --test-data) goes into the source, which reads the file accordingly: nothing is remapped after.
import { InputError, optionRef } from '../errors.js';
import { assertRegularInput } from '../io/read.js';
import { builtinDescription, type BuiltinOptions } from './builtin.js';
import { openCsv, type CsvOptions } from './csv.js';
import { describeDataset, materialize, type DataDescription, type Dataset, type TargetExpectation } from './dataset.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, isIdxDirectory, openIdxDataset, openIdxDirectory, openIdxImagesFile, sniffIdxMagic } from './idx.js';
import type { Schema } from './schema.js';
import { THOUSANDS_MARKS, type ThousandsMark } from './csv/numbers.js';
export { ENCODINGS } from './csv/source.js';

/** --thousands as the command line writes it: the marks, and "space" for a space. */
export const THOUSANDS_CHOICES: readonly (ThousandsMark | 'space')[] = [...THOUSANDS_MARKS, 'space'];

/** The options that say how a CSV file is written, picked from resolved options (train, evaluate, predict read files alike). */
export function csvReading(o: {
  readonly delimiter?: string | undefined;
  readonly decimal?: '.' | ',' | undefined;
  readonly header?: 'auto' | 'yes' | 'no' | undefined;
  readonly naValues?: readonly string[] | undefined;
  readonly encoding?: CsvOptions['encoding'];
  readonly thousands?: ThousandsMark | 'space' | undefined;
  readonly comment?: string | undefined;
  readonly skipRows?: number | undefined;
  readonly skipFooter?: number | undefined;
  readonly dayfirst?: boolean | undefined;
}): CsvOptions {
  const { delimiter, decimal, header, naValues, encoding, comment, skipRows, skipFooter, dayfirst } = o;
  return { delimiter, decimal, header, naValues, encoding, thousands: o.thousands, comment, skipRows, skipFooter, dayfirst };
}

export interface LoadOptions extends CsvOptions {
  /** Parameters of builtin sets (defaults: the set's own; seed 1). */
  builtin?: BuiltinOptions | undefined;
  /** Labels (IDX idx1-ubyte, plain or .gz) for a spec that is an IDX images file: --labels. */
  labelsFile?: string | undefined;
}

export interface OpenedData {
  readonly training: DataDescription;
  /** An IDX directory's t10k set, or --test-data. */
  readonly test: DataDescription | undefined;
}

/** The dataset a spec names, its schema included (`dataset.schema`, null for plain numeric inputs). */
export async function loadDataset(spec: string, options: LoadOptions = {}): Promise<Dataset> {
  return materialize((await openData(spec, options)).training);
}

/**
 * The training set and, for an MNIST-style directory with t10k-* files, its test set (class names
 * shared between the two). Any other spec has no test set of its own.
 */
export async function loadTrainingData(spec: string, options: LoadOptions = {}): Promise<{ training: Dataset; test: Dataset | undefined }> {
  const { training, test } = await openData(spec, options);
  return { training: materialize(training), test: test && materialize(test) };
}

/** Opens one spec: its kind decides the source. Features are written later, where the caller wants them. */
export async function openData(spec: string, given: LoadOptions = {}): Promise<OpenedData> {
  if (typeof given !== 'object' || given === null) throw new InputError('loadDataset: options must be an object');
  const options = given;
  const expect: TargetExpectation = { target: options.labels, classNames: options.classNames, features: options.features };
  if (spec.startsWith('builtin:')) return { training: builtinDescription(spec.slice('builtin:'.length), options.builtin ?? { seed: 1 }, expect), test: undefined };
  // A device or FIFO is refused before anything opens it (a FIFO without a writer would block the
  // open, and the process's exit, for ever; /dev/zero never ends).
  await assertRegularInput(spec, spec, true);
  if (options.labelsFile !== undefined) await assertRegularInput(options.labelsFile, `${optionRef('labels')} ${options.labelsFile}`);
  if (await isIdxDirectory(spec)) return openIdxDirectory(spec, expect);
  const magic = await sniffIdxMagic(spec);
  if (magic === IDX_IMAGES_MAGIC) {
    if (options.labelsFile !== undefined && !options.ignoreLabels) return { training: await openIdxDataset(spec, options.labelsFile, expect), test: undefined };
    if (!options.allowUnlabelled && !options.ignoreLabels) throw new InputError(`${spec}: an IDX images file needs its labels: pass ${optionRef('labels')} FILE (an idx1-ubyte file)`);
    return { training: await openIdxImagesFile(spec, expect), test: undefined };
  }
  if (magic === IDX_LABELS_MAGIC) throw new InputError(`${spec}: is an IDX labels file; pass the images file as the data and this one as ${optionRef('labels')}`);
  if (options.labelsFile !== undefined) throw new InputError(`${optionRef('labels')} ${options.labelsFile}: only goes with an IDX images file, and ${spec} is not one`);
  return { training: await openCsv(spec, options), test: undefined };
}

/**
 * What training reads: the data (a spec, or a Dataset in memory) and its test set: an IDX directory's
 * own, or --test-data read as the training set was (the same columns by name, classes, scaling).
 */
export async function openTrainingData(data: string | Dataset, options: LoadOptions & { testData?: string | undefined }): Promise<OpenedData> {
  const { testData, ...rest } = options;
  const opened = typeof data === 'string' ? await openData(data, rest) : { training: describeDataset(data), test: undefined };
  const { training } = opened;
  if (training.targets.kind === 'none') throw new InputError(`${training.source}: no label column`);
  if (!testData) return opened;
  const test = (
    await openData(testData, {
      ...rest,
      ...againstTraining(training),
      builtin: rest.builtin ? { ...rest.builtin, seed: rest.builtin.seed + 1 } : undefined,
    })
  ).training;
  if (test.features !== training.features) throw new InputError(`${optionRef('testData')} ${test.source}: has ${test.features} features, the training data has ${training.features}`);
  return { training, test };
}

/** Reading more data as the training set was read. */
function againstTraining(training: DataDescription): LoadOptions {
  const { targets, schema } = training;
  return {
    schema,
    features: schema ? undefined : training.features,
    classNames: targets.kind === 'classes' ? targets.names : undefined,
    labels: targets.kind === 'values' ? 'values' : 'classes',
    owner: 'the training data',
  };
}

/** What a trained model fixes about the data it reads. */
export interface ModelFacts {
  readonly schema: Schema | null;
  readonly inputs: number;
  /** Class names, or null for regression. */
  readonly labels: readonly string[] | null;
}

/**
 * The rows a model evaluates or predicts: an IDX directory's test set when it has one, else the data
 * itself; columns by name when the model has a schema; predict reads no labels at all.
 */
export async function openForModel(spec: string, model: ModelFacts, purpose: 'evaluate' | 'predict', options: LoadOptions = {}): Promise<DataDescription> {
  const predict = purpose === 'predict';
  const { training, test } = await openData(spec, {
    ...options,
    schema: model.schema,
    features: model.schema ? undefined : model.inputs,
    classNames: predict ? undefined : (model.labels ?? undefined),
    labels: model.labels === null ? 'values' : 'classes',
    ignoreLabels: predict,
    allowUnlabelled: predict,
  });
  const chosen = test ?? training;
  if (chosen.features !== model.inputs) throw new InputError(`${chosen.source}: has ${chosen.features} features, the model expects ${model.inputs}`);
  return chosen;
}
