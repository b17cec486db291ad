// Stable rank ‖W‖²_F / ‖W‖²_2 of a row-major matrix held in memory, with ‖W‖²_2 = λ_max(WᵀW) from Lanczos on WᵀW
// (the Golub–Kahan bidiagonalisation of W seen through its normal matrix: one pass over W per step, the row
// still in cache for both products). The largest Ritz value θ is a lower bound on λ_max; the Ritz residual
// r = β_k |s_k| bounds how far an eigenvalue of WᵀW lies above θ (with a random start, λ_max). Iteration stops once r is
// within STABLE_RANK_TOLERANCE of θ, or after LANCZOS_MAX_STEPS with the bound it reached: the result always
// carries its bound. A power iteration stopping on a relative-change rule (what this replaced) stalls without a
// word when the top two singular values are close.

/**
 * Relative accuracy of the stable rank that ends the iteration. 1 %: on an i.i.d. 4096² matrix (the bench's, the
 * hardest case: the top singular values crowd at the edge of the spectrum) the residual bound reaches 1 % in
 * 21 passes and 0.3 % only in 47 (docs/benchmarks.md), though the value itself has settled long before.
 */
export const STABLE_RANK_TOLERANCE = 1e-2;
export const LANCZOS_MAX_STEPS = 48;

export interface SpectralEstimate {
  sigmaMax: number;
  stableRank: number;
  /** Relative bound: the exact stable rank lies in [stableRank·(1 − bound), stableRank]. */
  bound: number;
  /** Passes over W (products WᵀW·v). */
  iterations: number;
}

/** z = WᵀW·v for a unit vector v of length cols; may run elsewhere (onnxruntime) and return a promise. */
export type GramProduct = (v: Float64Array) => Float64Array | Promise<Float64Array>;

/** `seed` makes the start vector reproducible, so the CLI and the panel print the same numbers. */
export function stableRank(values: Float32Array, rows: number, cols: number, frobeniusSquared: number, seed = 0x5eed, tolerance = STABLE_RANK_TOLERANCE): SpectralEstimate | null {
  if (rows === 0 || cols === 0 || frobeniusSquared === 0) return null;
  // Synchronous driver over the JS product: the same recurrence as lanczosStableRank without awaits.
  const run = lanczos(cols, frobeniusSquared, seed, tolerance);
  let step = run.next();
  while (!step.done) step = run.next(gramProduct(values, rows, cols, step.value));
  return step.value;
}

/** The same estimate with the product supplied by a kernel (onnxruntime). */
export async function lanczosStableRank(product: GramProduct, cols: number, frobeniusSquared: number, seed = 0x5eed, tolerance = STABLE_RANK_TOLERANCE): Promise<SpectralEstimate | null> {
  if (cols === 0 || frobeniusSquared === 0) return null;
  const run = lanczos(cols, frobeniusSquared, seed, tolerance);
  let step = run.next();
  while (!step.done) step = run.next(await product(step.value));
  return step.value;
}

/** WᵀW·v in one pass over W: for each row, u_r = w_r·v, then z += u_r·w_r while the row is in cache. */
export function gramProduct(values: Float32Array, rows: number, cols: number, v: Float64Array): Float64Array {
  const z = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let dot = 0;
    for (let c = 0; c < cols; c++) dot += values[base + c]! * v[c]!;
    if (dot === 0) continue;
    for (let c = 0; c < cols; c++) z[c]! += values[base + c]! * dot;
  }
  return z;
}

/**
 * Lanczos with full reorthogonalisation (at most LANCZOS_MAX_STEPS vectors of `cols`: 48 × 4096 × 8 B = 1.5 MB).
 * Yields each vector whose product it needs and receives WᵀW·q back.
 */
function* lanczos(cols: number, frobeniusSquared: number, seed: number, tolerance: number): Generator<Float64Array, SpectralEstimate | null, Float64Array> {
  const maxSteps = Math.min(LANCZOS_MAX_STEPS, cols);
  const basis: Float64Array[] = [startVector(cols, seed)];
  const alpha: number[] = [];
  const beta: number[] = [];
  let theta = 0;
  let delta = Infinity;
  for (let j = 0; j < maxSteps; j++) {
    const q = basis[j]!;
    const z = Float64Array.from(yield q);
    alpha.push(dot(q, z));
    // Twice against every basis vector (classical Gram–Schmidt, "twice is enough"): the Ritz values stay honest.
    for (let pass = 0; pass < 2; pass++) {
      for (const b of basis) {
        const c = dot(b, z);
        for (let i = 0; i < cols; i++) z[i]! -= c * b[i]!;
      }
    }
    const next = Math.sqrt(dot(z, z));
    const { values, lastComponents } = tridiagonalEigen(alpha, beta);
    const top = argmax(values);
    theta = values[top]!;
    if (theta <= 0) return null;
    const residual = next * Math.abs(lastComponents[top]!);
    // The residual alone: a gap-sharpened r²/gap needs the gap to the next eigenvalue, which the Ritz values
    // overstate while a close second singular value is still converging (measured: a bound 5× too small).
    delta = residual;
    // An invariant subspace (β ≈ 0) makes θ exact up to rounding.
    if (next <= 1e-12 * theta) delta = 0;
    if (delta <= tolerance * theta || next <= 1e-12 * theta || j + 1 === maxSteps) {
      const bound = Math.max(delta / (theta + delta), 0);
      return { sigmaMax: Math.sqrt(theta), stableRank: frobeniusSquared / theta, bound, iterations: j + 1 };
    }
    beta.push(next);
    for (let i = 0; i < cols; i++) z[i]! /= next;
    basis.push(z);
  }
  return null;
}

/**
 * Eigenvalues of the symmetric tridiagonal matrix (diagonal `alpha`, off-diagonal `beta`) and the last component
 * of each unit eigenvector, by cyclic Jacobi (at most 48 × 48: microseconds next to a pass over W).
 */
export function tridiagonalEigen(alpha: readonly number[], beta: readonly number[]): { values: Float64Array; lastComponents: Float64Array } {
  const n = alpha.length;
  const a = new Float64Array(n * n);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    a[i * n + i] = alpha[i]!;
    v[i * n + i] = 1;
    if (i + 1 < n) a[i * n + i + 1] = a[(i + 1) * n + i] = beta[i]!;
  }
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const tau = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  const lastComponents = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    values[i] = a[i * n + i]!;
    lastComponents[i] = v[(n - 1) * n + i]!;
  }
  return { values, lastComponents };
}

/** The reproducible unit start vector (shared with the ONNX kernel). */
export function startVector(cols: number, seed = 0x5eed): Float64Array<ArrayBuffer> {
  let state = seed >>> 0;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296 - 0.5;
  };
  const v = new Float64Array(cols).map(random);
  const norm = Math.sqrt(dot(v, v));
  for (let i = 0; i < cols; i++) v[i]! /= norm;
  return v;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function argmax(values: Float64Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
