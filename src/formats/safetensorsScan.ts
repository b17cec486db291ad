// The usual safetensors header read without JSON.parse: one pass over the text into columns (names, dtypes,
// shapes, offsets), with no object per entry and none for its offsets. It takes only the plain form writers
// produce: strings without escapes or control characters, non-negative integers without sign, fraction or
// exponent, entries with exactly "dtype", "shape" and "data_offsets" ([begin, end]), an optional __metadata__ of
// strings, no repeated name, no name that JSON.parse would list out of order (an array index such as "0"), at most
// MAX_TENSORS entries. Anything else returns undefined and safetensors.ts uses JSON.parse, so every file outside
// the plain form keeps JSON.parse's errors and key semantics; inside it the scan reads exactly what JSON.parse
// would (test/unit/safetensorsScan.test.ts holds the two together on mutants).
import { MAX_TENSORS } from './limits';

export interface ScannedHeader {
  names: string[];
  dtypes: string[];
  shapes: number[][];
  begins: number[];
  ends: number[];
  metadata: Record<string, string>;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;
/** 15 digits stay below 2^53: every such integer is read exactly by the running sum. */
const MAX_DIGITS = 15;

/** Thrown inside the scan when the text leaves the plain form; caught once at the top. */
const NOT_PLAIN = Symbol('not plain');

export function scanSafetensorsHeader(text: string): ScannedHeader | undefined {
  // Escapes go to JSON.parse (a search for one character over the text); so do control characters inside strings,
  // found where each string is read (a regex over the whole 10 MB text for them was 7 ms), while tabs and line
  // breaks between tokens are legal and any other control character there leaves the plain form.
  if (text.includes('\\')) return undefined;
  try {
    return new Scanner(text).header();
  } catch (error) {
    if (error === NOT_PLAIN) return undefined;
    throw error;
  }
}

/** A cursor over the text (fields, not closure variables: V8 keeps these in registers, closures' in a context). */
class Scanner {
  private i = 0;
  private readonly n: number;
  private lastDtype: string | undefined;
  /** Reused by integers(). */
  private readonly scratch: number[] = [];

  constructor(private readonly text: string) {
    this.n = text.length;
  }

  header(): ScannedHeader {
    const out: ScannedHeader = { names: [], dtypes: [], shapes: [], begins: [], ends: [], metadata: {} };
    // Repeated names are found from a hash of each name, taken over the header text as the name is read: a Set of
    // 100 000 names (slices of the text) was half of the scan's time (docs/benchmarks.md).
    let hashes = new Int32Array(1024);
    let metadataSeen = false;
    this.expect(OPEN_BRACE);
    if (this.text.charCodeAt(this.i) === CLOSE_BRACE) this.i++;
    else {
      do {
        const nameStart = this.i + 1;
        const name = this.string(false); // its characters are checked by the hash
        const hash = this.hashOf(nameStart, this.i - 1);
        this.expect(COLON);
        if (name === '__metadata__') {
          if (metadataSeen) throw NOT_PLAIN;
          metadataSeen = true;
          this.metadata(out.metadata);
        } else {
          if (isArrayIndex(name) || out.names.length === MAX_TENSORS) throw NOT_PLAIN;
          if (out.names.length === hashes.length) {
            const grown = new Int32Array(hashes.length * 2);
            grown.set(hashes);
            hashes = grown;
          }
          hashes[out.names.length] = hash;
          out.names.push(name);
          this.entry(out);
        }
      } while (this.separator(CLOSE_BRACE));
    }
    this.skipSpace();
    if (this.i !== this.n) throw NOT_PLAIN;
    if (sharesHash(hashes.subarray(0, out.names.length)) && new Set(out.names).size !== out.names.length) throw NOT_PLAIN;
    return out;
  }

  /** FNV-1a of the text's characters [start, end), a name's; a control character among them leaves the plain form. */
  private hashOf(start: number, end: number): number {
    const text = this.text;
    let h = 0x811c9dc5 | 0;
    for (let k = start; k < end; k++) {
      const c = text.charCodeAt(k);
      if (c < 0x20) throw NOT_PLAIN;
      h = Math.imul(h ^ c, 0x01000193);
    }
    return h;
  }

  /** {"dtype": "...", "shape": [...], "data_offsets": [begin, end]} in any order, each once. */
  private entry(out: ScannedHeader): void {
    let dtype: string | undefined;
    let shape: number[] | undefined;
    let offsets = false;
    this.expect(OPEN_BRACE);
    do {
      // The three keys are compared in place: no string made for them.
      const text = this.text;
      if (text.charCodeAt(this.i) !== QUOTE) throw NOT_PLAIN;
      if (dtype === undefined && text.startsWith('dtype"', this.i + 1)) {
        this.i += 7;
        this.expect(COLON);
        dtype = this.dtype();
      } else if (shape === undefined && text.startsWith('shape"', this.i + 1)) {
        this.i += 7;
        this.expect(COLON);
        shape = this.integers();
      } else if (!offsets && text.startsWith('data_offsets"', this.i + 1)) {
        this.i += 14;
        this.expect(COLON);
        this.expect(OPEN_BRACKET);
        out.begins.push(this.integer());
        this.expect(COMMA);
        out.ends.push(this.integer());
        this.expect(CLOSE_BRACKET);
        offsets = true;
      } else throw NOT_PLAIN;
    } while (this.separator(CLOSE_BRACE));
    if (dtype === undefined || shape === undefined || !offsets) throw NOT_PLAIN;
    out.dtypes.push(dtype);
    out.shapes.push(shape);
  }

