// `histogram` against numpy's np.histogram on the same decoded values (float64), run by Debian's python3: equal
// counts bin for bin, equal edges, across chunk boundaries, values on bin edges, half-precision ties, a constant
// tensor and non-finite values.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { histogram } from '../../src/analyses/histogram';
import { CHUNK_ELEMENTS } from '../../src/compute/tensorStream';
import { InputError } from '../../src/errors';
import { encodeSafetensors, normalF32, seededRandom, type TensorSpec } from '../fixtures/safetensorsWriter';
import { needsReference, PYTHON, tempDir, writeTemp } from './helpers';

const NUMPY = `
import json, sys
import numpy as np
path, specs = sys.argv[1], json.loads(sys.argv[2])
with open(path, 'rb') as f:
    n = int.from_bytes(f.read(8), 'little')
    header = json.loads(f.read(n))
    data = f.read()
out = {}
for name, bins in specs.items():
    t = header[name]
    raw = data[t['data_offsets'][0]:t['data_offsets'][1]]
    if t['dtype'] == 'F32': v = np.frombuffer(raw, np.float32)
    elif t['dtype'] == 'F16': v = np.frombuffer(raw, np.float16)
    elif t['dtype'] == 'BF16': v = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
    v = v.astype(np.float64)
    finite = v[np.isfinite(v)]
    counts, edges = np.histogram(finite, bins=bins)
    out[name] = {'counts': counts.tolist(), 'edges': edges.tolist(), 'nonFinite': int(v.size - finite.size)}
print(json.dumps(out))
`;

function bf16(values: Float32Array): Buffer {
  const words = new Uint32Array(values.buffer);
  const half = new Uint16Array(values.length);
  for (let i = 0; i < half.length; i++) half[i] = words[i]! >>> 16;
  return Buffer.from(half.buffer);
}

function f16(values: number[]): Buffer {
  // Small integers and halves are exact in float16: sign 0, biased exponent and mantissa written directly.
  const out = new Uint16Array(values.length);
  values.forEach((v, i) => {
    if (v === 0) return;
    const e = Math.floor(Math.log2(Math.abs(v)));
    out[i] = (v < 0 ? 0x8000 : 0) | ((e + 15) << 10) | Math.round((Math.abs(v) / 2 ** e - 1) * 1024);
  });
  return Buffer.from(out.buffer);
}

test('histogram counts and edges equal np.histogram on every tensor', { timeout: 60_000 }, async (t) => {
  if (!needsReference(t, ['numpy'])) return;
  const random = seededRandom(11);
  const big = CHUNK_ELEMENTS * 2 + 4099; // three chunks, the last one partial
  const normal = normalF32(big, 0.02, random);
  normal.writeFloatLE(0.75, 4 * 12345); // an outlier stretches the range
  const grid = new Float32Array(65).map((_, i) => i); // every value on a bin edge for 64 bins
  const bfValues = new Float32Array(50_000).map(() => (random() - 0.5) * 0.1);
  const special = new Float32Array([1, 2, NaN, 3, Infinity, -Infinity, 2.5, 1]);
  const tensors: TensorSpec[] = [
    { name: 'normal', dtype: 'F32', shape: [big], data: normal },
    { name: 'grid', dtype: 'F32', shape: [65], data: Buffer.from(grid.buffer) },
    { name: 'bf16', dtype: 'BF16', shape: [50_000], data: bf16(bfValues) },
    { name: 'f16', dtype: 'F16', shape: [9], data: f16([-2, -1.5, 0, 0.5, 0.5, 1, 3, 3, 4]) },
    { name: 'constant', dtype: 'F32', shape: [4], data: Buffer.from(new Float32Array(4).fill(0.25).buffer) },
    { name: 'special', dtype: 'F32', shape: [8], data: Buffer.from(special.buffer) },
  ];
  const path = writeTemp(tempDir(), 'h.safetensors', encodeSafetensors(tensors));
  const bins: Record<string, number> = { normal: 64, grid: 64, bf16: 37, f16: 5, constant: 10, special: 3 };
  const expected = JSON.parse(execFileSync(PYTHON, ['-c', NUMPY, path, JSON.stringify(bins)], { encoding: 'utf8' })) as Record<string, { counts: number[]; edges: number[]; nonFinite: number }>;
  for (const [name, n] of Object.entries(bins)) {
    const result = await drain(histogram({ path, tensor: name, bins: n }));
    const numpy = expected[name]!;
    assert.equal(result.tensor, name);
    assert.deepEqual(result.counts, numpy.counts, `${name}: counts`);
    assert.deepEqual(result.edges, numpy.edges, `${name}: edges`);
    assert.equal(result.nonFinite, numpy.nonFinite, `${name}: non-finite`);
  }
});

test('histogram refuses an unknown tensor, a bad bin count and an undecodable dtype, naming them', async () => {
  const path = writeTemp(tempDir(), 'h.safetensors', encodeSafetensors([
    { name: 'w', dtype: 'F32', shape: [2], data: Buffer.from(new Float32Array([1, 2]).buffer) },
    { name: 'complex', dtype: 'C64', shape: [1], data: Buffer.alloc(8) },
  ]));
  await assert.rejects(drain(histogram({ path, tensor: 'nope' })), (e: unknown) => e instanceof InputError && /no tensor named 'nope'/.test(e.message));
  await assert.rejects(drain(histogram({ path, tensor: 'w', bins: 0 })), (e: unknown) => e instanceof InputError && /bins must be an integer/.test(e.message));
  await assert.rejects(drain(histogram({ path, tensor: 'complex' })), (e: unknown) => e instanceof InputError && /C64/.test(e.message));
});

test('a cancelled histogram stops', async () => {
  const path = writeTemp(tempDir(), 'h.safetensors', encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [CHUNK_ELEMENTS * 2], data: Buffer.alloc(CHUNK_ELEMENTS * 8) }]));
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(drain(histogram({ path, tensor: 'w' }, controller.signal)));
});
