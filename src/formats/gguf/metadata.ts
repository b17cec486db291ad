// GGUF metadata values: thirteen value types, arrays of any of them (arrays of arrays included), read through the
// bounded cursor. Large arrays are walked (strings must be, to find where they end) or skipped (fixed-size
// elements), never kept: a 150 000-token vocabulary becomes its length, which is all a summary needs.
import { InputError } from '../../errors';
import type { HeaderCursor } from './cursor';
import {
  GGUF_MAX_ARRAY_DEPTH, GGUF_MAX_ARRAY_LENGTH, GGUF_MAX_FULL_ARRAY_LENGTH, GGUF_MAX_KEPT_NUMERIC_ITEMS, GGUF_MAX_KEY_BYTES,
  GGUF_MAX_RENDERED_ITEMS, GGUF_MAX_RENDERED_STRING_BYTES, GGUF_MAX_STRING_BYTES,
} from './limits';

/** gguf-py's GGUFValueType names, lower-cased; the index is the id in the file. */
const VALUE_TYPES = [
  'uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'bool', 'string', 'array', 'uint64', 'int64', 'float64',
] as const;
export type GgufValueType = (typeof VALUE_TYPES)[number];

/** Bytes of one element; for string and array the least they can take (the u64 length, plus the type for arrays). */
const MIN_BYTES: Readonly<Record<GgufValueType, number>> = {
  uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4, bool: 1,
  string: 8, array: 12, uint64: 8, int64: 8, float64: 8,
};
const FIXED_SIZE = new Set<GgufValueType>(['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'bool', 'uint64', 'int64', 'float64']);

export type GgufScalar = number | bigint | boolean | string;
export type GgufValue =
  | { kind: 'scalar'; type: GgufValueType; value: GgufScalar; /** declared length when a string was cut */ fullBytes?: number }
  | { kind: 'array'; elementType: GgufValueType; length: number; /** null when too long to keep */ items: GgufValue[] | null };

export interface GgufKv {
  key: string;
  value: GgufValue;
}

/**
 * Reads key-value pair `index` at the cursor. `full(key)` true keeps the value whole (every array element, every
 * string byte): the tokenizer needs the vocabulary itself, where a summary needs only its length.
 */
export async function readKv(cursor: HeaderCursor, index: number, full: (key: string) => boolean = () => false): Promise<GgufKv> {
  const { text: key } = await cursor.string(`key of metadata entry ${index}`, GGUF_MAX_KEY_BYTES);
  const what = `metadata '${key}'`;
  if (!cursor.has(4)) await cursor.need(4, `${what} value type`);
  const value = await readValue(cursor, valueType(cursor, cursor.u32(), what), what, 0, full(key));
  return { key, value };
}

function valueType(cursor: HeaderCursor, id: number, what: string): GgufValueType {
  const type = VALUE_TYPES[id];
  if (type === undefined) {
    throw new InputError(`${cursor.path}: ${what} has unknown value type ${id} at byte ${cursor.position - 4} (known: 0-${VALUE_TYPES.length - 1})`);
  }
  return type;
}

async function readValue(cursor: HeaderCursor, type: GgufValueType, what: string, depth: number, full: boolean): Promise<GgufValue> {
  if (type === 'array') return readArray(cursor, what, depth, full);
  if (type === 'string') {
    const { text, bytes, cut } = await cursor.string(what, GGUF_MAX_STRING_BYTES, full ? GGUF_MAX_STRING_BYTES : GGUF_MAX_RENDERED_STRING_BYTES);
    return cut ? { kind: 'scalar', type, value: text, fullBytes: bytes } : { kind: 'scalar', type, value: text };
  }
  if (!cursor.has(MIN_BYTES[type])) await cursor.need(MIN_BYTES[type], what);
  return { kind: 'scalar', type, value: readFixed(cursor, type) };
}

/** Reads one fixed-size element; the caller has made its bytes available. */
function readFixed(cursor: HeaderCursor, type: GgufValueType): GgufScalar {
  switch (type) {
    case 'uint8': return cursor.u8();
    case 'int8': return cursor.i8();
    case 'uint16': return cursor.u16();
    case 'int16': return cursor.i16();
    case 'uint32': return cursor.u32();
    case 'int32': return cursor.i32();
    case 'float32': return cursor.f32();
    case 'bool': return cursor.u8() !== 0;
    case 'uint64': return cursor.u64();
    case 'int64': return cursor.i64();
    case 'float64': return cursor.f64();
    case 'string':
    case 'array':
      throw new Error(`readFixed called for ${type}`);
  }
}

async function readArray(cursor: HeaderCursor, what: string, depth: number, full: boolean): Promise<GgufValue> {
  if (depth >= GGUF_MAX_ARRAY_DEPTH) {
    throw new InputError(`${cursor.path}: ${what} nests arrays deeper than ${GGUF_MAX_ARRAY_DEPTH} levels at byte ${cursor.position}`);
  }
  if (!cursor.has(12)) await cursor.need(12, `${what} array header`);
  const elementType = valueType(cursor, cursor.u32(), `${what} array`);
  const declared = cursor.u64();
  if (declared > BigInt(GGUF_MAX_ARRAY_LENGTH)) {
    throw new InputError(`${cursor.path}: ${what} declares an array of ${declared} elements at byte ${cursor.position - 8}; arrays above ${GGUF_MAX_ARRAY_LENGTH} elements are refused`);
  }
  const length = Number(declared);
  if (full && length > GGUF_MAX_FULL_ARRAY_LENGTH) {
    throw new InputError(`${cursor.path}: ${what} has ${length} elements; more than ${GGUF_MAX_FULL_ARRAY_LENGTH} are not read whole`);
  }
  // The least the elements can occupy must fit in what is left, before any loop runs over them.
  cursor.checkRoom(length * MIN_BYTES[elementType], `${what}: ${length} ${elementType} elements`);

  if (FIXED_SIZE.has(elementType)) {
    const bytes = length * MIN_BYTES[elementType];
    // Numbers are kept further than they are rendered: per-layer head counts feed the architecture summary.
    const keepUpTo = full ? length : elementType === 'bool' ? GGUF_MAX_RENDERED_ITEMS : GGUF_MAX_KEPT_NUMERIC_ITEMS;
    if (length > keepUpTo) {
      cursor.skip(bytes, what);
      return { kind: 'array', elementType, length, items: null };
    }
    if (!cursor.has(bytes)) await cursor.need(bytes, what);
    const items: GgufValue[] = [];
    for (let i = 0; i < length; i++) items.push({ kind: 'scalar', type: elementType, value: readFixed(cursor, elementType) });
    return { kind: 'array', elementType, length, items };
  }

  const keep = full || length <= GGUF_MAX_RENDERED_ITEMS;
  const items: GgufValue[] | null = keep ? [] : null;
  if (elementType === 'array') {
    for (let i = 0; i < length; i++) {
      const item = await readArray(cursor, `${what}[${i}]`, depth + 1, full);
      items?.push(item);
    }
    return { kind: 'array', elementType, length, items };
  }
  // Strings: the hot loop of every vocabulary; awaits only when the buffered chunk runs out.
  for (let i = 0; i < length; i++) {
    if (!cursor.has(8)) await cursor.need(8, `${what} element ${i} length`);
    const n = cursor.checkStringLength(cursor.u64(), `${what} element ${i}`, GGUF_MAX_STRING_BYTES);
    if (items) {
      const kept = full ? n : Math.min(n, GGUF_MAX_RENDERED_STRING_BYTES);
      if (!cursor.has(kept)) await cursor.need(kept, `${what} element ${i}`);
      items.push(n > kept ? { kind: 'scalar', type: 'string', value: cursor.utf8(kept), fullBytes: n } : { kind: 'scalar', type: 'string', value: cursor.utf8(n) });
      if (n > kept) cursor.skip(n - kept, `${what} element ${i}`);
    } else {
      cursor.skip(n, `${what} element ${i}`);
    }
  }
  return { kind: 'array', elementType, length, items };
}

/** The value as the metadata table shows it: scalars as text, short arrays in full, long ones by length and type. */
export function renderValue(value: GgufValue): string {
  if (value.kind === 'scalar') {
    return value.type === 'string' ? renderString(value, false) : renderScalar(value.type, value.value);
  }
  if (value.items === null || value.length > GGUF_MAX_RENDERED_ITEMS) return `[array of ${value.length} ${value.elementType}]`;
  return `[${value.items.map((item) => (item.kind === 'scalar' && item.type === 'string' ? renderString(item, true) : renderValue(item))).join(', ')}]`;
}

function renderString(value: Extract<GgufValue, { kind: 'scalar' }>, quoted: boolean): string {
  const text = quoted ? JSON.stringify(value.value) : String(value.value);
  return value.fullBytes === undefined ? text : `${text}… (${value.fullBytes} bytes)`;
}

function renderScalar(type: GgufValueType, value: GgufScalar): string {
  if (type === 'float32' && typeof value === 'number') return shortestFloat32(value);
  return String(value);
}

/** The shortest decimal that reads back as the same float32 (1e-5, not 0.000009999999747378752). */
export function shortestFloat32(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  for (let precision = 1; precision <= 9; precision++) {
    const candidate = Number(x.toPrecision(precision));
    if (Math.fround(candidate) === x) return String(candidate);
  }
  return String(x);
}