  private metadata(into: Record<string, string>): void {
    this.expect(OPEN_BRACE);
    if (this.text.charCodeAt(this.i) === CLOSE_BRACE) {
      this.i++;
      return;
    }
    do {
      const key = this.string();
      this.expect(COLON);
      // JSON.parse's object lists array-index keys first; "__proto__" is an own key there, a setter here.
      if (isArrayIndex(key) || key === '__proto__') throw NOT_PLAIN;
      into[key] = this.string();
    } while (this.separator(CLOSE_BRACE));
  }

  /** After a member: true at a comma (more follow), false at `close` (consumed). */
  private separator(close: number): boolean {
    this.skipSpace();
    const c = this.text.charCodeAt(this.i++);
    if (c === close) return false;
    if (c !== COMMA) throw NOT_PLAIN;
    this.skipSpace();
    return true;
  }

  private skipSpace(): void {
    const text = this.text;
    let i = this.i;
    for (; i < this.n; i++) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    }
    this.i = i;
  }

  private expect(code: number): void {
    this.skipSpace();
    if (this.text.charCodeAt(this.i) !== code) throw NOT_PLAIN;
    this.i++;
    this.skipSpace();
  }

  /** A dtype string; the previous entry's string object again when the text repeats it (one string, not 100 000). */
  private dtype(): string {
    const last = this.lastDtype;
    if (last !== undefined && this.text.charCodeAt(this.i) === QUOTE && this.text.startsWith(last, this.i + 1) && this.text.charCodeAt(this.i + 1 + last.length) === QUOTE) {
      this.i += last.length + 2;
      return last;
    }
    return (this.lastDtype = this.string());
  }

  /**
   * Strings end at the next quote (indexOf: escapes were ruled out above). `checked`: refuse a control character in
   * it here (false only where the caller's own loop over the characters does).
   */
  private string(checked = true): string {
    const text = this.text;
    if (text.charCodeAt(this.i) !== QUOTE) throw NOT_PLAIN;
    const start = this.i + 1;
    const end = text.indexOf('"', start);
    if (end === -1) throw NOT_PLAIN;
    if (checked) for (let k = start; k < end; k++) if (text.charCodeAt(k) < 0x20) throw NOT_PLAIN;
    this.i = end + 1;
    return text.slice(start, end);
  }

  private integer(): number {
    const text = this.text;
    const start = this.i;
    let i = start;
    let value = 0;
    for (; i < this.n; i++) {
      const c = text.charCodeAt(i);
      if (c < ZERO || c > NINE) break;
      value = value * 10 + (c - ZERO);
    }
    const digits = i - start;
    // A leading zero before more digits, a fraction or an exponent is another number form: JSON.parse decides.
    if (digits === 0 || digits > MAX_DIGITS || (digits > 1 && text.charCodeAt(start) === ZERO)) throw NOT_PLAIN;
    const c = text.charCodeAt(i);
    if (c === 0x2e || c === 0x65 || c === 0x45) throw NOT_PLAIN;
    this.i = i;
    return value;
  }

  /**
   * The values gathered in a scratch array and copied out at their length: an array grown by push from empty gets
   * room for 17 elements, so 100 000 two-element shapes held ten times the memory the collector then copied.
   */
  private integers(): number[] {
    const scratch = this.scratch;
    let k = 0;
    this.expect(OPEN_BRACKET);
    if (this.text.charCodeAt(this.i) === CLOSE_BRACKET) {
      this.i++;
      return [];
    }
    do scratch[k++] = this.integer();
    while (this.separator(CLOSE_BRACKET));
    return scratch.slice(0, k);
  }
}

/** Whether two of the hashes are equal (sorted in place: a typed-array sort, milliseconds for 100 000). */
function sharesHash(hashes: Int32Array): boolean {
  hashes.sort();
  for (let k = 1; k < hashes.length; k++) if (hashes[k] === hashes[k - 1]) return true;
  return false;
}

/** Keys an object lists first, in numeric order (integers below 2³² − 1): leave those headers to JSON.parse. */
function isArrayIndex(key: string): boolean {
  const c = key.charCodeAt(0);
  return c >= ZERO && c <= NINE && /^(?:0|[1-9]\d*)$/.test(key) && Number(key) < 4294967295;
}
