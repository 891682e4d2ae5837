// Seeded tables like the ones people have, for the CSV tests and the tabular benchmark: a small
// passenger list with ages and fares, a Titanic-like file with ids, categories and missing cells,
// house prices (a regression target), written in several CSV dialects.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gaussian, randomStream } from '../../src/data/random.js';

export type Row = (string | number)[];

export interface Table {
  header: string[];
  rows: Row[];
}

export interface Dialect {
  delimiter?: string;
  /** Write numbers with a decimal comma. */
  decimalComma?: boolean;
  header?: boolean;
}

export function csvText(table: Table, dialect: Dialect = {}): string {
  const delimiter = dialect.delimiter ?? ',';
  const cell = (value: string | number): string => {
    const text = typeof value === 'number' ? String(value) : value;
    const shown = dialect.decimalComma && typeof value === 'number' ? text.replace('.', ',') : text;
    return shown.includes(delimiter) || shown.includes('"') ? `"${shown.replace(/"/g, '""')}"` : shown;
  };
  const lines = (dialect.header ?? true) ? [table.header.map(cell).join(delimiter)] : [];
  for (const row of table.rows) lines.push(row.map(cell).join(delimiter));
  return lines.join('\n') + '\n';
}

export async function writeTable(dir: string, name: string, table: Table, dialect: Dialect = {}): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, csvText(table, dialect));
  return path;
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/**
 * Age 1–80 and Fare 5–100 and a rule on them: children are "child", adults paying over 50 are
 * "premium", the rest "standard"; 4% of the labels flipped. Without feature scaling the raw ages and
 * fares (tens) stall a default run; standardised, it learns.
 */
export function peopleTable(rows: number, seed: number): Table {
  const random = randomStream(seed, 'people');
  const classes = ['child', 'premium', 'standard'];
  const out: Row[] = [];
  for (let r = 0; r < rows; r++) {
    const age = 1 + Math.floor(random() * 80);
    const fare = round(5 + random() * 95, 2);
    let label = age < 18 ? 0 : fare > 50 ? 1 : 2;
    if (random() < 0.04) label = Math.floor(random() * 3);
    out.push([age, fare, classes[label]!]);
  }
  return { header: ['Age', 'Fare', 'label'], rows: out };
}

/**
 * A Titanic-like passenger list: id (1…n), class 1–3, sex, age (about a fifth missing), fare, port
 * of embarkation (S, C, Q; a few missing) and survived (0/1) drawn from a logistic rule on them.
 */
export function titanicTable(rows: number, seed: number): Table {
  const random = randomStream(seed, 'titanic');
  const out: Row[] = [];
  for (let r = 0; r < rows; r++) {
    const pclass = random() < 0.25 ? 1 : random() < 0.4 ? 2 : 3;
    const female = random() < 0.36;
    const age = Math.max(0.5, Math.min(80, 30 + gaussian(random) * 14));
    const fare = round(Math.exp(Math.log(pclass === 1 ? 80 : pclass === 2 ? 20 : 9) + gaussian(random) * 0.5), 2);
    const u = random();
    const port = u < 0.72 ? 'S' : u < 0.91 ? 'C' : 'Q';
    const score = -0.6 + (female ? 2.6 : 0) + (pclass === 1 ? 1.3 : pclass === 2 ? 0.4 : -0.6) + (age < 12 ? 1.4 : 0) - 0.02 * (age - 30) + (port === 'C' ? 0.4 : 0) + 0.004 * fare;
    const survived = random() < 1 / (1 + Math.exp(-score)) ? 1 : 0;
    const ageCell = random() < 0.2 ? (random() < 0.5 ? '' : 'NA') : round(age, 1);
    const portCell = random() < 0.02 ? '' : port;
    out.push([r + 1, pclass, female ? 'female' : 'male', ageCell, fare, portCell, survived]);
  }
  return { header: ['id', 'class', 'sex', 'age', 'fare', 'port', 'survived'], rows: out };
}

/** House prices: floor area, bedrooms, age in years → price (a regression target in the hundreds of thousands). */
export function housesTable(rows: number, seed: number): Table {
  const random = randomStream(seed, 'houses');
  const out: Row[] = [];
  for (let r = 0; r < rows; r++) {
    const area = Math.round(500 + random() * 3500);
    const bedrooms = 1 + Math.floor(random() * 5);
    const age = Math.floor(random() * 100);
    const price = Math.round(50_000 + 150 * area + 10_000 * bedrooms - 500 * age + gaussian(random) * 15_000);
    out.push([area, bedrooms, age, price]);
  }
  return { header: ['area', 'bedrooms', 'age', 'price'], rows: out };
}

