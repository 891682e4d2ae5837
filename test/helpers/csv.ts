// Writes small CSV files with string labels from a builtin set, for CLI and library tests.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { builtinDataset } from '../../src/data/builtin.js';

export const FRUIT = ['apple', 'banana, ripe', 'cherry'];

/** Three-class spirals as CSV with a quoted, comma-containing label and the label column first. */
export async function writeFruitCsv(dir: string, name: string, samples: number, seed: number): Promise<string> {
  const data = builtinDataset('spirals', { samples, classes: 3, seed });
  const lines = ['fruit,x,y'];
  for (let r = 0; r < data.rows; r++) {
    if (data.targets.kind !== 'classes') throw new Error('expected classes');
    const label = FRUIT[data.targets.index[r]!]!;
    lines.push(`"${label}",${data.x[r * 2]},${data.x[r * 2 + 1]}`);
  }
  const path = join(dir, name);
  await writeFile(path, lines.join('\n') + '\n');
  return path;
}
