// Raw little-endian tensor bytes -> float32 values, one bounded chunk at a time. Statistics accumulate in float64
// from these values; float32 holds every F16/BF16/F8 value exactly, and F64/I64 lose only below 1e-7 relative.
// GGUF's block quantisations decode a whole number of blocks at a time (ggmlDequant.ts).
import { decodeGgmlBlocks, ggmlBlockLayout, type BlockLayout } from './ggmlDequant';
import { halfToFloat } from './half';

/** Element sizes in bytes of the dtypes decoded here. */
export const DECODABLE_BYTES: Readonly<Record<string, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, F8_E4M3: 1, F8_E4M3FN: 1, F8_E5M2: 1,
  I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

/** How many elements and bytes make one decodable unit of `dtype` (1 element for plain types); undefined: none. */
export function layoutOf(dtype: string): BlockLayout | undefined {
  const bytes = DECODABLE_BYTES[dtype];
  return bytes === undefined ? ggmlBlockLayout(dtype) : { elements: 1, bytes };
}

export function isDecodable(dtype: string): boolean {
  return layoutOf(dtype) !== undefined;
}

const F8_E4M3_TABLE = buildMinifloatTable(4, 3, 7, true);
const F8_E5M2_TABLE = buildMinifloatTable(5, 2, 15, false);

/**
 * Decodes `count` elements of `dtype` from `bytes` (which starts at an element or block boundary; for block types
 * `count` is a whole number of blocks) into `out`.
 */
export function decodeInto(dtype: string, bytes: Buffer, count: number, out: Float32Array): void {
  const blocks = ggmlBlockLayout(dtype);
  if (blocks) {
    decodeGgmlBlocks(dtype, bytes, count / blocks.elements, out);
    return;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32':
      if (bytes.byteOffset % 4 === 0) out.set(new Float32Array(bytes.buffer, bytes.byteOffset, count));
      else for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(bytes[2 * i]! | (bytes[2 * i + 1]! << 8));
      return;
    case 'BF16': {
      // bfloat16 is the top half of a float32: widen through an integer view (16-bit loads when aligned: the
      // block engine decodes every weight of a model this way, ~2x faster than byte loads).
      const wide = new Uint32Array(out.buffer, out.byteOffset, count);
      if ((bytes.byteOffset & 1) === 0) {
        const narrow = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
        for (let i = 0; i < count; i++) wide[i] = narrow[i]! << 16;
        return;
      }
      for (let i = 0; i < count; i++) wide[i] = (bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) << 16;
      return;
    }
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      return;
    case 'F8_E4M3':
    case 'F8_E4M3FN':
      for (let i = 0; i < count; i++) out[i] = F8_E4M3_TABLE[bytes[i]!]!;
      return;
    case 'F8_E5M2':
      for (let i = 0; i < count; i++) out[i] = F8_E5M2_TABLE[bytes[i]!]!;
      return;
    case 'I64':
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(i * 8, true));
      return;
    case 'U64':
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigUint64(i * 8, true));
      return;
    case 'I32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      return;
    case 'U32':
      for (let i = 0; i < count; i++) out[i] = view.getUint32(i * 4, true);
      return;
    case 'I16':
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, true);
      return;
    case 'U16':
      for (let i = 0; i < count; i++) out[i] = view.getUint16(i * 2, true);
      return;
    case 'I8':
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      return;
    case 'U8':
    case 'BOOL':
      for (let i = 0; i < count; i++) out[i] = bytes[i]!;
      return;
    default:
      throw new Error(`decodeInto: no decoder for dtype ${dtype}`);
  }
}

/**
 * 8-bit floats. E4M3 is the "FN" variant (OCP / safetensors F8_E4M3, torch.float8_e4m3fn): no infinities, only
 * S.1111.111 is NaN. E5M2 follows IEEE (exponent 31: inf / NaN).
 */
function buildMinifloatTable(exponentBits: number, mantissaBits: number, bias: number, finiteOnly: boolean): Float32Array {
  const table = new Float32Array(256);
  const maxExponent = (1 << exponentBits) - 1;
  for (let b = 0; b < 256; b++) {
    const sign = b & 0x80 ? -1 : 1;
    const exponent = (b >> mantissaBits) & maxExponent;
    const mantissa = b & ((1 << mantissaBits) - 1);
    if (finiteOnly && exponent === maxExponent && mantissa === (1 << mantissaBits) - 1) table[b] = NaN;
    else if (!finiteOnly && exponent === maxExponent) table[b] = mantissa ? NaN : sign * Infinity;
    else if (exponent === 0) table[b] = sign * mantissa * 2 ** (1 - bias - mantissaBits);
    else table[b] = sign * (1 + mantissa / (1 << mantissaBits)) * 2 ** (exponent - bias);
  }
  return table;
}
