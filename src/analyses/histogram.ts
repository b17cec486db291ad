// `histogram`: one tensor's values in equal-width bins, streamed twice in bounded chunks (range, then counts), so a
// tensor of any size costs two reads and no copy. Bin placement follows numpy's np.histogram on float64 values
// (edges from linspace, index from (x − first)·bins/(last − first) corrected against the edges), so the counts
// agree exactly with `np.histogram(values.astype(np.float64), bins)`.
import { isDecodable } from '../compute/decode';
import { FileHandles, tensorChunks } from '../compute/tensorStream';
import { InputError, throwIfAborted } from '../errors';
import { openCheckpoint } from '../formats/open';
import type { HistogramResult, Progress } from '../protocol/results';

export const DEFAULT_BINS = 64;
export const MAX_BINS = 4096;

export async function* histogram(input: { path: string; tensor: string; bins?: number }, signal?: AbortSignal): AsyncGenerator<Progress, HistogramResult> {
  const bins = input.bins ?? DEFAULT_BINS;
  if (!Number.isInteger(bins) || bins < 1 || bins > MAX_BINS) throw new InputError(`histogram: bins must be an integer from 1 to ${MAX_BINS} (got ${bins})`);
  yield { message: `Reading ${input.path}` };
  const opened = await openCheckpoint(input.path);
  const tensor = opened.header?.tensors.find((t) => t.name === input.tensor);
  if (!tensor) throw new InputError(`histogram: ${input.path} has no tensor named '${input.tensor}'`);
  if (!isDecodable(tensor.dtype) || tensor.encoding !== undefined) throw new InputError(`histogram: tensor '${tensor.name}' is ${tensor.dtype}, which this version cannot decode`);
  const handles = new FileHandles();
  try {
    yield { message: `Range of ${tensor.name}`, fraction: 0 };
    let min = Infinity;
    let max = -Infinity;
    let nonFinite = 0;
    for await (const { values, count } of tensorChunks(tensor, handles, signal)) {
      for (let i = 0; i < count; i++) {
        const x = values[i]!;
        if (x - x !== 0) nonFinite++; // NaN or ±Inf
        else {
          if (x < min) min = x;
          if (x > max) max = x;
        }
      }
    }
    throwIfAborted(signal);
    yield { message: `Binning ${tensor.name}`, fraction: 0.5 };
    const binner = histogramBinner(min, max, bins);
    for await (const { values, count } of tensorChunks(tensor, handles, signal)) binner.add(values, count);
    return { path: input.path, tensor: tensor.name, dtype: tensor.dtype, edges: binner.edges, counts: binner.counts, nonFinite };
  } finally {
    await handles.close();
  }
}

export interface HistogramBinner {
  edges: number[];
  counts: number[];
  add(values: ArrayLike<number>, count: number): void;
}

/**
 * numpy's equal-width binning in float64. With no finite value the range is numpy's empty-array [0, 1]; a single
 * value v gets [v − 0.5, v + 0.5]. Non-finite values are skipped (numpy would refuse the array).
 */
export function histogramBinner(min: number, max: number, bins: number): HistogramBinner {
  let first = min <= max ? min : 0;
  let last = min <= max ? max : 1;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  // np.linspace: i·step + start, the last edge set to stop exactly.
  const step = (last - first) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => i * step + first);
  edges[bins] = last;
  const norm = bins / (last - first);
  const counts = new Array<number>(bins).fill(0);
  return {
    edges,
    counts,
    add(values, count) {
      for (let i = 0; i < count; i++) {
        const x = values[i]!;
        if (!(x >= first && x <= last)) continue;
        let index = Math.trunc((x - first) * norm);
        if (index === bins) index--;
        if (x < edges[index]!) index--;
        else if (index !== bins - 1 && x >= edges[index + 1]!) index++;
        counts[index]!++;
      }
    },
  };
}
