// The WebAssembly SIMD moments kernel against the float64 JavaScript reference (moments.ts): F32 and BF16 bytes,
// with non-finite values, zeros, a tail that fills no whole block, a large mean, and outliers at the limit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkMoments, finishMoments } from '../../src/compute/moments';
import { BLOCK, SimdMoments } from '../../src/compute/simdMoments';

function values(count: number, centre: number, spread: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    out[i] = centre + (seed / 4294967296 - 0.5) * spread * (i % 97 === 0 ? 30 : 1);
  }
  return out;
}

function toBf16(x: Float32Array): { halves: Uint16Array; widened: Float32Array } {
  const words = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const halves = Uint16Array.from(words, (w) => w >>> 16);
  const widened = new Float32Array(new Uint32Array(halves.length).map((_, i) => halves[i]! << 16).buffer);
  return { halves, widened };
}

const kernel = new SimdMoments();

for (const [label, centre, spread] of [['zero-centred', 0, 0.04], ['large mean', 1000, 0.02]] as const) {
  test(`SIMD moments match the float64 loop (${label}, F32 and BF16, NaN/Inf, zeros, tail)`, () => {
    const count = 50 * BLOCK + 77;
    const x = values(count, centre, spread, 99);
    x[3] = NaN;
    x[BLOCK + 5] = Infinity;
    x[2 * BLOCK] = -Infinity;
    x[count - 2] = NaN; // in the tail
    x[10] = 0;
    x[count - 1] = 0;
    const { halves, widened } = toBf16(x);
    for (const [kind, bytes, reference] of [['F32', Buffer.from(x.buffer), x], ['BF16', Buffer.from(halves.buffer), widened]] as const) {
      const region = kernel.region(0);
      bytes.copy(region);
      const expected = finishMoments(chunkMoments(reference, count));
      const actual = finishMoments(kernel.moments(kind, region.byteOffset, count));
      assert.equal(actual.count, expected.count);
      assert.equal(actual.nonFinite, expected.nonFinite, `${kind} nonFinite`);
      assert.equal(actual.zeros, expected.zeros, `${kind} zeros`);
      assert.equal(actual.absmax, expected.absmax, `${kind} absmax`);
      for (const key of ['l2', 'mean', 'std', 'kurtosis'] as const) {
        const e = expected[key]!;
        // The mean of zero-centred values is a difference of large sums: absolute, as in stats.test.ts.
        assert.ok(Math.abs(actual[key]! - e) <= 1e-6 * Math.abs(e) + 1e-9 * expected.absmax, `${kind} ${key}: ${actual[key]} vs ${e}`);
      }
    }
  });
}

test('SIMD outlier count is exact, values at the limit included', () => {
  const count = 20 * BLOCK + 9;
  const x = values(count, 0.5, 0.1, 7);
  const limit = 0.3;
  // Values within float32 rounding of mean ± limit, where the float32 comparison alone could go either way.
  x[17] = Math.fround(0.5 + limit);
  x[300] = Math.fround(0.5 - limit) - 1e-8;
  x[count - 1] = 2;
  const region = kernel.region(1);
  Buffer.from(x.buffer).copy(region);
  let expected = 0;
  for (const value of x) if (Math.abs(value - 0.5) > limit) expected++;
  assert.equal(kernel.countOutliers('F32', region.byteOffset, count, 0.5, limit), expected);
});
