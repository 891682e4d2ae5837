// Turns a --data spec into a Dataset: builtin:NAME or a CSV file.
import { builtinDataset, type BuiltinOptions } from './builtin.js';
import { loadCsv, type CsvOptions } from './csv.js';
import type { Dataset } from './dataset.js';

export interface LoadOptions extends CsvOptions {
  builtin: BuiltinOptions;
}

export async function loadDataset(spec: string, options: LoadOptions): Promise<Dataset> {
  if (spec.startsWith('builtin:')) return builtinDataset(spec.slice('builtin:'.length), options.builtin);
  return loadCsv(spec, options);
}
