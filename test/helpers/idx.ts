// Writes MNIST-style IDX directories for tests: images whose pixels encode their class.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

function idxFile(magic: number, dims: number[], body: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, body]);
}

/** 8×8 images of `classes` classes: class c lights up row c with noise elsewhere, seeded by position. */
export async function writeIdxDirectory(dir: string, train: number, test: number, classes = 4): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [prefix, count] of [['train', train], ['t10k', test]] as const) {
    const pixels = new Uint8Array(count * 64);
    const labels = new Uint8Array(count);
    for (let n = 0; n < count; n++) {
      const label = (n * 7 + (prefix === 't10k' ? 3 : 0)) % classes;
      labels[n] = label;
      for (let p = 0; p < 64; p++) pixels[n * 64 + p] = Math.floor(p / 8) === label ? 200 + ((n + p) % 56) : (n * 31 + p * 17) % 90;
    }
    await writeFile(join(dir, `${prefix}-images-idx3-ubyte`), idxFile(0x803, [count, 8, 8], pixels));
    await writeFile(join(dir, `${prefix}-labels-idx1-ubyte`), idxFile(0x801, [count], labels));
  }
  return dir;
}
