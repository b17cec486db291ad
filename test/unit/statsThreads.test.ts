// `stats` across worker threads (compute/statsPool.ts): the numbers equal the one-thread run's exactly on a sharded
// checkpoint of every kind of tensor the pool takes or leaves (F32/BF16 read as they lie, F16 and I8 decoded
// first, NaN, a matrix whose columns the WebAssembly product cannot take, vectors batched together); a cancel with
// threads running ends the run within 1 s; a bad thread count is an InputError. The one-thread path is held to
// numpy by stats.test.ts.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { stats } from '../../src/analyses/stats';
import { CancelledError, InputError } from '../../src/errors';
import { encodeSafetensors, normalF32, seededRandom, type TensorSpec } from '../fixtures/safetensorsWriter';
import { tempDir } from './helpers';

const toBf16 = (f32: Buffer) => {
  const words = new Uint32Array(f32.buffer, f32.byteOffset, f32.length / 4);
  return Buffer.from(Uint16Array.from(words, (w) => w >>> 16).buffer);
};
const toF16 = (f32: Buffer) => {
  const floats = new Float32Array(f32.buffer, f32.byteOffset, f32.length / 4);
  const half = new Uint16Array(floats.length);
  // Values here are |x| < 1 and normal in half precision or flushed to zero: sign, exponent and 10 mantissa bits.
  const word = new Uint32Array(1);
  const float = new Float32Array(word.buffer);
  for (let i = 0; i < floats.length; i++) {
    float[0] = floats[i]!;
    const w = word[0]!;
    const exponent = ((w >>> 23) & 0xff) - 127 + 15;
    half[i] = ((w >>> 16) & 0x8000) | (exponent <= 0 ? 0 : (exponent << 10) | ((w >>> 13) & 0x3ff));
  }
  return Buffer.from(half.buffer);
};

/** Two shards, ~22 MB: more than one batch of the pool, so more than one thread works. */
function shardedCheckpoint(dir: string): string {
  const random = seededRandom(16);
  const shard1: TensorSpec[] = [];
  const shard2: TensorSpec[] = [];
  for (let i = 0; i < 3; i++) {
    const f32 = normalF32(1024 * 1024, 0.02 * (i + 1), random);
    if (i === 1) f32.writeFloatLE(Number.NaN, 4 * 777);
    shard1.push({ name: `model.layers.${i}.mlp.up_proj.weight`, dtype: 'F32', shape: [1024, 1024], data: f32 });
    shard1.push({ name: `model.layers.${i}.input_layernorm.weight`, dtype: 'F32', shape: [1024], data: normalF32(1024, 0.1, random) });
  }
  for (let i = 3; i < 6; i++) {
    shard2.push({ name: `model.layers.${i}.mlp.up_proj.weight`, dtype: 'BF16', shape: [2048, 1024], data: toBf16(normalF32(2048 * 1024, 0.02, random)) });
    shard2.push({ name: `model.layers.${i}.self_attn.o_proj.weight`, dtype: 'F16', shape: [256, 512], data: toF16(normalF32(256 * 512, 0.05, random)) });
  }
  // Six columns: not a multiple of 4, so its stable rank stays on the main thread (onnxruntime's product).
  shard2.push({ name: 'model.layers.5.mlp.odd.weight', dtype: 'F32', shape: [1000, 6], data: normalF32(6000, 1, random) });
  shard2.push({ name: 'model.layers.5.mlp.int.weight', dtype: 'I8', shape: [64, 64], data: Buffer.from(Int8Array.from({ length: 4096 }, (_, i) => (i * 37) % 255 - 127).buffer) });
  const files = [['model-00001-of-00002.safetensors', shard1], ['model-00002-of-00002.safetensors', shard2]] as const;
  const weightMap: Record<string, string> = {};
  for (const [file, specs] of files) {
    writeFileSync(join(dir, file), encodeSafetensors(specs));
    for (const s of specs) weightMap[s.name] = file;
  }
  const index = join(dir, 'model.safetensors.index.json');
  writeFileSync(index, JSON.stringify({ metadata: {}, weight_map: weightMap }));
  return index;
}

test('stats with 2 and 3 threads gives exactly the one-thread numbers, in the header order', async () => {
  const path = shardedCheckpoint(tempDir());
  const one = await drain(stats({ path, threads: 1 }));
  assert.equal(one.tensors.length, 14);
  assert.ok(one.tensors.every((t) => t.l2 !== null), 'every tensor has statistics');
  assert.ok(one.tensors.filter((t) => t.stableRank !== null).length >= 10, 'stable rank computed for the matrices');
  for (const threads of [2, 3]) {
    const many = await drain(stats({ path, threads }));
    assert.deepEqual(many, one, `${threads} threads`);
  }
  const noRank = await drain(stats({ path, threads: 2, stableRank: false }));
  assert.deepEqual(noRank.tensors.map((t) => t.l2), one.tensors.map((t) => t.l2));
  assert.ok(noRank.tensors.every((t) => t.stableRank === null));
});

test('cancel with threads running ends the run within 1 s', async () => {
  const dir = tempDir();
  const random = seededRandom(3);
  const matrix = normalF32(2048 * 2048, 0.02, random);
  const specs = Array.from({ length: 12 }, (_, i) => ({ name: `model.layers.${i}.mlp.down_proj.weight`, dtype: 'F32', shape: [2048, 2048], data: matrix }));
  const path = join(dir, 'model.safetensors');
  writeFileSync(path, encodeSafetensors(specs));
  const controller = new AbortController();
  let abortedAt = 0;
  let tensorsSeen = 0;
  const run = drain(stats({ path, threads: 2 }, controller.signal), (progress) => {
    // After the first tensor's result: both threads are then inside later matrices (read, moments or Lanczos).
    if (progress.message.startsWith('Tensor ') && ++tensorsSeen === 2) {
      abortedAt = performance.now();
      controller.abort();
    }
  });
  await assert.rejects(run, (error: unknown) => error instanceof CancelledError);
  assert.ok(abortedAt > 0, 'the run was cancelled mid-way, not finished');
  const latency = performance.now() - abortedAt;
  assert.ok(latency < 1000, `cancelled after ${latency.toFixed(0)} ms`);
});

test('a thread count outside 1..64 is refused by name', async () => {
  for (const threads of [0, 65, 1.5]) {
    await assert.rejects(drain(stats({ path: '/nonexistent', threads })), (error: unknown) => error instanceof InputError && /threads must be a whole number/.test((error as Error).message));
  }
});
