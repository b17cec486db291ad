// Where a zip entry's bytes are (its local header says how far past the header they start: torch pads the local
// extra field so storages are 64-byte aligned, and the central directory does not repeat that padding), and a
// bounded read of a small entry. Only data.pkl and tiny text entries are ever read; storages are located, never
// read, so they must be stored uncompressed.
import type { FileHandle } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { InputError } from '../../errors';
import { readExactly } from '../fileio';
import type { ZipDirectory, ZipEntry } from './zip';

const SIG_LOCAL = 0x04034b50;
const LOCAL_BYTES = 30;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
const FLAG_ENCRYPTED = 0x1;

/** Absolute offset of the entry's first data byte, checked to lie (with its data) before the central directory. */
export async function entryDataOffset(handle: FileHandle, directory: ZipDirectory, entry: ZipEntry, path: string): Promise<number> {
  const where = `${path}: zip entry '${entry.name}'`;
  const limit = directory.centralDirectoryOffset;
  const at = entry.localHeaderOffset;
  if (at + LOCAL_BYTES > limit) {
    throw new InputError(`${where}: local header offset ${at} lies past the entry area, which ends at byte ${limit} where the central directory starts`);
  }
  const header = await readExactly(handle, at, LOCAL_BYTES, path);
  if (header.readUInt32LE(0) !== SIG_LOCAL) throw new InputError(`${where}: no local file header at byte ${at}`);
  const nameLength = header.readUInt16LE(26);
  const extraLength = header.readUInt16LE(28);
  const start = at + LOCAL_BYTES + nameLength + extraLength;
  if (start + entry.compressedSize > limit) {
    throw new InputError(`${where}: its ${entry.compressedSize} bytes at offset ${start} end at byte ${start + entry.compressedSize}, past the start of the central directory at byte ${limit}`);
  }
  const localName = await readExactly(handle, at + LOCAL_BYTES, nameLength, path);
  if (localName.toString(entry.flags & 0x800 ? 'utf8' : 'latin1') !== entry.name) {
    throw new InputError(`${where}: the local header at byte ${at} names a different entry (${JSON.stringify(localName.toString('latin1').slice(0, 80))})`);
  }
  return start;
}

/** Checks an entry can be handed out as a byte range (a storage): stored, not encrypted. */
export function checkRangeReadable(entry: ZipEntry, path: string): void {
  const where = `${path}: zip entry '${entry.name}'`;
  if (entry.flags & FLAG_ENCRYPTED) throw new InputError(`${where} is encrypted; encrypted checkpoints are not supported`);
  if (entry.method !== METHOD_STORED) {
    throw new InputError(
      `${where} is compressed (zip method ${entry.method}); tensor bytes can only be read by range from uncompressed (stored) entries, ` +
      'as torch.save writes them; re-save the checkpoint with torch.save or convert it to safetensors',
    );
  }
  if (entry.compressedSize !== entry.uncompressedSize) {
    throw new InputError(`${where} is stored uncompressed but its sizes disagree (${entry.compressedSize} stored, ${entry.uncompressedSize} declared)`);
  }
}

/**
 * Reads a whole small entry (stored or deflated), refusing declared sizes above `maxBytes` before reading, never
 * inflating past the declared size (zip bombs), and checking the CRC.
 */
export async function readSmallEntry(handle: FileHandle, directory: ZipDirectory, entry: ZipEntry, maxBytes: number, path: string): Promise<Buffer> {
  const where = `${path}: zip entry '${entry.name}'`;
  if (entry.flags & FLAG_ENCRYPTED) throw new InputError(`${where} is encrypted; encrypted checkpoints are not supported`);
  if (entry.uncompressedSize > maxBytes || entry.compressedSize > maxBytes) {
    throw new InputError(
      `${where} declares ${Math.max(entry.uncompressedSize, entry.compressedSize)} bytes; more than ${maxBytes} are refused without reading (a zip bomb or a damaged archive)`,
    );
  }
  const start = await entryDataOffset(handle, directory, entry, path);
  const stored = await readExactly(handle, start, entry.compressedSize, path);
  let data: Buffer;
  if (entry.method === METHOD_STORED) {
    if (entry.compressedSize !== entry.uncompressedSize) throw new InputError(`${where} is stored but declares ${entry.uncompressedSize} bytes uncompressed and ${entry.compressedSize} stored`);
    data = stored;
  } else if (entry.method === METHOD_DEFLATE) {
    data = inflateBounded(stored, entry.uncompressedSize, where);
  } else {
    throw new InputError(`${where} uses zip compression method ${entry.method}; only stored (0) and deflate (8) are supported`);
  }
  const crc = crc32(data);
  if (crc !== entry.crc32) throw new InputError(`${where}: CRC-32 is ${hex(crc)} but the central directory says ${hex(entry.crc32)}; the file is damaged`);
  return data;
}

function inflateBounded(compressed: Buffer, declared: number, where: string): Buffer {
  if (declared === 0) {
    if (compressed.length > 2) throw new InputError(`${where} declares 0 bytes but holds ${compressed.length} compressed bytes`);
    return Buffer.alloc(0);
  }
  let data: Buffer;
  try {
    // maxOutputLength stops inflation at the declared size, so a lying size cannot make us allocate more.
    data = inflateRawSync(compressed, { maxOutputLength: declared });
  } catch (error) {
    throw new InputError(`${where} does not inflate to its declared ${declared} bytes (${(error as Error).message})`);
  }
  if (data.length !== declared) throw new InputError(`${where} inflates to ${data.length} bytes but declares ${declared}`);
  return data;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (zip's polynomial). zlib.crc32 only exists from Node 20.15; VS Code's extension host may be older. */
export function crc32(data: Buffer): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
