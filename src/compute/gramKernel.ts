// WᵀW·v for the Lanczos iteration (spectral.ts) as a WebAssembly SIMD kernel: one pass over W, each row's dot
// product with v taken and its multiple added into z while the row is in cache (onnxruntime's graph makes two
// passes, W·v then Wᵀu, and its thread pool suffers most on a shared machine: docs/benchmarks.md). Products and
// z accumulate in float32 lanes, as MLAS does; the recurrence around them is float64 (spectral.ts). A BF16 tensor's
// matrix is kept as its 2-byte bit patterns and widened in the loop: half the bytes to read on every pass.
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

/** A row's values as the kernel reads them: float32, or BF16 (the upper halves of float32, widened in the loop). */
export type GramElement = 'F32' | 'BF16';

/**
 * z += WᵀW·v over `rows` rows, `block` rows at a time (the rows left over one at a time). The arithmetic is the
 * same for any block and either element type, in the same order: each row's dot is Σ over 4-lane vectors of w·v,
 * its lanes summed ((l0 + l1) + l2) + l3, and z takes the rows' multiples one row after the other, so z is
 * bit-identical to the one-row loop over the float32 matrix (the tests compare them). A BF16 row is widened to
 * float32 in registers (exact: a shift), so a pass reads half the bytes of the float32 copy: the product is
 * bound by memory once the rows come in blocks.
 */
