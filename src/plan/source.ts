// The checkpoint a plan is made for and applied to: a Hugging Face directory of safetensors weights with a
// config.json. Only headers and the config are read here. The fingerprint ties a plan to its checkpoint, so a
// plan edited or moved onto another model is refused instead of silently renumbering the wrong tensors.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { tensorRole } from '../arch/names';
import { InputError } from '../errors';
import { isPlainObject, pathKind, requireRegularFile } from '../formats/fileio';
import { locateModelDirectory } from '../formats/huggingface';
import { openCheckpoint } from '../formats/open';
import type { TensorInfo } from '../formats/types';

/** config.json keys that hold the number of blocks, by family. */
const LAYER_COUNT_KEYS = ['num_hidden_layers', 'n_layer', 'num_layers'] as const;
const MAX_CONFIG_BYTES = 4 * 2 ** 20;

export interface SourceModel {
  directory: string;
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
  if ((await pathKind(directory)) !== 'directory') throw new InputError(`${directory}: plans are made for a Hugging Face model directory (config.json and *.safetensors)`);
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
  const tensors = header.tensors;
  for (const tensor of tensors) {
    const { layer } = tensorRole(tensor.name);
    if (layer !== null && layer >= layers) throw new InputError(`${directory}: tensor '${tensor.name}' is in block ${layer} but ${layerKey} is ${layers}`);
  }
  const hash = createHash('sha256').update(configText);
  for (const t of [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) hash.update(`\n${t.name}:${t.dtype}:${t.shape.join('x')}`);
  return {
    directory,
    configPath,
    configText,
    config,
    family: typeof config.model_type === 'string' ? config.model_type : 'unknown',
    layers,
    layerKey,
    tensors,
    indexFile: located.weights.kind === 'index' ? basename(located.weights.path) : null,
    parameters: tensors.reduce((s, t) => s + t.count, 0),
    bytes: tensors.reduce((s, t) => s + t.byteLength, 0),
    fingerprint: `sha256:${hash.digest('hex')}`,
  };
}
