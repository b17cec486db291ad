// Hugging Face layouts: a model directory (config.json + weights), and the sharded-safetensors index whose
// weight_map names the shard that holds each tensor.
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InputError } from '../errors';
import { isPlainObject, pathKind, readJsonFile } from './fileio';
import { MAX_JSON_FILE_BYTES, MAX_SHARDS } from './limits';
import { readSafetensorsHeader } from './safetensors';
import type { CheckpointHeader } from './types';

export const SHARD_INDEX_NAME = 'model.safetensors.index.json';

/** Reads every shard named by an index file and checks that the shards hold what the index says. */
export async function readShardedSafetensors(indexPath: string): Promise<CheckpointHeader> {
  const index = await readJsonFile(indexPath, MAX_JSON_FILE_BYTES);
  if (!isPlainObject(index) || !isPlainObject(index.weight_map)) {
    throw new InputError(`${indexPath}: expected an object with a "weight_map" of tensor name -> shard file`);
  }
  const weightMap = index.weight_map;
  const shardNames = new Set<string>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || shard === '' || shard.includes('/') || shard.includes('\\') || shard === '..' || shard === '.') {
      throw new InputError(`${indexPath}: weight_map['${tensor}'] = ${JSON.stringify(shard)} is not a file name in the same directory`);
    }
    shardNames.add(shard);
  }
  if (shardNames.size > MAX_SHARDS) throw new InputError(`${indexPath}: ${shardNames.size} shards; more than ${MAX_SHARDS} are refused`);
  const directory = dirname(indexPath);
  const result: CheckpointHeader = { format: 'safetensors', files: [], tensors: [], metadata: {}, warnings: [] };
  for (const shard of [...shardNames].sort()) {
    const shardPath = join(directory, shard);
    if ((await pathKind(shardPath)) !== 'file') {
      throw new InputError(`${indexPath}: shard '${shard}' named in weight_map is missing from ${directory}`);
    }
    const header = await readSafetensorsHeader(shardPath);
    result.files.push(shardPath);
    Object.assign(result.metadata, header.metadata);
    result.warnings.push(...header.warnings);
    for (const tensor of header.tensors) {
      const expected = weightMap[tensor.name];
      if (expected === undefined) {
        result.warnings.push(`${shard} holds tensor '${tensor.name}' that the index does not list; it is included`);
      } else if (expected !== shard) {
        result.warnings.push(`index puts '${tensor.name}' in ${String(expected)} but ${shard} also holds it; using ${String(expected)}`);
        continue;
      }
      result.tensors.push(tensor);
    }
  }
  const found = new Set(result.tensors.map((t) => t.name));
  const missing = Object.keys(weightMap).filter((name) => !found.has(name));
  if (missing.length > 0) {
    throw new InputError(`${indexPath}: ${missing.length} tensor(s) listed in weight_map are in no shard, e.g. '${missing[0]}'`);
  }
  return result;
}

export interface ModelDirectory {
  directory: string;
  configPath?: string;
  /** PEFT adapters: adapter_config.json (their weights are adapter_model.*). */
  adapterConfigPath?: string;
  /** What to read: an index file, or the safetensors files in the directory. */
  weights: { kind: 'index'; path: string } | { kind: 'safetensors'; paths: string[] };
}

/** Finds the weights of a model directory; says what was expected when none are there. */
export async function locateModelDirectory(directory: string): Promise<ModelDirectory> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    throw new InputError(`cannot list ${directory}: ${(error as Error).message}`);
  }
  const configPath = names.includes('config.json') ? join(directory, 'config.json') : undefined;
  const adapterConfigPath = names.includes('adapter_config.json') ? join(directory, 'adapter_config.json') : undefined;
  const base = { directory, ...(configPath ? { configPath } : {}), ...(adapterConfigPath ? { adapterConfigPath } : {}) };
  if (adapterConfigPath && names.includes('adapter_model.safetensors')) {
    return { ...base, weights: { kind: 'safetensors', paths: [join(directory, 'adapter_model.safetensors')] } };
  }
  if (names.includes(SHARD_INDEX_NAME)) return { ...base, weights: { kind: 'index', path: join(directory, SHARD_INDEX_NAME) } };
  const shardIndexes = names.filter((n) => n.endsWith('.safetensors.index.json'));
  if (shardIndexes.length === 1) return { ...base, weights: { kind: 'index', path: join(directory, shardIndexes[0]!) } };
  const safetensors = names.filter((n) => n.endsWith('.safetensors')).sort();
  if (safetensors.length > 0) return { ...base, weights: { kind: 'safetensors', paths: safetensors.map((n) => join(directory, n)) } };
  throw new InputError(
    `${directory} holds no checkpoint this version reads: expected model.safetensors, *.safetensors or ${SHARD_INDEX_NAME}` +
      (names.some((n) => /\.(bin|pt|pth|gguf|onnx)$/.test(n)) ? ' (PyTorch, GGUF and ONNX readers are not in this version yet)' : ''),
  );
}

/** config.json and adapter_config.json next to a weights file, where they exist. */
export async function siblingConfigs(weightsPath: string): Promise<{ configPath?: string; adapterConfigPath?: string }> {
  const directory = dirname(weightsPath);
  const found: { configPath?: string; adapterConfigPath?: string } = {};
  if ((await pathKind(join(directory, 'config.json'))) === 'file') found.configPath = join(directory, 'config.json');
  if ((await pathKind(join(directory, 'adapter_config.json'))) === 'file') found.adapterConfigPath = join(directory, 'adapter_config.json');
  return found;
}
