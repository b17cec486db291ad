// Reads groups of checkpoint tensors (one block's weights, one chunk of the head, a few embedding rows) into
// float32 buffers that are allocated once and reused: one byte range per shard and group where the group's tensors
// lie together (safetensors stores a block's tensors side by side), decoded in place by decode.ts (F32/F16/BF16,
// F8, GGUF block quantisations). Nothing here holds more than the buffers its caller owns. A TensorView translates
// between the names and layout a family asks for (Hugging Face's) and the checkpoint's own (a GGUF file's).
import type { FileHandle } from 'node:fs/promises';
import { InputError, throwIfAborted } from '../../errors';
import type { CheckpointHeader, TensorInfo } from '../../formats/types';
import { decodeInto, layoutOf } from '../decode';
import { FileHandles } from '../tensorStream';

/** A group whose byte span is at most this much larger than its tensors, and at most MAX_SPAN, is read as one range. */
const SPAN_SLACK = 1.25;
/** Larger groups are read a tensor at a time, so the raw bytes held stay one tensor's (a 7B block is 400 MB of BF16). */
const MAX_SPAN = 128 * 2 ** 20;

/**
 * How a checkpoint stores what a family asks for by Hugging Face name and [out, in] shape. The identity for
 * safetensors; a GGUF file renames tensors, lists dims innermost-first and permutes some rows (ggufView.ts).
 */
export interface TensorView {
  /** The checkpoint's own name of the tensor the family calls `name`. */
  own(name: string): string;
  /**
   * When the checkpoint stores the tensor a family calls `name` as slice `index` of the outermost dim of a stacked
   * tensor (a GGUF file's experts of one block, [in, out, n_expert]): that tensor's name and the index.
   */
  slice?(name: string): { name: string; index: number } | undefined;
  /** The dims as the checkpoint lists them, for HF's `shape`. */
  stored(shape: readonly number[]): number[];
  /**
   * Whether the checkpoint's dims `actual` are the `stored` ones the family expects; absent: the same list. (GGUF:
   * ggml pads every tensor's dims to 4 with 1s, so [64] and [64, 1] are one shape, as llama.cpp's loader checks.)
   */
  sameShape?(actual: readonly number[], stored: readonly number[]): boolean;
  /** Undoes, in place, what the checkpoint did to a tensor's decoded values (by its own name), if anything. */
  restore(ownName: string, values: Float32Array): void;
  /** Where the shape a family expects comes from, for messages ("config.json", "its GGUF metadata"). */
  readonly shapeSource: string;
}

const IDENTITY: TensorView = { own: (name) => name, stored: (shape) => [...shape], restore: () => undefined, shapeSource: 'config.json' };

export class WeightReader {
  private readonly byName: Map<string, TensorInfo>;
  private readonly handles = new FileHandles();

