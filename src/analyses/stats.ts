// `stats`: per-tensor weight statistics and per-layer aggregates, streamed over every tensor's bytes in bounded
// chunks. The kernels (typed-array loops or small ONNX graphs on the chosen execution provider) are picked in
// compute/statsKernels.ts.
import { basename } from 'node:path';
import { tensorRole } from '../arch/names';
import { isDecodable } from '../compute/decode';
import { emptyMoments, finishMoments, mergeMoments, type TensorMoments } from '../compute/moments';
import { statsKernels, type StatsKernels } from '../compute/statsKernels';
import { simdTensorMoments, simdTensorOutliers } from '../compute/momentsPass';
import { FileHandles, tensorChunks } from '../compute/tensorStream';
import { throwIfAborted } from '../errors';
import { openCheckpoint } from '../formats/open';
import type { TensorInfo } from '../formats/types';
import type { LayerStats, LoraModuleImportance, Progress, StatsResult, TensorStats } from '../protocol/results';
import { loraScale } from '../arch/adapter';
import { readJsonObject } from '../formats/fileio';
import { MAX_JSON_FILE_BYTES } from '../formats/limits';
import { loraImportance } from './loraImportance';

/** 2-D tensors up to this many elements are held in memory (64 MB as float32) for the power iteration. */
export const STABLE_RANK_MAX_ELEMENTS = 1 << 24;
const OUTLIER_SIGMAS = 6;

/**
 * `stableRank: false` leaves stable rank out (null) for a run that only needs the moments: it is most of the time
 * of a run (a few passes over every matrix). The CLI offers it as --no-stable-rank; the panel always computes it.
 */
export async function* stats(input: { path: string; providers?: readonly string[]; stableRank?: boolean }, signal?: AbortSignal): AsyncGenerator<Progress, StatsResult> {
  yield { message: `Reading ${input.path}` };
  const opened = await openCheckpoint(input.path);
  const header = opened.header;
  const wantRank = input.stableRank !== false;
  const files = header?.files ?? [];
  const gguf = header?.format === 'gguf';
  // Graph constants (ONNX shapes, indices, mask fills) are not weights: an INT64 max alone would outweigh a block.
  const tensors = (header?.tensors ?? []).filter((t) => !t.graphConstant);
  const warnings = [...(header?.warnings ?? [])];
  const totalBytes = tensors.reduce((sum, t) => sum + t.byteLength, 0) || 1;
  const handles = new FileHandles();
  const kernels = await statsKernels(input.providers);
  const results: TensorStats[] = [];
  const undecodable = new Map<string, number>();
  let bigMatrices = 0;
  let doneBytes = 0;
  let lora: LoraModuleImportance[] | null = null;
  try {
    for (const [i, tensor] of tensors.entries()) {
      throwIfAborted(signal);
      // A sharded checkpoint says which shard too: on a 70B-class model one shard is minutes of work.
      const shard = files.length > 1 ? ` (shard ${files.indexOf(tensor.file) + 1}/${files.length}, ${basename(tensor.file)})` : '';
      yield { message: `Tensor ${i + 1}/${tensors.length}${shard}: ${tensor.name}`, fraction: doneBytes / totalBytes };
      const role = tensorRole(tensor.roleName ?? tensor.name);
      const base = { name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, count: tensor.count, ...role };
      if (!isDecodable(tensor.dtype) || tensor.encoding !== undefined) {
        const why = tensor.encoding === 'varint' ? `${tensor.dtype} stored as varints` : tensor.dtype;
        undecodable.set(why, (undecodable.get(why) ?? 0) + 1);
        results.push({ ...base, l2: null, mean: null, std: null, absmax: null, zeros: null, kurtosis: null, outliers: null, stableRank: null, stableRankBound: null, nonFinite: 0 });
      } else {
        const matrix = wantRank ? matrixDims(tensor.shape, gguf) : null;
        if (matrix && tensor.count > STABLE_RANK_MAX_ELEMENTS) bigMatrices++;
        results.push({ ...base, ...(await tensorStats(tensor, tensor.count <= STABLE_RANK_MAX_ELEMENTS ? matrix : null, kernels, handles, signal)) });
      }
      doneBytes += tensor.byteLength;
    }
    if (opened.adapterConfigPath) {
      yield { message: 'LoRA update norms', fraction: 1 };
      const scale = loraScale(await readJsonObject(opened.adapterConfigPath, MAX_JSON_FILE_BYTES));
      lora = await loraImportance(tensors, scale, handles, warnings, signal);
    }
  } finally {
    await Promise.all([handles.close(), kernels.close()]);
  }
  for (const [what, count] of undecodable) warnings.push(`${count} tensor(s) of ${what} have no statistics: this version cannot decode ${what}`);
  if (bigMatrices > 0) warnings.push(`stable rank skipped for ${bigMatrices} matrices above ${STABLE_RANK_MAX_ELEMENTS} elements`);
  const parameters = tensors.reduce((sum, t) => sum + t.count, 0);
  return { path: input.path, format: header?.format ?? 'config', device: kernels.device, devicesSkipped: kernels.skipped, parameters, tensors: results, layers: layerStats(results, parameters), lora, warnings };
}

/**
 * Rows and columns of a 2-D tensor's row-major bytes. GGUF lists dims innermost-first (ne[0] is the length of a
 * row), the other formats outermost-first; taking a GGUF [ne0, ne1] as ne0 rows would reshape the matrix, not
 * transpose it, and change its spectrum.
 */
