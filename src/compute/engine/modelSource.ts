// What the block engine runs, from what the user named: a Hugging Face directory (config.json -> spec, its
// safetensors as they are) or a .gguf file (its metadata -> spec, its tensors through ggufView). Everything after
// this point is the same for both.
import { dirname, join } from 'node:path';
import { ggufModel, ROPE_TENSORS } from '../../arch/ggufModels';
import { modelSpecFromConfig, type ModelSpec } from '../../arch/modelSpec';
import { InputError } from '../../errors';
import { readJsonObject } from '../../formats/fileio';
import { readGgufHeader, readGgufMetadata } from '../../formats/gguf';
import { MAX_JSON_FILE_BYTES } from '../../formats/limits';
import { openCheckpoint } from '../../formats/open';
import type { CheckpointHeader } from '../../formats/types';
import { layoutOf } from '../decode';
import { FileHandles, readWholeTensor } from '../tensorStream';
import { ggufView } from './ggufView';
import type { TensorView } from './weightReader';

export interface ModelSource {
  /** What the user named: the model directory, or the .gguf file. */
  path: string;
  /** The directory it is in (the model directory itself for Hugging Face). */
  directory: string;
  spec: ModelSpec;
  header: CheckpointHeader;
  /** How the checkpoint stores the tensors the family asks for; undefined: as Hugging Face names them. */
  view?: TensorView;
  /** A GGUF file's metadata as the Hugging Face config the spec was made from (what plans renumber). */
  ggufConfig?: Record<string, unknown>;
}

export const isGgufPath = (path: string): boolean => /\.gguf$/i.test(path);

/** The values of a GGUF file's RoPE factor tensors (rope_freqs, rope_factors_long/short: a few dozen floats each). */
async function ropeVectors(header: CheckpointHeader): Promise<Map<string, number[]>> {
  const vectors = new Map<string, number[]>();
  const handles = new FileHandles();
  try {
    for (const tensor of header.tensors.filter((t) => ROPE_TENSORS.includes(t.name))) {
      if (tensor.shape.length !== 1 || tensor.count > MAX_ROPE_FACTORS || !layoutOf(tensor.dtype)) {
        throw new InputError(`${tensor.file}: ${tensor.name} is ${tensor.dtype} [${tensor.shape.join(', ')}]; llama.cpp writes one F32 value per rotary frequency`);
      }
      vectors.set(tensor.name, Array.from(await readWholeTensor(tensor, handles)));
    }
    return vectors;
  } finally {
    await handles.close();
  }
}

/** More rotary frequencies than any head has (head sizes are at most a few hundred). */
const MAX_ROPE_FACTORS = 4096;

export async function openModelSource(path: string): Promise<ModelSource> {
  if (isGgufPath(path)) {
    const header = await readGgufHeader(path);
    const values = await readGgufMetadata(path, () => false);
    const shapes = new Map(header.tensors.map((t) => [t.name, t.shape]));
    const { spec, architecture, config } = ggufModel(values, (name) => shapes.get(name), path, await ropeVectors(header));
    return { path, directory: dirname(path), spec, header, view: ggufView(spec, architecture), ggufConfig: config };
  }
  const configPath = join(path, 'config.json');
  const spec = modelSpecFromConfig(await readJsonObject(configPath, MAX_JSON_FILE_BYTES), configPath);
  const { header } = await openCheckpoint(path);
  if (!header) throw new InputError(`${path}: holds config.json but no weights`);
  return { path, directory: path, spec, header };
}
