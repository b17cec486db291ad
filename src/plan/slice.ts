// Structured pruning writes parts of tensors: kept rows of a 2-D weight (or kept elements of a 1-D bias) are byte
// ranges copied as they are; kept columns are gathered from blocks of whole rows, a few MB at a time. Any
// fixed-width dtype works: bytes are never decoded.
import type { FileHandle } from 'node:fs/promises';
import { InputError } from '../errors';
import { readExactly } from '../formats/fileio';
import type { TensorInfo } from '../formats/types';
import type { SafetensorsWriter } from './safetensorsWriter';

const ELEMENT_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, F8_E4M3: 1, F8_E5M2: 1 };
const BLOCK_BYTES = 4 * 2 ** 20;

/** Half-open index ranges [start, end) kept along one axis. */
export type Ranges = readonly (readonly [number, number])[];

export interface Slice {
  /** 0: rows of a 2-D tensor or elements of a 1-D one; 1: columns of a 2-D tensor. */
  axis: 0 | 1;
  ranges: Ranges;
}

export function keptLength(ranges: Ranges): number {
  return ranges.reduce((s, [a, b]) => s + (b - a), 0);
}

export function elementBytes(tensor: TensorInfo): number {
  const size = ELEMENT_BYTES[tensor.dtype];
  if (size === undefined || tensor.count * size !== tensor.byteLength) throw new InputError(`tensor '${tensor.name}' (${tensor.dtype}) cannot be sliced: only fixed-width dtypes can`);
  return size;
}

export function slicedShape(tensor: TensorInfo, slice: Slice): number[] {
  const shape = [...tensor.shape];
  const extent = shape[slice.axis];
  if (extent === undefined || shape.length > 2) throw new Error(`cannot slice axis ${slice.axis} of '${tensor.name}' ${JSON.stringify(tensor.shape)}`);
  for (const [a, b] of slice.ranges) if (!(a >= 0 && a < b && b <= extent)) throw new Error(`range [${a}, ${b}) outside axis ${slice.axis} of '${tensor.name}' (${extent})`);
  shape[slice.axis] = keptLength(slice.ranges);
  return shape;
}

export async function writeSlice(tensor: TensorInfo, slice: Slice, source: FileHandle, writer: SafetensorsWriter): Promise<void> {
  const size = elementBytes(tensor);
  const columns = tensor.shape.length === 2 ? tensor.shape[1]! : 1;
  const rowBytes = columns * size;
  if (slice.axis === 0) {
    for (const [a, b] of slice.ranges) await writer.copyRange(source, tensor.file, tensor.byteOffset + a * rowBytes, (b - a) * rowBytes);
    return;
  }
  const rows = tensor.shape[0]!;
  const keptBytes = keptLength(slice.ranges) * size;
  const perBlock = Math.max(1, Math.floor(BLOCK_BYTES / rowBytes));
  for (let first = 0; first < rows; first += perBlock) {
    const count = Math.min(perBlock, rows - first);
    const block = await readExactly(source, tensor.byteOffset + first * rowBytes, count * rowBytes, tensor.file);
    const out = Buffer.allocUnsafe(count * keptBytes);
    let at = 0;
    for (let r = 0; r < count; r++) {
      for (const [a, b] of slice.ranges) at += block.copy(out, at, r * rowBytes + a * size, r * rowBytes + b * size);
    }
    await writer.write(out);
  }
}