export function matrixDims(shape: readonly number[], innermostFirst: boolean): { rows: number; cols: number } | null {
  if (shape.length !== 2 || shape[0] === 0 || shape[1] === 0) return null;
  return innermostFirst ? { rows: shape[1]!, cols: shape[0]! } : { rows: shape[0]!, cols: shape[1]! };
}

type NumericStats = Omit<TensorStats, 'name' | 'dtype' | 'shape' | 'count' | 'layer' | 'module'>;

async function tensorStats(tensor: TensorInfo, matrix: { rows: number; cols: number } | null, kernels: StatsKernels, handles: FileHandles, signal?: AbortSignal): Promise<NumericStats> {
  if (kernels.simd) {
    // One pass for the moments (the matrix gathered as float32 when stable rank needs it), a second over the
    // file for the outliers (page cache, SIMD: cheaper than a JavaScript loop over the gathered matrix), only
    // when an element can be 6σ out.
    const keep = matrix ? kernels.matrixBuffer(tensor.count, matrix.cols) : undefined;
    const moments = finishMoments(await simdTensorMoments(tensor, handles, kernels.simd, signal, keep));
    const spectral = matrix && keep ? await kernels.stableRank(keep, matrix.rows, matrix.cols, moments.l2 * moments.l2, signal) : null;
    let outliers = 0;
    if (needsOutlierPass(moments)) outliers = (await simdTensorOutliers(tensor, handles, kernels.simd, moments.mean, OUTLIER_SIGMAS * moments.std, signal)) / moments.count;
    return { ...numbers(moments), outliers, stableRank: spectral?.stableRank ?? null, stableRankBound: spectral?.bound ?? null };
  }
  if (matrix) {
    // Moments per chunk while the chunk is in cache (a second pass over a 64 MB matrix is memory-bound), and the
    // chunks gathered into the whole matrix the power iteration needs.
    const values = new Float32Array(tensor.count);
    let state = emptyMoments();
    for await (const chunk of tensorChunks(tensor, handles, signal)) {
      values.set(chunk.values.subarray(0, chunk.count), chunk.offset);
      state = mergeMoments(state, await kernels.moments(chunk.values, chunk.count));
    }
    const moments = finishMoments(state);
    const spectral = await kernels.stableRank(values, matrix.rows, matrix.cols, moments.l2 * moments.l2, signal);
    return { ...numbers(moments), outliers: outlierFraction([values], moments), stableRank: spectral?.stableRank ?? null, stableRankBound: spectral?.bound ?? null };
  }
  let state = emptyMoments();
  for await (const { values, count } of tensorChunks(tensor, handles, signal)) state = mergeMoments(state, await kernels.moments(values, count));
  const moments = finishMoments(state);
  let outliers = 0;
  if (needsOutlierPass(moments)) {
    let over = 0;
    for await (const { values, count } of tensorChunks(tensor, handles, signal)) over += countOutliers(values, count, moments);
    outliers = over / moments.count;
  }
  return { ...numbers(moments), outliers, stableRank: null, stableRankBound: null };
}

function numbers(m: TensorMoments): Omit<NumericStats, 'outliers' | 'stableRank' | 'stableRankBound'> {
  return { l2: m.l2, mean: m.mean, std: m.std, absmax: m.absmax, zeros: m.zeros, kurtosis: m.kurtosis, nonFinite: m.nonFinite };
}

/** No element can be 6σ from the mean when |mean| + absmax is within 6σ: skip the second pass. */
function needsOutlierPass(m: TensorMoments): boolean {
  return m.count > 0 && m.std > 0 && m.absmax + Math.abs(m.mean) > OUTLIER_SIGMAS * m.std;
}

function outlierFraction(chunks: Float32Array[], m: TensorMoments): number {
  if (!needsOutlierPass(m)) return 0;
  return chunks.reduce((sum, c) => sum + countOutliers(c, c.length, m), 0) / m.count;
}

/**
 * Elements with |x − mean| > 6σ. docs/analyses.md writes |x| > 6σ, which is the same for zero-centred weights but
 * calls every element of a norm weight (mean ≈ 1, σ ≈ 0.01) an outlier; centring keeps the number meaningful.
 */
function countOutliers(values: Float32Array, count: number, m: TensorMoments): number {
  const limit = OUTLIER_SIGMAS * m.std;
  const mean = m.mean;
  let over = 0;
  for (let i = 0; i < count; i++) {
    const d = values[i]! - mean;
    if (d > limit || d < -limit) over++;
  }
  return over;
}

function layerStats(tensors: TensorStats[], parameters: number): LayerStats[] {
  const byLayer = new Map<number | null, TensorStats[]>();
  // Appended in place: copying the group for every member was quadratic (200 000 tensors of one group: minutes).
  for (const t of tensors) {
    const members = byLayer.get(t.layer);
    if (members === undefined) byLayer.set(t.layer, [t]);
    else members.push(t);
  }
  const weighted = (members: TensorStats[], pick: (t: TensorStats) => number | null) => {
    let sum = 0;
    let weight = 0;
    for (const t of members) {
      const value = pick(t);
      if (value === null) continue;
      sum += value * t.count;
      weight += t.count;
    }
    return weight > 0 ? sum / weight : null;
  };
  return [...byLayer.entries()]
    .sort(([a], [b]) => (a === null ? 1 : b === null ? -1 : a - b))
    .map(([index, members]) => {
      const params = members.reduce((sum, t) => sum + t.count, 0);
      return {
        index,
        params,
        share: parameters > 0 ? params / parameters : 0,
        l2: Math.sqrt(members.reduce((sum, t) => sum + (t.l2 ?? 0) ** 2, 0)),
        kurtosis: weighted(members, (t) => t.kurtosis),
        outliers: weighted(members, (t) => t.outliers),
      };
    });
}
