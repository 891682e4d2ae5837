// A protobuf message writer: just the wire types a model file needs (varint, fixed32 float and length-delimited).
// Fields are written in call order; a nested message is written whole, so its length is known when
// its parent writes it. Written by hand because the ONNX subset we emit is a dozen fields, where a
// protobuf library would be a runtime dependency of every install.

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  /** int32, int64 or enum field. A negative value takes 10 bytes (64-bit two's complement), as protobuf specifies. */
  varint(field: number, value: number): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`protobuf: field ${field}: ${value} is not a safe integer`);
    this.tag(field, WIRE_VARINT);
    this.push(encodeVarint(BigInt.asUintN(64, BigInt(value))));
    return this;
  }

  string(field: number, text: string): this {
    return this.bytes(field, new TextEncoder().encode(text));
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.push(encodeVarint(BigInt(data.length)));
    this.push(data);
    return this;
  }

  /** float field (fixed32, little-endian IEEE single). */
  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    this.push(float32LittleEndian([value]));
    return this;
  }

  message(field: number, inner: ProtoWriter): this {
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  private tag(field: number, wireType: number): void {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) throw new RangeError(`protobuf: bad field number ${field}`);
    this.push(encodeVarint(BigInt(field) * 8n + BigInt(wireType)));
  }

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }
}

/** Base-128, least significant group first, high bit set on every byte but the last. */
export function encodeVarint(value: bigint): Uint8Array {
  const bytes: number[] = [];
  do {
    let byte = Number(value & 0x7fn);
    value >>= 7n;
    if (value > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (value > 0n);
  return Uint8Array.from(bytes);
}

/** Float32 values as little-endian bytes (what ONNX raw_data holds), whatever the host's byte order. */
export function float32LittleEndian(values: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}
