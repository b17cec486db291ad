// `delta BASE TUNED`: what a fine-tune changed. Tensors are matched by name; each matched pair is streamed in
// lockstep, chunk by chunk, so two 100 GB checkpoints compare in bounded memory. Names or shapes that do not match
// are reported, not fatal: a fine-tune that added a head or resized the vocabulary still compares the rest.
// With a Fisher text the change is also weighed by the base's Fisher on it (fisherDelta.ts), computed first so that
// a model that cannot give gradients is refused before the comparison.
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { tensorRole } from '../arch/names';
import { isDecodable } from '../compute/decode';
import { DeltaAccumulator } from '../compute/deltaAccumulator';
import { FileHandles, tensorChunks } from '../compute/tensorStream';
import { InputError, throwIfAborted } from '../errors';
import { openCheckpoint } from '../formats/open';
import type { CheckpointHeader, TensorInfo } from '../formats/types';
import type { DeltaMismatch, DeltaResult, LayerDelta, Progress, TensorDelta } from '../protocol/results';
import type { TextSource } from '../protocol/worker';
import { fisherWeightedChange, withFisher, type FisherWeightedChange } from './fisherDelta';
import { rank } from './layers';

export interface DeltaInput {
  base: string;
  tuned: string;
  /** Weigh the change by the base's diagonal empirical Fisher on this text (fisherDelta.ts). */
  fisherText?: TextSource;
  maxTokens?: number;
  providers?: readonly string[];
}

export async function* delta(input: DeltaInput, signal?: AbortSignal): AsyncGenerator<Progress, DeltaResult> {
  yield { message: `Reading ${input.base} and ${input.tuned}` };
  const base = await weightsOf(input.base, 'base');
  const tuned = await weightsOf(input.tuned, 'tuned');
  await assertDistinctFiles(base, tuned, input);
  let fisher: FisherWeightedChange | undefined;
  if (input.fisherText) {
    fisher = yield* fisherWeightedChange({ base: input.base, tuned: input.tuned, text: input.fisherText, ...(input.maxTokens !== undefined ? { maxTokens: input.maxTokens } : {}), ...(input.providers ? { providers: input.providers } : {}) }, signal);
  }
  const baseByName = new Map(base.tensors.map((t) => [t.name, t]));
  const mismatched: DeltaMismatch[] = [];
  const pairs: [TensorInfo, TensorInfo][] = [];
  for (const t of tuned.tensors) {
    const b = baseByName.get(t.name);
    if (!b) mismatched.push({ name: t.name, reason: 'only-in-tuned', detail: `not in ${input.base}` });
    else if (b.shape.join() !== t.shape.join()) {
      mismatched.push({ name: t.name, reason: 'shape', detail: `base ${JSON.stringify(b.shape)}, tuned ${JSON.stringify(t.shape)}` });
    } else if (!decodable(b) || !decodable(t)) {
      mismatched.push({ name: t.name, reason: 'undecodable', detail: `cannot decode ${decodable(b) ? t.dtype : b.dtype} values` });
    } else pairs.push([b, t]);
  }
  const tunedNames = new Set(tuned.tensors.map((t) => t.name));
  for (const b of base.tensors) if (!tunedNames.has(b.name)) mismatched.push({ name: b.name, reason: 'only-in-base', detail: `not in ${input.tuned}` });
  if (pairs.length === 0) {
    throw new InputError(`${input.base} and ${input.tuned} have no tensor in common (same name and shape); are they the same architecture?`);
  }

  const handles = new FileHandles();
  const tensors: TensorDelta[] = [];
  const totalBytes = pairs.reduce((sum, [b, t]) => sum + b.byteLength + t.byteLength, 0) || 1;
  let doneBytes = 0;
  try {
    for (const [i, [b, t]] of pairs.entries()) {
      throwIfAborted(signal);
      yield { message: `Tensor ${i + 1}/${pairs.length}: ${t.name}`, fraction: doneBytes / totalBytes };
      const numbers = await compare(b, t, handles, signal);
      tensors.push({ name: t.name, dtype: t.dtype, baseDtype: b.dtype, shape: t.shape, ...tensorRole(t.roleName ?? t.name), ...numbers });
      doneBytes += b.byteLength + t.byteLength;
    }
  } finally {
    await handles.close();
  }
  const warnings = [...base.warnings.map((w) => `base: ${w}`), ...tuned.warnings.map((w) => `tuned: ${w}`)];
  if (mismatched.length > 0) warnings.push(`${mismatched.length} tensor(s) could not be compared; see "mismatched"`);
  const deltaSquares = tensors.reduce((s, t) => s + t.deltaL2 ** 2, 0);
  const baseSquares = tensors.reduce((s, t) => s + t.baseL2 ** 2, 0);
  const result: DeltaResult = {
    base: input.base,
    tuned: input.tuned,
    device: 'cpu',
    tensors,
    layers: layerDeltas(tensors),
    mismatched,
    totals: { compared: tensors.length, deltaL2: Math.sqrt(deltaSquares), baseL2: Math.sqrt(baseSquares), relative: baseSquares > 0 ? Math.sqrt(deltaSquares / baseSquares) : null },
    warnings,
  };
  return fisher ? withFisher(result, fisher, input.base) : result;
}

