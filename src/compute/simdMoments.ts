// The moments pass as a WebAssembly SIMD kernel (emitted by wasmEmit.ts from the code below): F32 or BF16 bytes
// in, one pass, for each element: zero?, |x|, and the powers 1..4 of d = x − shift summed in float32 lanes over
// blocks of 128 elements only (two independent accumulator sets, 16 terms per lane each), then widened and added in
// float64, so the float32 rounding stays near 32 × 2⁻²⁴ relative; the shift is the tensor's running mean (the
// first chunk's from its first values in float64), so Σd is small, Σx = Σd + n·shift keeps the mean's digits, and
// the central moments taken from the shifted power sums do not cancel. A block is first reduced as if finite (no
// masks); if its sums come out NaN or ±Inf it is redone with the finite mask (a block with a NaN or ±Inf, or one
// whose d⁴ overflows float32, which the masked pass gives the same way). Elements after the last whole block go
// through the same arithmetic in JavaScript. The file's bytes are read straight into the module's memory (region 0,
// one synchronous read at a time: momentsPass.ts says why; region 1 holds a second chunk for tests and the bench).
// The band kernels (f32_band, bf16_band) are the same kernels sorting each element into an outlier band in the same
// pass as well (outlierBand.ts: the outlier count without a second pass over the tensor).
import { emptyMoments, type MomentState } from './moments';
import type { OutlierBand } from './outlierBand';
import { F32, I32, op, V128, v, wasm, wasmModule, type Code, type WasmFunction } from './wasmEmit';

export const BLOCK = 128;
/** Bytes of one region of the module's memory (two for F32/BF16 bytes, one for values decoded in JavaScript). */
export const REGION_BYTES = 4 << 20;
/**
 * Bytes of one read of F32/BF16 into a region (a chunk of F32 is READ_BYTES / 4 elements): it fits the core's L2
 * cache, so the kernel reads what the read has just written from there; 4 MiB reads left the pass at half
 * the speed, the kernel waiting on memory (docs/benchmarks.md).
 */
export const READ_BYTES = 512 << 10;
const OUT = 0;
/** The outlier band's centre, low and high edges as float32 splats (the band kernels read them from here). */
const BAND_IN = 256;
const REGION0 = 1024;
/** Two byte regions, then a float32 region for dtypes decoded in JavaScript first (F16, F64, integers, GGML). */
const FLOAT_REGION = REGION0 + 2 * REGION_BYTES;
/** The band kernels' list of blocks holding a band element: one i32 per block of the largest call, and one more. */
const LIST = FLOAT_REGION + REGION_BYTES;
const LIST_ENTRIES = REGION_BYTES / 4 / BLOCK + 1;
const PAGES = Math.ceil((LIST + 4 * LIST_ENTRIES) / 65536);

// Locals of the kernel: parameters, the vectors, then two i32.
const [PTR, BLOCKS, SHIFT, OUTP] = [0, 1, 2, 3];
const [S, A1, A2, A3, A4, B1, B2, B3, B4, D1, D2, D3, D4, ABSMAX, ZEROS, FINITE, SAVED_ZEROS, SAVED_ABSMAX, X, D, DD, MASK, RAW, T] =
  [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27];
const [INNER, START] = [28, 29];
// The band kernels' locals: centre, low and high edges, the sure count, this block's band mask, two temporaries, and
// the list's length.
const [CV, LV, HV, SUREV, BANDV, BA, MH, NLIST] = [30, 31, 32, 33, 34, 35, 36, 37];
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
/** Elements each lane takes in one block. */
const PER_LANE = BLOCK / 4;

/** The power sums of the vector in X into one set of float32 accumulators (sum of d, d², d³, d⁴). */
function powers([s1, s2, s3, s4]: readonly number[]): Code[] {
  return [
    op.get(s1), op.get(D), v.f32Add, op.set(s1),
    op.get(D), op.get(D), v.f32Mul, op.set(DD),
    op.get(s2), op.get(DD), v.f32Add, op.set(s2),
    op.get(s3), op.get(DD), op.get(D), v.f32Mul, v.f32Add, op.set(s3),
    op.get(s4), op.get(DD), op.get(DD), v.f32Mul, v.f32Add, op.set(s4),
  ];
}

/**
 * The fast path's work on X (four float32 values), for a block assumed finite: zeros, |x| max, and the powers of
 * d = x − shift. A NaN or ±Inf makes the block's sums non-finite, and the block is redone by `masked`. With `band`
 * (outlierBand.ts), a = |x − centre| in float32 as well: lanes with a > high counted as sure outliers, lanes with
 * low < a ≤ high marked in the block's band mask. That holds for NaN (no lane) and ±Inf (sure) alike, so the
 * masked redo of a non-finite block does not count again.
 */
