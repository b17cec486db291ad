// safetensors: 8-byte little-endian header length N, N bytes of JSON, then the data region. Only the header is
// read. Every entry is validated against the file: dtype known, shape sane, byte range inside the data region and
// consistent with dtype x shape, no two tensors overlapping.
import { isAscii } from 'node:buffer';
import { InputError } from '../errors';
import { scanSafetensorsHeader, type ScannedHeader } from './safetensorsScan';
import { openForReading, readExactly, isPlainObject } from './fileio';
import { MAX_DIMS, MAX_HEADER_BYTES, MAX_TENSORS, MAX_TENSOR_NAME_BYTES } from './limits';
import type { CheckpointHeader, TensorInfo } from './types';

/** Bits per element of every dtype in the safetensors spec (sub-byte floats are packed). */
export const SAFETENSORS_DTYPE_BITS: Readonly<Record<string, number>> = {
  F64: 64, F32: 32, F16: 16, BF16: 16,
  I64: 64, I32: 32, I16: 16, I8: 8,
  U64: 64, U32: 32, U16: 16, U8: 8,
  BOOL: 8, C64: 64,
  F8_E4M3: 8, F8_E5M2: 8, F8_E8M0: 8,
  F6_E2M3: 6, F6_E3M2: 6, F4: 4,
};

/** `scan: false` reads the JSON with JSON.parse only: the reference the scan is tested against. */
export async function readSafetensorsHeader(path: string, scan = true): Promise<CheckpointHeader> {
  const { handle, size } = await openForReading(path);
  try {
    if (size < 8) throw new InputError(`${path}: ${size} bytes is too short for a safetensors file (needs an 8-byte header length)`);
    const headerLength = (await readExactly(handle, 0, 8, path)).readBigUInt64LE(0);
    if (headerLength > BigInt(MAX_HEADER_BYTES)) {
      throw new InputError(`${path}: header length ${headerLength} exceeds the safetensors limit of ${MAX_HEADER_BYTES} bytes`);
    }
    const n = Number(headerLength);
    if (8 + n > size) {
      throw new InputError(`${path}: header of ${n} bytes ends at byte ${8 + n} but the file has ${size} bytes`);
    }
    const bytes = await readExactly(handle, 8, n, path);
    checkObjectCount(bytes, path);
    // An all-ASCII header (the usual one) decodes as latin1 to the same string, four times faster than utf8's decoder.
    const json = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
    // The usual header (no escapes, integers, the three known fields) is read straight into a table of columns:
    // no object per entry, a third of JSON.parse's time on 100 000 tensors. Anything else goes through JSON.parse,
    // whose errors and key semantics the scan is tested against (safetensorsScan.test.ts).
    const scanned = scan ? scanSafetensorsHeader(json) : undefined;
    if (scanned !== undefined) return checkedColumns(scanned, path, 8 + n, size);
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (error) {
      throw new InputError(`${path}: header is not valid JSON (${(error as Error).message})`);
    }
    return parseSafetensorsHeader(parsed, path, 8 + n, size);
  } finally {
    await handle.close();
  }
}

/**
 * Refuses a header with more than MAX_TENSORS entries before JSON.parse builds an object for each (a 100 MB header
 * holds over a million). Each entry is a JSON object, so the '{' bytes bound the entry count from above; only
 * when that cheap bound is over the cap are the '{' outside strings counted exactly.
 */
function checkObjectCount(bytes: Buffer, path: string): void {
  const allowed = MAX_TENSORS + 2; // the root object and __metadata__
  let bound = 0;
  for (let at = bytes.indexOf(0x7b); at !== -1 && bound <= allowed; at = bytes.indexOf(0x7b, at + 1)) bound++;
  if (bound <= allowed) return;
  let objects = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b && ++objects > allowed) {
      throw new InputError(`${path}: header has more than ${MAX_TENSORS} tensor entries (counted before parsing, up to byte ${8 + i}); more than ${MAX_TENSORS} tensors are refused`);
    }
  }
}

/** Validates a parsed header. `dataStart` is 8 + N; `fileSize` bounds every data range. */
export function parseSafetensorsHeader(parsed: unknown, path: string, dataStart: number, fileSize: number): CheckpointHeader {
  if (!isPlainObject(parsed)) throw new InputError(`${path}: header must be a JSON object`);
  const names = Object.keys(parsed);
  const count = names.length - (Object.hasOwn(parsed, '__metadata__') ? 1 : 0);
  if (count > MAX_TENSORS) throw new InputError(`${path}: header lists ${count} tensors; more than ${MAX_TENSORS} are refused`);
  const metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  const dataLength = fileSize - dataStart;
  for (const name of names) {
    const entry = parsed[name];
    if (name === '__metadata__') {
      if (!isPlainObject(entry)) throw new InputError(`${path}: __metadata__ must be an object of strings`);
      for (const [key, value] of Object.entries(entry)) {
        if (typeof value !== 'string') throw new InputError(`${path}: __metadata__.${key} must be a string`);
        metadata[key] = value;
      }
      continue;
    }
    checkName(name, path);
    if (!isPlainObject(entry)) throw new InputError(`${path}: tensor '${name}' must be an object with dtype, shape and data_offsets`);
    const offsets = entry.data_offsets;
    tensors.push(checkedEntry(name, entry.dtype, entry.shape, offsets, Array.isArray(offsets) ? offsets[0] : undefined, Array.isArray(offsets) ? offsets[1] : undefined, path, dataStart, dataLength));
  }
  return finishedHeader(tensors, metadata, path, dataLength, dataStart);
}

