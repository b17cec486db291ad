// A hand-written protobuf wire-format walker. Protobuf libraries (protobufjs and the like) decode whole messages
// into memory and cannot say where a field's bytes lie in the file; we need exactly that (a tensor's payload is
// recorded as a byte range and skipped), so we walk tags, varints and lengths ourselves over a read window.
// Every length is checked against its enclosing message and the file before it is trusted.
import { InputError } from '../../errors';
import type { ByteWindow } from './window';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const WIRE_NAMES = ['varint', '64-bit', 'length-delimited', 'group start', 'group end', '32-bit', '6 (invalid)', '7 (invalid)'];
const MAX_VARINT_BYTES = 10;
const MAX_FIELD_NUMBER = 2 ** 29 - 1;

export interface Tag {
  field: number;
  wire: number;
  /** Byte offset of the tag, for error messages. */
  at: number;
}

/** A length-delimited field's contents: [start, end) in the file. */
export interface Span {
  start: number;
  end: number;
}

export class WireReader {
  pos = 0;

  constructor(private readonly window: ByteWindow) {}

  get size(): number {
    return this.window.size;
  }

  get path(): string {
    return this.window.path;
  }

  fail(message: string): never {
    throw new InputError(`${this.window.path}: ${message}`);
  }

  /** The next field's tag, or null when the message ending at `end` is done. */
  async tag(end: number, message: string): Promise<Tag | null> {
    if (this.pos >= end) return null;
    const at = this.pos;
    const value = await this.uint(end, `${message} field tag`);
    const field = Math.floor(value / 8);
    const wire = value % 8;
    if (wire === 3 || wire === 4) {
      this.fail(`${message} field ${field} at byte ${at} uses the ${WIRE_NAMES[wire]} wire type; protobuf groups are not valid in ONNX files`);
    }
    if (wire === 6 || wire === 7) this.fail(`${message} field ${field} at byte ${at} has invalid wire type ${wire}`);
    if (field === 0 || field > MAX_FIELD_NUMBER) this.fail(`${message} has an invalid field number ${field} at byte ${at}`);
    return { field, wire, at };
  }

  /** Refuses a known field sent with the wrong wire type (protobuf parsers reject these too). */
  expect(tag: Tag, wire: number, what: string): void {
    if (tag.wire !== wire) {
      this.fail(`${what} at byte ${tag.at} has wire type ${WIRE_NAMES[tag.wire]}, expected ${WIRE_NAMES[wire]}`);
    }
  }

  /** An unsigned varint that must fit a JS number exactly (tags, lengths, enums, counts). */
  async uint(end: number, what: string): Promise<number> {
    const at = this.pos;
    const n = await this.scanVarint(end, what);
    let value = 0;
    for (let i = n - 1; i >= 0; i--) value = value * 128 + (this.window.byte(at + i) & 0x7f);
    if (!Number.isSafeInteger(value)) this.fail(`${what} at byte ${at} is ${value}, too large to be a valid count or length`);
    this.pos = at + n;
    return value;
  }

  /** A varint read as a signed 64-bit integer (int64/int32 fields: negative values are sign-extended). */
  async int64(end: number, what: string): Promise<bigint> {
    const at = this.pos;
    const n = await this.scanVarint(end, what);
    let value = 0n;
    for (let i = n - 1; i >= 0; i--) value = (value << 7n) | BigInt(this.window.byte(at + i) & 0x7f);
    this.pos = at + n;
    return BigInt.asIntN(64, value);
  }

  /** Reads a length prefix and checks the contents lie inside the enclosing message and the file. */
  async span(end: number, what: string, at: number): Promise<Span> {
    const length = await this.uint(end, `${what} length`);
    const start = this.pos;
    if (start + length > this.size) {
      this.fail(`${what} at byte ${at} declares ${length} bytes, running to byte ${start + length} past the end of the file (${this.size} bytes)`);
    }
    if (start + length > end) {
      this.fail(`${what} at byte ${at} declares ${length} bytes, running to byte ${start + length} past the end of its enclosing message at byte ${end}`);
    }
    return { start, end: start + length };
  }

  /** A length-delimited string of at most `cap` bytes; longer ones are refused, not truncated. */
  async string(tag: Tag, end: number, what: string, cap: number): Promise<string> {
    const { text, length } = await this.capped(tag, end, what, cap);
    if (text === null) this.fail(`${what} at byte ${tag.at} is ${length} bytes long; more than ${cap} bytes are refused`);
    return text;
  }

  /** Like string(), but a value longer than `cap` is skipped unread (null) instead of refused. */
  async optionalString(tag: Tag, end: number, what: string, cap: number): Promise<string | null> {
    return (await this.capped(tag, end, what, cap)).text;
  }

  private async capped(tag: Tag, end: number, what: string, cap: number): Promise<{ text: string | null; length: number }> {
    this.expect(tag, WIRE_LEN, what);
    const { start, end: stop } = await this.span(end, what, tag.at);
    const length = stop - start;
    this.pos = stop;
    if (length > cap) return { text: null, length };
    if (!this.window.has(start, length)) await this.window.load(start, length);
    return { text: this.window.text(start, length), length };
  }

  /** Moves past a field's value without reading it (a seek for length-delimited payloads). */
  async skip(tag: Tag, end: number, message: string): Promise<void> {
    const what = `${message} field ${tag.field}`;
    switch (tag.wire) {
      case WIRE_VARINT:
        this.pos += await this.scanVarint(end, what);
        return;
      case WIRE_I64:
      case WIRE_I32: {
        const width = tag.wire === WIRE_I64 ? 8 : 4;
        if (this.pos + width > end) this.fail(`${what} at byte ${tag.at} needs ${width} bytes but its message ends at byte ${end}`);
        this.pos += width;
        return;
      }
      default:
        this.pos = (await this.span(end, what, tag.at)).end;
    }
  }

  /** Validates the varint at pos and returns its byte count; pos is left unchanged. */
  private async scanVarint(end: number, what: string): Promise<number> {
    const at = this.pos;
    const limit = Math.min(end, this.size);
    const want = Math.min(MAX_VARINT_BYTES, limit - at);
    if (want > 0 && !this.window.has(at, want)) await this.window.load(at, want);
    for (let i = 0; i < want; i++) {
      const b = this.window.byte(at + i);
      if (i === MAX_VARINT_BYTES - 1 && b > 1) {
        this.fail(b & 0x80 ? `${what} at byte ${at} is a varint longer than ${MAX_VARINT_BYTES} bytes` : `${what} at byte ${at} overflows 64 bits`);
      }
      if ((b & 0x80) === 0) return i + 1;
    }
    if (limit >= this.size) this.fail(`${what} at byte ${at} is cut off by the end of the file (${this.size} bytes)`);
    return this.fail(`${what} at byte ${at} runs past the end of its enclosing message at byte ${end}`);
  }
}