async function weightsOf(path: string, which: string): Promise<CheckpointHeader> {
  const { header } = await openCheckpoint(path);
  if (!header || header.tensors.length === 0) throw new InputError(`${path}: the ${which} checkpoint holds no tensors to compare`);
  // Graph constants (ONNX shapes, indices, mask fills) are not weights a fine-tune changes.
  return { ...header, tensors: header.tensors.filter((t) => !t.graphConstant) };
}

/**
 * A base folder that holds the tuned file too (base.safetensors and tuned.safetensors side by side, the folder
 * picked as base) would read the tuned weights as part of the base and report a delta of mostly zeros.
 */
async function assertDistinctFiles(base: CheckpointHeader, tuned: CheckpointHeader, input: { base: string; tuned: string }): Promise<void> {
  const real = (path: string) => realpath(path).catch(() => resolve(path));
  const tunedFiles = new Set(await Promise.all(tuned.files.map(real)));
  for (const file of base.files) {
    if (tunedFiles.has(await real(file))) {
      throw new InputError(`the base ${input.base} reads ${file}, which is the tuned checkpoint itself; pick the base checkpoint's own file (or a folder that holds only the base)`);
    }
  }
}

const decodable = (t: TensorInfo) => isDecodable(t.dtype) && t.encoding === undefined;

/** Streams both tensors in lockstep; their chunks line up because every layout divides the chunk size. */
async function compare(base: TensorInfo, tuned: TensorInfo, handles: FileHandles, signal?: AbortSignal) {
  const accumulator = new DeltaAccumulator();
  const baseChunks = tensorChunks(base, handles, signal);
  const tunedChunks = tensorChunks(tuned, handles, signal);
  try {
    for (;;) {
      const [b, t] = await Promise.all([baseChunks.next(), tunedChunks.next()]);
      if (b.done || t.done) {
        if (b.done !== t.done) throw new Error(`delta: '${tuned.name}' chunks did not line up`);
        break;
      }
      if (b.value.count !== t.value.count || b.value.offset !== t.value.offset) throw new Error(`delta: '${tuned.name}' chunks did not line up`);
      accumulator.add(b.value.values, t.value.values, t.value.count);
    }
  } finally {
    await Promise.all([baseChunks.return(undefined), tunedChunks.return(undefined)]);
  }
  return accumulator.finish();
}

function layerDeltas(tensors: TensorDelta[]): LayerDelta[] {
  const byLayer = new Map<number | null, TensorDelta[]>();
  for (const t of tensors) byLayer.set(t.layer, [...(byLayer.get(t.layer) ?? []), t]);
  const rows = [...byLayer.entries()]
    .sort(([a], [b]) => (a === null ? 1 : b === null ? -1 : a - b))
    .map(([index, members]) => {
      const deltaL2 = Math.sqrt(members.reduce((s, t) => s + t.deltaL2 ** 2, 0));
      const baseL2 = Math.sqrt(members.reduce((s, t) => s + t.baseL2 ** 2, 0));
      return { index, params: members.reduce((s, t) => s + t.count, 0), deltaL2, baseL2, relative: baseL2 > 0 ? deltaL2 / baseL2 : null };
    });
  const blocks = rows.filter((r): r is typeof r & { index: number } => r.index !== null);
  const ranks = new Map(rank(blocks.map((r) => ({ index: r.index, score: r.deltaL2 }))).map((r) => [r.index, r.rank]));
  return rows.map((r) => ({ ...r, rank: r.index === null ? null : ranks.get(r.index)! }));
}
