// A forward-only reader over the head of a file, refilled in bounded chunks. Every read states how many bytes it
// needs first, and `need` refuses any that would run past the end of the file or past the header cap, so a lying
// length can neither make us allocate its size nor read beyond the file. The hot loops (150 000 vocabulary
// strings) check `has` synchronously and only await a refill when a chunk runs out.
import type { FileHandle } from 'node:fs/promises';
import { InputError } from '../../errors';
import { readExactly } from '../fileio';
import { GGUF_MAX_HEADER_BYTES, GGUF_READ_CHUNK_BYTES } from './limits';

export class HeaderCursor {
  /** Absolute offset of the next byte to read. */
  position = 0;
  private buffer: Buffer = Buffer.alloc(0);
  /** Absolute offset of buffer[0]. */
  private bufferStart = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    readonly fileSize: number,
  ) {}

  /** Bytes the header may still use: up to the end of the file or the header cap, whichever comes first. */
  get remaining(): number {
    return Math.min(this.fileSize, GGUF_MAX_HEADER_BYTES) - this.position;
  }

  /** Whether `n` bytes at the position are buffered (then the sync readers below may be used). */
  has(n: number): boolean {
    return this.position + n <= this.bufferStart + this.buffer.length;
  }

  /** Makes `n` bytes at the position available, or says what did not fit and where. */
  async need(n: number, what: string): Promise<void> {
    if (this.has(n)) return;
    this.checkRoom(n, what);
    const bufferEnd = this.bufferStart + this.buffer.length;
    const kept = this.position < bufferEnd ? this.buffer.subarray(this.position - this.bufferStart) : Buffer.alloc(0);
    const total = Math.min(Math.max(n, GGUF_READ_CHUNK_BYTES), this.fileSize - this.position);
    const fresh = await readExactly(this.handle, this.position + kept.length, total - kept.length, this.path);
    this.buffer = kept.length > 0 ? Buffer.concat([kept, fresh]) : fresh;
    this.bufferStart = this.position;
  }

  /** Moves past `n` bytes without reading them (fixed-size arrays too long to keep). */
  skip(n: number, what: string): void {
    this.checkRoom(n, what);
    this.position += n;
  }

  /** Refuses `n` more bytes at the position when they would run past the file or the header cap. */
  checkRoom(n: number, what: string): void {
    if (this.position + n > this.fileSize) {
      throw new InputError(
        `${this.path}: ${what} at byte ${this.position} needs ${n} bytes but the file ends at byte ${this.fileSize}`,
      );
    }
    if (this.position + n > GGUF_MAX_HEADER_BYTES) {
      throw new InputError(
        `${this.path}: ${what} at byte ${this.position} lies past the first ${GGUF_MAX_HEADER_BYTES} bytes; GGUF headers larger than that are refused`,
      );
    }
  }

  private take(n: number): number {
    const at = this.position - this.bufferStart;
    this.position += n;
    return at;
  }

  u8(): number {
    return this.buffer.readUInt8(this.take(1));
  }
  i8(): number {
    return this.buffer.readInt8(this.take(1));
  }
  u16(): number {
    return this.buffer.readUInt16LE(this.take(2));
  }
  i16(): number {
    return this.buffer.readInt16LE(this.take(2));
  }
  u32(): number {
    return this.buffer.readUInt32LE(this.take(4));
  }
  i32(): number {
    return this.buffer.readInt32LE(this.take(4));
  }
  f32(): number {
    return this.buffer.readFloatLE(this.take(4));
  }
  u64(): bigint {
    return this.buffer.readBigUInt64LE(this.take(8));
  }
  i64(): bigint {
    return this.buffer.readBigInt64LE(this.take(8));
  }
  f64(): number {
    return this.buffer.readDoubleLE(this.take(8));
  }
  /** The next `n` buffered bytes as UTF-8 (invalid sequences become U+FFFD, as a viewer should show them). */
  utf8(n: number): string {
    const at = this.take(n);
    return this.buffer.toString('utf8', at, at + n);
  }

  /** Reads a u64 length-prefixed string of at most `maxBytes`, keeping at most `keepBytes` of it. */
  async string(what: string, maxBytes: number, keepBytes = maxBytes): Promise<{ text: string; bytes: number; cut: boolean }> {
    if (!this.has(8)) await this.need(8, `${what} length`);
    const declared = this.u64();
    const n = this.checkStringLength(declared, what, maxBytes);
    const kept = Math.min(n, keepBytes);
    if (!this.has(kept)) await this.need(kept, what);
    const text = this.utf8(kept);
    if (kept < n) this.skip(n - kept, what);
    return { text, bytes: n, cut: kept < n };
  }

  /** Validates a declared string length against the cap and the bytes left, before anything is read. */
  checkStringLength(declared: bigint, what: string, maxBytes: number): number {
    if (declared > BigInt(maxBytes)) {
      throw new InputError(`${this.path}: ${what} at byte ${this.position - 8} declares ${declared} bytes; strings above ${maxBytes} bytes are refused`);
    }
    const n = Number(declared);
    this.checkRoom(n, what);
    return n;
  }
}
