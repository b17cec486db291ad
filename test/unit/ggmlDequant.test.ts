// GGML block dequantisation against llama.cpp's gguf-py (test/fixtures/gguf/make_dequant_fixture.py wrote
// quantized.gguf with gguf-py's writer and dequant-golden.json with its numpy dequantizers).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { stats } from '../../src/analyses/stats';
import { FileHandles, readWholeTensor, tensorChunks } from '../../src/compute/tensorStream';
import { readGgufHeader } from '../../src/formats/gguf';
import { ROOT } from './helpers';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'gguf');
const FILE = join(FIXTURES, 'quantized.gguf');
interface GoldenTensor { type: string; count: number; values: number[]; l2: number; mean: number; std: number; absmax: number; zeros: number }
const golden = (JSON.parse(readFileSync(join(FIXTURES, 'dequant-golden.json'), 'utf8')) as { tensors: Record<string, GoldenTensor> }).tensors;

test('every block type decodes to the values gguf-py gives, element for element', async () => {
  const header = await readGgufHeader(FILE);
  assert.deepEqual(header.tensors.map((t) => t.dtype).sort(), Object.values(golden).map((g) => g.type).sort());
  const handles = new FileHandles();
  try {
    for (const tensor of header.tensors) {
      const expected = golden[tensor.name]!;
      const values = await readWholeTensor(tensor, handles);
      assert.equal(values.length, expected.count, tensor.name);
      // gguf-py computes in float32 like ggml; our products are rounded to float32 at the same points. (=== and
      // not assert.equal: a zero's sign may differ where numpy adds no min.)
      values.forEach((v, i) => assert.ok(v === Math.fround(expected.values[i]!), `${tensor.name}[${i}]: ${v} vs gguf-py ${expected.values[i]}`));
    }
  } finally {
    await handles.close();
  }
});

test('chunks are whole blocks whatever chunk size is asked for, and give the same values', async () => {
  const header = await readGgufHeader(FILE);
  const handles = new FileHandles();
  try {
    for (const tensor of header.tensors) {
      const unsigned = (x: number) => x + 0; // -0 -> 0
      const expected = golden[tensor.name]!.values.map((x) => unsigned(Math.fround(x)));
      const got: number[] = [];
      for await (const { values, count, offset } of tensorChunks(tensor, handles, undefined, 40)) {
        assert.equal(offset, got.length);
        got.push(...Array.from(values.subarray(0, count), unsigned));
      }
      assert.deepEqual(got, expected, tensor.name);
    }
  } finally {
    await handles.close();
  }
});

test('stats on a block-quantised GGUF match numpy over the dequantised values', async () => {
  const result = await drain(stats({ path: FILE }));
  assert.deepEqual(result.warnings, []);
  for (const t of result.tensors) {
    const g = golden[t.name]!;
    for (const key of ['l2', 'mean', 'std', 'absmax', 'zeros'] as const) {
      const actual = t[key]!;
      assert.ok(Math.abs(actual - g[key]) <= 1e-6 * Math.abs(g[key]) + 1e-12, `${t.name} ${key}: ${actual} vs numpy ${g[key]}`);
    }
  }
});

test('a tensor whose range cannot hold its blocks is refused by name', async () => {
  const header = await readGgufHeader(FILE);
  const tensor = { ...header.tensors.find((t) => t.dtype === 'Q6_K')!, byteLength: 209 };
  const handles = new FileHandles();
  try {
    await assert.rejects(readWholeTensor(tensor, handles), /tensor 'test.q6_k': 768 Q6_K elements need 630 bytes in whole blocks of 256, but its range holds 209/);
  } finally {
    await handles.close();
  }
});