function fast(set: readonly number[], band: boolean): Code[] {
  return [
    op.get(X), op.get(S), v.f32Sub, op.set(D),
    op.get(ZEROS), op.get(X), v.zero, v.f32Eq, v.i32Sub, op.set(ZEROS),
    op.get(ABSMAX), op.get(X), v.f32Abs, v.f32Pmax, op.set(ABSMAX),
    band ? [
      op.get(X), op.get(CV), v.f32Sub, v.f32Abs, op.set(BA),
      op.get(BA), op.get(HV), v.f32Gt, op.set(MH),
      op.get(SUREV), op.get(MH), v.i32Sub, op.set(SUREV),
      op.get(BANDV), op.get(BA), op.get(LV), v.f32Gt, op.get(MH), v.andnot, v.or, op.set(BANDV),
    ] : [],
    ...powers(set),
  ];
}

/** The slow path's work on X: finite lanes counted, NaN and ±Inf lanes (d − d is not 0) taken as 0. */
function masked(set: readonly number[]): Code[] {
  return [
    op.get(X), op.get(S), v.f32Sub, op.set(D),
    op.get(D), op.get(D), v.f32Sub, v.zero, v.f32Eq, op.set(MASK),
    op.get(FINITE), op.get(MASK), v.i32Sub, op.set(FINITE),
    op.get(ZEROS), op.get(X), v.zero, v.f32Eq, v.i32Sub, op.set(ZEROS),
    op.get(ABSMAX), op.get(X), op.get(MASK), v.and, v.f32Abs, v.f32Pmax, op.set(ABSMAX),
    op.get(D), op.get(MASK), v.and, op.set(D),
    ...powers(set),
  ];
}

/** An inner loop of `iterations` steps of `step`, each advancing PTR by `stride` bytes. */
function inner(iterations: number, stride: number, step: Code[]): Code[] {
  return [
    op.i32(iterations), op.set(INNER),
    op.loop,
    step,
    op.get(PTR), op.i32(stride), op.i32Add, op.set(PTR),
    op.get(INNER), op.i32(1), op.i32Sub, op.set(INNER),
    op.get(INNER), op.brIf(0),
    op.end,
  ];
}

/**
 * One block of 128 values per outer step. The fast path runs two independent sets of float32 accumulators (A for
 * one vector, B for the next: the adds of one do not wait on the other's), then checks the block's sums: all
 * finite, the block had no NaN/±Inf and its 128 elements count as finite; otherwise zeros and |x| max go back to
 * their values before the block and the block is redone masked. Per block the float32 sums are widened into
 * float64 lanes (D1..D4), so float32 rounding stays that of 16 to 32 terms.
 */