  constructor(header: CheckpointHeader, readonly where: string, readonly view: TensorView = IDENTITY) {
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  /** Whether the checkpoint has the tensor a family calls `name`. */
  has = (name: string): boolean => {
    const slice = this.view.slice?.(name);
    if (!slice) return this.byName.has(this.view.own(name));
    const stack = this.byName.get(slice.name);
    return stack !== undefined && slice.index < (stack.shape.at(-1) ?? 0);
  };

  /**
   * The tensor a family calls `name`, checked against the [out, in] shape the architecture expects (in the
   * checkpoint's own order) and for a decodable dtype. Its `name` is the checkpoint's own.
   */
  tensor(name: string, shape: readonly number[]): TensorInfo {
    const stored = this.view.stored(shape);
    const slice = this.view.slice?.(name);
    if (slice) return this.sliceOf(slice.name, slice.index, stored);
    const own = this.view.own(name);
    const tensor = this.byName.get(own);
    if (!tensor) throw new InputError(`${this.where}: tensor '${own}' is missing (the ${stored.length}-D weight [${stored.join(', ')}] the architecture needs)`);
    if (!(this.view.sameShape?.(tensor.shape, stored) ?? tensor.shape.join() === stored.join())) {
      throw new InputError(`${this.where}: tensor '${own}' has shape [${tensor.shape.join(', ')}], but ${this.view.shapeSource} implies [${stored.join(', ')}]`);
    }
    const layout = layoutOf(tensor.dtype);
    if (!layout || tensor.encoding !== undefined) throw new InputError(`${this.where}: tensor '${own}' is ${tensor.dtype}, which cannot be decoded for a forward pass`);
    if ((tensor.count / layout.elements) * layout.bytes > tensor.byteLength || tensor.count % layout.elements !== 0) {
      throw new InputError(`${this.where}: tensor '${own}': ${tensor.count} ${tensor.dtype} elements do not fit its ${tensor.byteLength} bytes`);
    }
    return tensor;
  }

  /**
   * Slice `index` of the stacked tensor `own` (dims `stored` plus the outermost, the stack), as a tensor of its own:
   * the outermost dim varies slowest, so the slice is one contiguous byte range, whole quantisation blocks when its
   * rows are (checked). Only its bytes are ever read, never the whole stack.
   */
  private sliceOf(own: string, index: number, stored: readonly number[]): TensorInfo {
    const stack = this.byName.get(own);
    const what = `the ${stored.length + 1}-D stack [${stored.join(', ')}, experts] the architecture needs`;
    if (!stack) throw new InputError(`${this.where}: tensor '${own}' is missing (${what})`);
    const inner = stack.shape.slice(0, -1);
    if (stack.shape.length !== stored.length + 1 || inner.join() !== stored.join()) {
      throw new InputError(`${this.where}: tensor '${own}' has shape [${stack.shape.join(', ')}], but ${this.view.shapeSource} implies [${stored.join(', ')}, experts]`);
    }
    const experts = stack.shape.at(-1)!;
    if (index >= experts) throw new InputError(`${this.where}: tensor '${own}' stacks ${experts} experts, but ${this.view.shapeSource} asks for expert ${index}`);
    const layout = layoutOf(stack.dtype);
    if (!layout || stack.encoding !== undefined) throw new InputError(`${this.where}: tensor '${own}' is ${stack.dtype}, which cannot be decoded for a forward pass`);
    const count = stored.reduce((a, b) => a * b, 1);
    if (count % layout.elements !== 0 || (stored[0] ?? 0) % layout.elements !== 0) throw new InputError(`${this.where}: tensor '${own}': rows of ${stored[0]} are not whole ${stack.dtype} blocks of ${layout.elements}`);
    const bytes = (count / layout.elements) * layout.bytes;
    if (bytes * experts > stack.byteLength) throw new InputError(`${this.where}: tensor '${own}': ${stack.count} ${stack.dtype} elements do not fit its ${stack.byteLength} bytes`);
    return { ...stack, name: `${own}[expert ${index}]`, shape: [...stored], count, byteOffset: stack.byteOffset + index * bytes, byteLength: bytes };
  }

  /**
   * Decodes `tensors[i]` into `outs[i]` (each at least tensors[i].count long). `scratch` holds the raw bytes and
   * grows when a group needs more; the caller keeps it for the next group of the same shape.
   */
  async read(tensors: readonly TensorInfo[], outs: readonly Float32Array[], scratch: Scratch, signal?: AbortSignal): Promise<void> {
    await this.decodeGroup(tensors, outs, scratch, signal);
    tensors.forEach((t, i) => this.view.restore(t.name, outs[i]!.subarray(0, t.count)));
  }

  private async decodeGroup(tensors: readonly TensorInfo[], outs: readonly Float32Array[], scratch: Scratch, signal?: AbortSignal): Promise<void> {
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

  /** Rows `first..first+count` of a [rows, width] tensor, decoded into `out` (embedding and head rows: no view restores those). */
  async readRows(tensor: TensorInfo, width: number, first: number, count: number, out: Float32Array, scratch: Scratch, signal?: AbortSignal): Promise<void> {
    const layout = layoutOf(tensor.dtype)!;
    if (width % layout.elements !== 0) throw new InputError(`${this.where}: rows of '${tensor.name}' (${width}) are not whole ${tensor.dtype} blocks of ${layout.elements}`);
    const rowBytes = (width / layout.elements) * layout.bytes;
    const slice: TensorInfo = { ...tensor, byteOffset: tensor.byteOffset + first * rowBytes, byteLength: count * rowBytes, count: count * width };
    await this.decodeGroup([slice], [out], scratch, signal);
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
