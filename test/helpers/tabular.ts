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
