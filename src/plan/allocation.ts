// Per-block sparsity ratios. Uniform gives every block the target. OWL (Yin et al., 2023) gives blocks with more
// outliers less sparsity: D_l = fraction of the block's scores above M × their mean; the D_l are scaled to
// [0, 2λ], centred, and subtracted from the target, so ratios stay within target ± λ and average to it (OWL's
// reference code: ratio_l = S − (n_l − mean n), n_l = 2λ(D_l − min D)/(max D − min D)).
import { FileHandles, tensorChunks } from '../compute/tensorStream';
import { throwIfAborted } from '../errors';
import type { Progress } from '../protocol/results';
import { featureAndOutput, type LinearWeight } from './linearWeights';
import type { LayerSparsity } from './types';

/** Largest ratio a plan may ask for: a row keeps at least 1% of its weights. */
export const MAX_RATIO = 0.99;

async function* scores(weight: LinearWeight, handles: FileHandles, signal?: AbortSignal): AsyncGenerator<{ values: Float32Array; count: number }> {
  for await (const chunk of tensorChunks(weight.tensor, handles, signal)) {
    const { values, count, offset } = chunk;
    if (weight.norms) for (let k = 0; k < count; k++) values[k] = Math.abs(values[k]!) * weight.norms[featureAndOutput(weight, offset + k)[0]]!;
    else for (let k = 0; k < count; k++) values[k] = Math.abs(values[k]!);
    yield { values, count };
  }
}

/** D_l per block: two streaming passes over its weights (mean, then the count above threshold × mean). */
export async function* outlierRatios(weights: readonly LinearWeight[], layers: number, threshold: number, signal?: AbortSignal): AsyncGenerator<Progress, number[]> {
  const handles = new FileHandles();
  try {
    const ratios: number[] = [];
    for (let layer = 0; layer < layers; layer++) {
      throwIfAborted(signal);
      yield { message: `Outlier ratio of block ${layer}`, fraction: layer / layers };
      const own = weights.filter((w) => w.layer === layer);
      let sum = 0;
      let n = 0;
      for (const weight of own) for await (const { values, count } of scores(weight, handles, signal)) for (let k = 0; k < count; k++) sum += values[k]!;
      for (const weight of own) n += weight.tensor.count;
      const limit = threshold * (n > 0 ? sum / n : 0);
      let above = 0;
      for (const weight of own) for await (const { values, count } of scores(weight, handles, signal)) for (let k = 0; k < count; k++) if (values[k]! > limit) above++;
      ratios.push(n > 0 ? above / n : 0);
    }
    return ratios;
  } finally {
    await handles.close();
  }
}

export function owlRatios(target: number, outliers: readonly number[], lambda: number): number[] {
  const min = Math.min(...outliers);
  const max = Math.max(...outliers);
  if (!(max > min)) return outliers.map(() => target);
  const scaled = outliers.map((d) => ((d - min) / (max - min)) * 2 * lambda);
  const mean = scaled.reduce((s, v) => s + v, 0) / scaled.length;
  return scaled.map((v) => Math.min(MAX_RATIO, Math.max(0, target - (v - mean))));
}

export function allocation(target: number, outliers: readonly number[] | null, lambda: number): LayerSparsity[] {
  if (!outliers) return [];
  const ratios = owlRatios(target, outliers, lambda);
  return ratios.map((ratio, layer) => ({ layer, ratio: round(ratio), outlierRatio: round(outliers[layer]!) }));
}

/** Plans are read and edited by people: six decimals are plenty. */
export const round = (value: number): number => Math.round(value * 1e6) / 1e6;

/** Weights a ratio zeroes in one weight: floor(ratio × inputs) per output, as Wanda's reference does. */
export function zeroedIn(weight: LinearWeight, ratio: number): number {
  return perOutput(ratio, weight.inputs) * weight.outputs;
}

/** Weights zeroed per output; the epsilon keeps 0.29 × 100 from flooring to 28. */
export function perOutput(ratio: number, inputs: number): number {
  return Math.min(inputs, Math.floor(ratio * inputs + 1e-9));
}
