// The checkpoint a plan is made for and applied to: a Hugging Face directory of safetensors weights with a
// config.json, or a .gguf file (its metadata stands for config.json; its plans are verified in memory, on the
// block engine, and not written). Only headers and the config are read here. The fingerprint ties a plan to its checkpoint, so a
// plan edited or moved onto another model is refused instead of silently renumbering the wrong tensors.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { tensorRole } from '../arch/names';
import { isGgufPath, openModelSource } from '../compute/engine/modelSource';
import { InputError } from '../errors';
import { isPlainObject, pathKind, requireRegularFile } from '../formats/fileio';
import { locateModelDirectory } from '../formats/huggingface';
import { openCheckpoint } from '../formats/open';
import type { TensorInfo } from '../formats/types';

/** config.json keys that hold the number of blocks, by family. */
const LAYER_COUNT_KEYS = ['num_hidden_layers', 'n_layer', 'num_layers'] as const;
const MAX_CONFIG_BYTES = 4 * 2 ** 20;

export interface SourceModel {
  /** What the plan is for and what runs: the Hugging Face directory, or the .gguf file. */
  path: string;
  /** The directory the model is in (the Hugging Face directory itself). */
  directory: string;
  /** safetensors, or gguf: tensor dims innermost-first, and nothing is written for it. */
  format: 'safetensors' | 'gguf';
  configPath: string;
  configText: string;
  config: Record<string, unknown>;
  family: string;
  layers: number;
  layerKey: (typeof LAYER_COUNT_KEYS)[number];
  tensors: TensorInfo[];
  /** The shard index file name, when the checkpoint is sharded. */
  indexFile: string | null;
  parameters: number;
  bytes: number;
  fingerprint: string;
}

/** sha256 of a (text) file, to notice when a plan's evidence changed; text files are capped at 16 MB by their readers. */
export async function fileSha256(path: string): Promise<string> {
  await requireRegularFile(path);
  try {
    return `sha256:${createHash('sha256').update(await readFile(path)).digest('hex')}`;
  } catch (error) {
    throw new InputError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

export async function openSource(directory: string): Promise<SourceModel> {
  if (isGgufPath(directory) && (await pathKind(directory)) === 'file') return openGgufSource(directory);
  if ((await pathKind(directory)) !== 'directory') throw new InputError(`${directory}: plans are made for a Hugging Face model directory (config.json and *.safetensors) or a .gguf file`);
  const located = await locateModelDirectory(directory);
  if (located.weights.format !== 'safetensors') throw new InputError(`${directory}: holds ${located.weights.format} weights; pruning plans read and write safetensors only (convert the checkpoint first)`);
  if (!located.configPath) throw new InputError(`${directory}: has no config.json; a pruned checkpoint needs one to reload`);
  const configPath = located.configPath;
  const size = await requireRegularFile(configPath);
  if (size > MAX_CONFIG_BYTES) throw new InputError(`${configPath}: ${size} bytes; config files above ${MAX_CONFIG_BYTES} bytes are refused`);
  const configText = await readFile(configPath, 'utf8');
  let config: unknown;
  try {
    config = JSON.parse(configText);
  } catch (error) {
    throw new InputError(`${configPath} is not valid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(config)) throw new InputError(`${configPath}: expected a JSON object`);
  if (isPlainObject(config.text_config)) throw new InputError(`${configPath}: nested text_config (multimodal models) is not supported by pruning plans yet`);
  const layerKey = LAYER_COUNT_KEYS.find((key) => typeof config[key] === 'number');
  if (!layerKey) throw new InputError(`${configPath}: no layer count (${LAYER_COUNT_KEYS.join(', ')})`);
  const layers = config[layerKey] as number;
  if (!Number.isSafeInteger(layers) || layers < 1) throw new InputError(`${configPath}: ${layerKey} = ${layers} is not a positive integer`);

  const { header } = await openCheckpoint(directory);
  if (!header) throw new InputError(`${directory}: holds no weights`);
  return {
    path: directory, directory, format: 'safetensors', configPath, configText, config,
    family: typeof config.model_type === 'string' ? config.model_type : 'unknown',
    layers, layerKey, ...checkedTensors(directory, header.tensors, layers, layerKey, configText),
    indexFile: located.weights.kind === 'index' ? basename(located.weights.path) : null,
  };
}

/** A .gguf file: the Hugging Face config its metadata amounts to (arch/ggufModels.ts) stands for config.json. */
async function openGgufSource(path: string): Promise<SourceModel> {
  const { spec, header, ggufConfig } = await openModelSource(path);
  const config = ggufConfig!;
  // The config as text, so that the fingerprint and the editor's preview treat it as they treat config.json.
  const configText = `${JSON.stringify(config, null, 2)}\n`;
  return {
    path, directory: dirname(path), format: 'gguf', configPath: path, configText, config, family: spec.modelType,
    layers: spec.layers, layerKey: 'num_hidden_layers', ...checkedTensors(path, header.tensors, spec.layers, 'num_hidden_layers', configText), indexFile: null,
  };
}

/** The tensors (none in a block past the last), their totals, and the fingerprint of config text and tensors. */
function checkedTensors(where: string, tensors: TensorInfo[], layers: number, layerKey: string, configText: string): Pick<SourceModel, 'tensors' | 'parameters' | 'bytes' | 'fingerprint'> {
  for (const tensor of tensors) {
    const { layer } = tensorRole(tensor.name);
    if (layer !== null && layer >= layers) throw new InputError(`${where}: tensor '${tensor.name}' is in block ${layer} but ${layerKey} is ${layers}`);
  }
  const hash = createHash('sha256').update(configText);
  for (const t of [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) hash.update(`\n${t.name}:${t.dtype}:${t.shape.join('x')}`);
  return {
    tensors,
    parameters: tensors.reduce((s, t) => s + t.count, 0),
    bytes: tensors.reduce((s, t) => s + t.byteLength, 0),
    fingerprint: `sha256:${hash.digest('hex')}`,
  };
}
