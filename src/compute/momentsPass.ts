// One tensor's moments (and, on request, its outlier count) through the SIMD kernel, reading the file's bytes
// straight into the kernel's memory (no Buffer in between, no copy): F32 and BF16 are reduced as they lie, other
// decodable dtypes are decoded in JavaScript into the kernel's float32 region first. F32/BF16 are read READ_BYTES
// (512 KiB) at a time, small enough for the kernel to find them in cache, either synchronously or one read ahead on
// libuv's pool (Reads below; FileHandle.read, the earlier way, cost the most CPU of the three: docs/benchmarks.md).
// Synchronous reads turn the event loop every YIELD_BYTES, so a cancel arrives. Memory: the module's 12 MiB,
// whatever the tensor's size.
import { read, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { InputError, throwIfAborted } from '../errors';
import type { TensorInfo } from '../formats/types';
import type { GramElement, GramMatrix } from './gramKernel';
import { mergeMoments, emptyMoments, type MomentState } from './moments';
import type { OutlierBand } from './outlierBand';
import { READ_BYTES, SimdMoments } from './simdMoments';
import { tensorChunks, type FileHandles } from './tensorStream';

const DIRECT = { F32: 4, BF16: 2 } as const;
type Direct = keyof typeof DIRECT;

/**
 * Bytes read synchronously (in this thread) since the event loop last ran; counted across tensors, so that a
 * checkpoint of many small tensors turns the loop as often as one large tensor (and no more often).
 */
let readSinceTurn = 0;
/** 32 MiB: a few tens of ms of reading between two turns of the event loop (cancel within 1 s, progress). */
const YIELD_BYTES = 32 << 20;

/**
 * How F32/BF16 bytes reach the kernel. 'sync': fs.readSync into one region, then the reduction, on this thread: the
 * least CPU per byte (~0.8× 'ahead'), right when every core already has a stats thread. 'ahead': fs.read on libuv's
 * pool into the other region while this thread reduces: the copy from the page cache runs on a spare core.
 */
export type Reads = 'sync' | 'ahead';

/** Read ahead when a core is left over for libuv's reads beside `threads` reducing threads. */
export function readsFor(threads: number): Reads {
  return threads < availableParallelism() ? 'ahead' : 'sync';
}

/** The main thread's way: a one-thread `stats` runs there (with a pool, only the few tensors the pool cannot take). */
const READS = readsFor(1);

/** A chunk of a tensor in the kernel's memory: `count` values of `kind` at byte `offset`, element `start` on. */
export interface Chunk { kind: 'F32' | 'BF16'; offset: number; count: number; start: number }

/** The one-pass outlier count's part in the pass (simdTensorStats.ts). */
export interface OutlierWork {
  /** Sorts every element into the band in the same kernel call as the moments (outlierBand.ts). */
  band?: OutlierBand;
  /** Called when the whole tensor was one chunk, still in the kernel's memory, with the tensor's moments. */
  whole?: (chunk: Chunk, state: MomentState) => void;
}

/** The most elements of `tensor` one chunk of the pass holds: a tensor of no more is reduced in one kernel call. */
export function chunkElements(tensor: TensorInfo, kernel: SimdMoments): number {
  const size = (DIRECT as Record<string, number>)[tensor.dtype];
  return size !== undefined && tensor.encoding === undefined ? READ_BYTES / size : kernel.floats().length;
}

/** The tensor's chunks as they lie in the kernel's memory (valid until the next one is asked for). */
async function* kernelChunks(tensor: TensorInfo, handles: FileHandles, kernel: SimdMoments, signal: AbortSignal | undefined, reads: Reads): AsyncGenerator<Chunk> {
  const direct = (DIRECT as Record<string, number>)[tensor.dtype] !== undefined && tensor.encoding === undefined;
  if (!direct) {
    const floats = kernel.floats();
    for await (const { values, count, offset } of tensorChunks(tensor, handles, signal, floats.length)) {
      floats.set(values.subarray(0, count));
      yield { kind: 'F32', offset: floats.byteOffset, count, start: offset };
    }
    return;
  }
  const kind = tensor.dtype as Direct;
  const size = DIRECT[kind];
  if (tensor.count * size > tensor.byteLength) throw new InputError(`tensor '${tensor.name}': ${tensor.count} ${kind} elements need ${tensor.count * size} bytes, its range holds ${tensor.byteLength}`);
  const fd = (await handles.get(tensor.file)).fd;
  const perChunk = READ_BYTES / size;
  if (reads === 'sync') {
    const region = kernel.region(0);
    for (let start = 0; start < tensor.count; start += perChunk) {
      throwIfAborted(signal);
      const count = Math.min(perChunk, tensor.count - start);
      fill(fd, region, count * size, tensor.byteOffset + start * size, tensor.file);
      yield { kind, offset: region.byteOffset, count, start };
      if ((readSinceTurn += count * size) >= YIELD_BYTES) {
        readSinceTurn = 0;
        await new Promise(setImmediate);
      }
    }
    return;
  }
  // One read ahead on the thread pool: chunk i + 1 is copied into the other region while chunk i is reduced.
  const regions = [kernel.region(0), kernel.region(1)];
  const next = (start: number, which: number) => {
    const count = Math.min(perChunk, tensor.count - start);
    return fillAhead(fd, regions[which]!, count * size, tensor.byteOffset + start * size, tensor.file).then(() => ({ start, count, which }));
  };
  let pending = tensor.count > 0 ? next(0, 0) : undefined;
  try {
    while (pending) {
      throwIfAborted(signal);
      const { start, count, which } = await pending;
      pending = start + count < tensor.count ? next(start + count, 1 - which) : undefined;
      yield { kind, offset: regions[which]!.byteOffset, count, start };
    }
  } finally {
    // Left early (cancel, an error downstream): the read in flight may still fail, with nobody to hear it.
    pending?.catch(() => undefined);
  }
}

function fill(fd: number, into: Buffer, length: number, position: number, path: string): void {
  let done = 0;
  while (done < length) {
    const bytesRead = readSync(fd, into, done, length - done, position + done);
    if (bytesRead === 0) throw new InputError(`${path}: file ends before byte ${position + length}`);
    done += bytesRead;
  }
}

async function fillAhead(fd: number, into: Buffer, length: number, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < length) {
    const bytesRead = await new Promise<number>((resolve, reject) => {
      read(fd, into, done, length - done, position + done, (error, n) => (error ? reject(error) : resolve(n)));
    });
    if (bytesRead === 0) throw new InputError(`${path}: file ends before byte ${position + length}`);
    done += bytesRead;
  }
}