/** The scanned header's columns (safetensorsScan.ts) checked entry by entry in the same order and words. */
function checkedColumns(scanned: ScannedHeader, path: string, dataStart: number, fileSize: number): CheckpointHeader {
  const dataLength = fileSize - dataStart;
  const tensors: TensorInfo[] = new Array(scanned.names.length);
  for (let i = 0; i < tensors.length; i++) {
    const name = scanned.names[i]!;
    checkName(name, path);
    tensors[i] = checkedEntry(name, scanned.dtypes[i], scanned.shapes[i], undefined, scanned.begins[i], scanned.ends[i], path, dataStart, dataLength);
  }
  return finishedHeader(tensors, scanned.metadata, path, dataLength, dataStart);
}

function finishedHeader(tensors: TensorInfo[], metadata: Record<string, string>, path: string, dataLength: number, dataStart: number): CheckpointHeader {
  checkNoOverlap(tensors, path, dataStart);
  const warnings: string[] = [];
  let covered = 0;
  for (const t of tensors) covered += t.byteLength;
  if (covered < dataLength) {
    warnings.push(`${path}: ${dataLength - covered} bytes of the data region belong to no tensor`);
  }
  return { format: 'safetensors', files: [path], tensors, metadata, warnings };
}

function checkName(name: string, path: string): void {
  // A UTF-8 character is at most 3 bytes per UTF-16 unit: only long names need counting.
  if (name.length * 3 > MAX_TENSOR_NAME_BYTES && Buffer.byteLength(name) > MAX_TENSOR_NAME_BYTES) throw new InputError(`${path}: a tensor name is longer than ${MAX_TENSOR_NAME_BYTES} bytes`);
}

/** `offsets`: the JSON value, checked for its form; undefined when the scan has already read two integers. */
function checkedEntry(name: string, dtype: unknown, shape: unknown, offsets: unknown, begin: unknown, end: unknown, path: string, dataStart: number, dataLength: number): TensorInfo {
  // Runs once per tensor (100 000 in a large MoE checkpoint): plain loops, and the error text built only on error.
  const fail = (problem: string) => new InputError(`${path}: tensor '${name}' ${problem}`);
  const bits = typeof dtype === 'string' && Object.hasOwn(SAFETENSORS_DTYPE_BITS, dtype) ? SAFETENSORS_DTYPE_BITS[dtype]! : 0;
  if (bits === 0) throw fail(`${dtype === undefined ? 'has no "dtype"' : `has unknown dtype ${JSON.stringify(dtype)}`} (known: ${Object.keys(SAFETENSORS_DTYPE_BITS).join(', ')})`);
  if (!Array.isArray(shape) || shape.length > MAX_DIMS) throw fail(`has an invalid shape ${JSON.stringify(shape)} (want at most ${MAX_DIMS} non-negative integers)`);
  let count = 1;
  for (const d of shape as unknown[]) {
    if (!Number.isSafeInteger(d) || (d as number) < 0) throw fail(`has an invalid shape ${JSON.stringify(shape)} (want at most ${MAX_DIMS} non-negative integers)`);
    count *= d as number;
    if (!Number.isSafeInteger(count)) throw fail('has a shape whose element count overflows');
  }
  if (offsets !== undefined && (!Array.isArray(offsets) || offsets.length !== 2 || !Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || (begin as number) < 0 || (end as number) < 0)) {
    throw fail(`has invalid data_offsets ${JSON.stringify(offsets)} (want [begin, end])`);
  }
  if ((begin as number) > (end as number)) throw fail(`has data_offsets begin ${begin} after end ${end}`);
  if ((end as number) > dataLength) throw fail(`ends at byte ${dataStart + (end as number)} but the file has ${dataStart + dataLength}`);
  const byteLength = (end as number) - (begin as number);
  const expectedBytes = Math.ceil((count * bits) / 8);
  if (byteLength !== expectedBytes) throw fail(`has ${byteLength} data bytes but ${dtype}${JSON.stringify(shape)} needs ${expectedBytes}`);
  return { name, dtype: dtype as string, shape: shape as number[], count, file: path, byteOffset: dataStart + (begin as number), byteLength };
}

function checkNoOverlap(tensors: TensorInfo[], path: string, dataStart: number): void {
  const stored = tensors.filter((t) => t.byteLength > 0);
  // Writers usually list tensors in data order; sorting 100 000 of them is then skipped.
  let ordered = true;
  for (let i = 1; i < stored.length && ordered; i++) ordered = stored[i]!.byteOffset >= stored[i - 1]!.byteOffset;
  const sorted = ordered ? stored : stored.sort((a, b) => a.byteOffset - b.byteOffset);
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1]!;
    const current = sorted[i]!;
    if (current.byteOffset < previous.byteOffset + previous.byteLength) {
      throw new InputError(
        `${path}: tensors '${previous.name}' and '${current.name}' overlap at byte ${current.byteOffset - dataStart} of the data region`,
      );
    }
  }
}
