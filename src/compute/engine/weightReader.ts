// Reads groups of checkpoint tensors (one block's weights, one chunk of the head, a few embedding rows) into
// float32 buffers that are allocated once and reused: one byte range per shard and group where the group's tensors
// lie together (safetensors stores a block's tensors side by side), decoded in place by decode.ts (F32/F16/BF16,
// F8, GGUF block quantisations). Nothing here holds more than the buffers its caller owns.
import type { FileHandle } from 'node:fs/promises';
import { InputError, throwIfAborted } from '../../errors';
import type { CheckpointHeader, TensorInfo } from '../../formats/types';
import { decodeInto, layoutOf } from '../decode';
import { FileHandles } from '../tensorStream';

/** A group whose byte span is at most this much larger than its tensors, and at most MAX_SPAN, is read as one range. */
const SPAN_SLACK = 1.25;
/** Larger groups are read a tensor at a time, so the raw bytes held stay one tensor's (a 7B block is 400 MB of BF16). */
const MAX_SPAN = 128 * 2 ** 20;

export class WeightReader {
  private readonly byName: Map<string, TensorInfo>;
  private readonly handles = new FileHandles();

  constructor(header: CheckpointHeader, readonly where: string) {
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  has = (name: string): boolean => this.byName.has(name);

  /** The tensor, checked against the shape the architecture expects and for a decodable dtype. */
  tensor(name: string, shape: readonly number[]): TensorInfo {
    const tensor = this.byName.get(name);
    if (!tensor) throw new InputError(`${this.where}: tensor '${name}' is missing (the ${shape.length}-D weight [${shape.join(', ')}] the architecture needs)`);
    if (tensor.shape.join() !== shape.join()) {
      throw new InputError(`${this.where}: tensor '${name}' has shape [${tensor.shape.join(', ')}], but config.json implies [${shape.join(', ')}]`);
    }
    const layout = layoutOf(tensor.dtype);
    if (!layout || tensor.encoding !== undefined) throw new InputError(`${this.where}: tensor '${name}' is ${tensor.dtype}, which cannot be decoded for a forward pass`);
    if ((tensor.count / layout.elements) * layout.bytes > tensor.byteLength || tensor.count % layout.elements !== 0) {
      throw new InputError(`${this.where}: tensor '${name}': ${tensor.count} ${tensor.dtype} elements do not fit its ${tensor.byteLength} bytes`);
    }
    return tensor;
  }

  /**
   * Decodes `tensors[i]` into `outs[i]` (each at least tensors[i].count long). `scratch` holds the raw bytes and
   * grows when a group needs more; the caller keeps it for the next group of the same shape.
   */
  async read(tensors: readonly TensorInfo[], outs: readonly Float32Array[], scratch: Scratch, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    const byFile = new Map<string, number[]>();
    tensors.forEach((t, i) => byFile.set(t.file, [...(byFile.get(t.file) ?? []), i]));
    for (const [file, members] of byFile) {
      const handle = await this.handles.get(file);
      const start = Math.min(...members.map((i) => tensors[i]!.byteOffset));
      const end = Math.max(...members.map((i) => tensors[i]!.byteOffset + bytesOf(tensors[i]!)));
      const total = members.reduce((s, i) => s + bytesOf(tensors[i]!), 0);
      if (end - start <= total * SPAN_SLACK && end - start <= MAX_SPAN) {
        const bytes = await readRange(handle, scratch, start, end - start, file);
        for (const i of members) decode(tensors[i]!, bytes.subarray(tensors[i]!.byteOffset - start), outs[i]!);
      } else {
        for (const i of members) decode(tensors[i]!, await readRange(handle, scratch, tensors[i]!.byteOffset, bytesOf(tensors[i]!), file), outs[i]!);
      }
      throwIfAborted(signal);
    }
  }

  /** Rows `first..first+count` of a [rows, width] tensor, decoded into `out`. */
  async readRows(tensor: TensorInfo, width: number, first: number, count: number, out: Float32Array, scratch: Scratch, signal?: AbortSignal): Promise<void> {
    const layout = layoutOf(tensor.dtype)!;
    if (width % layout.elements !== 0) throw new InputError(`${this.where}: rows of '${tensor.name}' (${width}) are not whole ${tensor.dtype} blocks of ${layout.elements}`);
    const rowBytes = (width / layout.elements) * layout.bytes;
    const slice: TensorInfo = { ...tensor, byteOffset: tensor.byteOffset + first * rowBytes, byteLength: count * rowBytes, count: count * width };
    await this.read([slice], [out], scratch, signal);
  }

  close(): Promise<void> {
    return this.handles.close();
  }
}

/** A reusable byte buffer (Buffer.allocUnsafeSlow: its own memory at offset 0, so 2-byte views are aligned). */
export interface Scratch {
  bytes: Buffer;
}

export const newScratch = (size = 0): Scratch => ({ bytes: Buffer.allocUnsafeSlow(size) });

function bytesOf(tensor: TensorInfo): number {
  const layout = layoutOf(tensor.dtype)!;
  return (tensor.count / layout.elements) * layout.bytes;
}

function decode(tensor: TensorInfo, bytes: Buffer, out: Float32Array): void {
  decodeInto(tensor.dtype, bytes, tensor.count, out);
}

async function readRange(handle: FileHandle, scratch: Scratch, position: number, length: number, file: string): Promise<Buffer> {
  if (scratch.bytes.length < length) scratch.bytes = Buffer.allocUnsafeSlow(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(scratch.bytes, done, length - done, position + done);
    if (bytesRead === 0) throw new InputError(`${file}: ends before byte ${position + length} (a tensor's data is cut off)`);
    done += bytesRead;
  }
  return scratch.bytes.subarray(0, length);
}
