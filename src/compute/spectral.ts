// Stable rank ‖W‖²_F / ‖W‖²_2 of a row-major matrix held in memory, with ‖W‖²_2 = λ_max(WᵀW) from Lanczos on WᵀW
// (the Golub–Kahan bidiagonalisation of W seen through its normal matrix: one pass over W per step, the row
// still in cache for both products). The largest Ritz value θ is a lower bound on λ_max; the Ritz residual
// r = ‖WᵀWy − θy‖ of its vector y (β_k |s_k| in exact arithmetic) bounds how far an eigenvalue of WᵀW lies above
// θ (with a random start, λ_max). Iteration stops once r is within STABLE_RANK_TOLERANCE of θ, or after
// LANCZOS_MAX_STEPS with the bound it reached: the result always carries its bound. A power iteration stopping on
// a relative-change rule (what this replaced) stalls without a word when the top two singular values are close.
// Not used, measured (docs/benchmarks.md): the refined Ritz vector's smaller residual (it stopped a third sooner
// but claimed 0.94 % where the SVD was 1.2 % off), and block Lanczos (fewer passes, each dearer: no gain).

/**
 * Relative accuracy of the stable rank that ends the iteration. 1 %: on an i.i.d. 4096² matrix (the bench's, the
 * hardest case: the top singular values crowd at the edge of the spectrum) the residual bound reaches 1 % in
 * 21–25 passes and 0.3 % only in 47 (docs/benchmarks.md), though the value itself has settled long before.
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

/** z = WᵀW·v for a unit vector v of length cols, as a fresh array; may run elsewhere (onnxruntime) and return a promise. */
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
 * Yields each vector whose product it needs and receives WᵀW·q back (a fresh array, reused as the next vector).
 * Each product z_j is made orthogonal to the basis (classical Gram–Schmidt twice: "twice is enough") and its
 * coefficients kept as column j of M, the remainder's norm below them: WᵀW·Q = Q·M (+ a dropped remainder) holds
 * column by column as computed, so for y = Qs, θ = yᵀWᵀWy = sᵀMs and ‖WᵀWy − θy‖ = ‖(M − θI)s‖ (Q
 * orthonormal): the bound is a small-matrix computation, exact for whatever s the small eigensolver returns, with
 * no stored products and no copy of them (the Jacobi sweeps and copies this replaced were ~10 % of a pass).
 */
function* lanczos(cols: number, frobeniusSquared: number, seed: number, tolerance: number): Generator<Float64Array, SpectralEstimate | null, Float64Array> {
  const maxSteps = Math.min(LANCZOS_MAX_STEPS, cols);
  const basis: Float64Array[] = [];
  // M, row-major (maxSteps + 1) × maxSteps.
  const m = new Float64Array((maxSteps + 1) * maxSteps);
  const h = new Float64Array(maxSteps * maxSteps);
  const coefficients = new Float64Array(maxSteps);
  // The norm of a dropped remainder (no new direction: an invariant subspace), per column: added to residuals.
  const lost = new Float64Array(maxSteps);
  let q: Float64Array = startVector(cols, seed);
  for (let j = 0; j < maxSteps; j++) {
    const z = yield q;
    basis.push(q);
    const k = j + 1;
    coefficients.fill(0);
    const norm = orthogonalise(z, basis, coefficients);
    for (let i = 0; i < k; i++) m[i * maxSteps + j] = coefficients[i]!;
    // A remainder at the rounding level of the column is no new direction.
    const grows = norm > 1e-12 * Math.abs(coefficients[j]!);
    if (grows) m[k * maxSteps + j] = norm;
    else lost[j] = norm;
    const rowsM = grows ? k + 1 : k;
    // Ritz pair: s from the symmetric part of M's square (the float32 products leave it a little asymmetric).
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) h[a * maxSteps + b] = (m[a * maxSteps + b]! + m[b * maxSteps + a]!) / 2;
    const s = topEigenvector(h, maxSteps, k);
    let theta = 0;
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) theta += s[a]! * m[a * maxSteps + b]! * s[b]!;
    if (!(theta > 0)) return null;
    const residual = columnsResidual(m, maxSteps, rowsM, k, s, theta, lost);
    // The residual alone: a gap-sharpened r²/gap needs the gap to the next eigenvalue, which the Ritz values
    // overstate while a close second singular value is still converging (measured: a bound 5× too small).
    if (residual <= tolerance * theta || !grows || k === maxSteps) {
      // Not growing: an invariant subspace, θ exact up to the products' rounding (which the residual measures).
      return { sigmaMax: Math.sqrt(theta), stableRank: frobeniusSquared / theta, bound: residual / (theta + residual), iterations: k };
    }
    q = z;
    for (let i = 0; i < cols; i++) q[i]! /= norm;
  }
  return null;
}

