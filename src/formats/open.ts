// One entry point for "whatever the user pointed at": a checkpoint file, a shard index, a model or adapter
// directory, or a config.json. Returns the header plus the configs that describe it, when there are some.
import { basename, dirname } from 'node:path';
import { InputError } from '../errors';
import { detectFormat } from './detect';
import { pathKind } from './fileio';
import { indexFormat, locateModelDirectory, readShardedCheckpoint, siblingConfigs } from './huggingface';
import { readAll, SUPPORTED_FORMATS } from './readers';
import type { CheckpointFormat, CheckpointHeader } from './types';

export interface OpenedCheckpoint {
  header: CheckpointHeader | null;
  configPath?: string | undefined;
  adapterConfigPath?: string | undefined;
}

export async function openCheckpoint(path: string): Promise<OpenedCheckpoint> {
  const kind = await pathKind(path);
  if (kind === 'missing') throw new InputError(`${path}: no such file or directory`);
  if (kind === 'directory') return openDirectory(path);
  const detected = await detectFormat(path);
  const file = async (format: CheckpointFormat) => ({ header: await readAll(format, [path]), ...(await siblingConfigs(path)) });
  switch (detected) {
    case 'safetensors':
      return file('safetensors');
    case 'gguf':
      return file('gguf');
    case 'onnx':
      return file('onnx');
    case 'pytorch-zip':
    case 'pytorch-legacy':
      return file('pytorch');
    case 'json': {
      const name = basename(path);
      if (name === 'config.json' || name === 'adapter_config.json') return openConfig(path);
      const format = indexFormat(path);
      if (format) return { header: await readShardedCheckpoint(path, format), ...(await siblingConfigs(path)) };
      throw new InputError(`${path}: this JSON file is not a checkpoint (${SUPPORTED_FORMATS})`);
    }
    case 'csv':
      throw new InputError(`${path}: is a CSV dataset, not a checkpoint; use the csv command / Analyze CSV Importance`);
    case 'unknown':
      throw new InputError(`${path}: not a checkpoint format this version recognises (${SUPPORTED_FORMATS})`);
  }
}

async function openDirectory(directory: string): Promise<OpenedCheckpoint> {
  const located = await locateModelDirectory(directory);
  const { weights } = located;
  const header = weights.kind === 'index' ? await readShardedCheckpoint(weights.path, weights.format) : await readAll(weights.format, weights.paths);
  return { header, configPath: located.configPath, adapterConfigPath: located.adapterConfigPath };
}

/** config.json / adapter_config.json: the model in its directory when weights are there, else the config alone. */
async function openConfig(configPath: string): Promise<OpenedCheckpoint> {
  try {
    return await openDirectory(dirname(configPath));
  } catch (error) {
    if (error instanceof InputError && /holds no checkpoint/.test(error.message)) {
      return basename(configPath) === 'adapter_config.json' ? { header: null, adapterConfigPath: configPath } : { header: null, configPath };
    }
    throw error;
  }
}
