// The outlier count in the moments pass (outlierBand.ts, the band kernels of simdMoments.ts): the band kernels give
// the moments of the plain kernels bit for bit and sort every element as the JavaScript rule does; and `stats`' one
// pass gives exactly the statistics of the two-pass count (itself held to numpy by stats.test.ts) on F32, BF16 and
// F16, GGML Q8_0 and I8 (decoded) tensors of several chunks, both where the band decides the count (weight-like
// values, rows of different scales, NaN/±Inf, elements exactly at the limit) and where it must give up and the second pass runs (outliers clustered between
// the sample's runs, a constant tensor, a sparse tensor, the band's buffer overflowing), and on tensors of one chunk
// and tiny ones, counted in the kernel's memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TensorInfo } from '../../src/formats/types';
import { finishMoments } from '../../src/compute/moments';
import { simdTensorMoments, simdTensorOutliers } from '../../src/compute/momentsPass';
import { OutlierBand, sampleBand } from '../../src/compute/outlierBand';
import { BLOCK, READ_BYTES, SimdMoments } from '../../src/compute/simdMoments';
import { OUTLIER_SIGMAS, simdTensorStats } from '../../src/compute/simdTensorStats';
import type { SimdKernels } from '../../src/compute/statsKernels';
import { FileHandles } from '../../src/compute/tensorStream';
import { tempDir, writeTemp } from './helpers';

const kernel = new SimdMoments();
const kernels: SimdKernels = {
  simd: kernel,
  matrixBuffer: () => { throw new Error('no matrix here'); },
  stableRank: () => null,
};
type Dtype = 'F32' | 'BF16' | 'F16';
const SIZE: Record<Dtype, number> = { F32: 4, BF16: 2, F16: 2 };

/** Roughly normal (sum of 4 uniforms), σ ≈ 0.02 around `centre`, with heavier tails on every 997th element. */
function weights(count: number, seed: number, centre = 0): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let sum = 0;
    for (let k = 0; k < 4; k++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      sum += seed / 4294967296;
    }
    out[i] = centre + (sum - 2) * 0.0346 * (i % 997 === 0 ? 5 : 1);
  }
  return out;
}

function encode(values: Float32Array, dtype: Dtype): Buffer {
  if (dtype === 'F32') return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  if (dtype === 'BF16') return Buffer.from(Uint16Array.from(words, (w) => w >>> 16).buffer);
  // F16 by truncation (normal halves, tiny values flushed to zero, ±Inf and NaN kept): exact enough for a fixture.
  return Buffer.from(Uint16Array.from(words, (w) => {
    const sign = (w >>> 16) & 0x8000;
    const exponent = (w >>> 23) & 0xff;
    if (exponent === 0xff) return sign | 0x7c00 | ((w & 0x7fffff) !== 0 ? 0x200 : 0);
    const e = exponent - 127 + 15;
    return e <= 0 ? sign : e >= 31 ? sign | 0x7c00 : sign | (e << 10) | ((w >>> 13) & 0x3ff);
  }).buffer);
}

const dir = tempDir();
let files = 0;
function tensorFile(values: Float32Array, dtype: Dtype): TensorInfo {
  const bytes = encode(values, dtype);
  const file = writeTemp(dir, `t${files++}.bin`, Buffer.concat([Buffer.alloc(24), bytes]));
  return { name: `w${files}`, dtype, shape: [values.length], count: values.length, file, byteOffset: 24, byteLength: bytes.length } as TensorInfo;
}

/** The one-pass statistics, which must equal the two-pass ones, and whether the band decided the count. */
async function bothWays(tensor: TensorInfo): Promise<{ outliers: number; banded: boolean | undefined }> {
  const handles = new FileHandles();
  try {
    const one = await simdTensorStats(tensor, null, kernels, handles, undefined, 'sync', 'one-pass');
    const two = await simdTensorStats(tensor, null, kernels, handles, undefined, 'sync', 'two-pass');
    assert.deepEqual(one, two, `${tensor.dtype} ×${tensor.count}: one pass = two passes`);
    // The band on its own: did it decide (a number equal to the second pass's count) or give up?
    const band = await sampleBand(tensor, handles, OUTLIER_SIGMAS);
    if (!band) return { outliers: one.outliers ?? NaN, banded: undefined };
    const m = finishMoments(await simdTensorMoments(tensor, handles, kernel, undefined, undefined, 'sync', { band }));
    const limit = OUTLIER_SIGMAS * m.std;
    const exact = band.exactCount(m.mean, limit);
    if (exact !== undefined) assert.equal(exact, await simdTensorOutliers(tensor, handles, kernel, m.mean, limit, undefined, 'sync'));
    return { outliers: one.outliers ?? NaN, banded: exact !== undefined };
  } finally {
    await handles.close();
  }
}