/**
 * The moments of the tensor; `keep`, when given (tensor.count values), receives every value (for stable rank): as
 * float32, or for a BF16 tensor read as it lies (keptElement) its bit patterns when `keep` is a Uint16Array.
 * The shift of each chunk is the mean so far (see simdMoments.ts).
 */
export async function simdTensorMoments(tensor: TensorInfo, handles: FileHandles, kernel: SimdMoments, signal?: AbortSignal, keep?: GramMatrix, reads = READS, outliers?: OutlierWork): Promise<MomentState> {
  let state = emptyMoments();
  let only: Chunk | undefined;
  for await (const chunk of kernelChunks(tensor, handles, kernel, signal, reads)) {
    state = mergeMoments(state, kernel.moments(chunk.kind, chunk.offset, chunk.count, state.n > 0 ? state.mean : undefined, outliers?.band));
    if (keep) copyOut(kernel, chunk, keep);
    only = chunk.start === 0 && chunk.count === tensor.count ? chunk : undefined;
  }
  if (only && outliers?.whole) outliers.whole(only, state);
  return state;
}

/** Elements with |x − mean| > limit, in a second pass over the file (page cache). */
export async function simdTensorOutliers(tensor: TensorInfo, handles: FileHandles, kernel: SimdMoments, mean: number, limit: number, signal?: AbortSignal, reads = READS): Promise<number> {
  let over = 0;
  for await (const chunk of kernelChunks(tensor, handles, kernel, signal, reads)) over += kernel.countOutliers(chunk.kind, chunk.offset, chunk.count, mean, limit);
  return over;
}

function copyOut(kernel: SimdMoments, chunk: Chunk, keep: GramMatrix): void {
  const buffer = kernel.memory.buffer;
  if (keep instanceof Uint16Array) {
    if (chunk.kind !== 'BF16') throw new Error(`a ${chunk.kind} chunk cannot be kept as BF16`);
    keep.set(new Uint16Array(buffer, chunk.offset, chunk.count), chunk.start);
    return;
  }
  if (chunk.kind === 'F32') {
    keep.set(new Float32Array(buffer, chunk.offset, chunk.count), chunk.start);
    return;
  }
  const halves = new Uint16Array(buffer, chunk.offset, chunk.count);
  const wide = new Uint32Array(keep.buffer, keep.byteOffset + chunk.start * 4, chunk.count);
  for (let i = 0; i < chunk.count; i++) wide[i] = halves[i]! << 16;
}

/** The element a tensor's matrix can be kept as: BF16 when its chunks are its BF16 bytes as they lie. */
export function keptElement(tensor: TensorInfo): GramElement {
  return tensor.dtype === 'BF16' && tensor.encoding === undefined ? 'BF16' : 'F32';
}
