// Rank statistics, one copy for the whole project: average ranks with ties, Spearman's ρ, Kendall's τ-b and the
// overlap of two top-k sets. Pure and dependency-free, so the analyses (saliency stability, the CSV agreement) and
// the webview (the Layers view's rank-agreement strip) read the same functions. Ties follow scipy.stats:
// spearmanr ranks tied values by their average rank, kendalltau(variant 'b') corrects for ties in either series.

/** Average ranks (1-based) of `values`; ties share the mean of the ranks they span. */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]!] === values[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = rank;
    i = j + 1;
  }
  return ranks;
}

/** Spearman's ρ of two equally long series; null when it is undefined (fewer than 2 points, or a constant series). */
export function spearman(a: readonly number[], b: readonly number[]): number | null {
  if (a.length !== b.length || a.length < 2) return null;
  const ra = averageRanks(a);
  const rb = averageRanks(b);
  const mean = (a.length + 1) / 2;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < ra.length; i++) {
    const da = ra[i]! - mean;
    const db = rb[i]! - mean;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa === 0 || sbb === 0 ? null : sab / Math.sqrt(saa * sbb);
}

/**
 * Kendall's τ-b: (concordant − discordant) / √((n0 − n1)(n0 − n2)), n0 = n(n−1)/2 pairs, n1 and n2 the pairs tied
 * in a and in b. O(n²) pairs: saliency explains one window (at most a few thousand tokens). null when undefined (fewer
 * than 2 points, or a constant series), as scipy gives NaN there.
 */
export function kendallTauB(a: readonly number[], b: readonly number[]): number | null {
  const n = a.length;
  if (n !== b.length || n < 2) return null;
  let concordant = 0;
  let discordant = 0;
  let tiedA = 0;
  let tiedB = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const da = Math.sign(a[i]! - a[j]!);
      const db = Math.sign(b[i]! - b[j]!);
      if (da === 0) tiedA++;
      if (db === 0) tiedB++;
      if (da !== 0 && db !== 0) {
        if (da === db) concordant++;
        else discordant++;
      }
    }
  }
  const pairs = (n * (n - 1)) / 2;
  const denominator = Math.sqrt((pairs - tiedA) * (pairs - tiedB));
  return denominator === 0 ? null : (concordant - discordant) / denominator;
}

/** Indices of the k largest values, largest first; ties go to the earlier index, so the set is always k long. */
export function topIndices(values: readonly number[], k: number): number[] {
  return values.map((_, i) => i).sort((x, y) => values[y]! - values[x]! || x - y).slice(0, Math.max(0, Math.min(k, values.length)));
}

/** |top-k(a) ∩ top-k(b)| / k: the fraction of a's k highest that are also among b's (1 = the same set). */
export function topKOverlap(a: readonly number[], b: readonly number[], k: number): number {
  const top = new Set(topIndices(a, k));
  const other = topIndices(b, k);
  return other.length === 0 ? 0 : other.filter((i) => top.has(i)).length / other.length;
}
