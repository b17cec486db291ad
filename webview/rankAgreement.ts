// Rank agreement between layer metrics: Spearman's ρ, the Pearson correlation of the ranks, with tied values given
// their average rank (as scipy.stats.spearmanr does). Pure: the Layers view draws it, the unit test checks it.

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

export interface RankedSeries {
  key: string;
  label: string;
  /** Score per layer index. */
  scores: Map<number, number>;
}

export interface Agreement {
  a: RankedSeries;
  b: RankedSeries;
  rho: number | null;
  /** Layers both series score. */
  layers: number;
}

/** ρ for every pair of series, over the layers both score. */
export function pairwiseAgreement(series: readonly RankedSeries[]): Agreement[] {
  const pairs: Agreement[] = [];
  for (let i = 0; i < series.length; i++) {
    for (let j = i + 1; j < series.length; j++) {
      const a = series[i]!;
      const b = series[j]!;
      const common = [...a.scores.keys()].filter((index) => b.scores.has(index));
      pairs.push({ a, b, layers: common.length, rho: spearman(common.map((k) => a.scores.get(k)!), common.map((k) => b.scores.get(k)!)) });
    }
  }
  return pairs;
}