function kernel(name: string, bf16: boolean, band: boolean): WasmFunction {
  const a = [A1, A2, A3, A4];
  const b = [B1, B2, B3, B4];
  const widen = (f: number, d: number): Code => [
    op.get(d), op.get(f), v.f64PromoteLow, v.f64Add, op.get(f), op.get(f), v.shuffle(HIGH_HALF), v.f64PromoteLow, v.f64Add, op.set(d),
  ];
  const widenBf16 = (high: boolean): Code => [op.get(RAW), high ? v.i32ExtendHighU16 : v.i32ExtendLowU16, op.i32(16), v.i32Shl, op.set(X)];
  // Eight bfloat16 per load (each the top half of a float32), or four float32.
  const fastLoop = bf16
    ? inner(BLOCK / 8, 16, [op.get(PTR), v.load(), op.set(RAW), widenBf16(false), fast(a, band), widenBf16(true), fast(b, band)])
    : inner(BLOCK / 8, 32, [op.get(PTR), v.load(), op.set(X), fast(a, band), op.get(PTR), v.load(16), op.set(X), fast(b, band)]);
  const slowLoop = bf16
    ? inner(BLOCK / 8, 16, [op.get(PTR), v.load(), op.set(RAW), widenBf16(false), masked(a), widenBf16(true), masked(a)])
    : inner(BLOCK / 4, 16, [op.get(PTR), v.load(), op.set(X), masked(a)]);
  const zeroAll = (locals: number[]): Code => locals.map((l) => [v.zero, op.set(l)]);
  return {
    name,
    params: [I32, I32, F32, I32],
    locals: [...new Array<number>(INNER - S).fill(V128), I32, I32, ...new Array<number>(NLIST - CV).fill(V128), I32],
    body: [
      op.get(SHIFT), v.f32Splat, op.set(S),
      band ? [CV, LV, HV].map((local, i) => [op.i32(BAND_IN), v.load(16 * i), op.set(local)]) : [],
      op.block, op.loop,
      op.get(BLOCKS), op.i32Eqz, op.brIf(1),
      op.get(ZEROS), op.set(SAVED_ZEROS), op.get(ABSMAX), op.set(SAVED_ABSMAX), op.get(PTR), op.set(START),
      zeroAll(band ? [...a, ...b, BANDV] : [...a, ...b]),
      fastLoop,
      a.map((l, i) => [op.get(l), op.get(b[i]!), v.f32Add, op.set(l)]),
      op.get(A1), op.get(A2), v.f32Add, op.get(A3), v.f32Add, op.get(A4), v.f32Add, op.set(T),
      op.get(T), op.get(T), v.f32Sub, v.zero, v.f32Eq, v.i32AllTrue,
      op.if,
      op.get(FINITE), v.i32x4(PER_LANE), v.i32Add, op.set(FINITE),
      op.else,
      op.get(SAVED_ZEROS), op.set(ZEROS), op.get(SAVED_ABSMAX), op.set(ABSMAX), op.get(START), op.set(PTR),
      zeroAll(a),
      slowLoop,
      op.end,
      // The block's start goes to the list's next entry, which counts only when the block has a band element.
      band ? [
        op.get(NLIST), op.i32(2), op.i32Shl, op.get(START), op.i32Store(LIST),
        op.get(NLIST), op.get(BANDV), v.anyTrue, op.i32Add, op.set(NLIST),
      ] : [],
      widen(A1, D1), widen(A2, D2), widen(A3, D3), widen(A4, D4),
      op.get(BLOCKS), op.i32(1), op.i32Sub, op.set(BLOCKS),
      op.br(0),
      op.end, op.end,
      [D1, D2, D3, D4, ABSMAX, ZEROS, FINITE].map((local, i) => [op.get(OUTP), op.get(local), v.store(i * 16)]),
      band ? [op.get(OUTP), op.get(SUREV), v.store(112), op.get(OUTP), op.get(NLIST), op.i32Store(128)] : [],
    ],
  };
}

/**
 * Outlier counts: lanes with |x − mean| > hi (sure) and > lo (maybe); a chunk where the two differ has a value
 * within float32 rounding of the limit and is recounted exactly in float64 by the caller.
 */
function outlierKernel(name: string, bf16: boolean): WasmFunction {
  const [MEAN, LO, HI] = [2, 3, 4];
  const OUTQ = 5;
  const [M, L, H, SURE, MAYBE, XX, AA, RW, N] = [6, 7, 8, 9, 10, 11, 12, 13, 14];
  const count: Code[] = [
    op.get(XX), op.get(M), v.f32Sub, v.f32Abs, op.set(AA),
    op.get(SURE), op.get(AA), op.get(H), v.f32Gt, v.i32Sub, op.set(SURE),
    op.get(MAYBE), op.get(AA), op.get(L), v.f32Gt, v.i32Sub, op.set(MAYBE),
  ];
  const load: Code = bf16
    ? [
      op.get(PTR), v.load(), op.set(RW),
      op.get(RW), v.i32ExtendLowU16, op.i32(16), v.i32Shl, op.set(XX), count,
      op.get(RW), v.i32ExtendHighU16, op.i32(16), v.i32Shl, op.set(XX), count,
    ]
    : [op.get(PTR), v.load(), op.set(XX), count];
  // Vectors per call: (blocks × BLOCK) / lanes per load.
  return {
    name,
    params: [I32, I32, F32, F32, F32, I32],
    locals: [...new Array<number>(N - M).fill(V128), I32],
    body: [
      op.get(MEAN), v.f32Splat, op.set(M), op.get(LO), v.f32Splat, op.set(L), op.get(HI), v.f32Splat, op.set(H),
      op.get(BLOCKS), op.i32(bf16 ? BLOCK / 8 : BLOCK / 4), op.i32Mul, op.set(N),
      op.block, op.loop,
      op.get(N), op.i32Eqz, op.brIf(1),
      load,
      op.get(PTR), op.i32(16), op.i32Add, op.set(PTR),
      op.get(N), op.i32(1), op.i32Sub, op.set(N),
      op.br(0),
      op.end, op.end,
      op.get(OUTQ), op.get(SURE), v.store(0), op.get(OUTQ), op.get(MAYBE), v.store(16),
    ],
  };
}

