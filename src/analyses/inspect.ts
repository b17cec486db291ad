// `inspect`: what a checkpoint holds. Header-only: no tensor data is read.
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathKind, readJsonObject } from '../formats/fileio';
import { summaryFromAdapterConfig } from '../arch/adapter';
import { MAX_JSON_FILE_BYTES } from '../formats/limits';
import { openCheckpoint } from '../formats/open';
import { dottedName, layerOf, moduleOf } from '../arch/names';
import { ggufActiveParameters, summaryFromConfig, TensorSummary } from '../arch/summary';
import { throwIfAborted } from '../errors';
import type { ArchitectureSummary, InspectResult, InspectTensor, Progress } from '../protocol/results';
import type { CheckpointHeader } from '../formats/types';

export async function* inspect(input: { path: string }, signal?: AbortSignal): AsyncGenerator<Progress, InspectResult> {
  yield { message: `Reading ${input.path}` };
  const opened = await openCheckpoint(input.path);
  throwIfAborted(signal);

  const header = opened.header;
  // One pass over the tensors: each tensor's object built once and whole (no spread of a partial one, no role
  // object), and from the same loop the parameter total, the per-block sums and the inferred architecture. On
  // 100 000 tensors the garbage and the repeated passes were most of the time of opening a file (docs/benchmarks.md).
  const source = header?.tensors ?? [];
  const tensors: InspectTensor[] = new Array(source.length);
  const inferred = new TensorSummary();
  // Parameters per block, indexed by block (at most MAX_BLOCK_INDEX), and those in no block: no Map lookups.
  const byLayer: number[] = [];
  let unplaced: number | undefined;
  let parameters = 0;
  let weights = 0;
  for (let i = 0; i < source.length; i++) {
    const t = source[i]!;
    if (t.graphConstant) {
      tensors[i] = { name: t.name, dtype: t.dtype, shape: t.shape, count: t.count, file: t.file, byteOffset: t.byteOffset, byteLength: t.byteLength, layer: null, module: 'other', graphConstant: true };
      continue;
    }
    const dotted = dottedName(t.roleName ?? t.name);
    const layer = layerOf(dotted);
    const tensor: InspectTensor = { name: t.name, dtype: t.dtype, shape: t.shape, count: t.count, file: t.file, byteOffset: t.byteOffset, byteLength: t.byteLength, layer, module: moduleOf(dotted) };
    tensors[i] = tensor;
    weights++;
    parameters += t.count;
    if (layer === null) unplaced = (unplaced ?? 0) + t.count;
    else byLayer[layer] = (byLayer[layer] ?? 0) + t.count;
    inferred.add(tensor);
  }
  const warnings = [...(header?.warnings ?? [])];
  const adapter = opened.adapterConfigPath ? summaryFromAdapterConfig(await readJsonObject(opened.adapterConfigPath, MAX_JSON_FILE_BYTES), opened.adapterConfigPath, tensors) : null;
  // An adapter's architecture is its base model's, when the base is a directory on this machine.
  const configPath = opened.configPath ?? (adapter ? await localBaseConfig(adapter.baseModel, opened.adapterConfigPath!) : undefined);
  const architecture = await architectureOf(configPath, header?.architecture, inferred.result(), weights, warnings, adapter !== null);
  const files = header?.files ?? [];
  const used = header?.format === 'gguf' && architecture.family !== null ? Number(header.metadata?.[`${architecture.family}.expert_used_count`] ?? NaN) : NaN;
  const active = Number.isSafeInteger(used) ? ggufActiveParameters(tensors, parameters, architecture.experts, used) : undefined;
  if (!header) warnings.push(`no weights next to ${opened.configPath ?? opened.adapterConfigPath}: showing the configuration only`);
  return {
    format: header?.format ?? 'config',
    path: input.path,
    files,
    bytes: (await Promise.all(files.map((f) => stat(f)))).reduce((sum, s) => sum + s.size, 0),
    parameters,
    ...(active !== undefined ? { activeParameters: active } : {}),
    tensors,
    architecture,
    adapter,
    layers: layerShares(byLayer, unplaced, parameters),
    metadata: header?.metadata ?? {},
    warnings,
  };
}

async function architectureOf(
  configPath: string | undefined,
  declared: CheckpointHeader['architecture'],
  inferred: ArchitectureSummary,
  weights: number,
  warnings: string[],
  isAdapter: boolean,
): Promise<ArchitectureSummary> {
  if (!configPath && declared) {
    // The file's own metadata (GGUF): take its numbers, fill gaps from the tensors.
    const merged = { ...inferred, source: 'metadata' as const };
    for (const [key, value] of Object.entries(declared)) if (value !== null && value !== undefined) Object.assign(merged, { [key]: value });
    return merged;
  }
  if (!configPath) {
    if (weights > 0 && !isAdapter) warnings.push('no config.json next to the checkpoint: the architecture is inferred from tensor names and shapes');
    return inferred;
  }
  const summary = summaryFromConfig(await readJsonObject(configPath, MAX_JSON_FILE_BYTES), configPath);
  if (weights > 0 && !isAdapter && summary.layers !== null && inferred.layers !== null && summary.layers !== inferred.layers) {
    warnings.push(`config.json says ${summary.layers} layers but the tensors name ${inferred.layers} blocks`);
  }
  return summary;
}

/** base_model_name_or_path as a local directory with a config.json (absolute, or relative to the adapter); a hub
 * id such as "meta-llama/Llama-3.2-1B" normally names no local directory and gives undefined. */
async function localBaseConfig(baseModel: string | null, adapterConfigPath: string): Promise<string | undefined> {
  if (!baseModel) return undefined;
  const candidate = join(resolve(dirname(adapterConfigPath), baseModel), 'config.json');
  return (await pathKind(candidate)) === 'file' ? candidate : undefined;
}

/** Parameters per block (`unplaced`: in no block), in block order with the unplaced last. */
function layerShares(byLayer: number[], unplaced: number | undefined, parameters: number): InspectResult['layers'] {
  const shares: InspectResult['layers'] = [];
  const share = (params: number) => (parameters > 0 ? params / parameters : 0);
  byLayer.forEach((params, index) => shares.push({ index, params, share: share(params) })); // skips the holes
  if (unplaced !== undefined) shares.push({ index: null, params: unplaced, share: share(unplaced) });
  return shares;
}
