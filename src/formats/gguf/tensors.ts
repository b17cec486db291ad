// Tensor infos: read from the header, then placed in the file and checked against it. Sizes follow ggml_nbytes
// for a contiguous tensor: ne[0] must be a whole number of blocks (llama.cpp refuses it otherwise), each row is
// ne[0] / block_size * type_size bytes, and the rows multiply out. All of it in BigInt, so no declared
// dimension can overflow the arithmetic before it is compared with the file.
import { InputError } from '../../errors';
import { MAX_TENSOR_NAME_BYTES } from '../limits';
import type { TensorInfo } from '../types';
import type { HeaderCursor } from './cursor';
import { GGML_TYPES, REMOVED_GGML_TYPES } from './ggmlTypes';
import { GGUF_MAX_DIMS } from './limits';

export interface RawTensorInfo {
  name: string;
  /** GGUF's own order: ne[0] (the contiguous, innermost dimension) first. */
  dims: bigint[];
  typeId: number;
  /** Relative to the start of the data section. */
  offset: bigint;
}

/** Least bytes of one tensor info: name length, n_dims, type and offset (empty name, no dimensions). */
export const MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export async function readTensorInfo(cursor: HeaderCursor, index: number): Promise<RawTensorInfo> {
  const { text: name } = await cursor.string(`name of tensor ${index}`, MAX_TENSOR_NAME_BYTES);
  const what = `tensor '${name}'`;
  if (!cursor.has(4)) await cursor.need(4, `${what} n_dims`);
  const nDims = cursor.u32();
  if (nDims > GGUF_MAX_DIMS) {
    throw new InputError(`${cursor.path}: ${what} has ${nDims} dimensions at byte ${cursor.position - 4}; GGUF allows at most ${GGUF_MAX_DIMS}`);
  }
  const rest = 8 * nDims + 4 + 8;
  if (!cursor.has(rest)) await cursor.need(rest, `${what} dimensions, type and offset`);
  const dims: bigint[] = [];
  for (let j = 0; j < nDims; j++) dims.push(cursor.u64());
  const typeId = cursor.u32();
  const offset = cursor.u64();
  return { name, dims, typeId, offset };
}

/** Turns a raw info into a TensorInfo with an absolute byte range, refusing anything the file cannot hold. */
export function placeTensor(raw: RawTensorInfo, path: string, dataStart: number, alignment: number, fileSize: number): TensorInfo {
  const where = `${path}: tensor '${raw.name}'`;
  const type = GGML_TYPES.get(raw.typeId);
  if (type === undefined) {
    const removed = REMOVED_GGML_TYPES.get(raw.typeId);
    throw new InputError(removed === undefined
      ? `${where} has unknown GGML type id ${raw.typeId}`
      : `${where} has GGML type id ${raw.typeId} (${removed}), which ggml no longer reads; convert the model again with a current llama.cpp`);
  }
  const shapeText = `[${raw.dims.join(', ')}]`;
  let count = 1n;
  for (const d of raw.dims) {
    // Checked one by one as well: a zero elsewhere in the shape would hide a huge dimension from the product.
    if (d > SAFE) throw new InputError(`${where} has dimension ${d} in shape ${shapeText}, more than can be addressed`);
    count *= d;
  }
  if (count > SAFE) {
    throw new InputError(`${where} has shape ${shapeText} whose element count ${count} overflows what can be addressed`);
  }
  const ne0 = raw.dims[0] ?? 1n;
  const block = BigInt(type.blockSize);
  if (ne0 % block !== 0n) {
    throw new InputError(`${where} of type ${type.name} has ne[0] = ${ne0}, not a multiple of its block size ${type.blockSize}`);
  }
  const byteLength = ne0 === 0n ? 0n : (count / ne0) * (ne0 / block) * BigInt(type.typeSize);
  if (raw.offset % BigInt(alignment) !== 0n) {
    throw new InputError(`${where} has data offset ${raw.offset}, not a multiple of the alignment ${alignment}`);
  }
  const begin = BigInt(dataStart) + raw.offset;
  const end = begin + byteLength;
  if (end > BigInt(fileSize)) {
    throw new InputError(`${where} ends at byte ${end} but the file has ${fileSize}`);
  }
  return {
    name: raw.name,
    dtype: type.name,
    // GGUF order (ne[0] first), as llama.cpp and gguf-py list it: the reverse of the PyTorch/NumPy shape.
    shape: raw.dims.map(Number),
    count: Number(count),
    file: path,
    byteOffset: Number(begin),
    byteLength: Number(byteLength),
  };
}

/** No two tensors share a byte; bytes that no tensor (or its alignment padding) claims are worth a warning. */
export function checkPlacement(tensors: TensorInfo[], path: string, dataStart: number, alignment: number, fileSize: number): string[] {
  const sorted = [...tensors].sort((a, b) => a.byteOffset - b.byteOffset);
  let claimedUpTo = dataStart;
  let previous: TensorInfo | undefined;
  let unclaimed = 0;
  for (const tensor of sorted) {
    if (tensor.byteLength === 0) continue;
    if (previous && tensor.byteOffset < previous.byteOffset + previous.byteLength) {
      throw new InputError(`${path}: tensors '${previous.name}' and '${tensor.name}' overlap at byte ${tensor.byteOffset}`);
    }
    unclaimed += Math.max(0, tensor.byteOffset - claimedUpTo);
    claimedUpTo = alignUp(tensor.byteOffset + tensor.byteLength, alignment);
    previous = tensor;
  }
  if (previous) unclaimed += Math.max(0, fileSize - claimedUpTo);
  return unclaimed > 0 ? [`${path}: ${unclaimed} bytes of the data section belong to no tensor`] : [];
}

export function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}
