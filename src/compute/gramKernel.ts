// WᵀW·v for the Lanczos iteration (spectral.ts) as a WebAssembly SIMD kernel: one pass over W, each row's dot
// product with v taken and its multiple added into z while the row is in cache (onnxruntime's graph makes two
// passes, W·v then Wᵀu, and its thread pool suffers most on a shared machine: docs/benchmarks.md). Products and
// z accumulate in float32 lanes, as MLAS does; the recurrence around them is float64 (spectral.ts).
import { throwIfAborted } from '../errors';
import { lanczosStableRank, type SpectralEstimate } from './spectral';
import { I32, op, V128, v, wasm, wasmModule } from './wasmEmit';

/**
 * Rows per block of the main loop. Every row of W is read once from memory per product whatever the block, but a
 * block of B rows gives the dot products B independent accumulators (one chain per row was the limit: add latency)
 * and loads and stores z once per B rows instead of once per row. 8 accumulators, the 8 row multiples and v fit the
 * 16 SIMD registers of x86-64; 8 rows of 4096 floats (128 KiB) stay in L2 between the two halves of the block.
 */
export const GRAM_BLOCK_ROWS = 8;

const [W, ROWS, COLS, VP, ZP] = [0, 1, 2, 3, 4];
const [ROWBYTES, K, P, Q] = [5, 6, 7, 8];

/**
 * z += WᵀW·v over `rows` rows, `block` rows at a time (the rows left over one at a time). The arithmetic is the
 * same for any block, in the same order: each row's dot is Σ over 4-lane vectors of w·v, its lanes summed
 * ((l0 + l1) + l2) + l3, and z takes the rows' multiples one row after the other, so z is bit-identical to the
 * one-row loop (the tests compare the two).
 */
export function gramModule(block = GRAM_BLOCK_ROWS): Uint8Array {
  // Locals after the parameters: ROWBYTES, K, P, Q, then OFF[1..block-1] (byte offsets of the block's rows from
  // row 0), then VV (the current 4 values of v), ACC[0..block-1], DOT[0..block-1].
  const off = (i: number) => 9 + i - 1;
  const vv = 9 + block - 1;
  const acc = (i: number) => vv + 1 + i;
  const dotLocal = (i: number) => vv + 1 + block + i;
  const rowAddress = (i: number) => (i === 0 ? op.get(P) : [op.get(P), op.get(off(i)), op.i32Add]);
  const rowsOf = (b: number) => Array.from({ length: b }, (_, i) => i);
  const step = [
    op.get(P), op.i32(16), op.i32Add, op.set(P), op.get(Q), op.i32(16), op.i32Add, op.set(Q),
    op.get(K), op.i32(16), op.i32Sub, op.set(K), op.get(K), op.brIf(0),
  ];
  // One block of b rows starting at W: the b dot products, then z += Σ dot_i · row_i, row after row.
  const blockBody = (b: number) => [
    ...rowsOf(b).map((i) => [v.zero, op.set(acc(i))]),
    op.get(W), op.set(P), op.get(VP), op.set(Q), op.get(ROWBYTES), op.set(K),
    op.loop,
    op.get(Q), v.load(), op.set(vv),
    ...rowsOf(b).map((i) => [op.get(acc(i)), rowAddress(i), v.load(), op.get(vv), v.f32Mul, v.f32Add, op.set(acc(i))]),
    ...step,
    op.end,
    ...rowsOf(b).map((i) => [
      op.get(acc(i)), v.f32Lane(0), op.get(acc(i)), v.f32Lane(1), op.f32Add, op.get(acc(i)), v.f32Lane(2), op.f32Add, op.get(acc(i)), v.f32Lane(3), op.f32Add,
      v.f32Splat, op.set(dotLocal(i)),
    ]),
    op.get(W), op.set(P), op.get(ZP), op.set(Q), op.get(ROWBYTES), op.set(K),
    op.loop,
    op.get(Q), op.get(Q), v.load(),
    ...rowsOf(b).map((i) => [op.get(dotLocal(i)), rowAddress(i), v.load(), v.f32Mul, v.f32Add]),
    v.store(),
    ...step,
    op.end,
    op.get(W), op.get(ROWBYTES), op.i32(b), op.i32Mul, op.i32Add, op.set(W),
    op.get(ROWS), op.i32(b), op.i32Sub, op.set(ROWS),
  ];
  return wasmModule(1, [{
    name: 'gram',
    params: [I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, ...rowsOf(block - 1).map(() => I32), V128, ...rowsOf(2 * block).map(() => V128)],
    body: [
      op.get(COLS), op.i32(2), op.i32Shl, op.set(ROWBYTES),
      ...rowsOf(block).slice(1).map((i) => [op.get(ROWBYTES), op.i32(i), op.i32Mul, op.set(off(i))]),
      // Whole blocks while at least `block` rows are left, then single rows.
      op.block, op.loop,
      op.get(ROWS), op.i32(block), op.i32LtU, op.brIf(1),
      ...blockBody(block),
      op.br(0),
      op.end, op.end,
      op.block, op.loop,
      op.get(ROWS), op.i32Eqz, op.brIf(1),
      ...blockBody(1),
      op.br(0),
      op.end, op.end,
    ],
  }]);
}

interface GramExports { memory: { buffer: ArrayBuffer; grow(pages: number): number }; gram(w: number, rows: number, cols: number, v: number, z: number): void }

/** One module, its memory grown to the largest matrix seen (a 4096² float32 matrix: 64 MiB). */
export class GramKernel {
  private readonly exports: GramExports;

  /** `block`: rows per block (GRAM_BLOCK_ROWS; the tests compare other blocks, which give the same bits). */
  constructor(block = GRAM_BLOCK_ROWS) {
    this.exports = new wasm.Instance(new wasm.Module(gramModule(block))).exports as unknown as GramExports;
  }

  /** Columns must be a multiple of 4 (callers fall back to onnxruntime otherwise). */
  static fits(cols: number): boolean {
    return cols % 4 === 0;
  }

  /**
   * Where the next matrix of `rows·cols` floats should be written: inside the module's memory, after v and z, so
   * stableRank() finds it in place (no 64 MB copy, and the pages are touched once per run, not once per matrix).
   * Valid until the next call.
   */
  matrix(count: number, cols: number): Float32Array {
    const need = 8 * cols + 4 * count;
    const memory = this.exports.memory;
    if (memory.buffer.byteLength < need) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
    return new Float32Array(memory.buffer, 8 * cols, count);
  }

  async stableRank(values: Float32Array, rows: number, cols: number, frobeniusSquared: number, tolerance?: number, signal?: AbortSignal): Promise<SpectralEstimate | null> {
    if (rows === 0 || cols === 0 || frobeniusSquared === 0) return null;
    const inPlace = values.buffer === this.exports.memory.buffer && values.byteOffset === 8 * cols && values.length === rows * cols;
    if (!inPlace) this.matrix(rows * cols, cols).set(values);
    return lanczosStableRank((q) => {
      throwIfAborted(signal);
      return Float64Array.from(this.product(q, rows, cols));
    }, cols, frobeniusSquared, undefined, tolerance);
  }

  /** z = WᵀW·q (q rounded to float32) for the matrix last written at matrix(); a view of the module's memory. */
  product(q: Float64Array, rows: number, cols: number): Float32Array {
    const buffer = this.exports.memory.buffer;
    new Float32Array(buffer, 0, cols).set(q);
    const z = new Float32Array(buffer, 4 * cols, cols);
    z.fill(0);
    this.exports.gram(8 * cols, rows, cols, 0, 4 * cols);
    return z;
  }
}
