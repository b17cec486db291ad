// Bounded reading of a pickle's bytes: every length is checked against the bytes left before anything is sliced,
// and running out of bytes is a TruncatedPickleError (the legacy reader retries those with a larger window).
import { InputError } from '../../errors';
import { MAX_PICKLE_LINE_BYTES } from './caps';
import { PickleError } from './pyvalue';

/** The pickle ran past the end of the bytes given. */
export class TruncatedPickleError extends InputError {}

export class PickleCursor {
  pos: number;
  /** Where the opcode being run starts, for messages. */
  opStart: number;

  constructor(readonly data: Buffer, start: number, readonly where: string) {
    this.pos = start;
    this.opStart = start;
  }

  atEnd(): boolean {
    return this.pos >= this.data.length;
  }

  u8(): number {
    return this.take(1)[0]!;
  }

  u16(): number {
    return this.take(2).readUInt16LE(0);
  }

  u32(): number {
    return this.take(4).readUInt32LE(0);
  }

  i32(): number {
    return this.take(4).readInt32LE(0);
  }

  /** A length field of `width` bytes, checked against the bytes left. */
  length(width: 4 | 8, what: string): number {
    const raw = width === 4 ? BigInt(this.u32()) : this.take(8).readBigUInt64LE(0);
    const left = this.data.length - this.pos;
    if (raw > BigInt(left)) {
      throw new TruncatedPickleError(`${this.where} at byte ${this.opStart}: a ${what} of ${raw} bytes runs past the end of the pickle (${left} bytes left)`);
    }
    return Number(raw);
  }

  take(n: number): Buffer {
    if (this.pos + n > this.data.length) {
      throw new TruncatedPickleError(`${this.where} at byte ${this.opStart}: wanted ${n} bytes but the pickle ends at byte ${this.data.length}`);
    }
    const slice = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return slice;
  }

  /** A newline-terminated argument of the text opcodes (GLOBAL, INT, ...), without the newline. */
  line(): Buffer {
    const limit = Math.min(this.data.length, this.pos + MAX_PICKLE_LINE_BYTES);
    const found = this.data.subarray(this.pos, limit).indexOf(0x0a);
    if (found < 0) {
      if (limit < this.data.length) throw new PickleError(`a text argument longer than ${MAX_PICKLE_LINE_BYTES} bytes; refused`);
      throw new TruncatedPickleError(`${this.where} at byte ${this.opStart}: a text argument is not terminated before the end of the pickle`);
    }
    const text = this.data.subarray(this.pos, this.pos + found);
    this.pos += found + 1;
    return text;
  }

  textIndex(): number {
    const text = this.line().toString('latin1');
    if (!/^\d{1,15}$/.test(text)) throw new PickleError(`memo index ${JSON.stringify(text.slice(0, 40))} is not a number`);
    return Number(text);
  }
}