/**
 * ‖(M − θI)·s‖ over M's first `rows` rows (row stride `stride`, k columns), for a unit s, plus what the dropped
 * remainders leave out.
 */
function columnsResidual(m: Float64Array, stride: number, rows: number, k: number, s: Float64Array, theta: number, lost: Float64Array): number {
  let r2 = 0;
  for (let i = 0; i < rows; i++) {
    let row = i < k ? -theta * s[i]! : 0;
    for (let j = 0; j < k; j++) row += m[i * stride + j]! * s[j]!;
    r2 += row * row;
  }
  let extra = 0;
  for (let j = 0; j < k; j++) extra += Math.abs(s[j]!) * lost[j]!;
  return Math.sqrt(r2) + extra;
}

/**
 * w made orthogonal to the (orthonormal) vectors `against`, in place, by Gram–Schmidt twice (each coefficient from
 * the w left by the previous subtraction); the coefficients of both sweeps are added into `coefficients` (index as
 * in `against`). Returns the remainder's norm.
 */
function orthogonalise(w: Float64Array, against: readonly Float64Array[], coefficients: Float64Array): number {
  const count = against.length;
  let c = count > 0 ? dot(against[0]!, w) : 0;
  for (let step = 0; step < 2 * count; step++) {
    const i = step % count;
    const b = against[i]!;
    coefficients[i]! += c;
    // The next vector's dot taken in the same loop as this subtraction, from the values just written: the same
    // sums in the same order as a separate loop, one sweep over w instead of two.
    const following = step + 1 < 2 * count ? against[(step + 1) % count]! : w;
    let next = 0;
    for (let t = 0; t < w.length; t++) {
      const x = w[t]! - c * b[t]!;
      w[t] = x;
      next += following[t]! * x;
    }
    c = next;
  }
  return Math.sqrt(count > 0 ? c : dot(w, w));
}

/**
 * A unit eigenvector of the largest eigenvalue of the symmetric k × k matrix in the top-left corner of `h`
 * (row stride `stride`): Householder reduction to tridiagonal T, T's largest eigenvalue by bisection on Sturm
 * counts, its eigenvector by inverse iteration (T − σI is definite for σ just above it, so the solve needs no
 * pivoting), carried back through the reflections. O(k³), k ≤ 48: well under a millisecond a pass.
 */
