// A streaming safetensors writer: the header is known up front (names, dtypes, shapes, byte lengths), so it is
// written first and tensor bytes follow in order, in whatever chunks the caller produces. Nothing holds a whole
// tensor. Format: 8-byte little-endian header length, UTF-8 JSON header ({name: {dtype, shape, data_offsets}} with
// offsets relative to the data region, plus __metadata__ of strings), padded with spaces to a multiple of 8.
import { open, type FileHandle } from 'node:fs/promises';
import { readExactly } from '../formats/fileio';

export interface OutputTensor {
  name: string;
  dtype: string;
  shape: number[];
  byteLength: number;
}

/** Bytes copied per read/write: bounded memory whatever the tensor size. */
export const COPY_CHUNK_BYTES = 4 * 2 ** 20;

export class SafetensorsWriter {
  private written = 0;
  private tensorIndex = 0;
  private tensorWritten = 0;

  private constructor(private readonly handle: FileHandle, private readonly path: string, private readonly tensors: readonly OutputTensor[], private position: number) {}

  static async create(path: string, tensors: readonly OutputTensor[], metadata: Record<string, string>): Promise<SafetensorsWriter> {
    const header: Record<string, unknown> = { __metadata__: metadata };
    let offset = 0;
    for (const t of tensors) {
      if (t.name === '__metadata__' || t.name in header) throw new Error(`safetensors writer: duplicate or reserved tensor name '${t.name}'`);
      header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.byteLength] };
      offset += t.byteLength;
    }
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    const handle = await open(path, 'wx');
    const head = Buffer.concat([prefix, Buffer.from(json, 'utf8')]);
    try {
      await writeAll(handle, head, 0);
    } catch (error) {
      await handle.close();
      throw error;
    }
    return new SafetensorsWriter(handle, path, tensors, head.length);
  }

  /** The tensor whose bytes come next (undefined when all are written). */
  get current(): OutputTensor | undefined {
    return this.tensors[this.tensorIndex];
  }

  /** Appends bytes of the current tensor; a chunk never spans two tensors, so a short tensor is caught where it happens. */
  async write(bytes: Buffer): Promise<void> {
    while (this.current && this.current.byteLength === 0) this.tensorIndex++;
    const tensor = this.current;
    if (!tensor) throw new Error(`${this.path}: more bytes than the header announced`);
    if (this.tensorWritten + bytes.length > tensor.byteLength) throw new Error(`${this.path}: tensor '${tensor.name}' got more than its ${tensor.byteLength} bytes`);
    await writeAll(this.handle, bytes, this.position);
    this.position += bytes.length;
    this.written += bytes.length;
    this.tensorWritten += bytes.length;
    if (this.tensorWritten === tensor.byteLength) {
      this.tensorIndex++;
      this.tensorWritten = 0;
      while (this.current && this.current.byteLength === 0) this.tensorIndex++;
    }
  }

  /** Copies `length` bytes at `offset` of a source file as the current tensor's next bytes, in bounded chunks. */
  async copyRange(source: FileHandle, sourcePath: string, offset: number, length: number): Promise<void> {
    for (let done = 0; done < length; done += COPY_CHUNK_BYTES) {
      await this.write(await readExactly(source, offset + done, Math.min(COPY_CHUNK_BYTES, length - done), sourcePath));
    }
  }

  async close(): Promise<void> {
    while (this.current && this.current.byteLength === 0) this.tensorIndex++;
    try {
      if (this.current) throw new Error(`${this.path}: closed before tensor '${this.current.name}' was written`);
      await this.handle.sync();
    } finally {
      await this.handle.close();
    }
  }

  /** Closes without the completeness check, after a failure (the temp directory is removed anyway). */
  async abandon(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

async function writeAll(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}
