// GGML block quantisations (GGUF tensors) -> float32, one block at a time, following ggml-quants.c's
// dequantize_row_* (checked against gguf-py's numpy dequantisers: test/fixtures/gguf/make_dequant_fixture.py).
// Each decoder reads `blocks` whole blocks from `bytes` (which starts at a block boundary) into `out`.
// Scales are fp16 (float32 for none of these); products are rounded to float32 as ggml computes them.

import { halfToFloat } from './half';

type BlockDecoder = (bytes: Uint8Array, blocks: number, out: Float32Array) => void;

export interface BlockLayout {
  /** Elements per block. */
  elements: number;
  /** Bytes per block. */
  bytes: number;
}

const QK_K = 256;
const f32 = Math.fround;
const half = (bytes: Uint8Array, at: number): number => halfToFloat(bytes[at]! | (bytes[at + 1]! << 8));

function q4_0(bytes: Uint8Array, blocks: number, out: Float32Array): void {
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 18, y += 32) {
    const d = half(bytes, p);
    for (let j = 0; j < 16; j++) {
      const q = bytes[p + 2 + j]!;
      out[y + j] = ((q & 0x0f) - 8) * d;
      out[y + j + 16] = ((q >> 4) - 8) * d;
    }
  }
}

function q4_1(bytes: Uint8Array, blocks: number, out: Float32Array): void {
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 20, y += 32) {
    const d = half(bytes, p);
    const m = half(bytes, p + 2);
    for (let j = 0; j < 16; j++) {
      const q = bytes[p + 4 + j]!;
      out[y + j] = f32((q & 0x0f) * d) + m;
      out[y + j + 16] = f32((q >> 4) * d) + m;
    }
  }
}

/** Q5_0 and Q5_1: a fifth bit per element in a little-endian u32 `qh`; Q5_0 is centred (−16), Q5_1 has a min. */
function q5(withMin: boolean): BlockDecoder {
  const size = withMin ? 24 : 22;
  const qhAt = withMin ? 4 : 2;
  return (bytes, blocks, out) => {
    for (let b = 0, p = 0, y = 0; b < blocks; b++, p += size, y += 32) {
      const d = half(bytes, p);
      const m = withMin ? half(bytes, p + 2) : 0;
      const offset = withMin ? 0 : 16;
      const qh = (bytes[p + qhAt]! | (bytes[p + qhAt + 1]! << 8) | (bytes[p + qhAt + 2]! << 16) | (bytes[p + qhAt + 3]! << 24)) >>> 0;
      for (let j = 0; j < 16; j++) {
        const q = bytes[p + qhAt + 4 + j]!;
        const x0 = ((q & 0x0f) | (((qh >>> j) << 4) & 0x10)) - offset;
        const x1 = ((q >> 4) | ((qh >>> (j + 12)) & 0x10)) - offset;
        out[y + j] = f32(x0 * d) + m;
        out[y + j + 16] = f32(x1 * d) + m;
      }
    }
  };
}

function q8_0(bytes: Uint8Array, blocks: number, out: Float32Array): void {
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 34, y += 32) {
    const d = half(bytes, p);
    for (let j = 0; j < 32; j++) out[y + j] = ((bytes[p + 2 + j]! << 24) >> 24) * d;
  }
}

/** block_q2_K: scales[16] (4-bit scale | 4-bit min), qs[64] (2 bits each), d, dmin. */
function q2_k(bytes: Uint8Array, blocks: number, out: Float32Array): void {
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 84) {
    const d = half(bytes, p + 80);
    const min = half(bytes, p + 82);
    let is = 0;
    for (let n = 0; n < QK_K; n += 128) {
      const q = p + 16 + n / 4;
      for (let shift = 0; shift < 8; shift += 2) {
        for (const half16 of [0, 16]) {
          const sc = bytes[p + is++]!;
          const dl = f32(d * (sc & 0x0f));
          const ml = f32(min * (sc >> 4));
          for (let l = 0; l < 16; l++) out[y++] = f32(dl * ((bytes[q + half16 + l]! >> shift) & 3)) - ml;
        }
      }
    }
  }
}

/** block_q3_K: hmask[32] (high bit, set = no −4 offset), qs[64] (low 2 bits), scales[12] (16 × 6-bit), d. */
function q3_k(bytes: Uint8Array, blocks: number, out: Float32Array): void {
  const scales = new Int8Array(16);
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 110) {
    const d = half(bytes, p + 108);
    const s = p + 96;
    for (let i = 0; i < 16; i++) {
      const low = i < 8 ? bytes[s + i]! & 0x0f : bytes[s + i - 8]! >> 4;
      const high = (bytes[s + 8 + (i % 4)]! >> (2 * Math.floor(i / 4))) & 3;
      scales[i] = (low | (high << 4)) - 32;
    }
    let is = 0;
    let mask = 1;
    for (let n = 0; n < QK_K; n += 128) {
      const q = p + 32 + n / 4;
      for (let shift = 0; shift < 8; shift += 2, mask <<= 1) {
        for (const half16 of [0, 16]) {
          const dl = f32(d * scales[is++]!);
          for (let l = 0; l < 16; l++) {
            const low = (bytes[q + half16 + l]! >> shift) & 3;
            out[y++] = dl * (low - (bytes[p + half16 + l]! & mask ? 0 : 4));
          }
        }
      }
    }
  }
}

