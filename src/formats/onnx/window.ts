// A read window over a file: the wire walker asks for a few bytes at a position, and the window reads by range
// around it. Skipping a tensor's payload is just asking for a later position, so the payload is never read.
import type { FileHandle } from 'node:fs/promises';
import { InputError } from '../../errors';
import { MAX_WINDOW_BYTES, MIN_READ_CHUNK_BYTES } from './limits';

/** What the reader actually read; tests use it to prove that payloads are skipped, not read. */
export interface ReadStats {
  reads: number;
  bytesRead: number;
  /** Size of the largest buffer the window held. */
  peakWindowBytes: number;
}

export function newReadStats(): ReadStats {
  return { reads: 0, bytesRead: 0, peakWindowBytes: 0 };
}

export class ByteWindow {
  private buffer: Buffer;
  /** File offset of buffer[0] and number of valid bytes. */
  private start = 0;
  private length = 0;
  private chunk = MIN_READ_CHUNK_BYTES;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    readonly path: string,
    private readonly stats: ReadStats,
  ) {
    this.buffer = Buffer.allocUnsafe(Math.min(size, MIN_READ_CHUNK_BYTES));
  }

  /** True when bytes [pos, pos + n) are in the window: the hot path stays synchronous. */
  has(pos: number, n: number): boolean {
    return pos >= this.start && pos + n <= this.start + this.length;
  }

  /** Brings [pos, pos + n) into the window, clamped to the end of the file. n must not exceed MAX_WINDOW_BYTES. */
  async load(pos: number, n: number): Promise<void> {
    const wanted = Math.min(n, this.size - pos);
    if (wanted > MAX_WINDOW_BYTES) throw new Error(`window asked for ${wanted} bytes; callers must cap reads at ${MAX_WINDOW_BYTES}`);
    const end = this.start + this.length;
    const sequential = pos >= this.start && pos <= end;
    this.chunk = sequential ? Math.min(this.chunk * 2, MAX_WINDOW_BYTES) : MIN_READ_CHUNK_BYTES;
    const total = Math.min(Math.max(wanted, this.chunk), this.size - pos);
    const kept = sequential ? end - pos : 0;
    if (total > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.min(Math.max(total, this.buffer.length * 2), MAX_WINDOW_BYTES));
      this.buffer.copy(grown, 0, pos - this.start, pos - this.start + kept);
      this.buffer = grown;
    } else if (kept > 0) {
      this.buffer.copy(this.buffer, 0, pos - this.start, pos - this.start + kept);
    }
    this.stats.peakWindowBytes = Math.max(this.stats.peakWindowBytes, this.buffer.length);
    let filled = kept;
    while (filled < total) {
      const { bytesRead } = await this.handle.read(this.buffer, filled, total - filled, pos + filled);
      this.stats.reads++;
      this.stats.bytesRead += bytesRead;
      if (bytesRead === 0) {
        throw new InputError(`${this.path}: the file ended at byte ${pos + filled} while reading; it had ${this.size} bytes when opened`);
      }
      filled += bytesRead;
    }
    this.start = pos;
    this.length = total;
  }

  /** The byte at pos; only valid after has()/load() covered it. */
  byte(pos: number): number {
    return this.buffer[pos - this.start]!;
  }

  text(pos: number, n: number): string {
    return this.buffer.toString('utf8', pos - this.start, pos - this.start + n);
  }
}
