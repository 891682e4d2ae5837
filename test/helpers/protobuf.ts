// A protobuf reader for tests: splits a message into its fields, so a test can check what a file
// says without trusting the writer that made it.

export interface Field {
  field: number;
  /** varint and fixed32 fields: the number; length-delimited fields: the bytes. */
  value: bigint | number | Uint8Array;
}

export function readFields(bytes: Uint8Array): Field[] {
  const fields: Field[] = [];
  let position = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (position >= bytes.length) throw new Error('protobuf: truncated varint');
      const byte = bytes[position++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result;
    }
  };
  while (position < bytes.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) fields.push({ field, value: varint() });
    else if (wire === 5) {
      fields.push({ field, value: new DataView(bytes.buffer, bytes.byteOffset + position, 4).getFloat32(0, true) });
      position += 4;
    } else if (wire === 2) {
      const length = Number(varint());
      if (position + length > bytes.length) throw new Error(`protobuf: field ${field} runs past the end`);
      fields.push({ field, value: bytes.subarray(position, position + length) });
      position += length;
    } else throw new Error(`protobuf: unexpected wire type ${wire} for field ${field}`);
  }
  return fields;
}

export function messages(fields: Field[], field: number): Field[][] {
  return fields.filter((f) => f.field === field).map((f) => readFields(f.value as Uint8Array));
}

export function strings(fields: Field[], field: number): string[] {
  return fields.filter((f) => f.field === field).map((f) => new TextDecoder().decode(f.value as Uint8Array));
}

/** int64 fields as signed numbers (a negative int64 is a 10-byte varint). */
export function ints(fields: Field[], field: number): number[] {
  return fields.filter((f) => f.field === field).map((f) => Number(BigInt.asIntN(64, f.value as bigint)));
}
