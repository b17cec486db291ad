// One entry point for "whatever the user pointed at": a checkpoint file, a shard index, a model directory, or a
// config.json. Returns the header plus the config.json that describes it, when there is one.
import { basename, dirname } from 'node:path';
import { InputError } from '../errors';
import { detectFormat } from './detect';
import { pathKind } from './fileio';
import { locateModelDirectory, readShardedSafetensors, siblingConfigs } from './huggingface';
import { readSafetensorsHeader } from './safetensors';
import type { CheckpointHeader } from './types';

export interface OpenedCheckpoint {
  header: CheckpointHeader | null;
  configPath?: string | undefined;
  adapterConfigPath?: string | undefined;
}

const SUPPORTED = 'supported here: .safetensors files, sharded *.safetensors.index.json, Hugging Face model directories and their config.json';

export async function openCheckpoint(path: string): Promise<OpenedCheckpoint> {
  const kind = await pathKind(path);
  if (kind === 'missing') throw new InputError(`${path}: no such file or directory`);
  if (kind === 'directory') return openDirectory(path);
  const format = await detectFormat(path);
  switch (format) {
    case 'safetensors':
      return { header: await readSafetensorsHeader(path), ...(await siblingConfigs(path)) };
    case 'safetensors-index':
      return { header: await readShardedSafetensors(path), ...(await siblingConfigs(path)) };
    case 'json':
      if (basename(path) === 'config.json' || basename(path) === 'adapter_config.json') return openConfig(path);
      throw new InputError(`${path}: this JSON file is not a checkpoint (${SUPPORTED})`);
    case 'gguf':
    case 'onnx':
    case 'pytorch-zip':
    case 'pytorch-legacy':
      throw new InputError(`${path}: ${format} checkpoints are not readable by this version yet (${SUPPORTED})`);
    case 'csv':
      throw new InputError(`${path}: is a CSV dataset, not a checkpoint; use the csv command / Analyze CSV Importance`);
    case 'unknown':
      throw new InputError(`${path}: not a checkpoint format this version recognises (${SUPPORTED})`);
  }
}

async function openDirectory(directory: string): Promise<OpenedCheckpoint> {
  const located = await locateModelDirectory(directory);
  const { weights } = located;
  const configs = { configPath: located.configPath, adapterConfigPath: located.adapterConfigPath };
  if (weights.kind === 'index') return { header: await readShardedSafetensors(weights.path), ...configs };
  const merged: CheckpointHeader = { format: 'safetensors', files: [], tensors: [], metadata: {}, warnings: [] };
  const seen = new Set<string>();
  for (const file of weights.paths) {
    const header = await readSafetensorsHeader(file);
    merged.files.push(file);
    Object.assign(merged.metadata, header.metadata);
    merged.warnings.push(...header.warnings);
    for (const tensor of header.tensors) {
      if (seen.has(tensor.name)) {
        merged.warnings.push(`tensor '${tensor.name}' appears in more than one file; the first (${basename(merged.files[0]!)}) is used`);
        continue;
      }
      seen.add(tensor.name);
      merged.tensors.push(tensor);
    }
  }
  return { header: merged, ...configs };
}

/** config.json / adapter_config.json: the model in its directory when weights are there, else the config alone. */
async function openConfig(configPath: string): Promise<OpenedCheckpoint> {
  try {
    return await openDirectory(dirname(configPath));
  } catch (error) {
    if (error instanceof InputError && /holds no checkpoint/.test(error.message)) {
      return basename(configPath) === 'adapter_config.json' ? { header: null, configPath: undefined, adapterConfigPath: configPath } : { header: null, configPath };
    }
    throw error;
  }
}
