// The read path of the moments pass (momentsPass.ts), both ways of reading (synchronous, one ahead on libuv's pool):
// F32 and BF16 bytes read from a file straight into the kernel's memory give exactly the moments of the same bytes reduced in memory in the same 512 KiB chunks (so the reads hand
// the kernel the right bytes in the right order, at an unaligned file offset, over several chunks and a tail); a
// range past the end of the file is a clear InputError; and the synchronous reads still let the event loop run, so
// an abort that arrives through a timer stops a pass over one large tensor.
import assert from 'node:assert/strict';
import { closeSync, openSync, truncateSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { CancelledError, InputError } from '../../src/errors';
import type { TensorInfo } from '../../src/formats/types';
import { emptyMoments, mergeMoments, type MomentState } from '../../src/compute/moments';
import { readsFor, simdTensorMoments, simdTensorOutliers, type Reads } from '../../src/compute/momentsPass';
import { READ_BYTES, SimdMoments } from '../../src/compute/simdMoments';
import { FileHandles } from '../../src/compute/tensorStream';
import { tempDir, writeTemp } from './helpers';

const kernel = new SimdMoments();

function tensor(file: string, dtype: 'F32' | 'BF16', count: number, byteOffset: number): TensorInfo {
  const byteLength = count * (dtype === 'F32' ? 4 : 2);
  return { name: `w.${dtype}`, dtype, shape: [count], count, file, byteOffset, byteLength } as TensorInfo;
}

/** The same bytes reduced in memory, READ_BYTES at a time, with the running-mean shift the pass uses. */
function inMemory(bytes: Buffer, kind: 'F32' | 'BF16', count: number): MomentState {
  const size = kind === 'F32' ? 4 : 2;
  const region = kernel.region(0);
  let state = emptyMoments();
  for (let start = 0; start < count; start += READ_BYTES / size) {
    const n = Math.min(READ_BYTES / size, count - start);
    bytes.copy(region, 0, start * size, (start + n) * size);
    state = mergeMoments(state, kernel.moments(kind, region.byteOffset, n, state.n > 0 ? state.mean : undefined));
  }
  return state;
}

const READS: Reads[] = ['sync', 'ahead'];

test('F32 and BF16 read from a file give the moments of the same bytes in memory, chunk for chunk (both ways of reading)', async () => {
  const dir = tempDir();
  // 2.3 chunks of F32 (several reads and a tail), with a NaN, an Inf and zeros; the tensor starts at byte 13.
  const count = Math.floor(2.3 * (READ_BYTES / 4)) + 5;
  const values = new Float32Array(count);
  let seed = 7;
  for (let i = 0; i < count; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    values[i] = 0.3 + (seed / 4294967296 - 0.5) * 0.05;
  }
  values[17] = NaN;
  values[READ_BYTES / 4 + 3] = Infinity;
  values[count - 1] = 0;
  const halves = Uint16Array.from(new Uint32Array(values.buffer), (w) => w >>> 16);
  for (const [kind, bytes] of [['F32', Buffer.from(values.buffer)], ['BF16', Buffer.from(halves.buffer)]] as const) for (const reads of READS) {
    const file = writeTemp(dir, `${kind}.bin`, Buffer.concat([Buffer.alloc(13, 0xab), bytes, Buffer.alloc(3)]));
    const handles = new FileHandles();
    try {
      const read = await simdTensorMoments(tensor(file, kind, count, 13), handles, kernel, undefined, undefined, reads);
      assert.deepEqual(read, inMemory(bytes, kind, count), `${kind} ${reads}`);
      assert.equal(read.nonFinite, 2);
      const outliers = await simdTensorOutliers(tensor(file, kind, count, 13), handles, kernel, read.mean, 0.02, undefined, reads);
      const widened = kind === 'F32' ? values : new Float32Array(Uint32Array.from(halves, (h) => h << 16).buffer);
      assert.equal(outliers, widened.filter((x) => Math.abs(x - read.mean) > 0.02).length, `${kind} outliers`);
    } finally {
      await handles.close();
    }
  }
});

test('a tensor whose range runs past the end of its file is an InputError naming the file', async () => {
  const file = writeTemp(tempDir(), 'short.bin', Buffer.alloc(1000));
  for (const reads of READS) {
    const handles = new FileHandles();
    try {
      await assert.rejects(simdTensorMoments(tensor(file, 'F32', 300, 8), handles, kernel, undefined, undefined, reads), (error: Error) =>
        error instanceof InputError && error.message.includes(file) && /file ends before byte/.test(error.message));
    } finally {
      await handles.close();
    }
  }
});

test('an abort sent through the event loop stops a synchronous pass over one large tensor', async () => {
  // 96 MiB of zeros (a sparse file: cheap to make and to read), one tensor: the pass must turn the event loop
  // between its synchronous reads, or the abort scheduled with setImmediate would only run after the pass.
  const file = `${tempDir()}/zeros.bin`;
  closeSync(openSync(file, 'w'));
  truncateSync(file, 96 << 20);
  const handles = new FileHandles();
  await handles.get(file); // opened now: from here on the pass waits on nothing but its own turns of the loop
  const controller = new AbortController();
  setImmediate(() => controller.abort());
  try {
    await assert.rejects(simdTensorMoments(tensor(file, 'F32', (96 << 20) / 4, 0), handles, kernel, controller.signal, undefined, 'sync'), CancelledError);
  } finally {
    await handles.close();
  }
  // The same file without an abort: all of it, all zeros (the cancelled pass left nothing behind).
  const again = new FileHandles();
  try {
    const whole = await simdTensorMoments(tensor(file, 'F32', (96 << 20) / 4, 0), again, kernel, undefined, undefined, 'sync');
    assert.equal(whole.n, (96 << 20) / 4);
    assert.equal(whole.zeros, whole.n);
  } finally {
    await again.close();
  }
});

test('reads go ahead on libuv\'s pool only while a core is left beside the reducing threads', () => {
  const cores = availableParallelism();
  assert.equal(readsFor(cores), 'sync');
  assert.equal(readsFor(cores + 3), 'sync');
  if (cores > 1) assert.equal(readsFor(cores - 1), 'ahead');
});