/** The 6-bit scale and min of sub-block j of a Q4_K/Q5_K block (get_scale_min_k4). */
function scaleMin(bytes: Uint8Array, at: number, j: number): [number, number] {
  if (j < 4) return [bytes[at + j]! & 63, bytes[at + j + 4]! & 63];
  return [(bytes[at + j + 4]! & 0x0f) | ((bytes[at + j - 4]! >> 6) << 4), (bytes[at + j + 4]! >> 4) | ((bytes[at + j]! >> 6) << 4)];
}

/** Q4_K and Q5_K: d, dmin, scales[12], [qh[32] for Q5_K], qs[128]; eight sub-blocks of 32 with scale and min. */
function qk(withHigh: boolean): BlockDecoder {
  const size = withHigh ? 176 : 144;
  return (bytes, blocks, out) => {
    for (let b = 0, p = 0, y = 0; b < blocks; b++, p += size) {
      const d = half(bytes, p);
      const min = half(bytes, p + 2);
      const qh = p + 16;
      let ql = withHigh ? p + 48 : p + 16;
      for (let j = 0, is = 0, u1 = 1, u2 = 2; j < QK_K; j += 64, is += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
        const [sc1, m1] = scaleMin(bytes, p + 4, is);
        const [sc2, m2] = scaleMin(bytes, p + 4, is + 1);
        const d1 = f32(d * sc1);
        const dm1 = f32(min * m1);
        const d2 = f32(d * sc2);
        const dm2 = f32(min * m2);
        for (let l = 0; l < 32; l++) out[y++] = f32(d1 * ((bytes[ql + l]! & 0x0f) + (withHigh && bytes[qh + l]! & u1 ? 16 : 0))) - dm1;
        for (let l = 0; l < 32; l++) out[y++] = f32(d2 * ((bytes[ql + l]! >> 4) + (withHigh && bytes[qh + l]! & u2 ? 16 : 0))) - dm2;
      }
    }
  };
}

/** block_q6_K: ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] (int8), d. */
function q6_k(bytes: Uint8Array, blocks: number, out: Float32Array): void {
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 210) {
    const d = half(bytes, p + 208);
    for (let n = 0; n < 2; n++, y += 128) {
      const ql = p + n * 64;
      const qh = p + 128 + n * 32;
      const sc = p + 192 + n * 8;
      const scale = (k: number) => f32(d * ((bytes[sc + k]! << 24) >> 24));
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = bytes[qh + l]!;
        out[y + l] = scale(is) * (((bytes[ql + l]! & 0x0f) | ((h & 3) << 4)) - 32);
        out[y + l + 32] = scale(is + 2) * (((bytes[ql + l + 32]! & 0x0f) | (((h >> 2) & 3) << 4)) - 32);
        out[y + l + 64] = scale(is + 4) * (((bytes[ql + l]! >> 4) | (((h >> 4) & 3) << 4)) - 32);
        out[y + l + 96] = scale(is + 6) * (((bytes[ql + l + 32]! >> 4) | (((h >> 6) & 3) << 4)) - 32);
      }
    }
  }
}

const DECODERS: Readonly<Record<string, { layout: BlockLayout; decode: BlockDecoder }>> = {
  Q4_0: { layout: { elements: 32, bytes: 18 }, decode: q4_0 },
  Q4_1: { layout: { elements: 32, bytes: 20 }, decode: q4_1 },
  Q5_0: { layout: { elements: 32, bytes: 22 }, decode: q5(false) },
  Q5_1: { layout: { elements: 32, bytes: 24 }, decode: q5(true) },
  Q8_0: { layout: { elements: 32, bytes: 34 }, decode: q8_0 },
  Q2_K: { layout: { elements: QK_K, bytes: 84 }, decode: q2_k },
  Q3_K: { layout: { elements: QK_K, bytes: 110 }, decode: q3_k },
  Q4_K: { layout: { elements: QK_K, bytes: 144 }, decode: qk(false) },
  Q5_K: { layout: { elements: QK_K, bytes: 176 }, decode: qk(true) },
  Q6_K: { layout: { elements: QK_K, bytes: 210 }, decode: q6_k },
};

export function ggmlBlockLayout(dtype: string): BlockLayout | undefined {
  return DECODERS[dtype]?.layout;
}

/** Decodes `blocks` whole blocks of `dtype`; the caller checked ggmlBlockLayout(dtype). */
export function decodeGgmlBlocks(dtype: string, bytes: Uint8Array, blocks: number, out: Float32Array): void {
  const decoder = DECODERS[dtype];
  if (!decoder) throw new Error(`decodeGgmlBlocks: no decoder for ${dtype}`);
  decoder.decode(bytes, blocks, out);
}