/** The module's bytes (tests check it against the JavaScript reference). */
export function simdMomentsModule(): Uint8Array {
  return wasmModule(PAGES, [
    kernel('f32', false, false), kernel('bf16', true, false), kernel('f32_band', false, true), kernel('bf16_band', true, true),
    outlierKernel('f32_outliers', false), outlierKernel('bf16_outliers', true),
  ]);
}

type Kernel = (ptr: number, blocks: number, shift: number, out: number) => void;
type OutlierKernel = (ptr: number, blocks: number, mean: number, lo: number, hi: number, out: number) => void;

export class SimdMoments {
  readonly memory: { buffer: ArrayBuffer };
  private readonly kernels: Record<'F32' | 'BF16', Kernel>;
  private readonly bandKernels: Record<'F32' | 'BF16', Kernel>;
  private readonly outliers: Record<'F32' | 'BF16', OutlierKernel>;
  private readonly out: Float64Array;
  private readonly out32: Float32Array;
  private readonly outI32: Int32Array;

  constructor() {
    const instance = new wasm.Instance(new wasm.Module(simdMomentsModule()));
    const exports = instance.exports as Record<'f32' | 'bf16' | 'f32_band' | 'bf16_band', Kernel> & { memory: { buffer: ArrayBuffer }; f32_outliers: OutlierKernel; bf16_outliers: OutlierKernel };
    this.memory = exports.memory;
    this.kernels = { F32: exports.f32, BF16: exports.bf16 };
    this.bandKernels = { F32: exports.f32_band, BF16: exports.bf16_band };
    this.outliers = { F32: exports.f32_outliers, BF16: exports.bf16_outliers };
    this.out = new Float64Array(this.memory.buffer, OUT, 8);
    this.out32 = new Float32Array(this.memory.buffer, OUT, 33);
    this.outI32 = new Int32Array(this.memory.buffer, OUT, 33);
    this.bandIn = new Float32Array(this.memory.buffer, BAND_IN, 12);
  }

  private readonly bandIn: Float32Array;

  /** Where read `i` (0 or 1) puts its bytes. */
  region(i: number): Buffer {
    return Buffer.from(this.memory.buffer, REGION0 + i * REGION_BYTES, REGION_BYTES);
  }

  /** The float32 region, for values decoded in JavaScript. */
  floats(): Float32Array {
    return new Float32Array(this.memory.buffer, FLOAT_REGION, REGION_BYTES / 4);
  }

  /**
   * Moments of `count` F32 or BF16 values at byte `offset` of the memory (16-aligned), about `shift` (the
   * running mean; undefined: the mean of the first finite values). With `band`, the values are also sorted into
   * it (sure outliers counted, band elements kept) in the same pass; the moments are the same either way.
   */
  moments(kind: 'F32' | 'BF16', offset: number, count: number, shift?: number, band?: OutlierBand): MomentState {
    const values = kind === 'F32' ? f32View(this.memory.buffer, offset, count) : bf16View(this.memory.buffer, offset, count);
    const s = Math.fround(shift !== undefined && Number.isFinite(shift) ? shift : firstMean(values, count));
    const blocks = Math.floor(count / BLOCK);
    if (band) {
      this.bandIn.fill(band.center, 0, 4);
      this.bandIn.fill(band.low, 4, 8);
      this.bandIn.fill(band.high, 8, 12);
      this.bandKernels[kind](offset, blocks, s, OUT);
      band.sure += this.outI32[28]! + this.outI32[29]! + this.outI32[30]! + this.outI32[31]!;
      // The blocks the kernel listed: their band elements, found again with the kernel's float32 arithmetic.
      // (Typed arrays here, not `values`: on heavy-tailed tensors a third of the blocks may be listed.)
      const listed = new Int32Array(this.memory.buffer, LIST, this.outI32[32]!);
      if (kind === 'F32') {
        const floats = new Float32Array(this.memory.buffer, offset, count);
        for (const at of listed) for (let i = (at - offset) >> 2, end = i + BLOCK; i < end; i++) band.keepIfNear(floats[i]!);
      } else {
        const halves = new Uint16Array(this.memory.buffer, offset, count);
        const word = new Uint32Array(1);
        const float = new Float32Array(word.buffer);
        for (const at of listed) {
          for (let i = (at - offset) >> 1, end = i + BLOCK; i < end; i++) {
            word[0] = halves[i]! << 16;
            band.keepIfNear(float[0]!);
          }
        }
      }
    } else this.kernels[kind](offset, blocks, s, OUT);
    const o = this.out;
    let sd = o[0]! + o[1]!;
    let s2 = o[2]! + o[3]!;
    let s3 = o[4]! + o[5]!;
    let s4 = o[6]! + o[7]!;
    let absmax = Math.max(this.out32[16]!, this.out32[17]!, this.out32[18]!, this.out32[19]!);
    let zeros = this.outI32[20]! + this.outI32[21]! + this.outI32[22]! + this.outI32[23]!;
    let finite = this.outI32[24]! + this.outI32[25]! + this.outI32[26]! + this.outI32[27]!;
    for (let i = blocks * BLOCK; i < count; i++) {
      const x = values.get(i);
      band?.sort(x);
      const d = x - s;
      if (d - d !== 0) continue;
      finite++;
      if (x === 0) zeros++;
      const a = Math.abs(x);
      if (a > absmax) absmax = a;
      const d2 = d * d;
      sd += d;
      s2 += d2;
      s3 += d2 * d;
      s4 += d2 * d2;
    }
    // Σx = Σd + n·shift (float64: the shift is near the mean, so Σd is small and the mean keeps its digits).
    return fromShiftedSums(finite, count - finite, s, sd + finite * s, s2, s3, s4, absmax, zeros);
  }

