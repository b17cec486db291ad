// `stats`: per-tensor weight statistics and per-layer aggregates, streamed over every tensor's bytes in bounded
// chunks. The kernels (typed-array loops or small ONNX graphs on the chosen execution provider) are picked in
// compute/statsKernels.ts; with more than one thread the tensors the CPU kernels take are spread over a pool of
// worker threads (compute/statsPool.ts), each tensor reduced whole by one thread, so the numbers do not change.
import { basename } from 'node:path';
import { tensorRole } from '../arch/names';
import { isDecodable } from '../compute/decode';
import { emptyMoments, finishMoments, mergeMoments, type TensorMoments } from '../compute/moments';
import { statsKernels, type StatsKernels } from '../compute/statsKernels';
import { momentNumbers, needsOutlierPass, OUTLIER_SIGMAS, simdTensorStats, type NumericStats } from '../compute/simdTensorStats';
import { batches, StatsPool, threadCount } from '../compute/statsPool';
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

/**
 * `threads`: how many worker threads reduce tensors (default: the machine's cores, capped; 1 runs everything here).
 * `stableRank: false` leaves stable rank out (null) for a run that only needs the moments: it is most of the time
 * of a run (a few passes over every matrix). The CLI offers it as --no-stable-rank; the panel always computes it.
 */
export async function* stats(input: { path: string; providers?: readonly string[]; stableRank?: boolean; threads?: number }, signal?: AbortSignal): AsyncGenerator<Progress, StatsResult> {
  const threads = threadCount(input.threads);
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
  const results: TensorStats[] = new Array(tensors.length);
  const undecodable = new Map<string, number>();
  let bigMatrices = 0;
  let doneBytes = 0;
  let lora: LoraModuleImportance[] | null = null;
  // What each tensor needs, and the order the files are read in: shard by shard, front to back in each.
  const plan = tensors.map((tensor) => {
    if (!isDecodable(tensor.dtype) || tensor.encoding !== undefined) return { tensor, matrix: null, decodable: false };
    const matrix = wantRank ? matrixDims(tensor.shape, gguf) : null;
    if (matrix && tensor.count > STABLE_RANK_MAX_ELEMENTS) bigMatrices++;
    return { tensor, matrix: tensor.count <= STABLE_RANK_MAX_ELEMENTS ? matrix : null, decodable: true };
  });
  const fileIndex = new Map(files.map((f, i) => [f, i]));
  const order = plan.map((_, i) => i).sort((a, b) => (fileIndex.get(tensors[a]!.file) ?? 0) - (fileIndex.get(tensors[b]!.file) ?? 0) || tensors[a]!.byteOffset - tensors[b]!.byteOffset);
  // With threads, every tensor the thread kernels compute exactly as this thread would goes to the pool up front,
  // in read order; the others (an ONNX/GPU kernel, a matrix the WebAssembly product cannot take) stay here.
  const inPool = new Map<number, { batch: Promise<NumericStats[]>; at: number }>();
  const jobs = threads > 1 ? order.filter((i) => plan[i]!.decodable && kernels.inThreads(plan[i]!.matrix)).map((i) => ({ ...plan[i]!, index: i })) : [];
  const groups = batches(jobs);
  const pool = groups.length > 1 ? new StatsPool(Math.min(threads, groups.length), signal) : undefined;
  if (pool) {
    for (const group of groups) {
      const batch = pool.run(group.map(({ tensor, matrix }) => ({ tensor, matrix })));
      group.forEach((job, at) => inPool.set(job.index, { batch, at }));
    }
  }
  try {
    for (const [k, i] of order.entries()) {
      throwIfAborted(signal);
      const { tensor, matrix, decodable } = plan[i]!;
      // A sharded checkpoint says which shard too: on a 70B-class model one shard is minutes of work.
      const shard = files.length > 1 ? ` (shard ${(fileIndex.get(tensor.file) ?? 0) + 1}/${files.length}, ${basename(tensor.file)})` : '';
      yield { message: `Tensor ${k + 1}/${tensors.length}${shard}: ${tensor.name}`, fraction: doneBytes / totalBytes };
      const role = tensorRole(tensor.roleName ?? tensor.name);
      const base = { name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, count: tensor.count, ...role };
      if (!decodable) {
        const why = tensor.encoding === 'varint' ? `${tensor.dtype} stored as varints` : tensor.dtype;
        undecodable.set(why, (undecodable.get(why) ?? 0) + 1);
        results[i] = { ...base, l2: null, mean: null, std: null, absmax: null, zeros: null, kurtosis: null, outliers: null, stableRank: null, stableRankBound: null, nonFinite: 0 };
      } else {
        const pooled = inPool.get(i);
        results[i] = { ...base, ...(pooled ? (await pooled.batch)[pooled.at]! : await tensorStats(tensor, matrix, kernels, handles, signal)) };
      }
      doneBytes += tensor.byteLength;
    }
    if (opened.adapterConfigPath) {
      yield { message: 'LoRA update norms', fraction: 1 };
      const scale = loraScale(await readJsonObject(opened.adapterConfigPath, MAX_JSON_FILE_BYTES));
      lora = await loraImportance(tensors, scale, handles, warnings, signal);
    }
  } finally {
    await Promise.all([handles.close(), kernels.close(), pool?.close()]);
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

async function tensorStats(tensor: TensorInfo, matrix: { rows: number; cols: number } | null, kernels: StatsKernels, handles: FileHandles, signal?: AbortSignal): Promise<NumericStats> {
  if (kernels.simd) return simdTensorStats(tensor, matrix, { ...kernels, simd: kernels.simd }, handles, signal);
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
    return { ...momentNumbers(moments), outliers: outlierFraction([values], moments), stableRank: spectral?.stableRank ?? null, stableRankBound: spectral?.bound ?? null };
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
  return { ...momentNumbers(moments), outliers, stableRank: null, stableRankBound: null };
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
