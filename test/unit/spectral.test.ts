// Stable rank against numpy's float64 SVD (test/fixtures/stats/make_spectral_fixture.py): every value lies within
// the bound it reports. A GGUF matrix is read with its dims innermost-first (issue #14: it was reshaped, 2.2× off
// on non-square matrices), and close top singular values no longer stop the iteration early without a word.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { matrixDims, stats } from '../../src/analyses/stats';
import { gramProduct, STABLE_RANK_TOLERANCE, stableRank, topEigenvector } from '../../src/compute/spectral';
import { GRAM_BLOCK_ROWS, GramKernel, widenBf16 } from '../../src/compute/gramKernel';
import { SpectralKernel } from '../../src/compute/spectralKernel';
import { gguf, GT, tensorInfo } from '../fixtures/gguf/ggufBytes';
import { encodeSafetensors } from '../fixtures/safetensorsWriter';
import { ROOT, tempDir, writeTemp } from './helpers';

interface Golden { rows: number; cols: number; values: number[]; sigmaMax: number; stableRank: number }
const golden = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'stats', 'spectral.golden.json'), 'utf8')) as Record<'wide' | 'close', Golden>;
const bytes = (g: Golden) => Buffer.from(Float32Array.from(g.values).buffer);

/** The exact value lies in [stableRank·(1 − bound), stableRank] (float32 products: 1e-6 slack). */
function withinBound(actual: number, bound: number, exact: number, what: string): void {
  assert.ok(bound >= 0 && bound <= STABLE_RANK_TOLERANCE, `${what}: bound ${bound}`);
  assert.ok(exact <= actual * (1 + 1e-6) && exact >= actual * (1 - bound) * (1 - 1e-6), `${what}: ${actual} (bound ${bound}) vs SVD ${exact}`);
}

test('matrix orientation: GGUF dims are innermost-first, the others outermost-first', () => {
  assert.deepEqual(matrixDims([40, 24], true), { rows: 24, cols: 40 });
  assert.deepEqual(matrixDims([24, 40], false), { rows: 24, cols: 40 });
  assert.equal(matrixDims([4, 3, 5], false), null);
});

test('stable rank of a non-square GGUF matrix matches the float64 SVD within its bound', async () => {
  const g = golden.wide;
  const data = bytes(g);
  const path = writeTemp(tempDir(), 'wide.gguf', gguf({ infos: [tensorInfo('blk.0.ffn_up.weight', [g.cols, g.rows], GT.F32, 0)], data }));
  for (const kernel of ['js', undefined]) {
    process.env.IMPORTANCE_LENS_KERNEL = kernel ?? '';
    try {
      const result = await drain(stats({ path }));
      const t = result.tensors[0]!;
      withinBound(t.stableRank!, t.stableRankBound!, g.stableRank, `GGUF ${kernel ?? 'graph'}`);
    } finally {
      delete process.env.IMPORTANCE_LENS_KERNEL;
    }
  }
});

test('close top singular values (0.1 % apart): the estimate is within its bound of the SVD', async () => {
  const g = golden.close;
  const values = Float32Array.from(g.values);
  const fro = g.values.reduce((s, x) => s + x * x, 0);
  const loop = stableRank(values, g.rows, g.cols, fro)!;
  withinBound(loop.stableRank, loop.bound, g.stableRank, 'loop');
  const kernel = await SpectralKernel.create('cpu');
  try {
    const graph = (await kernel.stableRank(values, g.rows, g.cols, fro))!;
    withinBound(graph.stableRank, graph.bound, g.stableRank, 'graph');
  } finally {
    await kernel.release();
  }
  const wasmGram = (await new GramKernel().stableRank(values, g.rows, g.cols, fro))!;
  withinBound(wasmGram.stableRank, wasmGram.bound, g.stableRank, 'WebAssembly product');
  assert.ok(Math.abs(wasmGram.sigmaMax - loop.sigmaMax) <= 1e-6 * loop.sigmaMax, `σ ${wasmGram.sigmaMax} vs the loop's ${loop.sigmaMax}`);
  const path = writeTemp(tempDir(), 'close.safetensors', encodeSafetensors([{ name: 'model.layers.0.mlp.down_proj.weight', dtype: 'F32', shape: [g.rows, g.cols], data: bytes(g) }]));
  const t = (await drain(stats({ path }))).tensors[0]!;
  withinBound(t.stableRank!, t.stableRankBound!, g.stableRank, 'stats');
});

