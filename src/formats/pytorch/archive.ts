// torch.save's zip format (torch >= 1.6): `<archive>/data.pkl` is the pickled object, `<archive>/data/<key>`
// holds each storage's raw bytes (stored, 64-byte aligned), `<archive>/version` the format version and, from
// torch 2.x, `<archive>/byteorder` the byte order of the storages.
import type { FileHandle } from 'node:fs/promises';
import { InputError } from '../../errors';
import type { CheckpointHeader } from '../types';
import { assembleHeader, keepingFindings } from './assemble';
import { MAX_PICKLE_BYTES } from './caps';
import type { PyStorage } from './pyvalue';
import type { StorageBytes } from './tensors';
import { TorchHost } from './torchHost';
import { unpickle } from './unpickle';
import { readZipDirectory, type ZipDirectory } from './zip';
import { checkRangeReadable, entryDataOffset, readSmallEntry } from './zipEntry';

const MAX_SMALL_TEXT_BYTES = 64;

export async function readZipCheckpoint(handle: FileHandle, size: number, path: string): Promise<CheckpointHeader> {
  const directory = await readZipDirectory(handle, size, path);
  const pickles = directory.entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (pickles.length !== 1) {
    const names = directory.entries.slice(0, 5).map((e) => e.name).join(', ');
    throw new InputError(
      pickles.length === 0
        ? `${path}: the zip has no '<archive>/data.pkl' entry, so it is not a torch.save checkpoint (entries: ${names || 'none'})`
        : `${path}: the zip has ${pickles.length} '<archive>/data.pkl' entries (${pickles.map((e) => e.name).join(', ')}); ambiguous archives are refused`,
    );
  }
  const pickleEntry = pickles[0]!;
  const prefix = pickleEntry.name.slice(0, -'data.pkl'.length);
  const metadata: Record<string, string> = { 'pytorch.container': 'zip', 'pytorch.archive': prefix.slice(0, -1) };
  const warnings: string[] = [];

  const byteorder = await readText(handle, directory, `${prefix}byteorder`, path);
  if (byteorder !== undefined) {
    if (byteorder === 'big') {
      throw new InputError(`${path}: the checkpoint was saved on a big-endian machine (${prefix}byteorder says 'big'); its storages are not readable here — re-save it on a little-endian machine or convert it to safetensors`);
    }
    if (byteorder !== 'little') throw new InputError(`${path}: ${prefix}byteorder says ${JSON.stringify(byteorder)}; expected 'little' or 'big'`);
    metadata['pytorch.byteorder'] = byteorder;
  }
  const version = await readText(handle, directory, `${prefix}version`, path) ?? await readText(handle, directory, `${prefix}.data/version`, path);
  if (version !== undefined) metadata['pytorch.version'] = version;
  if (directory.byName.has(`${prefix}constants.pkl`) || directory.entries.some((e) => e.name.startsWith(`${prefix}code/`))) {
    warnings.push(`${path}: this is a TorchScript archive; only the tensors reachable from ${pickleEntry.name} are listed, and its code is not read`);
  }

  const pickle = await readSmallEntry(handle, directory, pickleEntry, MAX_PICKLE_BYTES, path);
  const host = new TorchHost();
  return keepingFindings(host, pickleEntry.name, async () => {
    const { value } = unpickle(pickle, 0, host, `${path}: ${pickleEntry.name}`);

    const locate = async (storage: PyStorage): Promise<StorageBytes> => {
      const name = `${prefix}data/${storage.key}`;
      const entry = directory.byName.get(name);
      if (entry === undefined) throw new InputError(`${path}: storage '${storage.key}' is referenced by ${pickleEntry.name} but the zip has no entry '${name}'`);
      checkRangeReadable(entry, path);
      return { offset: await entryDataOffset(handle, directory, entry, path), length: entry.uncompressedSize, where: `zip entry '${name}'` };
    };
    return assembleHeader({ path, root: value, host, source: pickleEntry.name, locate, metadata, warnings });
  });
}

/** A tiny text entry (version, byteorder), trimmed; undefined when the archive has none. */
async function readText(handle: FileHandle, directory: ZipDirectory, name: string, path: string): Promise<string | undefined> {
  const entry = directory.byName.get(name);
  if (entry === undefined) return undefined;
  return (await readSmallEntry(handle, directory, entry, MAX_SMALL_TEXT_BYTES, path)).toString('latin1').trim();
}
