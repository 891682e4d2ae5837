// Checks of the JSON fields a file stores (a model file's, its preprocessing's): objects, their
// keys, arrays of float32 numbers. Each failure goes to `fail`, which names the file.
import { describeValue } from '../errors.js';

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function checkKeys(object: Record<string, unknown>, allowed: string[], where: string, fail: (what: string) => never, optional: string[] = []): void {
  for (const key of Object.keys(object)) if (!allowed.includes(key) && !optional.includes(key)) fail(`${where}: unexpected key ${describeValue(key)}`);
  for (const key of allowed) if (!(key in object)) fail(`${where}: missing key "${key}"`);
}

export function checkNumbers(values: unknown, length: number, where: string, fail: (what: string) => never): void {
  if (!Array.isArray(values)) fail(`${where} must be an array`);
  const array = values as unknown[];
  if (array.length !== length) fail(`${where} has ${array.length} values, expected ${length}`);
  for (let i = 0; i < array.length; i++) {
    const v = array[i];
    if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > 3.4028234663852886e38) fail(`${where}[${i}] is not a finite float32 number`);
  }
}