test('the small eigensolver of the Ritz step: the top eigenvector of a symmetric matrix with a known spectrum', () => {
  // A = H·diag(λ)·H with H = I − 2hhᵀ/hᵀh (symmetric, orthogonal), stored in the corner of a wider row stride as
  // the Lanczos step stores it; the top two eigenvalues 1e-4 apart, one negative, one repeated.
  const k = 9;
  const stride = 12;
  const lambda = [0.3, -2, 5.0001, 0.3, 1, 5, 0, 4.2, 2.5];
  const hv = Array.from({ length: k }, (_, i) => Math.sin(i + 1));
  const hh = hv.reduce((sum, x) => sum + x * x, 0);
  const reflect = (i: number, j: number) => (i === j ? 1 : 0) - (2 * hv[i]! * hv[j]!) / hh;
  const a = new Float64Array(stride * stride).fill(Number.NaN);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      let sum = 0;
      for (let t = 0; t < k; t++) sum += reflect(i, t) * lambda[t]! * reflect(t, j);
      a[i * stride + j] = sum;
    }
  }
  const x = topEigenvector(a, stride, k);
  const top = lambda.indexOf(Math.max(...lambda));
  const cosine = x.reduce((sum, xi, i) => sum + xi * reflect(i, top), 0);
  assert.ok(Math.abs(Math.abs(cosine) - 1) <= 1e-9, `|cos| ${cosine}`);
  assert.ok(Math.abs(x.reduce((sum, xi) => sum + xi * xi, 0) - 1) <= 1e-12, 'unit length');
  assert.equal(Math.abs(topEigenvector(Float64Array.of(3), 1, 1)[0]!), 1, 'a 1 × 1 matrix');
});

test('WebAssembly product: rows in blocks and BF16 rows give the same bits as float32 rows one at a time, and the float64 loop within float32 rounding', () => {
  // 8k + 5 rows: whole blocks and a tail of single rows; a zero row and a huge one (the blocks must not skip or reorder them).
  const rows = 4 * GRAM_BLOCK_ROWS + 5;
  const cols = 40;
  const values = new Float32Array(rows * cols);
  let state = 7;
  for (let i = 0; i < values.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = state / 4294967296 - 0.5;
  }
  values.fill(0, 3 * cols, 4 * cols);
  for (let c = 0; c < cols; c++) values[(rows - 2) * cols + c]! *= 1e6;
  const q = Float64Array.from({ length: cols }, (_, i) => Math.cos(i) / Math.sqrt(cols));
  // The BF16 kernel reads bit patterns: round the values to BF16 first, so both kernels see the same matrix.
  const bits = Uint16Array.from(new Uint32Array(values.buffer), (u) => u >>> 16);
  values.set(widenBf16(bits));
  const product = (block: number, element: 'F32' | 'BF16' = 'F32') => {
    const kernel = new GramKernel(block);
    kernel.matrix(rows * cols, cols, element).set(element === 'BF16' ? bits : values);
    return Float32Array.from(kernel.product(q, rows, cols, element));
  };
  const one = product(1);
  const reference = gramProduct(values, rows, cols, Float64Array.from(new Float32Array(q)));
  for (const block of [GRAM_BLOCK_ROWS, 3, 4]) {
    assert.deepEqual(product(block), one, `block of ${block} rows`);
    assert.deepEqual(product(block, 'BF16'), one, `BF16, block of ${block} rows`);
  }
  assert.deepEqual(product(1, 'BF16'), one, 'BF16, one row at a time');
  const scale = Math.max(...reference.map(Math.abs));
  for (let c = 0; c < cols; c++) assert.ok(Math.abs(one[c]! - reference[c]!) <= 1e-5 * scale, `z[${c}] ${one[c]} vs ${reference[c]}`);
});

test('a BF16 matrix, kept as its bits for the Lanczos passes, gives the stable rank of the same values stored as F32', async () => {
  const g = golden.close;
  const bits = Uint16Array.from(new Uint32Array(Float32Array.from(g.values).buffer), (u) => u >>> 16);
  const name = 'model.layers.0.mlp.down_proj.weight';
  const dir = tempDir();
  const bf16 = writeTemp(dir, 'bf16.safetensors', encodeSafetensors([{ name, dtype: 'BF16', shape: [g.rows, g.cols], data: Buffer.from(bits.buffer) }]));
  const f32 = writeTemp(dir, 'f32.safetensors', encodeSafetensors([{ name, dtype: 'F32', shape: [g.rows, g.cols], data: Buffer.from(widenBf16(bits).buffer) }]));
  const [a, b] = [(await drain(stats({ path: bf16 }))).tensors[0]!, (await drain(stats({ path: f32 }))).tensors[0]!];
  // Same products bit for bit; ‖W‖²_F comes from each dtype's moments kernel (last bits).
  assert.ok(Math.abs(a.stableRank! - b.stableRank!) <= 1e-9 * b.stableRank!, `BF16 ${a.stableRank} vs F32 ${b.stableRank}`);
  assert.ok(Math.abs(a.stableRankBound! - b.stableRankBound!) <= 1e-9, `bounds ${a.stableRankBound} vs ${b.stableRankBound}`);
});

test('--no-stable-rank: moments only, stable rank and its bound null', async () => {
  const g = golden.wide;
  const path = writeTemp(tempDir(), 'norank.safetensors', encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [g.rows, g.cols], data: bytes(g) }]));
  const t = (await drain(stats({ path, stableRank: false }))).tensors[0]!;
  assert.equal(t.stableRank, null);
  assert.equal(t.stableRankBound, null);
  assert.ok(t.l2! > 0);
});
