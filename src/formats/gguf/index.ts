// GGUF, llama.cpp's checkpoint format (v2 and v3; little-endian):
//   "GGUF" | u32 version | u64 tensor_count | u64 kv_count | kv_count x (string key, u32 type, value)
//   | tensor_count x (string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset) | padding to
//   general.alignment (default 32) | tensor data, each tensor at data_start + offset.
// Strings are u64 byte length + UTF-8. Only the header is read, in bounded chunks; every count and length is
// checked against a named cap and the bytes left in the file before it drives an allocation or a loop.
//
// Hand-written rather than built on @huggingface/gguf (0.4.6, evaluated): it reads truncated files as if they
// were padded with zeros (a string or array past the end "parses"), spends seconds on a lying array length, grows
// a 250 MB buffer and throws a RangeError on a lying tensor count, and checks no tensor range against the file.
import { InputError } from '../../errors';
import { openForReading } from '../fileio';
import { MAX_TENSORS } from '../limits';
import type { CheckpointHeader } from '../types';
import { architectureFromMetadata } from './architecture';
import { HeaderCursor } from './cursor';
import { GGUF_MAX_KV_COUNT } from './limits';
import { readKv, renderValue, type GgufValue } from './metadata';
import { alignUp, checkPlacement, MIN_TENSOR_INFO_BYTES, placeTensor, readTensorInfo, type RawTensorInfo } from './tensors';

export { GGML_TYPES } from './ggmlTypes';
export type { GgufValue } from './metadata';

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const FIXED_HEADER_BYTES = 24;
/** Least bytes of one key-value pair: key length, value type, a one-byte value (empty keys are legal in gguf-py). */
const MIN_KV_BYTES = 8 + 4 + 1;
const DEFAULT_ALIGNMENT = 32;

export async function readGgufHeader(path: string): Promise<CheckpointHeader> {
  const { handle, size } = await openForReading(path);
  try {
    return await parseGguf(new HeaderCursor(handle, path, size));
  } finally {
    await handle.close();
  }
}

/**
 * The metadata key-value pairs alone (the tensor infos after them are not read), with the values of the keys
 * `full` names kept whole: what the tokenizer reads its vocabulary from.
 */
export async function readGgufMetadata(path: string, full: (key: string) => boolean): Promise<Map<string, GgufValue>> {
  const { handle, size } = await openForReading(path);
  try {
    return (await readHeadAndMetadata(new HeaderCursor(handle, path, size), full)).values;
  } finally {
    await handle.close();
  }
}

/** The fixed header and the key-value pairs; the cursor is left at the first tensor info. */
async function readHeadAndMetadata(cursor: HeaderCursor, full: (key: string) => boolean = () => false) {
  const { path, fileSize } = cursor;
  if (fileSize < FIXED_HEADER_BYTES) {
    throw new InputError(`${path}: ${fileSize} bytes is too short for a GGUF file (the fixed header alone is ${FIXED_HEADER_BYTES} bytes)`);
  }
  await cursor.need(FIXED_HEADER_BYTES, 'GGUF header');
  const magic = cursor.u32();
  if (magic !== MAGIC) {
    const found = [0, 8, 16, 24].map((shift) => ((magic >>> shift) & 0xff).toString(16).padStart(2, '0')).join(' ');
    throw new InputError(`${path}: does not start with the GGUF magic "GGUF" (found bytes ${found})`);
  }
  checkVersion(cursor.u32(), path);
  const declaredTensors = cursor.u64();
  const declaredKvs = cursor.u64();
  const tensorCount = checkCount(declaredTensors, 'tensors', MAX_TENSORS, MIN_TENSOR_INFO_BYTES, cursor, 'at byte 8');
  const kvCount = checkCount(declaredKvs, 'metadata key-value pairs', GGUF_MAX_KV_COUNT, MIN_KV_BYTES, cursor, 'at byte 16');
  if (tensorCount * MIN_TENSOR_INFO_BYTES + kvCount * MIN_KV_BYTES > cursor.remaining) {
    throw new InputError(`${path}: declares ${kvCount} key-value pairs and ${tensorCount} tensors, more than the ${cursor.remaining} bytes after the header can hold`);
  }

  const values = new Map<string, GgufValue>();
  const metadata: Record<string, string> = {};
  for (let i = 0; i < kvCount; i++) {
    const { key, value } = await readKv(cursor, i, full);
    if (values.has(key)) throw new InputError(`${path}: metadata key '${key}' appears twice (the second is entry ${i})`);
    values.set(key, value);
    // defineProperty, not assignment: a key named "__proto__" must become an entry, not a prototype.
    Object.defineProperty(metadata, key, { value: renderValue(value), enumerable: true, writable: true, configurable: true });
  }
  return { declaredTensors, tensorCount, values, metadata };
}

