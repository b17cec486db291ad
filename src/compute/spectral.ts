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
  let state = seed >>> 0;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296 - 0.5;
  };
  let v = new Float64Array(cols).map(random);
  normalise(v);
  const u = new Float64Array(rows);
  let sigma = 0;
  let iterations = 0;
  for (; iterations < POWER_ITERATIONS; iterations++) {
    // u = W v
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let dot = 0;
      for (let c = 0; c < cols; c++) dot += values[base + c]! * v[c]!;
      u[r] = dot;
    }
    const next = Math.sqrt(u.reduce((s, x) => s + x * x, 0));
    // v = Wᵀ u / ‖Wᵀ u‖
    const w = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      const ur = u[r]!;
      if (ur === 0) continue;
      for (let c = 0; c < cols; c++) w[c]! += values[base + c]! * ur;
    }
    if (normalise(w) === 0) break;
    v = w;
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

function normalise(v: Float64Array): number {
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return norm;
}