test('the band kernels give the plain kernels\' moments and sort every element as OutlierBand.sort does (F32, BF16)', () => {
  const count = 200 * BLOCK + 77;
  const x = weights(count, 5, 0.25);
  x[3] = NaN;
  x[BLOCK + 5] = Infinity;
  x[2 * BLOCK] = -Infinity;
  x[count - 2] = NaN;
  x[count - 5] = Infinity; // in the tail
  for (let i = 0; i < count; i += 61) x[i] = 0.25 + (i % 2 ? 1 : -1) * 0.11; // near the band's edges
  for (const kind of ['F32', 'BF16'] as const) {
    const bytes = encode(x, kind);
    const region = kernel.region(0);
    bytes.copy(region);
    const band = new OutlierBand(Math.fround(0.25), Math.fround(0.1), Math.fround(0.12));
    const reference = new OutlierBand(band.center, band.low, band.high);
    const plain = kernel.moments(kind, region.byteOffset, count, 0.25);
    const banded = kernel.moments(kind, region.byteOffset, count, 0.25, band);
    assert.deepEqual(banded, plain, `${kind} moments`);
    const widened = kind === 'F32' ? x : new Float32Array(Uint32Array.from(new Uint16Array(bytes.buffer, bytes.byteOffset, count), (h) => h << 16).buffer);
    for (const value of widened) reference.sort(value);
    assert.equal(band.sure, reference.sure, `${kind} sure`);
    assert.equal(band.keptCount, reference.keptCount, `${kind} kept`);
    assert.ok(band.sure >= 3 && band.keptCount > 100, `${kind}: both sides exercised (${band.sure} sure, ${band.keptCount} kept)`);
    assert.equal(band.exactCount(0.25, 0.11), reference.exactCount(0.25, 0.11));
  }
});

test('one pass equals two passes, the band deciding: weight-like tensors of several chunks (F32, BF16, F16)', async () => {
  for (const dtype of ['F32', 'BF16', 'F16'] as const) {
    const chunk = dtype === 'F16' ? kernel.floats().length : READ_BYTES / SIZE[dtype];
    const x = weights(Math.floor(2.5 * chunk) + 3, 11);
    for (let i = 0; i < 40; i++) x[(i * 104729) % x.length] = (i % 2 ? 1 : -1) * 0.3; // planted outliers, 15σ
    const { outliers, banded } = await bothWays(tensorFile(x, dtype));
    assert.equal(banded, true, `${dtype}: the band decides`);
    assert.ok(outliers > 0, `${dtype}: outliers found`);
  }
});

test('one pass equals two passes with NaN, ±Inf and values at the exact limit', async () => {
  const x = weights(3 * (READ_BYTES / 4), 21);
  for (let i = 0; i < x.length; i += 50_021) x[i] = NaN;
  x[77] = Infinity;
  x[x.length - 1] = -Infinity;
  // Two elements placed at the computed limit itself, then the limit computed again: the exact rule decides them.
  const handles = new FileHandles();
  const probe = tensorFile(x, 'F32');
  const m = finishMoments(await simdTensorMoments(probe, handles, kernel, undefined, undefined, 'sync'));
  await handles.close();
  x[1000] = Math.fround(m.mean + OUTLIER_SIGMAS * m.std);
  x[2000] = Math.fround(m.mean - OUTLIER_SIGMAS * m.std);
  for (const dtype of ['F32', 'BF16'] as const) {
    const { outliers, banded } = await bothWays(tensorFile(x, dtype));
    assert.equal(banded, true, `${dtype}: the band decides`);
    assert.ok(outliers > 0, `${dtype}: ±Inf count as outliers`);
  }
});

test('one pass equals two passes where the band gives up: clustered outliers, constant, sparse tensors', async () => {
  // Outliers clustered between two of the sample's runs: σ is 4× the sample's, the exact limit far outside the band.
  const clustered = weights(3 * (READ_BYTES / 4), 31);
  const runs = Math.min(256, Math.floor(clustered.length / (16 * 256)));
  const gap = Math.floor((clustered.length - 256) / (runs - 1));
  for (let i = gap + 300; i < 2 * gap - 100; i++) clustered[i] = i % 2 ? 2 : -2;
  const sparse = new Float32Array(3 * (READ_BYTES / 4)); // zeros but for a few values the sample misses
  for (let i = 1; i < sparse.length; i += 65_537) sparse[i] = 1;
  for (const dtype of ['F32', 'BF16', 'F16'] as const) {
    const cluster = await bothWays(tensorFile(clustered, dtype));
    assert.equal(cluster.banded, false, `${dtype} clustered: the band gives up`);
    assert.ok(cluster.outliers > 0);
    const constant = await bothWays(tensorFile(new Float32Array(3 * (READ_BYTES / 4)).fill(0.5), dtype));
    assert.deepEqual(constant, { outliers: 0, banded: undefined }, `${dtype} constant: no band, no outliers`);
    const few = await bothWays(tensorFile(sparse, dtype));
    assert.notEqual(few.banded, true, `${dtype} sparse: no band, or one that gives up`);
    assert.ok(few.outliers > 0);
  }
});

