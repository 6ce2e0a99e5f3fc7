// A small, dependency-free GGUF v3 writer: metadata KVs of every type (nested arrays too) and
// F32 / F16 / raw tensors, all little-endian, tensor data aligned. No npm package writes GGUF
// tensors (@huggingface/gguf only parses), so we keep our own. Format reference:
// https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
import { endianness } from 'node:os';

/** GGUF metadata value type ids, as stored in the file. */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
/** One of the GGUF metadata value type ids. */
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

/** An array value: its element type and elements (nested arrays allowed). */
export interface GgufArray {
  readonly elementType: GgufValueType;
  readonly values: readonly GgufValue[];
}
/** Any metadata value: numbers (bigint allowed for 64-bit ints), booleans, strings, arrays. */
export type GgufValue = number | bigint | boolean | string | GgufArray;

/** ggml tensor type ids this writer knows the element size of (others can be passed raw). */
export const GgmlType = { F32: 0, F16: 1 } as const;

interface Tensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly type: number;
  readonly data: Uint8Array;
}

const encoder = new TextEncoder();
/** Byte sizes of the fixed-size numeric value types (64-bit ints go through bigint instead). */
const NUMBER_SIZES: Partial<Record<GgufValueType, number>> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 12: 8 };

/** Builds a GGUF file in memory: add KVs and tensors in file order, then call `toBytes()`. */
export class GgufWriter {
  private readonly kvs: { key: string; type: GgufValueType; value: GgufValue }[] = [];
  private readonly tensors: Tensor[] = [];

  /** @param alignment byte alignment of tensor data (GGUF default 32); also written as general.alignment if you add it. */
  constructor(readonly alignment = 32) {
    if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) throw new RangeError('alignment must be a positive multiple of 8');
  }

  /** Adds one metadata key/value; for `GgufValueType.ARRAY`, pass a `GgufArray`. */
  kv(key: string, type: GgufValueType, value: GgufValue): this {
    if (this.kvs.some((entry) => entry.key === key)) throw new Error(`duplicate GGUF key: ${key}`);
    this.kvs.push({ key, type, value });
    return this;
  }

  /** Shorthand for an array KV of scalars or strings. */
  array(key: string, elementType: GgufValueType, values: readonly GgufValue[]): this {
    return this.kv(key, GgufValueType.ARRAY, { elementType, values });
  }

  /**
   * Adds a tensor. `dims` are in ggml order (ne0, the contiguous dimension, first), i.e. the
   * reverse of PyTorch's shape. Float32Array means F32, Uint16Array means F16 bit patterns;
   * a Uint8Array is taken as raw bytes of `type`.
   */
  tensor(name: string, dims: readonly number[], data: Float32Array | Uint16Array | Uint8Array, type?: number): this {
    const elements = dims.reduce((product, dim) => product * dim, 1);
    let bytes: Uint8Array;
    let ggmlType: number;
    if (data instanceof Float32Array || data instanceof Uint16Array) {
      ggmlType = data instanceof Float32Array ? GgmlType.F32 : GgmlType.F16;
      if (type !== undefined && type !== ggmlType) throw new Error(`tensor ${name}: data does not match type ${type}`);
      if (data.length !== elements) throw new Error(`tensor ${name}: ${data.length} elements for dims [${dims.join(', ')}]`);
      bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } else {
      if (type === undefined) throw new Error(`tensor ${name}: raw bytes need an explicit ggml type`);
      ggmlType = type;
      bytes = data;
    }
    if (this.tensors.some((tensor) => tensor.name === name)) throw new Error(`duplicate tensor: ${name}`);
    this.tensors.push({ name, dims: [...dims], type: ggmlType, data: bytes });
    return this;
  }

  /** Serializes header, KVs, tensor infos and aligned tensor data into one buffer. */
  toBytes(): Uint8Array {
    // Typed-array views of tensor data are written as-is, which is only right on little-endian hosts.
    if (endianness() !== 'LE') throw new Error('GgufWriter needs a little-endian host');
    const out = new ByteSink();
    out.bytes(encoder.encode('GGUF'));
    out.u32(3);
    out.u64(BigInt(this.tensors.length));
    out.u64(BigInt(this.kvs.length));
    for (const { key, type, value } of this.kvs) {
      out.string(key);
      out.u32(type);
      writeValue(out, type, value);
    }
    let offset = 0;
    const offsets: number[] = [];
    for (const tensor of this.tensors) {
      offset = alignUp(offset, this.alignment);
      offsets.push(offset);
      out.string(tensor.name);
      out.u32(tensor.dims.length);
      for (const dim of tensor.dims) out.u64(BigInt(dim));
      out.u32(tensor.type);
      out.u64(BigInt(offset));
      offset += tensor.data.byteLength;
    }
    out.pad(this.alignment);
    const dataStart = out.length;
    this.tensors.forEach((tensor, index) => {
      out.pad(this.alignment);
      if (out.length - dataStart !== offsets[index]) throw new Error('internal: tensor offset mismatch');
      out.bytes(tensor.data);
    });
    out.pad(this.alignment);
    return out.toBytes();
  }
}

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