export function topEigenvector(h: Float64Array, stride: number, k: number): Float64Array {
  const a = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) a[i * k + j] = h[i * stride + j]!;
  const reflectors: { v: Float64Array; beta: number }[] = [];
  const p = new Float64Array(k);
  for (let c = 0; c + 2 < k; c++) {
    // Reflect a[c+1.., c] onto its first element.
    const m = k - c - 1;
    const v = new Float64Array(m);
    let norm = 0;
    for (let i = 0; i < m; i++) {
      v[i] = a[(c + 1 + i) * k + c]!;
      norm += v[i]! ** 2;
    }
    norm = Math.sqrt(norm);
    if (norm === 0) {
      reflectors.push({ v, beta: 0 });
      continue;
    }
    const alpha = v[0]! >= 0 ? -norm : norm;
    v[0]! -= alpha;
    const vv = dot(v, v);
    const beta = vv === 0 ? 0 : 2 / vv;
    reflectors.push({ v, beta });
    if (beta === 0) continue;
    // A' = (I − βvvᵀ) A (I − βvvᵀ) on the trailing block: p = βAv, w = p − (βpᵀv/2)v, A' = A − vwᵀ − wvᵀ.
    for (let i = 0; i < m; i++) {
      let sum = 0;
      for (let j = 0; j < m; j++) sum += a[(c + 1 + i) * k + c + 1 + j]! * v[j]!;
      p[i] = beta * sum;
    }
    let pv = 0;
    for (let i = 0; i < m; i++) pv += p[i]! * v[i]!;
    const half = (beta * pv) / 2;
    for (let i = 0; i < m; i++) p[i]! -= half * v[i]!;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) a[(c + 1 + i) * k + c + 1 + j]! -= v[i]! * p[j]! + p[i]! * v[j]!;
    }
    a[(c + 1) * k + c] = a[c * k + c + 1] = alpha;
    for (let i = 1; i < m; i++) a[(c + 1 + i) * k + c] = a[c * k + c + 1 + i] = 0;
  }
  const d = Float64Array.from({ length: k }, (_, i) => a[i * k + i]!);
  const e = Float64Array.from({ length: Math.max(k - 1, 0) }, (_, i) => a[(i + 1) * k + i]!);
  // Largest eigenvalue of T: bisection between Gershgorin's bounds on the count of eigenvalues below x.
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < k; i++) {
    const radius = (i > 0 ? Math.abs(e[i - 1]!) : 0) + (i + 1 < k ? Math.abs(e[i]!) : 0);
    lo = Math.min(lo, d[i]! - radius);
    hi = Math.max(hi, d[i]! + radius);
  }
  const scale = Math.max(Math.abs(lo), Math.abs(hi), Number.MIN_VALUE);
  const below = (x: number) => {
    let count = 0;
    let q = 1;
    for (let i = 0; i < k; i++) {
      q = d[i]! - x - (i > 0 ? e[i - 1]! ** 2 / q : 0);
      if (q === 0) q = -1e-300;
      if (q < 0) count++;
    }
    return count;
  };
  for (let it = 0; it < 200 && hi - lo > 1e-15 * scale; it++) {
    const mid = (lo + hi) / 2;
    if (below(mid) >= k) hi = mid;
    else lo = mid;
  }
  // Inverse iteration with σ just above the eigenvalue: T − σI is negative definite, so plain elimination is stable.
  const sigma = hi + 1e-13 * scale;
  let x = new Float64Array(k).fill(1 / Math.sqrt(k));
  for (let it = 0; it < 3; it++) {
    const diag = new Float64Array(k);
    const rhs = Float64Array.from(x);
    for (let i = 0; i < k; i++) {
      diag[i] = d[i]! - sigma - (i > 0 ? e[i - 1]! ** 2 / diag[i - 1]! : 0);
      if (i > 0) rhs[i]! -= (e[i - 1]! / diag[i - 1]!) * rhs[i - 1]!;
    }
    const solved = new Float64Array(k);
    for (let i = k - 1; i >= 0; i--) solved[i] = (rhs[i]! - (i + 1 < k ? e[i]! * solved[i + 1]! : 0)) / diag[i]!;
    const norm = Math.sqrt(dot(solved, solved));
    x = solved.map((value) => value / norm);
  }
  // Back through the reflections, last first: s = H₀H₁…x.
  for (let c = reflectors.length - 1; c >= 0; c--) {
    const { v, beta } = reflectors[c]!;
    if (beta === 0) continue;
    let vx = 0;
    for (let i = 0; i < v.length; i++) vx += v[i]! * x[c + 1 + i]!;
    for (let i = 0; i < v.length; i++) x[c + 1 + i]! -= beta * vx * v[i]!;
  }
  return x;
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

