// `inspect`: what a checkpoint holds. Header-only: no tensor data is read.
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathKind, readJsonObject } from '../formats/fileio';
import { summaryFromAdapterConfig } from '../arch/adapter';
import { MAX_JSON_FILE_BYTES } from '../formats/limits';
import { openCheckpoint } from '../formats/open';
import { tensorRole } from '../arch/names';
import { summaryFromConfig, summaryFromTensors } from '../arch/summary';
import { throwIfAborted } from '../errors';
import type { ArchitectureSummary, InspectResult, InspectTensor, Progress } from '../protocol/results';
import type { CheckpointHeader } from '../formats/types';

export async function* inspect(input: { path: string }, signal?: AbortSignal): AsyncGenerator<Progress, InspectResult> {
  yield { message: `Reading ${input.path}` };
  const opened = await openCheckpoint(input.path);
  throwIfAborted(signal);

  const header = opened.header;
  // One object per tensor, built whole (no spread of a partial one): on 100 000 tensors the garbage was most of
  // the time of opening a file (docs/benchmarks.md).
  const tensors: InspectTensor[] = (header?.tensors ?? []).map((t) => {
    if (t.graphConstant) return { name: t.name, dtype: t.dtype, shape: t.shape, count: t.count, file: t.file, byteOffset: t.byteOffset, byteLength: t.byteLength, layer: null, module: 'other', graphConstant: true };
    const role = tensorRole(t.roleName ?? t.name);
    return { name: t.name, dtype: t.dtype, shape: t.shape, count: t.count, file: t.file, byteOffset: t.byteOffset, byteLength: t.byteLength, layer: role.layer, module: role.module };
  });
  const weights = tensors.filter((t) => !t.graphConstant);
  const warnings = [...(header?.warnings ?? [])];
  const adapter = opened.adapterConfigPath ? summaryFromAdapterConfig(await readJsonObject(opened.adapterConfigPath, MAX_JSON_FILE_BYTES), opened.adapterConfigPath, tensors) : null;
  // An adapter's architecture is its base model's, when the base is a directory on this machine.
  const configPath = opened.configPath ?? (adapter ? await localBaseConfig(adapter.baseModel, opened.adapterConfigPath!) : undefined);
  const architecture = await architectureOf(configPath, header?.architecture, weights, warnings, adapter !== null);
  const parameters = weights.reduce((sum, t) => sum + t.count, 0);
  const files = header?.files ?? [];
  if (!header) warnings.push(`no weights next to ${opened.configPath ?? opened.adapterConfigPath}: showing the configuration only`);
  return {
    format: header?.format ?? 'config',
    path: input.path,
    files,
    bytes: (await Promise.all(files.map((f) => stat(f)))).reduce((sum, s) => sum + s.size, 0),
    parameters,
    tensors,
    architecture,
    adapter,
    layers: layerShares(weights, parameters),
    metadata: header?.metadata ?? {},
    warnings,
  };
}

async function architectureOf(
  configPath: string | undefined,
  declared: CheckpointHeader['architecture'],
  tensors: InspectTensor[],
  warnings: string[],
  isAdapter: boolean,
): Promise<ArchitectureSummary> {
  const inferred = summaryFromTensors(tensors);
  if (!configPath && declared) {
    // The file's own metadata (GGUF): take its numbers, fill gaps from the tensors.
    const merged = { ...inferred, source: 'metadata' as const };
    for (const [key, value] of Object.entries(declared)) if (value !== null && value !== undefined) Object.assign(merged, { [key]: value });
    return merged;
  }
  if (!configPath) {
    if (tensors.length > 0 && !isAdapter) warnings.push('no config.json next to the checkpoint: the architecture is inferred from tensor names and shapes');
    return inferred;
  }
  const summary = summaryFromConfig(await readJsonObject(configPath, MAX_JSON_FILE_BYTES), configPath);
  if (tensors.length > 0 && !isAdapter && summary.layers !== null && inferred.layers !== null && summary.layers !== inferred.layers) {
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

function layerShares(tensors: InspectTensor[], parameters: number): InspectResult['layers'] {
  const byLayer = new Map<number | null, number>();
  for (const t of tensors) byLayer.set(t.layer, (byLayer.get(t.layer) ?? 0) + t.count);
  return [...byLayer.entries()]
    .sort(([a], [b]) => (a === null ? 1 : b === null ? -1 : a - b))
    .map(([index, params]) => ({ index, params, share: parameters > 0 ? params / parameters : 0 }));
}
