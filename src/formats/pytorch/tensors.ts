// Named tensor views -> TensorInfo byte ranges. A torch tensor is (storage, offset, size, stride); its bytes are
// where the storage's bytes are in the file plus offset x element size. The view must lie inside the storage, and
// the storage inside the file, before a range is handed out. Shared storages (tied weights) give overlapping
// ranges on purpose and are not an error.
import { InputError } from '../../errors';
import { MAX_TENSORS, MAX_TENSOR_NAME_BYTES } from '../limits';
import type { TensorInfo } from '../types';
import type { NamedTensor } from './flatten';
import type { PyStorage, PyTensor } from './pyvalue';

/** Where a storage's bytes are: absolute offset in the file, how many bytes are there, and a name for messages. */
export interface StorageBytes {
  offset: number;
  length: number;
  where: string;
}

export type StorageLocator = (storage: PyStorage) => Promise<StorageBytes>;

export async function toTensorInfos(named: NamedTensor[], locate: StorageLocator, path: string, warnings: string[]): Promise<TensorInfo[]> {
  if (named.length > MAX_TENSORS) throw new InputError(`${path}: holds ${named.length} tensors; more than ${MAX_TENSORS} are refused`);
  const located = new Map<string, StorageBytes>();
  const seen = new Set<string>();
  const tensors: TensorInfo[] = [];
  const nonContiguous: string[] = [];
  for (const { name, tensor } of named) {
    if (Buffer.byteLength(name) > MAX_TENSOR_NAME_BYTES) throw new InputError(`${path}: a tensor name is longer than ${MAX_TENSOR_NAME_BYTES} bytes`);
    if (seen.has(name)) {
      warnings.push(`${path}: tensor name '${name}' occurs twice; the first is used`);
      continue;
    }
    seen.add(name);
    const { key } = tensor.storage;
    let bytes = located.get(key);
    if (bytes === undefined) {
      bytes = await locate(tensor.storage);
      checkStorageFits(tensor.storage, bytes, path);
      located.set(key, bytes);
    }
    const info = describeView(name, tensor, bytes, path);
    if (info.contiguous === false) nonContiguous.push(`'${name}' (shape ${JSON.stringify(tensor.shape)}, stride ${JSON.stringify(tensor.stride)})`);
    tensors.push(info.tensor);
  }
  if (nonContiguous.length > 0) {
    warnings.push(
      `${path}: ${nonContiguous.length} tensor(s) are non-contiguous views: ${nonContiguous.slice(0, 5).join(', ')}${nonContiguous.length > 5 ? ', ...' : ''}; ` +
      'their byte range is the span of storage the view covers, in storage order, and may hold other elements or fewer than shape says',
    );
  }
  return tensors;
}

function checkStorageFits(storage: PyStorage, bytes: StorageBytes, path: string): void {
  const needed = storage.numel * storage.elementSize;
  if (!Number.isSafeInteger(needed) || needed > bytes.length) {
    throw new InputError(
      `${path}: storage '${storage.key}' declares ${storage.numel} ${storage.dtype} elements (${needed} bytes) but ${bytes.where} holds ${bytes.length} bytes`,
    );
  }
}

function describeView(name: string, tensor: PyTensor, bytes: StorageBytes, path: string): { tensor: TensorInfo; contiguous: boolean } {
  const { storage, storageOffset, shape, stride } = tensor;
  const where = `${path}: tensor '${name}'`;
  let count = 1;
  let lastIndex = storageOffset; // the highest storage element the view touches
  for (let i = 0; i < shape.length; i++) {
    count *= shape[i]!;
    if (shape[i]! > 0) lastIndex += (shape[i]! - 1) * stride[i]!;
    if (!Number.isSafeInteger(count) || !Number.isSafeInteger(lastIndex)) throw new InputError(`${where} has a shape whose element count overflows`);
  }
  const es = storage.elementSize;
  const base = { name, dtype: storage.dtype, shape: [...shape], count, file: path };
  if (count === 0) {
    if (storageOffset > storage.numel) {
      throw new InputError(`${where} starts at element ${storageOffset} of storage '${storage.key}', which holds ${storage.numel}`);
    }
    return { tensor: { ...base, byteOffset: bytes.offset + storageOffset * es, byteLength: 0 }, contiguous: true };
  }
  if (lastIndex >= storage.numel) {
    throw new InputError(
      `${where} (offset ${storageOffset}, shape ${JSON.stringify(shape)}, stride ${JSON.stringify(stride)}) reaches element ${lastIndex} ` +
      `of storage '${storage.key}' (${bytes.where}), which holds ${storage.numel} ${storage.dtype} elements`,
    );
  }
  const byteOffset = bytes.offset + storageOffset * es;
  if (isContiguous(shape, stride)) return { tensor: { ...base, byteOffset, byteLength: count * es }, contiguous: true };
  return { tensor: { ...base, byteOffset, byteLength: (lastIndex - storageOffset + 1) * es }, contiguous: false };
}

/** Row-major with no gaps; dimensions of size 1 may carry any stride (torch does not normalise them). */
function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 1) continue;
    if (stride[i] !== expected) return false;
    expected *= shape[i]!;
  }
  return true;
}