function gramFunction(element: GramElement, block: number) {
  const half = element === 'BF16';
  // Locals after the parameters: ROWBYTES, K, P, Q, OFF[1..block-1] (byte offsets of the block's rows from row 0),
  // then V128s: V0, V1 (v, or z, at Q and Q + 16), X (the loaded 8 BF16 values), ACC[0..block-1], DOT[0..block-1].
  const off = (i: number) => 9 + i - 1;
  const [v0, v1, x] = [8 + block, 9 + block, 10 + block];
  const acc = (i: number) => 11 + block + i;
  const dotLocal = (i: number) => 11 + 2 * block + i;
  const rowAddress = (i: number) => (i === 0 ? op.get(P) : [op.get(P), op.get(off(i)), op.i32Add]);
  const rowsOf = (b: number) => Array.from({ length: b }, (_, i) => i);
  // Per iteration: 16 bytes of each row (4 float32 or 8 BF16 values), 16 or 32 bytes of v and z.
  const step = [
    op.get(P), op.i32(16), op.i32Add, op.set(P), op.get(Q), op.i32(half ? 32 : 16), op.i32Add, op.set(Q),
    op.get(K), op.i32(16), op.i32Sub, op.set(K), op.get(K), op.brIf(0),
  ];
  const low = [op.get(x), v.i32ExtendLowU16, op.i32(16), v.i32Shl];
  const high = [op.get(x), v.i32ExtendHighU16, op.i32(16), v.i32Shl];
  const dotOf = (i: number) => half
    ? [rowAddress(i), v.load(), op.set(x),
      op.get(acc(i)), low, op.get(v0), v.f32Mul, v.f32Add, high, op.get(v1), v.f32Mul, v.f32Add, op.set(acc(i))]
    : [op.get(acc(i)), rowAddress(i), v.load(), op.get(v0), v.f32Mul, v.f32Add, op.set(acc(i))];
  const addInto = (i: number) => half
    ? [rowAddress(i), v.load(), op.set(x),
      op.get(v0), op.get(dotLocal(i)), low, v.f32Mul, v.f32Add, op.set(v0),
      op.get(v1), op.get(dotLocal(i)), high, v.f32Mul, v.f32Add, op.set(v1)]
    : [op.get(v0), op.get(dotLocal(i)), rowAddress(i), v.load(), v.f32Mul, v.f32Add, op.set(v0)];
  // One block of b rows starting at W: the b dot products, then z += Σ dot_i · row_i, row after row.
  const blockBody = (b: number) => [
    ...rowsOf(b).map((i) => [v.zero, op.set(acc(i))]),
    op.get(W), op.set(P), op.get(VP), op.set(Q), op.get(ROWBYTES), op.set(K),
    op.loop,
    op.get(Q), v.load(), op.set(v0),
    ...(half ? [op.get(Q), v.load(16), op.set(v1)] : []),
    ...rowsOf(b).map(dotOf),
    ...step,
    op.end,
    ...rowsOf(b).map((i) => [
      op.get(acc(i)), v.f32Lane(0), op.get(acc(i)), v.f32Lane(1), op.f32Add, op.get(acc(i)), v.f32Lane(2), op.f32Add, op.get(acc(i)), v.f32Lane(3), op.f32Add,
      v.f32Splat, op.set(dotLocal(i)),
    ]),
    op.get(W), op.set(P), op.get(ZP), op.set(Q), op.get(ROWBYTES), op.set(K),
    op.loop,
    op.get(Q), v.load(), op.set(v0),
    ...(half ? [op.get(Q), v.load(16), op.set(v1)] : []),
    ...rowsOf(b).map(addInto),
    op.get(Q), op.get(v0), v.store(),
    ...(half ? [op.get(Q), op.get(v1), v.store(16)] : []),
    ...step,
    op.end,
    op.get(W), op.get(ROWBYTES), op.i32(b), op.i32Mul, op.i32Add, op.set(W),
    op.get(ROWS), op.i32(b), op.i32Sub, op.set(ROWS),
  ];
  return {
    name: half ? 'gram16' : 'gram',
    params: [I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, ...rowsOf(block - 1).map(() => I32), V128, V128, V128, ...rowsOf(2 * block).map(() => V128)],
    body: [
      op.get(COLS), op.i32(half ? 1 : 2), op.i32Shl, op.set(ROWBYTES),
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
  };
}

/** The module: `gram` over a float32 matrix, `gram16` over a BF16 one, both (w, rows, cols, v, z) byte offsets. */
export function gramModule(block = GRAM_BLOCK_ROWS): Uint8Array {
  return wasmModule(1, [gramFunction('F32', block), gramFunction('BF16', block)]);
}

type Gram = (w: number, rows: number, cols: number, v: number, z: number) => void;
interface GramExports { memory: { buffer: ArrayBuffer; grow(pages: number): number }; gram: Gram; gram16: Gram }

/** A matrix for the product: float32 values, or BF16 bit patterns (the tensor's bytes as they lie in the file). */
export type GramMatrix = Float32Array | Uint16Array;

/** One module, its memory grown to the largest matrix seen (a 4096² float32 matrix: 64 MiB; BF16: 32 MiB). */
export class GramKernel {
  private readonly exports: GramExports;

  /** `block`: rows per block (GRAM_BLOCK_ROWS; the tests compare other blocks, which give the same bits). */
  constructor(block = GRAM_BLOCK_ROWS) {
    this.exports = new wasm.Instance(new wasm.Module(gramModule(block))).exports as unknown as GramExports;
  }

  /** Columns must be a multiple of 4 for float32, of 8 for BF16 (callers gather float32 or use onnxruntime otherwise). */
  static fits(cols: number, element: GramElement = 'F32'): boolean {
    return cols % (element === 'BF16' ? 8 : 4) === 0;
  }

  /**
   * Where the next matrix of `count` values should be written: inside the module's memory, after v and z, so
   * stableRank() finds it in place (no 64 MB copy, and the pages are touched once per run, not once per matrix).
   * Valid until the next call.
   */
  matrix(count: number, cols: number, element: GramElement = 'F32'): GramMatrix {
    const size = element === 'BF16' ? 2 : 4;
    const need = 8 * cols + size * count;
    const memory = this.exports.memory;
    if (memory.buffer.byteLength < need) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
    return element === 'BF16' ? new Uint16Array(memory.buffer, 8 * cols, count) : new Float32Array(memory.buffer, 8 * cols, count);
  }

  async stableRank(values: GramMatrix, rows: number, cols: number, frobeniusSquared: number, tolerance?: number, signal?: AbortSignal): Promise<SpectralEstimate | null> {
    if (rows === 0 || cols === 0 || frobeniusSquared === 0) return null;
    const element = elementOf(values);
    const inPlace = values.buffer === this.exports.memory.buffer && values.byteOffset === 8 * cols && values.length === rows * cols;
    if (!inPlace) this.matrix(rows * cols, cols, element).set(values);
    return lanczosStableRank((q) => {
      throwIfAborted(signal);
      return Float64Array.from(this.product(q, rows, cols, element));
    }, cols, frobeniusSquared, undefined, tolerance);
  }

  /** z = WᵀW·q (q rounded to float32) for the matrix last written at matrix(); a view of the module's memory. */
  product(q: Float64Array, rows: number, cols: number, element: GramElement = 'F32'): Float32Array {
    const buffer = this.exports.memory.buffer;
    new Float32Array(buffer, 0, cols).set(q);
    const z = new Float32Array(buffer, 4 * cols, cols);
    z.fill(0);
    (element === 'BF16' ? this.exports.gram16 : this.exports.gram)(8 * cols, rows, cols, 0, 4 * cols);
    return z;
  }
}

export function elementOf(values: GramMatrix): GramElement {
  return values instanceof Uint16Array ? 'BF16' : 'F32';
}

/** BF16 bit patterns as float32 (exact), for a product that takes float32 only (onnxruntime, the JavaScript loop). */
export function widenBf16(values: GramMatrix): Float32Array {
  if (values instanceof Float32Array) return values;
  const wide = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) wide[i] = values[i]! << 16;
  return new Float32Array(wide.buffer);
}
