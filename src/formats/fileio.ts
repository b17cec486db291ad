// Bounded reads. Every reader goes through these so that "read exactly N bytes at offset O" is checked once, and
// only regular files are ever opened: a named pipe or a device named as a checkpoint (or by an index) would block
// open() or read() forever. Containment by real path lives in ./containment.ts.
import { constants, type Stats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { InputError } from '../errors';

/** O_NONBLOCK: should a FIFO be swapped in between the stat and the open, open() still returns at once. */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

export async function readExactly(handle: FileHandle, offset: number, length: number, path: string): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
    if (bytesRead === 0) {
      throw new InputError(`${path}: wanted ${length} bytes at offset ${offset} but the file ended after ${filled}`);
    }
    filled += bytesRead;
  }
  return buffer;
}

export async function openForReading(path: string): Promise<{ handle: FileHandle; size: number }> {
  await requireRegularFile(path);
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (error) {
    throw new InputError(`cannot open ${path}: ${describeFsError(error)}`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new InputError(notRegular(path, info));
    return { handle, size: info.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** Reads and parses a small JSON file, refusing files above `maxBytes` before reading them. */
export async function readJsonFile(path: string, maxBytes: number): Promise<unknown> {
  const { handle, size } = await openForReading(path);
  try {
    if (size > maxBytes) {
      throw new InputError(`${path} is ${size} bytes; JSON files above ${maxBytes} bytes are refused`);
    }
    const text = (await readExactly(handle, 0, size, path)).toString('utf8');
    try {
      return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    } catch (error) {
      throw new InputError(`${path} is not valid JSON: ${(error as Error).message}`);
    }
  } finally {
    await handle.close();
  }
}

/** Refuses anything but a regular file (links followed) before it is opened; returns its size. */
export async function requireRegularFile(path: string): Promise<number> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch (error) {
    throw new InputError(`cannot open ${path}: ${describeFsError(error)}`);
  }
  if (!info.isFile()) throw new InputError(notRegular(path, info));
  return info.size;
}

function notRegular(path: string, info: Stats): string {
  const kind = info.isDirectory() ? 'a directory'
    : info.isFIFO() ? 'a named pipe (FIFO)'
      : info.isSocket() ? 'a socket'
        : info.isCharacterDevice() || info.isBlockDevice() ? 'a device' : 'not a regular file';
  return `${path} is ${kind}, not a regular file; only regular files are read`;
}

/** What is at `path`, links followed. 'other' is a named pipe, socket or device: never opened, never copied. */
export async function pathKind(path: string): Promise<'file' | 'directory' | 'other' | 'missing'> {
  try {
    const info = await stat(path);
    return info.isDirectory() ? 'directory' : info.isFile() ? 'file' : 'other';
  } catch {
    return 'missing';
  }
}

export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return (error as Error)?.message ?? String(error);
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON file that must hold an object (config.json, adapter_config.json). */
export async function readJsonObject(path: string, maxBytes: number): Promise<Record<string, unknown>> {
  const value = await readJsonFile(path, maxBytes);
  if (!isPlainObject(value)) throw new InputError(`${path}: expected a JSON object`);
  return value;
}
