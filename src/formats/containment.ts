// Files a checkpoint names (index shards, ONNX external data) and files apply copies must lie inside the model's
// folder by real path, not only by spelling: a symbolic link named `shard.safetensors` or `weights.bin` could
// otherwise make us read, or copy into a new folder, any file the user can read. The one exception is the
// Hugging Face cache, where every file of `models--org--name/snapshots/<rev>/` is a link to `../../blobs/<hash>`:
// there the cache entry (the folder holding `snapshots/` and `blobs/`) is the boundary.
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, relative, sep } from 'node:path';
import { InputError } from '../errors';
import { describeFsError } from './fileio';

/** The folder whose real path files named from `directory` must stay inside. */
export async function containmentRoot(directory: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(directory);
  } catch (error) {
    throw new InputError(`cannot open ${directory}: ${describeFsError(error)}`);
  }
  // models--org--name/snapshots/<rev>[/sub/folder]: the cache entry is the root, if it has its blobs/ folder.
  for (let p = real; dirname(p) !== p; p = dirname(p)) {
    const snapshots = dirname(p);
    if (basename(snapshots) !== 'snapshots') continue;
    const entry = dirname(snapshots);
    if (await isDirectory(`${entry}${sep}blobs`)) return entry;
    break;
  }
  return real;
}

/**
 * The real path of `target`, which must lie inside `root` (a real path from containmentRoot). `what` names the
 * file in messages ("index.json: shard 'a.safetensors'").
 */
export async function containedRealPath(root: string, target: string, what: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(target);
  } catch (error) {
    throw new InputError(`${what} cannot be opened (${target}: ${describeFsError(error)})`);
  }
  if (!isInside(root, real)) {
    throw new InputError(`${what} resolves through a symbolic link to ${real}, outside ${root}; files outside the model's folder are refused (security)`);
  }
  return real;
}

export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