/** The rows of a table split in two by a seeded draw (train, test). */
export function splitTable(table: Table, testShare: number, seed: number): [Table, Table] {
  const random = randomStream(seed, 'split');
  const train: Row[] = [];
  const test: Row[] = [];
  for (const row of table.rows) (random() < testShare ? test : train).push(row);
  return [
    { header: table.header, rows: train },
    { header: table.header, rows: test },
  ];
}

/**
 * Like scikit-learn's diabetes set (442 rows, unscaled): age, sex 1/2, BMI, blood pressure and six
 * serum measures in their own units → disease progression (25–346). A linear rule on BMI, pressure
 * and s5 with a little curvature and much noise: ridge reaches an R² near 0.45, no model far more.
 */
export function diabetesLikeTable(rows: number, seed: number): Table {
  const random = randomStream(seed, 'diabetes');
  const out: Row[] = [];
  for (let r = 0; r < rows; r++) {
    const z = Array.from({ length: 6 }, () => gaussian(random));
    const age = Math.round(48 + 13 * Math.max(-2.2, Math.min(2.3, 0.8 * z[0]! + 0.2 * gaussian(random))));
    const sex = random() < 0.47 ? 2 : 1;
    const bmi = round(26.4 + 4.4 * z[1]!, 1);
    const bp = round(94.6 + 13.8 * (0.4 * z[1]! + 0.3 * z[0]! + 0.85 * gaussian(random)), 2);
    const s1 = Math.round(189 + 34 * z[2]!);
    const s2 = round(0.85 * s1 - 45 + 15 * gaussian(random), 1);
    const s3 = Math.round(Math.max(22, 50 + 13 * (-0.4 * z[1]! + 0.9 * z[3]!)));
    const s4 = round(s1 / s3 + 0.3 * gaussian(random), 2);
    const s5 = round(4.64 + 0.52 * (0.45 * z[1]! + 0.35 * z[2]! + 0.8 * z[4]!), 4);
    const s6 = Math.round(91 + 11.5 * (0.4 * z[1]! + 0.9 * z[5]!));
    const zb = (bmi - 26.4) / 4.4;
    const zp = (bp - 94.6) / 13.8;
    const z5 = (s5 - 4.64) / 0.52;
    const z3 = (s3 - 50) / 13;
    const signal = 0.36 * zb + 0.17 * zp + 0.3 * z5 - 0.1 * z3 + 0.06 * (sex === 2 ? -1 : 1) + 0.08 * zb * z5;
    const progression = Math.round(Math.max(25, Math.min(346, 152 + 77 * (signal + 0.8 * gaussian(random)) / 0.95)));
    out.push([age, sex, bmi, bp, s1, s2, s3, s4, s5, s6, progression]);
  }
  return { header: ['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6', 'progression'], rows: out };
}

/**
 * A wide numeric table: `features` columns in their own units (scales from 0.1 to 100), of which 20
 * carry a signal (a linear rule with two pairwise terms), 80 are noisy mixtures of those, the rest
 * noise; a binary label with 10% flipped. Far more columns than a small network should fit freely.
 */
export function wideTable(rows: number, features: number, seed: number): Table {
  const random = randomStream(seed, 'wide');
  const informative = 20;
  const mixed = Math.min(80, Math.max(0, features - informative));
  const scale = Array.from({ length: features }, () => 10 ** (random() * 3 - 1));
  const offset = Array.from({ length: features }, () => round(gaussian(random) * 5, 2));
  const weights = Array.from({ length: informative }, () => gaussian(random));
  const mixing = Array.from({ length: mixed }, () => [Math.floor(random() * informative), Math.floor(random() * informative), gaussian(random)] as const);
  const out: Row[] = [];
  for (let r = 0; r < rows; r++) {
    const z = Array.from({ length: informative }, () => gaussian(random));
    let score = 0;
    for (let i = 0; i < informative; i++) score += weights[i]! * z[i]!;
    score = (2 * score) / Math.sqrt(informative) + 0.7 * z[0]! * z[1]! + 0.7 * z[2]! * z[3]!;
    const row: Row = [];
    for (let f = 0; f < features; f++) {
      let v: number;
      if (f < informative) v = z[f]!;
      else if (f < informative + mixed) {
        const [a, b, w] = mixing[f - informative]!;
        v = w * z[a]! + 0.5 * z[b]! + gaussian(random);
      } else v = gaussian(random);
      row.push(Number((offset[f]! + scale[f]! * v).toPrecision(4)));
    }
    let label = score > 0 ? 1 : 0;
    if (random() < 0.1) label = 1 - label;
    row.push(label);
    out.push(row);
  }
  return { header: [...Array.from({ length: features }, (_, f) => `f${f}`), 'label'], rows: out };
}