async function parseGguf(cursor: HeaderCursor): Promise<CheckpointHeader> {
  const { path, fileSize } = cursor;
  const { declaredTensors, tensorCount, values, metadata } = await readHeadAndMetadata(cursor);

  checkCount(declaredTensors, 'tensors', MAX_TENSORS, MIN_TENSOR_INFO_BYTES, cursor, `after metadata ending at byte ${cursor.position}`);
  const raws: RawTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const raw = await readTensorInfo(cursor, i);
    if (names.has(raw.name)) throw new InputError(`${path}: tensor name '${raw.name}' appears twice (the second is tensor ${i})`);
    names.add(raw.name);
    raws.push(raw);
  }

  const alignment = alignmentOf(values.get('general.alignment'), path);
  const dataStart = alignUp(cursor.position, alignment);
  const tensors = raws.map((raw) => placeTensor(raw, path, dataStart, alignment, fileSize));
  const warnings = checkPlacement(tensors, path, dataStart, alignment, fileSize);
  const architecture = architectureFromMetadata(values, path, warnings);
  const header: CheckpointHeader = { format: 'gguf', files: [path], tensors, metadata, warnings };
  if (architecture) header.architecture = architecture;
  return header;
}

function checkVersion(version: number, path: string): void {
  if (version === 2 || version === 3) return;
  if (version === 1) {
    throw new InputError(`${path}: GGUF version 1 (the 2023 draft with 32-bit counts) is not supported; convert the model again with a current llama.cpp`);
  }
  // A big-endian file (v3 allows them) reads its small version number with the bytes swapped.
  const swapped = (((version & 0xff) << 24) | (((version >>> 8) & 0xff) << 16) | (((version >>> 16) & 0xff) << 8) | (version >>> 24)) >>> 0;
  if (swapped === 2 || swapped === 3) {
    throw new InputError(`${path}: is a big-endian GGUF file (version ${swapped}); only little-endian GGUF files are read`);
  }
  throw new InputError(`${path}: unsupported GGUF version ${version} (this reader knows versions 2 and 3)`);
}

/** A declared count, refused above its cap or when even its smallest encoding would not fit in the bytes left. */
function checkCount(declared: bigint, what: string, cap: number, minBytes: number, cursor: HeaderCursor, where: string): number {
  if (declared > BigInt(cap)) {
    throw new InputError(`${cursor.path}: declares ${declared} ${what}; more than ${cap} are refused`);
  }
  const count = Number(declared);
  if (count * minBytes > cursor.remaining) {
    throw new InputError(`${cursor.path}: declares ${count} ${what} ${where}, but only ${cursor.remaining} bytes follow (each needs at least ${minBytes})`);
  }
  return count;
}

function alignmentOf(value: GgufValue | undefined, path: string): number {
  if (value === undefined) return DEFAULT_ALIGNMENT;
  // llama.cpp reads general.alignment with gguf_get_val_u32 and requires a power of two.
  if (value.kind !== 'scalar' || value.type !== 'uint32') {
    throw new InputError(`${path}: general.alignment must be a uint32, found ${value.kind === 'scalar' ? value.type : `an array of ${value.elementType}`}`);
  }
  const alignment = Number(value.value);
  if (alignment === 0 || !Number.isInteger(Math.log2(alignment))) {
    throw new InputError(`${path}: general.alignment ${alignment} is not a power of two`);
  }
  return alignment;
}
