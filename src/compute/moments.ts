// Streaming statistics of a tensor: count, sum of squares, mean and central moments M2..M4, absmax, exact zeros.
// Each chunk is reduced on its own (two passes over data that is in cache), then chunks are merged with Pébay's
// formulas, so kurtosis of a tensor with a large mean does not cancel catastrophically as raw power sums would.

export interface MomentState {
  n: number;
  mean: number;
  m2: number;
  m3: number;
  m4: number;
  sumSquares: number;
  absmax: number;
  zeros: number;
  /** NaN / ±Inf values are counted here and left out of the moments. */
  nonFinite: number;
}

export function emptyMoments(): MomentState {
  return { n: 0, mean: 0, m2: 0, m3: 0, m4: 0, sumSquares: 0, absmax: 0, zeros: 0, nonFinite: 0 };
}

/** The moments of values[0..count). */
export function chunkMoments(values: Float32Array, count: number): MomentState {
  let sum = 0;
  let sumSquares = 0;
  let absmax = 0;
  let zeros = 0;
  let nonFinite = 0;
  for (let i = 0; i < count; i++) {
    const x = values[i]!;
    if (x === 0) {
      zeros++;
      continue;
    }
    if (!Number.isFinite(x)) {
      nonFinite++;
      continue;
    }
    sum += x;
    sumSquares += x * x;
    const a = x < 0 ? -x : x;
    if (a > absmax) absmax = a;
  }
  const n = count - nonFinite;
  if (n === 0) return { ...emptyMoments(), nonFinite };
  const mean = sum / n;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < count; i++) {
    const x = values[i]!;
    if (!Number.isFinite(x)) continue;
    const d = x - mean;
    const d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  return { n, mean, m2, m3, m4, sumSquares, absmax, zeros, nonFinite };
}

/** Pébay (2008), eq. 3.1: combine two sets' central moments. */
export function mergeMoments(a: MomentState, b: MomentState): MomentState {
  if (a.n === 0) return { ...b, nonFinite: a.nonFinite + b.nonFinite };
  if (b.n === 0) return { ...a, nonFinite: a.nonFinite + b.nonFinite };
  const n = a.n + b.n;
  const delta = b.mean - a.mean;
  const d_n = delta / n;
  const d2 = delta * delta;
  const m2 = a.m2 + b.m2 + d2 * a.n * b.n / n;
  const m3 = a.m3 + b.m3 + d2 * delta * a.n * b.n * (a.n - b.n) / (n * n) + 3 * d_n * (a.n * b.m2 - b.n * a.m2);
  const m4 = a.m4 + b.m4
    + d2 * d2 * a.n * b.n * (a.n * a.n - a.n * b.n + b.n * b.n) / (n * n * n)
    + 6 * d_n * d_n * (a.n * a.n * b.m2 + b.n * b.n * a.m2)
    + 4 * d_n * (a.n * b.m3 - b.n * a.m3);
  return {
    n,
    mean: a.mean + d_n * b.n,
    m2, m3, m4,
    sumSquares: a.sumSquares + b.sumSquares,
    absmax: Math.max(a.absmax, b.absmax),
    zeros: a.zeros + b.zeros,
    nonFinite: a.nonFinite + b.nonFinite,
  };
}

export interface TensorMoments {
  count: number;
  l2: number;
  mean: number;
  /** Population standard deviation. */
  std: number;
  absmax: number;
  /** Fraction of elements that are exactly zero. */
  zeros: number;
  /** Excess (Fisher) kurtosis: 0 for a normal distribution; null when undefined (constant tensor). */
  kurtosis: number | null;
  nonFinite: number;
}

export function finishMoments(state: MomentState): TensorMoments {
  const count = state.n + state.nonFinite;
  const variance = state.n > 0 ? state.m2 / state.n : 0;
  return {
    count,
    l2: Math.sqrt(state.sumSquares),
    mean: state.mean,
    std: Math.sqrt(variance),
    absmax: state.absmax,
    zeros: count > 0 ? state.zeros / count : 0,
    kurtosis: variance > 0 ? (state.m4 / state.n) / (variance * variance) - 3 : null,
    nonFinite: state.nonFinite,
  };
}
