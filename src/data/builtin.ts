// Seeded synthetic datasets, generated straight into a flat Float32Array.
import { InputError, optionRef } from '../errors.js';
import { integerTargets, materialize, type DataDescription, type Dataset, type TargetExpectation } from './dataset.js';
import { checkValues } from './limits.js';
import { gaussian, randomStream, type Random } from './random.js';

export interface BuiltinOptions {
  samples?: number | undefined;
  features?: number | undefined;
  classes?: number | undefined;
  noise?: number | undefined;
  seed: number;
}

interface Generator {
  readonly defaults: { samples: number; features: number; classes: number; noise: number };
  /** Whether --features / --classes may change the set's shape. */
  readonly fixedFeatures: boolean;
  readonly fixedClasses: boolean;
  /** Writes sample `row` of class `label` at x[offset ... offset+features). */
  sample(x: Float32Array, offset: number, label: number, params: GeneratorParams, random: Random): void;
}

interface GeneratorParams {
  readonly samples: number;
  readonly features: number;
  readonly classes: number;
  readonly noise: number;
  /** Per-set constants computed once (e.g. blob centers). */
  readonly centers: Float32Array;
}

const generators: Record<string, Generator> = {
  // Interleaved arms of an Archimedean spiral (the classic CS231n set): not linearly separable.
  spirals: {
    defaults: { samples: 3000, features: 2, classes: 3, noise: 0.2 },
    fixedFeatures: true,
    fixedClasses: false,
    sample(x, offset, label, p, random) {
      const radius = random();
      const turn = (2 * Math.PI) / p.classes;
      const angle = label * turn + radius * 4 + gaussian(random) * p.noise;
      x[offset] = radius * Math.sin(angle);
      x[offset + 1] = radius * Math.cos(angle);
    },
  },
  // Two interleaving half circles (as scikit-learn's make_moons).
  moons: {
    defaults: { samples: 2000, features: 2, classes: 2, noise: 0.1 },
    fixedFeatures: true,
    fixedClasses: true,
    sample(x, offset, label, p, random) {
      const t = random() * Math.PI;
      x[offset] = (label === 0 ? Math.cos(t) : 1 - Math.cos(t)) + gaussian(random) * p.noise;
      x[offset + 1] = (label === 0 ? Math.sin(t) : 0.5 - Math.sin(t)) + gaussian(random) * p.noise;
    },
  },
  // A small circle inside a large one (as scikit-learn's make_circles, factor 0.5).
  circles: {
    defaults: { samples: 2000, features: 2, classes: 2, noise: 0.05 },
    fixedFeatures: true,
    fixedClasses: true,
    sample(x, offset, label, p, random) {
      const t = random() * 2 * Math.PI;
      const radius = label === 0 ? 1 : 0.5;
      x[offset] = radius * Math.cos(t) + gaussian(random) * p.noise;
      x[offset + 1] = radius * Math.sin(t) + gaussian(random) * p.noise;
    },
  },
  // Gaussian clouds around random centers, MNIST-sized by default. Centers are spread so that the
  // distance between two of them is about 4 noise units in total across all features: learnable,
  // but not in one step.
  blobs: {
    defaults: { samples: 60000, features: 784, classes: 10, noise: 1 },
    fixedFeatures: false,
    fixedClasses: false,
    sample(x, offset, label, p, random) {
      const center = label * p.features;
      for (let f = 0; f < p.features; f++) x[offset + f] = p.centers[center + f]! + gaussian(random) * p.noise;
    },
  },
};

export const BUILTIN_NAMES = Object.keys(generators);

export function builtinDataset(name: string, options: BuiltinOptions): Dataset {
  return materialize(builtinDescription(name, options));
}

/**
 * The set's size and labels now; its features generated when (and where) they are written. Labels
 * are class indices named "0", "1", …, or the classes a model knows (`expect`).
 */
export function builtinDescription(name: string, options: BuiltinOptions, expect: TargetExpectation = {}): DataDescription {
  const generator = generators[name];
  if (!generator) throw new InputError(`${optionRef('data')}: unknown builtin set "builtin:${name}" (choose from ${BUILTIN_NAMES.map((n) => `builtin:${n}`).join(', ')})`);
  const samples = options.samples ?? generator.defaults.samples;
  const features = options.features ?? generator.defaults.features;
  const classes = options.classes ?? generator.defaults.classes;
  const noise = options.noise ?? generator.defaults.noise;
  if (generator.fixedFeatures && features !== generator.defaults.features) throw new InputError(`${optionRef('features')}: builtin:${name} always has ${generator.defaults.features} features`);
  if (generator.fixedClasses && classes !== generator.defaults.classes) throw new InputError(`${optionRef('classes')}: builtin:${name} always has ${generator.defaults.classes} classes`);
  if (!Number.isInteger(samples) || samples < classes) throw new InputError(`${optionRef('samples')} must be an integer ≥ the number of classes (${classes}), got ${samples}`);
  if (!Number.isInteger(features) || features < 1) throw new InputError(`${optionRef('features')} must be a positive integer, got ${features}`);
  if (!Number.isInteger(classes) || classes < 2) throw new InputError(`${optionRef('classes')} must be an integer ≥ 2, got ${classes}`);
  if (!(noise >= 0) || !Number.isFinite(noise)) throw new InputError(`${optionRef('noise')} must be a finite number ≥ 0, got ${noise}`);
  // Checked before the labels are made: a flag must not be able to ask for gigabytes.
  checkValues(`builtin:${name}`, samples, features + 1, `${optionRef('samples')} and ${optionRef('features')} ask for`);
  if (expect.features !== undefined && features !== expect.features) throw new InputError(`builtin:${name}: has ${features} features, but the model was trained on ${expect.features}`);

  // Labels cycle through the classes, so they are known before any feature is drawn.
  const labels = new Int32Array(samples);
  for (let row = 0; row < samples; row++) labels[row] = row % classes;
  const source = `builtin:${name}`;
  const targets = integerTargets(source, labels, classes, { ...expect, target: 'classes' }, 'row');
  const writeFeatures = (x: Float32Array): void => {
    const random = randomStream(options.seed, `data:${name}`);
    const centers = new Float32Array(name === 'blobs' ? classes * features : 0);
    const spread = 4 / Math.sqrt(2 * features);
    for (let i = 0; i < centers.length; i++) centers[i] = gaussian(random) * spread;
    const params: GeneratorParams = { samples, features, classes, noise, centers };
    for (let row = 0; row < samples; row++) generator.sample(x, row * features, labels[row]!, params, random);
  };
  return { source, rows: samples, features, targets, schema: null, autoNormalize: 'none', notes: [], writeFeatures };
}
