// The zip container of torch.save (>= 1.6): End of Central Directory (searched only in the last 64 KiB + 22
// bytes), the Zip64 locator and record torch always writes, and the central directory. Only the directory is
// read here; entry data is located through its local header (zipEntry.ts). Every count, size and offset is
// checked against the file and against each other before it is used.
import type { FileHandle } from 'node:fs/promises';
import { InputError } from '../../errors';
import { readExactly } from '../fileio';
import { EOCD_SEARCH_BYTES, MAX_CENTRAL_DIRECTORY_BYTES, MAX_ZIP_ENTRIES } from './caps';

export interface ZipEntry {
  name: string;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export interface ZipDirectory {
  entries: ZipEntry[];
  byName: Map<string, ZipEntry>;
  /** Entry data must end before this offset (the central directory starts here). */
  centralDirectoryOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const EOCD_BYTES = 22;
const LOCATOR_BYTES = 20;
const ZIP64_EOCD_BYTES = 56;
const CENTRAL_BYTES = 46;
const U16_SENTINEL = 0xffff;
const U32_SENTINEL = 0xffffffff;

interface DirectoryLocation { total: number; size: number; offset: number; end: number }

export async function readZipDirectory(handle: FileHandle, size: number, path: string): Promise<ZipDirectory> {
  const location = await locateDirectory(handle, size, path);
  if (location.total > MAX_ZIP_ENTRIES) {
    throw new InputError(`${path}: the zip declares ${location.total} entries; more than ${MAX_ZIP_ENTRIES} are refused`);
  }
  if (location.size > MAX_CENTRAL_DIRECTORY_BYTES) {
    throw new InputError(`${path}: the zip central directory is ${location.size} bytes; more than ${MAX_CENTRAL_DIRECTORY_BYTES} are refused`);
  }
  if (location.offset + location.size > location.end) {
    throw new InputError(
      `${path}: the zip central directory (${location.size} bytes at offset ${location.offset}) ends at byte ${location.offset + location.size} ` +
      `but the End of Central Directory records start at byte ${location.end}`,
    );
  }
  if (location.total * CENTRAL_BYTES > location.size) {
    throw new InputError(`${path}: the zip declares ${location.total} entries but its central directory of ${location.size} bytes cannot hold that many`);
  }
  const directory = await readExactly(handle, location.offset, location.size, path);
  const entries: ZipEntry[] = [];
  const byName = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < location.total; i++) {
    const entry = parseCentralEntry(directory, at, i, location.offset, path);
    at = entry.next;
    if (byName.has(entry.entry.name)) throw new InputError(`${path}: zip entry name '${entry.entry.name}' occurs twice; ambiguous archives are refused`);
    byName.set(entry.entry.name, entry.entry);
    entries.push(entry.entry);
  }
  if (at !== directory.length) {
    throw new InputError(`${path}: the zip central directory has ${directory.length} bytes but its ${location.total} declared entries use ${at} (the entry count is wrong)`);
  }
  return { entries, byName, centralDirectoryOffset: location.offset };
}

async function locateDirectory(handle: FileHandle, size: number, path: string): Promise<DirectoryLocation> {
  if (size < EOCD_BYTES) throw new InputError(`${path}: ${size} bytes is too short for a zip archive (the End of Central Directory alone is 22 bytes)`);
  const tailLength = Math.min(size, EOCD_SEARCH_BYTES);
  const tailStart = size - tailLength;
  const tail = await readExactly(handle, tailStart, tailLength, path);
  let found = -1;
  for (let i = tail.length - EOCD_BYTES; i >= 0; i--) {
    if (tail.readUInt32LE(i) === SIG_EOCD && i + EOCD_BYTES + tail.readUInt16LE(i + 20) <= tail.length) {
      found = i;
      break;
    }
  }
  if (found < 0) {
    throw new InputError(`${path}: no zip End of Central Directory record in the last ${tailLength} bytes; the file is truncated or not a torch.save checkpoint`);
  }
  const eocdOffset = tailStart + found;
  const eocd = tail.subarray(found, found + EOCD_BYTES);
  const disk = eocd.readUInt16LE(4);
  const directoryDisk = eocd.readUInt16LE(6);
  const onDisk = eocd.readUInt16LE(8);
  const total = eocd.readUInt16LE(10);
  const directorySize = eocd.readUInt32LE(12);
  const directoryOffset = eocd.readUInt32LE(16);
  const zip64 = eocdOffset >= LOCATOR_BYTES ? await readZip64(handle, eocdOffset, path) : undefined;
  if (zip64 === undefined) {
    if (total === U16_SENTINEL || directorySize === U32_SENTINEL || directoryOffset === U32_SENTINEL) {
      throw new InputError(`${path}: the End of Central Directory at byte ${eocdOffset} defers to a Zip64 record, but there is no Zip64 locator before it`);
    }
    if ((disk !== 0 || directoryDisk !== 0) || onDisk !== total) throw new InputError(`${path}: multi-disk (split) zip archives are not supported`);
    return { total, size: directorySize, offset: directoryOffset, end: eocdOffset };
  }
  // Classic fields that are not placeholders must agree with the Zip64 record, or one of them lies.
  const agree = (classic: number, sentinel: number, value: number, what: string): void => {
    if (classic !== sentinel && classic !== value) {
      throw new InputError(`${path}: the End of Central Directory says ${what} ${classic} but the Zip64 record says ${value}`);
    }
  };
  agree(total, U16_SENTINEL, zip64.total, 'entry count');
  agree(directorySize, U32_SENTINEL, zip64.size, 'central directory size');
  agree(directoryOffset, U32_SENTINEL, zip64.offset, 'central directory offset');
  return zip64;
}

/** The Zip64 locator just before the EOCD, and the Zip64 EOCD record it points to; undefined when absent. */
async function readZip64(handle: FileHandle, eocdOffset: number, path: string): Promise<DirectoryLocation | undefined> {
  const locatorOffset = eocdOffset - LOCATOR_BYTES;
  const locator = await readExactly(handle, locatorOffset, LOCATOR_BYTES, path);
  if (locator.readUInt32LE(0) !== SIG_ZIP64_LOCATOR) return undefined;
  if (locator.readUInt32LE(4) !== 0 || locator.readUInt32LE(16) > 1) throw new InputError(`${path}: multi-disk (split) zip archives are not supported`);
  const recordOffset = safeU64(locator, 8, `${path}: Zip64 locator at byte ${locatorOffset}: record offset`);
  if (recordOffset + ZIP64_EOCD_BYTES > locatorOffset) {
    throw new InputError(`${path}: the Zip64 locator at byte ${locatorOffset} points at byte ${recordOffset}, which leaves no room for the 56-byte Zip64 record before it`);
  }
  const record = await readExactly(handle, recordOffset, ZIP64_EOCD_BYTES, path);
  if (record.readUInt32LE(0) !== SIG_ZIP64_EOCD) throw new InputError(`${path}: no Zip64 End of Central Directory record at byte ${recordOffset} (where the locator points)`);
  const where = `${path}: Zip64 End of Central Directory at byte ${recordOffset}`;
  if (record.readUInt32LE(16) !== 0 || record.readUInt32LE(20) !== 0) throw new InputError(`${path}: multi-disk (split) zip archives are not supported`);
  const onDisk = safeU64(record, 24, `${where}: entries on this disk`);
  const total = safeU64(record, 32, `${where}: entry count`);
  if (onDisk !== total) throw new InputError(`${path}: multi-disk (split) zip archives are not supported`);
  return { total, size: safeU64(record, 40, `${where}: directory size`), offset: safeU64(record, 48, `${where}: directory offset`), end: recordOffset };
}

function parseCentralEntry(directory: Buffer, at: number, index: number, base: number, path: string): { entry: ZipEntry; next: number } {
  const where = `${path}: zip central directory entry ${index} (byte ${base + at})`;
  if (at + CENTRAL_BYTES > directory.length) throw new InputError(`${where} is cut off by the end of the directory (the entry count or size is wrong)`);
  if (directory.readUInt32LE(at) !== SIG_CENTRAL) throw new InputError(`${where} has no central-directory signature (the entry count or size is wrong)`);
  const flags = directory.readUInt16LE(at + 8);
  const nameLength = directory.readUInt16LE(at + 28);
  const extraLength = directory.readUInt16LE(at + 30);
  const commentLength = directory.readUInt16LE(at + 32);
  const next = at + CENTRAL_BYTES + nameLength + extraLength + commentLength;
  if (next > directory.length) throw new InputError(`${where} runs past the end of the central directory`);
  const rawName = directory.subarray(at + CENTRAL_BYTES, at + CENTRAL_BYTES + nameLength);
  const name = rawName.toString(flags & 0x800 ? 'utf8' : 'latin1');
  checkEntryName(name, path);
  let compressedSize = directory.readUInt32LE(at + 20);
  let uncompressedSize = directory.readUInt32LE(at + 24);
  let localHeaderOffset = directory.readUInt32LE(at + 42);
  if (compressedSize === U32_SENTINEL || uncompressedSize === U32_SENTINEL || localHeaderOffset === U32_SENTINEL) {
    // Zip64 extra field: 8-byte values, present only for the fields that hold the placeholder, in this order.
    const extra = findExtra(directory.subarray(at + CENTRAL_BYTES + nameLength, at + CENTRAL_BYTES + nameLength + extraLength), 0x0001);
    const fieldWhere = `${path}: zip entry '${name}'`;
    if (extra === undefined) throw new InputError(`${fieldWhere} has Zip64 placeholder sizes but no Zip64 extra field`);
    let cursor = 0;
    const next64 = (what: string): number => {
      if (cursor + 8 > extra.length) throw new InputError(`${fieldWhere}: the Zip64 extra field has no ${what}`);
      const value = safeU64(extra, cursor, `${fieldWhere}: Zip64 ${what}`);
      cursor += 8;
      return value;
    };
    if (uncompressedSize === U32_SENTINEL) uncompressedSize = next64('uncompressed size');
    if (compressedSize === U32_SENTINEL) compressedSize = next64('compressed size');
    if (localHeaderOffset === U32_SENTINEL) localHeaderOffset = next64('local header offset');
  }
  const entry: ZipEntry = {
    name, flags, method: directory.readUInt16LE(at + 10), crc32: directory.readUInt32LE(at + 16), compressedSize, uncompressedSize, localHeaderOffset,
  };
  return { entry, next };
}

function findExtra(extra: Buffer, id: number): Buffer | undefined {
  for (let at = 0; at + 4 <= extra.length;) {
    const blockId = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    if (at + 4 + length > extra.length) return undefined;
    if (blockId === id) return extra.subarray(at + 4, at + 4 + length);
    at += 4 + length;
  }
  return undefined;
}

function safeU64(buffer: Buffer, at: number, what: string): number {
  const value = buffer.readBigUInt64LE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new InputError(`${what} is ${value}, beyond any file this reader accepts`);
  return Number(value);
}

/**
 * Entry names are never used as paths here, but a name that would escape an extraction directory marks a
 * hostile archive (zip slip), so the whole file is refused.
 */
function checkEntryName(name: string, path: string): void {
  const hostile = name.includes('\\') || name.includes('\0') || name.startsWith('/') || /^[A-Za-z]:/.test(name) ||
    name.split('/').some((segment) => segment === '..');
  if (hostile) {
    throw new InputError(`${path}: security: zip entry name ${JSON.stringify(name)} is absolute or escapes the archive (path traversal); the file is refused`);
  }
}
