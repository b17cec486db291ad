// The legacy torch.save format (before 1.6, or _use_new_zipfile_serialization=False): five pickles back to back
// (magic number, protocol version 1001, system info, the object, the sorted list of storage keys), then each
// storage in that order as an 8-byte little-endian element count followed by its raw bytes. The pickles are
// read in a window that grows (up to MAX_PICKLE_BYTES) until they fit; storages are only walked 8 bytes at a time.
import type { FileHandle } from 'node:fs/promises';
import { InputError } from '../../errors';
import { readExactly } from '../fileio';
import { MAX_TENSORS } from '../limits';
import type { CheckpointHeader } from '../types';
import { assembleHeader, keepingFindings } from './assemble';
import { LEGACY_FIRST_WINDOW_BYTES, MAX_PICKLE_BYTES } from './caps';
import { describe, dictGet, type PyStorage, type PyValue } from './pyvalue';
import type { StorageBytes } from './tensors';
import { TorchHost } from './torchHost';
import { TruncatedPickleError, unpickle } from './unpickle';

const MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001n;
const SOURCE = 'the legacy pickle';

interface LegacyPickles {
  root: PyValue;
  keys: string[];
  /** Offset of the first storage record. */
  storagesStart: number;
}

export async function readLegacyCheckpoint(handle: FileHandle, size: number, path: string): Promise<CheckpointHeader> {
  const host = new TorchHost();
  return keepingFindings(host, SOURCE, () => readLegacy(handle, size, path, host));
}

async function readLegacy(handle: FileHandle, size: number, path: string, host: TorchHost): Promise<CheckpointHeader> {
  const pickles = await readPickles(handle, size, path, host);
  const storages = await walkStorages(handle, size, path, pickles, host.storages);
  const locate = async (storage: PyStorage): Promise<StorageBytes> => {
    const found = storages.get(storage.key);
    if (found === undefined) throw new InputError(`${path}: storage '${storage.key}' is referenced by ${SOURCE} but not in its list of saved storages`);
    return found;
  };
  const metadata = { 'pytorch.container': 'legacy', 'pytorch.version': String(PROTOCOL_VERSION) };
  const warnings = [`${path}: legacy PyTorch format (pre-1.6 torch.save); consider re-saving with a current torch.save or converting to safetensors`];
  return assembleHeader({ path, root: pickles.root, host, source: SOURCE, locate, metadata, warnings });
}

async function readPickles(handle: FileHandle, size: number, path: string, host: TorchHost): Promise<LegacyPickles> {
  for (let window = Math.min(size, LEGACY_FIRST_WINDOW_BYTES); ; window = Math.min(size, window * 8, MAX_PICKLE_BYTES)) {
    const head = await readExactly(handle, 0, window, path);
    try {
      return parsePickles(head, path, host);
    } catch (error) {
      const canGrow = error instanceof TruncatedPickleError && window < size && window < MAX_PICKLE_BYTES;
      if (!canGrow) {
        if (error instanceof TruncatedPickleError && window >= MAX_PICKLE_BYTES) {
          throw new InputError(`${path}: the legacy pickles are larger than ${MAX_PICKLE_BYTES} bytes; refused`);
        }
        throw error;
      }
      host.findings.clear(); // the retry sees the same globals again
      host.storages.clear();
    }
  }
}

function parsePickles(head: Buffer, path: string, host: TorchHost): LegacyPickles {
  const at = (offset: number): string => `${path}: ${SOURCE} at byte ${offset}`;
  const magic = unpickle(head, 0, host, at(0));
  if (magic.value !== MAGIC_NUMBER) {
    const findings = host.findings.size > 0 ? `; security: it references ${[...host.findings].join(', ')} (nothing was executed)` : '';
    throw new InputError(`${path}: a pickle, but not a PyTorch checkpoint: it does not start with torch's magic number (found ${describe(magic.value)})${findings}`);
  }
  const protocol = unpickle(head, magic.end, host, at(magic.end));
  if (protocol.value !== PROTOCOL_VERSION) {
    throw new InputError(`${path}: legacy PyTorch protocol version ${describe(protocol.value)} is not supported (expected ${PROTOCOL_VERSION})`);
  }
  const sysInfo = unpickle(head, protocol.end, host, at(protocol.end));
  const info = sysInfo.value;
  if (info !== null && typeof info === 'object' && info.kind === 'dict' && dictGet(info, 'little_endian') === false) {
    throw new InputError(`${path}: the checkpoint was saved on a big-endian machine; its storages are not readable here — re-save it on a little-endian machine or convert it to safetensors`);
  }
  const main = unpickle(head, sysInfo.end, host, at(sysInfo.end));
  const keyList = unpickle(head, main.end, host, at(main.end));
  const items = keyList.value !== null && typeof keyList.value === 'object' && keyList.value.kind === 'list' ? keyList.value.items : undefined;
  if (items === undefined || !items.every((k): k is string => typeof k === 'string')) {
    throw new InputError(`${path}: the legacy storage key list at byte ${main.end} is ${describe(keyList.value)}, not a list of strings`);
  }
  if (items.length > MAX_TENSORS) throw new InputError(`${path}: lists ${items.length} storages; more than ${MAX_TENSORS} are refused`);
  return { root: main.value, keys: items, storagesStart: keyList.end };
}

async function walkStorages(
  handle: FileHandle, size: number, path: string, pickles: LegacyPickles, referenced: Map<string, PyStorage>,
): Promise<Map<string, StorageBytes>> {
  const found = new Map<string, StorageBytes>();
  let at = pickles.storagesStart;
  for (const key of pickles.keys) {
    const storage = referenced.get(key);
    if (storage === undefined) throw new InputError(`${path}: the legacy storage list names '${key}', which no tensor references, so its element size is unknown`);
    if (at + 8 > size) throw new InputError(`${path}: storage '${key}' should start at byte ${at} but the file has ${size} bytes`);
    const count = (await readExactly(handle, at, 8, path)).readBigInt64LE(0);
    const bytes = count * BigInt(storage.elementSize);
    if (count < 0n || BigInt(at + 8) + bytes > BigInt(size)) {
      throw new InputError(`${path}: storage '${key}' at byte ${at} declares ${count} ${storage.dtype} elements, which end past the end of the file (${size} bytes)`);
    }
    if (found.has(key)) throw new InputError(`${path}: storage '${key}' is listed twice`);
    found.set(key, { offset: at + 8, length: Number(bytes), where: `legacy storage record at byte ${at}` });
    at += 8 + Number(bytes);
  }
  return found;
}
