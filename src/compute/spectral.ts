// Stable rank ‖W‖²_F / ‖W‖²_2 of a row-major matrix held in memory, with ‖W‖_2 from power iteration on WᵀW.
// The Rayleigh-quotient estimate of σ_max converges from below, so the stable rank is approached from above;
// POWER_ITERATIONS bounds the work, POWER_TOLERANCE stops early once σ settles.

export const POWER_ITERATIONS = 20;
export const POWER_TOLERANCE = 1e-4;

export interface SpectralEstimate {
  sigmaMax: number;
  stableRank: number;
  iterations: number;
}

/** `seed` makes the start vector reproducible, so the CLI and the panel print the same numbers. */
export function stableRank(values: Float32Array, rows: number, cols: number, frobeniusSquared: number, seed = 0x5eed): SpectralEstimate | null {
  if (rows === 0 || cols === 0 || frobeniusSquared === 0) return null;
  let v = startVector(cols, seed);
  let w = new Float64Array(cols);
  let sigma = 0;
  let iterations = 0;
  for (; iterations < POWER_ITERATIONS; iterations++) {
    // One pass over W per iteration: for each row, u_r = w_r·v, then w += u_r·w_r while the row is still in
    // cache. ‖u‖ = ‖Wv‖ estimates σ_max; w = WᵀWv is the next direction.
    w.fill(0);
    let uNormSquared = 0;
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let dot = 0;
      for (let c = 0; c < cols; c++) dot += values[base + c]! * v[c]!;
      uNormSquared += dot * dot;
      if (dot === 0) continue;
      for (let c = 0; c < cols; c++) w[c]! += values[base + c]! * dot;
    }
    const next = Math.sqrt(uNormSquared);
    if (normalise(w) === 0) break;
    [v, w] = [w, v];
    const settled = Math.abs(next - sigma) <= POWER_TOLERANCE * next;
    sigma = next;
    if (settled) {
      iterations++;
      break;
    }
  }
  if (sigma === 0) return null;
  return { sigmaMax: sigma, stableRank: frobeniusSquared / (sigma * sigma), iterations };
}

/** The reproducible unit start vector of the power iteration (shared with the ONNX kernel). */
export function startVector(cols: number, seed = 0x5eed): Float64Array<ArrayBuffer> {
  let state = seed >>> 0;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296 - 0.5;
  };
  const v = new Float64Array(cols).map(random);
  normalise(v);
  return v;
}

function normalise(v: Float64Array): number {
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return norm;
}
