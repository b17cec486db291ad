// One tensor's statistics through the WebAssembly kernels (moments, outliers, stable rank), the same function on
// the analysis process's main thread (one thread) and in each stats thread (statsThread.ts): a tensor is always
// reduced whole by one thread, in the same chunk order, so its numbers do not depend on the thread count.
import type { TensorStats } from '../protocol/results';
import type { TensorInfo } from '../formats/types';
import { finishMoments, type TensorMoments } from './moments';
import { chunkElements, keptElement, simdTensorMoments, simdTensorOutliers, type OutlierWork, type Reads } from './momentsPass';
import { sampleBand } from './outlierBand';
import type { SimdKernels } from './statsKernels';
import type { FileHandles } from './tensorStream';

/** |x − mean| > OUTLIER_SIGMAS · σ counts as an outlier (docs/analyses.md). */
export const OUTLIER_SIGMAS = 6;

export type NumericStats = Omit<TensorStats, 'name' | 'dtype' | 'shape' | 'count' | 'layer' | 'module'>;

/**
 * How the outliers are counted: 'one-pass' in the moments pass where it can (a tensor of one chunk counted in the
 * kernel's memory once its moments are known; a larger one through a sampled band, outlierBand.ts), falling back
 * to a second pass where it cannot; 'two-pass' always makes the second pass (the earlier way: tests and the bench
 * compare the two).
 */
export type OutlierCounting = 'one-pass' | 'two-pass';

/**
 * One pass for the moments (the matrix gathered when stable rank needs it: a BF16 tensor's bits as they lie, half
 * the bytes for each Lanczos pass to read, else float32) and, in the same pass, the outliers where the band decides
 * them; else a second pass over the file for the outliers (page cache, SIMD: cheaper than a JavaScript loop over
 * the gathered matrix), only when an element can be 6σ out. Both give the same count.
 */
export async function simdTensorStats(tensor: TensorInfo, matrix: { rows: number; cols: number } | null, kernels: SimdKernels, handles: FileHandles, signal?: AbortSignal, reads?: Reads, counting: OutlierCounting = 'one-pass'): Promise<NumericStats> {
  const keep = matrix ? kernels.matrixBuffer(tensor.count, matrix.cols, keptElement(tensor)) : undefined;
  let counted: number | undefined;
  const work: OutlierWork = {};
  if (counting === 'one-pass') {
    if (tensor.count > chunkElements(tensor, kernels.simd)) work.band = await sampleBand(tensor, handles, OUTLIER_SIGMAS);
    work.whole = (chunk, state) => {
      const m = finishMoments(state);
      counted = needsOutlierPass(m) ? kernels.simd.countOutliers(chunk.kind, chunk.offset, chunk.count, m.mean, OUTLIER_SIGMAS * m.std) : 0;
    };
  }
  const moments = finishMoments(await simdTensorMoments(tensor, handles, kernels.simd, signal, keep, reads, work));
  const spectral = matrix && keep ? await kernels.stableRank(keep, matrix.rows, matrix.cols, moments.l2 * moments.l2, signal) : null;
  let outliers = 0;
  if (needsOutlierPass(moments)) {
    counted ??= work.band?.exactCount(moments.mean, OUTLIER_SIGMAS * moments.std);
    counted ??= await simdTensorOutliers(tensor, handles, kernels.simd, moments.mean, OUTLIER_SIGMAS * moments.std, signal, reads);
    outliers = counted / moments.count;
  }
  return { ...momentNumbers(moments), outliers, stableRank: spectral?.stableRank ?? null, stableRankBound: spectral?.bound ?? null };
}

export function momentNumbers(m: TensorMoments): Omit<NumericStats, 'outliers' | 'stableRank' | 'stableRankBound'> {
  return { l2: m.l2, mean: m.mean, std: m.std, absmax: m.absmax, zeros: m.zeros, kurtosis: m.kurtosis, nonFinite: m.nonFinite };
}

/** No element can be 6σ from the mean when |mean| + absmax is within 6σ: skip the second pass. */
export function needsOutlierPass(m: TensorMoments): boolean {
  return m.count > 0 && m.std > 0 && m.absmax + Math.abs(m.mean) > OUTLIER_SIGMAS * m.std;
}
