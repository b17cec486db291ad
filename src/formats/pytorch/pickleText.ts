// Decoding of the few pickle arguments that are not plain binary: little-endian two's-complement longs and the
// text forms of protocols 0/1 (torch.save never writes those, but old or hand-made pickles do).
import { PickleError } from './pyvalue';

/** LONG1/LONG4 payload: little-endian two's complement, empty = 0. */
export function decodeLongLE(bytes: Buffer): bigint {
  if (bytes.length === 0) return 0n;
  const hex = Buffer.from(bytes).reverse().toString('hex');
  let value = BigInt(`0x${hex}`);
  if (bytes[bytes.length - 1]! & 0x80) value -= 1n << BigInt(bytes.length * 8);
  return value;
}

/** INT ("I42\n", and "I01\n"/"I00\n" for True/False when `boolAliases`) and LONG ("L42L\n"). */
export function parseTextInt(line: Buffer, boolAliases: boolean): bigint | boolean {
  const text = line.toString('latin1');
  if (boolAliases && text === '01') return true;
  if (boolAliases && text === '00') return false;
  const digits = text.endsWith('L') ? text.slice(0, -1) : text;
  if (!/^[-+]?\d{1,4300}$/.test(digits)) throw new PickleError(`${JSON.stringify(text.slice(0, 40))} is not an integer`);
  return BigInt(digits.startsWith('+') ? digits.slice(1) : digits);
}

/** STRING: a Python repr in quotes. Only the common escapes are decoded; the value is informational anyway. */
export function unquotePython(text: string): string {
  const quote = text[0];
  if (text.length < 2 || (quote !== "'" && quote !== '"') || text[text.length - 1] !== quote) {
    throw new PickleError(`STRING argument ${JSON.stringify(text.slice(0, 40))} is not quoted`);
  }
  return text.slice(1, -1).replace(/\\(x[0-9a-fA-F]{2}|[\\'"nrt])/g, (_all, esc: string) => {
    if (esc.startsWith('x')) return String.fromCharCode(parseInt(esc.slice(1), 16));
    return ({ n: '\n', r: '\r', t: '\t' } as Record<string, string>)[esc] ?? esc;
  });
}

/** UNICODE: raw-unicode-escape (only \uXXXX and \UXXXXXXXX are escapes). */
export function decodeRawUnicodeEscape(text: string): string {
  return text.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (all, short?: string, long?: string) => {
    const code = parseInt((short ?? long)!, 16);
    return code <= 0x10ffff ? String.fromCodePoint(code) : all;
  });
}
