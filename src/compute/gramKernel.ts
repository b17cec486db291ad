// WᵀW·v for the Lanczos iteration (spectral.ts) as a WebAssembly SIMD kernel: one pass over W, each row's dot
// product with v taken and its multiple added into z while the row is in cache (onnxruntime's graph makes two
// passes, W·v then Wᵀu, and its thread pool suffers most on a shared machine: docs/benchmarks.md). Products and
// z accumulate in float32 lanes, as MLAS does; the recurrence around them is float64 (spectral.ts).
import { throwIfAborted } from '../errors';
import { lanczosStableRank, type SpectralEstimate } from './spectral';
import { I32, op, V128, v, wasm, wasmModule } from './wasmEmit';

const [W, ROWS, COLS, VP, ZP] = [0, 1, 2, 3, 4];
const [ROWBYTES, K, P, Q, START, ACC, DOT] = [5, 6, 7, 8, 9, 10, 11];

export function gramModule(): Uint8Array {
  return wasmModule(1, [{
    name: 'gram',
    params: [I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, I32, V128, V128],
    body: [
      op.get(COLS), op.i32(2), op.i32Shl, op.set(ROWBYTES),
      op.block, op.loop,
      op.get(ROWS), op.i32Eqz, op.brIf(1),
      // acc = Σ w·v over the row
      op.get(W), op.set(START), v.zero, op.set(ACC), op.get(VP), op.set(Q), op.get(ROWBYTES), op.set(K),
      op.loop,
      op.get(ACC), op.get(W), v.load(), op.get(Q), v.load(), v.f32Mul, v.f32Add, op.set(ACC),
      op.get(W), op.i32(16), op.i32Add, op.set(W), op.get(Q), op.i32(16), op.i32Add, op.set(Q),
      op.get(K), op.i32(16), op.i32Sub, op.set(K), op.get(K), op.brIf(0),
      op.end,
      op.get(ACC), v.f32Lane(0), op.get(ACC), v.f32Lane(1), op.f32Add, op.get(ACC), v.f32Lane(2), op.f32Add, op.get(ACC), v.f32Lane(3), op.f32Add,
      v.f32Splat, op.set(DOT),
      // z += dot · row
      op.get(START), op.set(P), op.get(ZP), op.set(Q), op.get(ROWBYTES), op.set(K),
      op.loop,
      op.get(Q), op.get(Q), v.load(), op.get(DOT), op.get(P), v.load(), v.f32Mul, v.f32Add, v.store(),
      op.get(P), op.i32(16), op.i32Add, op.set(P), op.get(Q), op.i32(16), op.i32Add, op.set(Q),
      op.get(K), op.i32(16), op.i32Sub, op.set(K), op.get(K), op.brIf(0),
      op.end,
      op.get(ROWS), op.i32(1), op.i32Sub, op.set(ROWS),
      op.br(0),
      op.end, op.end,
    ],
  }]);
}

interface GramExports { memory: { buffer: ArrayBuffer; grow(pages: number): number }; gram(w: number, rows: number, cols: number, v: number, z: number): void }

/** One module, its memory grown to the largest matrix seen (a 4096² float32 matrix: 64 MiB). */
export class GramKernel {
  private readonly exports: GramExports;

  constructor() {
    this.exports = new wasm.Instance(new wasm.Module(gramModule())).exports as unknown as GramExports;
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
    const buffer = this.exports.memory.buffer;
    const v32 = new Float32Array(buffer, 0, cols);
    const z32 = new Float32Array(buffer, 4 * cols, cols);
    return lanczosStableRank((q) => {
      throwIfAborted(signal);
      v32.set(q);
      z32.fill(0);
      this.exports.gram(8 * cols, rows, cols, 0, 4 * cols);
      return Float64Array.from(z32);
    }, cols, frobeniusSquared, undefined, tolerance);
  }
}
