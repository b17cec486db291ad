// `inspect`: what a checkpoint holds. Header-only: no tensor data is read.
import { stat } from 'node:fs/promises';
import { isPlainObject, readJsonFile } from '../formats/fileio';
import { MAX_JSON_FILE_BYTES } from '../formats/limits';
import { openCheckpoint } from '../formats/open';
import { tensorRole } from '../arch/names';
import { summaryFromConfig, summaryFromTensors } from '../arch/summary';
import { InputError, throwIfAborted } from '../errors';
import type { ArchitectureSummary, InspectResult, InspectTensor, Progress } from '../protocol/results';
import type { CheckpointHeader } from '../formats/types';

export async function* inspect(input: { path: string }, signal?: AbortSignal): AsyncGenerator<Progress, InspectResult> {
  yield { message: `Reading ${input.path}` };
  const opened = await openCheckpoint(input.path);
  throwIfAborted(signal);

  const header = opened.header;
  const tensors: InspectTensor[] = (header?.tensors ?? []).map((t) => ({
    name: t.name, dtype: t.dtype, shape: t.shape, count: t.count, ...tensorRole(t.roleName ?? t.name),
    file: t.file, byteOffset: t.byteOffset, byteLength: t.byteLength,
  }));
  const warnings = [...(header?.warnings ?? [])];
  const architecture = await architectureOf(opened.configPath, header?.architecture, tensors, warnings);
  const parameters = tensors.reduce((sum, t) => sum + t.count, 0);
  const files = header?.files ?? [];
  if (!header) warnings.push(`no weights next to ${opened.configPath}: showing the configuration only`);
  return {
    format: header?.format ?? 'config',
    path: input.path,
    files,
    bytes: (await Promise.all(files.map((f) => stat(f)))).reduce((sum, s) => sum + s.size, 0),
    parameters,
    tensors,
    architecture,
    layers: layerShares(tensors, parameters),
    metadata: header?.metadata ?? {},
    warnings,
  };
}

async function architectureOf(
  configPath: string | undefined,
  declared: CheckpointHeader['architecture'],
  tensors: InspectTensor[],
  warnings: string[],
): Promise<ArchitectureSummary> {
  const inferred = summaryFromTensors(tensors);
  if (!configPath && declared) {
    // The file's own metadata (GGUF): take its numbers, fill gaps from the tensors.
    const merged = { ...inferred, source: 'metadata' as const };
    for (const [key, value] of Object.entries(declared)) if (value !== null && value !== undefined) Object.assign(merged, { [key]: value });
    return merged;
  }
  if (!configPath) {
    if (tensors.length > 0) warnings.push('no config.json next to the checkpoint: the architecture is inferred from tensor names and shapes');
    return inferred;
  }
  const config = await readJsonFile(configPath, MAX_JSON_FILE_BYTES);
  if (!isPlainObject(config)) throw new InputError(`${configPath}: expected a JSON object`);
  const summary = summaryFromConfig(config, configPath);
  if (tensors.length > 0 && summary.layers !== null && inferred.layers !== null && summary.layers !== inferred.layers) {
    warnings.push(`config.json says ${summary.layers} layers but the tensors name ${inferred.layers} blocks`);
  }
  return summary;
}

function layerShares(tensors: InspectTensor[], parameters: number): InspectResult['layers'] {
  const byLayer = new Map<number | null, number>();
  for (const t of tensors) byLayer.set(t.layer, (byLayer.get(t.layer) ?? 0) + t.count);
  return [...byLayer.entries()]
    .sort(([a], [b]) => (a === null ? 1 : b === null ? -1 : a - b))
    .map(([index, params]) => ({ index, params, share: parameters > 0 ? params / parameters : 0 }));
}
