// Rank agreement between layer metrics: Spearman's ρ, the Pearson correlation of the ranks, with tied values given
// their average rank (as scipy.stats.spearmanr does; the functions are src/protocol/ranks.ts). Pure: the Layers view
// draws it, the unit test checks it.

import { spearman } from '../src/protocol/ranks';

export { averageRanks, spearman } from '../src/protocol/ranks';

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
