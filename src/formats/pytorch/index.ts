// PyTorch checkpoints (.pt/.pth/.bin written by torch.save): the zip format of torch >= 1.6 and the legacy
// pickle-stream format before it. Pickles are never executed: a restricted unpickler (unpickle.ts) rebuilds
// tensors symbolically from an allowlist of torch globals (globals.ts), reports every other global as a security
// finding, and the result is the same header -> TensorInfo[] with byte ranges that every reader produces.
import { InputError } from '../../errors';
import { openForReading, readExactly } from '../fileio';
import type { CheckpointHeader } from '../types';
import { readZipCheckpoint } from './archive';
import { readLegacyCheckpoint } from './legacy';

const SNIFF_BYTES = 512;

export async function readPytorchHeader(path: string): Promise<CheckpointHeader> {
  const { handle, size } = await openForReading(path);
  try {
    if (size === 0) throw new InputError(`${path}: the file is empty`);
    const head = await readExactly(handle, 0, Math.min(size, SNIFF_BYTES), path);
    if (head[0] === 0x50 && head[1] === 0x4b) return await readZipCheckpoint(handle, size, path);
    if (head[0] === 0x80) return await readLegacyCheckpoint(handle, size, path);
    if (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar') {
      throw new InputError(`${path}: a tar-format PyTorch checkpoint (torch < 0.4) is not supported; re-save it with a current torch.save or convert it to safetensors`);
    }
    throw new InputError(`${path}: not a PyTorch checkpoint: it starts with neither a zip header ('PK', torch >= 1.6) nor a pickle (0x80, the legacy format)`);
  } finally {
    await handle.close();
  }
}