  /** Elements of `count` F32/BF16 values at `offset` with |x − mean| > limit, exactly (float64 comparisons). */
  countOutliers(kind: 'F32' | 'BF16', offset: number, count: number, mean: number, limit: number): number {
    const values = kind === 'F32' ? f32View(this.memory.buffer, offset, count) : bf16View(this.memory.buffer, offset, count);
    const exact = (from: number) => {
      let over = 0;
      for (let i = from; i < count; i++) {
        const d = values.get(i) - mean;
        if (d > limit || d < -limit) over++;
      }
      return over;
    };
    const blocks = Math.floor(count / BLOCK);
    // float32 x − mean is off by at most a few ulps of |x| + |mean|: a band that wide around the limit is "maybe".
    const band = 1e-6 * (Math.abs(mean) + limit);
    this.outliers[kind](offset, blocks, Math.fround(mean), Math.fround(limit - band), Math.fround(limit + band), OUT);
    let sure = 0;
    let maybe = 0;
    for (let i = 0; i < 4; i++) {
      sure += this.outI32[i]!;
      maybe += this.outI32[4 + i]!;
    }
    if (sure !== maybe) return exact(0);
    return sure + exact(blocks * BLOCK);
  }
}

/**
 * Central moments from Σx and the power sums s2..s4 of d = x − shift (μ = mean − shift is small: the shift is
 * near the mean).
 */
export function fromShiftedSums(n: number, nonFinite: number, shift: number, sx: number, s2: number, s3: number, s4: number, absmax: number, zeros: number): MomentState {
  if (n === 0) return { ...emptyMoments(), nonFinite };
  const mean = sx / n;
  const mu = mean - shift;
  const m2 = Math.max(s2 - n * mu * mu, 0);
  const m3 = s3 - 3 * mu * s2 + 2 * n * mu * mu * mu;
  const m4 = Math.max(s4 - 4 * mu * s3 + 6 * mu * mu * s2 - 3 * n * mu * mu * mu * mu, 0);
  // Σx² = Σ(d + shift)² = s2 + 2·shift·Σx − n·shift².
  const sumSquares = s2 + 2 * shift * sx - n * shift * shift;
  return { n, mean, m2, m3, m4, sumSquares, absmax, zeros, nonFinite };
}

interface Values { get(i: number): number }

function f32View(buffer: ArrayBuffer, offset: number, count: number): Values {
  const floats = new Float32Array(buffer, offset, count);
  return { get: (i) => floats[i]! };
}

function bf16View(buffer: ArrayBuffer, offset: number, count: number): Values {
  const halves = new Uint16Array(buffer, offset, count);
  const word = new Uint32Array(1);
  const float = new Float32Array(word.buffer);
  return { get: (i) => ((word[0] = halves[i]! << 16), float[0]!) };
}

function firstMean(values: Values, count: number): number {
  const get = (i: number) => values.get(i);
  let sum = 0;
  let n = 0;
  for (let i = 0; i < count && n < 1024; i++) {
    const x = get(i);
    if (Number.isFinite(x)) {
      sum += x;
      n++;
    }
  }
  return n > 0 ? sum / n : 0;
}