test('a band whose buffer overflows gives up; one within capacity decides', async () => {
  const x = weights(3 * (READ_BYTES / 4), 41);
  const handles = new FileHandles();
  try {
    const tensor = tensorFile(x, 'F32');
    const exact = finishMoments(await simdTensorMoments(tensor, handles, kernel, undefined, undefined, 'sync'));
    const limit = OUTLIER_SIGMAS * exact.std;
    const expected = await simdTensorOutliers(tensor, handles, kernel, exact.mean, limit, undefined, 'sync');
    // A wide band: every element between 0.3 and 1.5 limits is kept, thousands of them.
    const small = new OutlierBand(Math.fround(exact.mean), Math.fround(0.3 * limit), Math.fround(1.5 * limit), 100);
    await simdTensorMoments(tensor, handles, kernel, undefined, undefined, 'sync', { band: small });
    assert.ok(small.overflowed, 'more than 100 elements in the band');
    assert.equal(small.exactCount(exact.mean, limit), undefined);
    const roomy = new OutlierBand(small.center, small.low, small.high);
    await simdTensorMoments(tensor, handles, kernel, undefined, undefined, 'sync', { band: roomy });
    assert.ok(roomy.keptCount > 100 && !roomy.overflowed);
    assert.equal(roomy.exactCount(exact.mean, limit), expected);
    // A limit outside the band, either side, or a mean too far from the centre: undefined, never a wrong number.
    assert.equal(roomy.exactCount(exact.mean, 0.25 * limit), undefined);
    assert.equal(roomy.exactCount(exact.mean, 1.6 * limit), undefined);
    assert.equal(roomy.exactCount(exact.mean + 0.8 * limit, limit), undefined);
  } finally {
    await handles.close();
  }
});

test('one-chunk and tiny tensors are counted in the kernel\'s memory, as two passes count them', async () => {
  for (const dtype of ['F32', 'BF16', 'F16'] as const) {
    for (const count of [1, 5, BLOCK + 3, 40_000, READ_BYTES / SIZE[dtype]]) {
      const x = weights(count, count);
      x[count - 1] = 0.5; // the one outlier (when the rest has spread)
      const { banded } = await bothWays(tensorFile(x, dtype));
      if (count < 16 * 256 * 8) assert.equal(banded, undefined, `${dtype} ×${count}: too small to sample`);
    }
  }
});

test('one pass equals two passes on GGML Q8_0 and I8 tensors of several chunks (sample decoded block by block)', async () => {
  const count = 3 * 512 * 1024; // 1.5 decoded chunks
  let seed = 51;
  const q = new Int8Array(count);
  for (let i = 0; i < count; i++) {
    let sum = 0;
    for (let k = 0; k < 4; k++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      sum += seed / 4294967296;
    }
    q[i] = Math.round((sum - 2) * 20);
  }
  for (let i = 0; i < 30; i++) q[(i * 70_001) % count] = i % 2 ? 127 : -127;
  // Q8_0: per 32 elements an F16 scale (2⁻⁷, then 2⁻⁶ on every 5th block) and 32 int8.
  const q8 = Buffer.alloc((count / 32) * 34);
  for (let b = 0; b < count / 32; b++) {
    q8.writeUInt16LE(b % 5 === 0 ? 0x2400 : 0x2000, b * 34);
    Buffer.from(q.buffer, b * 32, 32).copy(q8, b * 34 + 2);
  }
  for (const [dtype, bytes] of [['Q8_0', q8], ['I8', Buffer.from(q.buffer)]] as const) {
    const file = writeTemp(dir, `t${files++}.bin`, Buffer.concat([Buffer.alloc(8), bytes]));
    const tensor = { name: dtype, dtype, shape: [count], count, file, byteOffset: 8, byteLength: bytes.length } as TensorInfo;
    const { outliers, banded } = await bothWays(tensor);
    assert.equal(banded, true, `${dtype}: the band decides`);
    assert.ok(outliers > 0, `${dtype}: outliers found`);
  }
});

test('one pass equals two passes on rows of different scales (the sample\'s runs alike within, unlike between)', async () => {
  const [rows, cols] = [512, 1024];
  const x = weights(rows * cols, 61);
  for (let r = 0; r < rows; r++) {
    const scale = 0.5 + ((r * 7919) % 101) / 100; // 0.5 … 1.5
    for (let c = 0; c < cols; c++) x[r * cols + c]! *= scale;
  }
  for (const dtype of ['F32', 'BF16'] as const) {
    const { outliers, banded } = await bothWays(tensorFile(x, dtype));
    assert.equal(banded, true, `${dtype}: the band decides`);
    assert.ok(outliers > 0);
  }
});
