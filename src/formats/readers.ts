// Reading a checkpoint's header through the format registry (registry.ts), one file or several merged.
import { InputError } from '../errors';
import { MAX_TENSORS } from './limits';
import { CHECKPOINT_FORMATS, SUPPORTED_FORMATS, type HeaderReader } from './registry';
import type { CheckpointFormat, CheckpointHeader } from './types';

export { SUPPORTED_FORMATS } from './registry';

export function readerFor(format: CheckpointFormat, path: string): HeaderReader {
  const entry = CHECKPOINT_FORMATS.find((f) => f.format === format);
  if (!entry) throw new InputError(`${path}: ${format} checkpoints are not readable (${SUPPORTED_FORMATS})`);
  return entry.read;
}

/** Reads several files of one checkpoint (shards, or the weight files of a directory) into one header. */
export async function readAll(format: CheckpointFormat, paths: readonly string[]): Promise<CheckpointHeader> {
  // One file needs no merging (and a 100 000-tensor header no second pass).
  if (paths.length === 1) return readerFor(format, paths[0]!)(paths[0]!);
  const merged: CheckpointHeader = { format, files: [], tensors: [], metadata: {}, warnings: [] };
  const seen = new Map<string, string>();
  for (const path of paths) {
    const header = await readerFor(format, path)(path);
    merged.files.push(path);
    Object.assign(merged.metadata, header.metadata);
    merged.warnings.push(...header.warnings);
    if (header.architecture && !merged.architecture) merged.architecture = header.architecture;
    for (const tensor of header.tensors) {
      const first = seen.get(tensor.name);
      if (first !== undefined) {
        merged.warnings.push(`tensor '${tensor.name}' is in both ${first} and ${path}; the first is used`);
        continue;
      }
      seen.set(tensor.name, path);
      if (merged.tensors.length >= MAX_TENSORS) {
        throw new InputError(`${path}: with the ${merged.files.length - 1} file(s) read before it, the checkpoint holds more than ${MAX_TENSORS} tensors; more are refused`);
      }
      merged.tensors.push(tensor);
    }
  }
  return merged;
}