/** Converts a float to IEEE 754 half-precision bits (round to nearest even), for F16 tensors. */
export function toFloat16Bits(value: number): number {
  scratchFloat[0] = value;
  const bits = scratchBits[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // Inf / NaN
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00; // overflow to Inf
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign; // underflow to signed zero
    mantissa |= 0x800000; // subnormal: make the implicit bit explicit, then shift
    const shift = 14 - halfExponent;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    return sign | (rest > halfway || (rest === halfway && half & 1) ? half + 1 : half);
  }
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half += 1; // a carry into the exponent is still correct
  return sign | half;
}

/** Converts a Float32Array to F16 bit patterns for `GgufWriter.tensor`. */
export function toFloat16Array(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toFloat16Bits(values[i] as number);
  return out;
}

function writeValue(out: ByteSink, type: GgufValueType, value: GgufValue): void {
  const fail = (): never => {
    throw new TypeError(`GGUF value ${String(value)} does not fit type ${type}`);
  };
  switch (type) {
    case GgufValueType.STRING:
      return typeof value === 'string' ? out.string(value) : fail();
    case GgufValueType.BOOL:
      return typeof value === 'boolean' ? out.u8(value ? 1 : 0) : fail();
    case GgufValueType.ARRAY: {
      if (typeof value !== 'object') return fail();
      out.u32(value.elementType);
      out.u64(BigInt(value.values.length));
      for (const element of value.values) writeValue(out, value.elementType, element);
      return;
    }
    case GgufValueType.UINT64:
    case GgufValueType.INT64: {
      if (typeof value !== 'number' && typeof value !== 'bigint') return fail();
      const big = BigInt(value);
      return type === GgufValueType.UINT64 ? out.u64(big) : out.i64(big);
    }
    default: {
      if (typeof value !== 'number') return fail();
      return out.number(type, value);
    }
  }
}

function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}

/** A growable little-endian byte buffer. */
class ByteSink {
  private buffer = new Uint8Array(1 << 16);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private reserve(extra: number): number {
    const start = this.length;
    if (start + extra > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, start + extra));
      grown.set(this.buffer.subarray(0, start));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length += extra;
    return start;
  }

  bytes(data: Uint8Array): void {
    const at = this.reserve(data.byteLength);
    this.buffer.set(data, at);
  }
  string(text: string): void {
    const data = encoder.encode(text);
    this.u64(BigInt(data.byteLength));
    this.bytes(data);
  }
  // Each writer reserves first and reads `this.view` after: reserving may swap the buffer.
  u8(value: number): void {
    this.number(GgufValueType.UINT8, value);
  }
  u32(value: number): void {
    this.number(GgufValueType.UINT32, value);
  }
  u64(value: bigint): void {
    const at = this.reserve(8);
    this.view.setBigUint64(at, value, true);
  }
  i64(value: bigint): void {
    const at = this.reserve(8);
    this.view.setBigInt64(at, value, true);
  }
  number(type: GgufValueType, value: number): void {
    const isFloat = type === GgufValueType.FLOAT32 || type === GgufValueType.FLOAT64;
    if (!isFloat && !Number.isInteger(value)) throw new TypeError(`GGUF value ${value} is not an integer`);
    const size = NUMBER_SIZES[type];
    if (size === undefined) throw new TypeError(`unknown GGUF value type ${type}`);
    const at = this.reserve(size);
    const view = this.view;
    switch (type) {
      case GgufValueType.UINT8: return view.setUint8(at, value);
      case GgufValueType.INT8: return view.setInt8(at, value);
      case GgufValueType.UINT16: return view.setUint16(at, value, true);
      case GgufValueType.INT16: return view.setInt16(at, value, true);
      case GgufValueType.UINT32: return view.setUint32(at, value, true);
      case GgufValueType.INT32: return view.setInt32(at, value, true);
      case GgufValueType.FLOAT32: return view.setFloat32(at, value, true);
      default: return view.setFloat64(at, value, true);
    }
  }
  pad(alignment: number): void {
    const target = alignUp(this.length, alignment);
    this.reserve(target - this.length); // new bytes are already zero
  }
  toBytes(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}
