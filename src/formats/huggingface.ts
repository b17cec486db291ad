// Hugging Face layouts: model directories (config.json + weights), adapter directories (adapter_config.json +
// adapter_model.*), and sharded checkpoints whose index maps each tensor to the shard that holds it.
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../errors';
import { containedRealPath, containmentRoot } from './containment';
import { isPlainObject, pathKind, readJsonFile } from './fileio';
import { MAX_JSON_FILE_BYTES, MAX_SHARDS, MAX_TENSORS } from './limits';
import { readAll, SUPPORTED_FORMATS } from './readers';
import type { CheckpointFormat, CheckpointHeader } from './types';

/** Pickled files a training run leaves beside the weights; they hold no tensors of the model. */
const NOT_WEIGHTS = /^(training_args|optimizer|scheduler|rng_state|scaler|trainer_state)(_\d+)?\.(bin|pt|pth)$/;

/** Which format an index file's shards are in, from its name (model.safetensors.index.json, pytorch_model.bin.index.json). */
export function indexFormat(indexPath: string): CheckpointFormat | undefined {
  const name = basename(indexPath);
  if (name.endsWith('.safetensors.index.json')) return 'safetensors';
  if (/\.(bin|pt|pth)\.index\.json$/.test(name)) return 'pytorch';
  return undefined;
}

/** Reads every shard named by an index file and checks that the shards hold what the index says. */
export async function readShardedCheckpoint(indexPath: string, format: CheckpointFormat): Promise<CheckpointHeader> {
  const index = await readJsonFile(indexPath, MAX_JSON_FILE_BYTES);
  if (!isPlainObject(index) || !isPlainObject(index.weight_map)) {
    throw new InputError(`${indexPath}: expected an object with a "weight_map" of tensor name -> shard file`);
  }
  const weightMap = index.weight_map;
  const listed = Object.keys(weightMap).length;
  if (listed > MAX_TENSORS) throw new InputError(`${indexPath}: weight_map lists ${listed} tensors; checkpoints of more than ${MAX_TENSORS} are refused`);
  const shardNames = new Set<string>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || shard === '' || shard.includes('/') || shard.includes('\\') || shard === '..' || shard === '.') {
      throw new InputError(`${indexPath}: weight_map['${tensor}'] = ${JSON.stringify(shard)} is not a file name in the same directory`);
    }
    shardNames.add(shard);
  }
  if (shardNames.size > MAX_SHARDS) throw new InputError(`${indexPath}: ${shardNames.size} shards; more than ${MAX_SHARDS} are refused`);
  const directory = dirname(indexPath);
  const root = await containmentRoot(directory);
  const shardPaths: string[] = [];
  for (const shard of [...shardNames].sort()) {
    const shardPath = join(directory, shard);
    const kind = await pathKind(shardPath);
    if (kind === 'missing') throw new InputError(`${indexPath}: shard '${shard}' named in weight_map is missing from ${directory}`);
    if (kind !== 'file') throw new InputError(`${indexPath}: shard '${shard}' named in weight_map is not a regular file`);
    // A shard that is a link out of the model's folder (not into a Hugging Face cache's blobs) is refused.
    await containedRealPath(root, shardPath, `${indexPath}: shard '${shard}'`);
    shardPaths.push(shardPath);
  }
  const merged = await readAll(format, shardPaths);
  const tensors = [];
  for (const tensor of merged.tensors) {
    const expected = weightMap[tensor.name];
    const shard = basename(tensor.file);
    if (expected === undefined) {
      merged.warnings.push(`${shard} holds tensor '${tensor.name}' that the index does not list; it is included`);
    } else if (expected !== shard) {
      merged.warnings.push(`index puts '${tensor.name}' in ${String(expected)} but it was read from ${shard}`);
    }
    tensors.push(tensor);
  }
  merged.tensors = tensors;
  const found = new Set(tensors.map((t) => t.name));
  const missing = Object.keys(weightMap).filter((name) => !found.has(name));
  if (missing.length > 0) {
    throw new InputError(`${indexPath}: ${missing.length} tensor(s) listed in weight_map are in no shard, e.g. '${missing[0]}'`);
  }
  return merged;
}

