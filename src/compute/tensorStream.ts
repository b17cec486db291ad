// Tensor bytes read by range in bounded chunks and decoded to float32. The next chunk's read is issued before the
// current one is handed out, so disk (or page cache) and decoding overlap. Memory: two byte buffers and one
// float32 buffer of CHUNK_ELEMENTS, whatever the tensor's size.
import type { FileHandle } from 'node:fs/promises';
import { InputError, throwIfAborted } from '../errors';
import { openForReading, readExactly } from '../formats/fileio';
import type { TensorInfo } from '../formats/types';
import { decodeInto, layoutOf } from './decode';

export const CHUNK_ELEMENTS = 1 << 20;

/** Open file handles shared by the tensors of one checkpoint; close() when done. */
export class FileHandles {
  private readonly handles = new Map<string, Promise<FileHandle>>();

  get(path: string): Promise<FileHandle> {
    let handle = this.handles.get(path);
    if (!handle) {
      handle = openForReading(path).then((opened) => opened.handle);
      this.handles.set(path, handle);
    }
    return handle;
  }

  async close(): Promise<void> {
    const all = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(all.map((h) => h.then((handle) => handle.close(), () => undefined)));
  }
}

/**
 * Yields the tensor's values in order, `count` at a time. The yielded array is reused: consume it before asking
 * for the next chunk.
 */
export async function* tensorChunks(
  tensor: TensorInfo,
  handles: FileHandles,
  signal?: AbortSignal,
  chunkElements = CHUNK_ELEMENTS,
): AsyncGenerator<{ values: Float32Array; count: number; offset: number }> {
  const layout = layoutOf(tensor.dtype);
  if (layout === undefined) throw new Error(`tensorChunks: no decoder for ${tensor.dtype}`);
  if (tensor.count % layout.elements !== 0 || (tensor.count / layout.elements) * layout.bytes > tensor.byteLength) {
    throw new InputError(
      `tensor '${tensor.name}': ${tensor.count} ${tensor.dtype} elements need ${Math.ceil(tensor.count / layout.elements) * layout.bytes} bytes ` +
      `in whole blocks of ${layout.elements}, but its range holds ${tensor.byteLength}`,
    );
  }
  const handle = await handles.get(tensor.file);
  // Whole blocks per chunk: a block-quantised chunk decodes on its own.
  const chunk = Math.max(layout.elements, chunkElements - (chunkElements % layout.elements));
  const values = new Float32Array(Math.min(chunk, Math.max(tensor.count, 1)));
  const read = (offset: number) => {
    const count = Math.min(values.length, tensor.count - offset);
    const at = tensor.byteOffset + (offset / layout.elements) * layout.bytes;
    return readExactly(handle, at, (count / layout.elements) * layout.bytes, tensor.file).then((bytes) => ({ bytes, count, offset }));
  };
  let pending = tensor.count > 0 ? read(0) : undefined;
  while (pending) {
    throwIfAborted(signal);
    const { bytes, count, offset } = await pending;
    const next = offset + count;
    pending = next < tensor.count ? read(next) : undefined;
    decodeInto(tensor.dtype, bytes, count, values);
    yield { values, count, offset };
  }
}

/** The whole tensor as float32 (callers cap the size). */
export async function readWholeTensor(tensor: TensorInfo, handles: FileHandles, signal?: AbortSignal): Promise<Float32Array> {
  const all = new Float32Array(tensor.count);
  for await (const { values, count, offset } of tensorChunks(tensor, handles, signal)) all.set(values.subarray(0, count), offset);
  return all;
}