export interface ModelDirectory {
  directory: string;
  configPath?: string;
  /** PEFT adapters: adapter_config.json (their weights are adapter_model.*). */
  adapterConfigPath?: string;
  weights: { kind: 'index'; path: string; format: CheckpointFormat } | { kind: 'files'; paths: string[]; format: CheckpointFormat };
}

/** Finds the weights of a model directory; says what was expected when none are there. */
export async function locateModelDirectory(directory: string): Promise<ModelDirectory> {
  let names: string[];
  try {
    names = (await readdir(directory)).sort();
  } catch (error) {
    throw new InputError(`cannot list ${directory}: ${(error as Error).message}`);
  }
  const configPath = names.includes('config.json') ? join(directory, 'config.json') : undefined;
  const adapterConfigPath = names.includes('adapter_config.json') ? join(directory, 'adapter_config.json') : undefined;
  const base = { directory, ...(configPath ? { configPath } : {}), ...(adapterConfigPath ? { adapterConfigPath } : {}) };
  const files = (paths: string[], format: CheckpointFormat) => ({ ...base, weights: { kind: 'files' as const, paths: paths.map((n) => join(directory, n)), format } });

  if (adapterConfigPath) {
    if (names.includes('adapter_model.safetensors')) return files(['adapter_model.safetensors'], 'safetensors');
    if (names.includes('adapter_model.bin')) return files(['adapter_model.bin'], 'pytorch');
  }
  // Prefer safetensors over PyTorch pickles when a directory has both (as many hub repos do).
  for (const name of names) {
    const format = name.endsWith('.index.json') ? indexFormat(name) : undefined;
    if (format === 'safetensors') return { ...base, weights: { kind: 'index', path: join(directory, name), format } };
  }
  const safetensors = names.filter((n) => n.endsWith('.safetensors'));
  if (safetensors.length > 0) return files(safetensors, 'safetensors');
  for (const name of names) {
    const format = name.endsWith('.index.json') ? indexFormat(name) : undefined;
    if (format === 'pytorch') return { ...base, weights: { kind: 'index', path: join(directory, name), format } };
  }
  const pickles = names.filter((n) => /\.(bin|pt|pth)$/.test(n) && !NOT_WEIGHTS.test(n));
  const hfPickles = pickles.filter((n) => n.startsWith('pytorch_model'));
  if (pickles.length > 0) return files(hfPickles.length > 0 ? hfPickles : pickles, 'pytorch');
  // GGUF and ONNX files in one directory are usually alternatives (quantisations, exports), not parts of one model.
  for (const [extension, format] of [['.gguf', 'gguf'], ['.onnx', 'onnx']] as const) {
    const matches = names.filter((n) => n.endsWith(extension));
    if (matches.length === 1) return files(matches, format);
    if (matches.length > 1) {
      throw new InputError(`${directory} holds ${matches.length} ${format.toUpperCase()} files (${matches.slice(0, 4).join(', ')}${matches.length > 4 ? ', …' : ''}); open one of them`);
    }
  }
  throw new InputError(`${directory} holds no checkpoint: expected *.safetensors, a *.index.json, pytorch_model*.bin, *.gguf or *.onnx (${SUPPORTED_FORMATS})`);
}

/** config.json and adapter_config.json next to a weights file, where they exist. */
export async function siblingConfigs(weightsPath: string): Promise<{ configPath?: string; adapterConfigPath?: string }> {
  const directory = dirname(weightsPath);
  const found: { configPath?: string; adapterConfigPath?: string } = {};
  if ((await pathKind(join(directory, 'config.json'))) === 'file') found.configPath = join(directory, 'config.json');
  if ((await pathKind(join(directory, 'adapter_config.json'))) === 'file') found.adapterConfigPath = join(directory, 'adapter_config.json');
  return found;
}
