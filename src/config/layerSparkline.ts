// The last layer ranking of a model folder, as the config hover shows it: one block character per layer, scaled
// between the lowest and highest score, and the least important layers named.
import type { LayersResult } from '../protocol/results';

/** What is kept of a layer analysis per model folder (small: it lives in the workspace state). */
export interface StoredLayerRanking {
  metric: string;
  device: string;
  /** The analysed path (folder, config.json or weights file). */
  path: string;
  /** ISO time the analysis finished. */
  at: string;
  /** In index order; rank 1 = most important. */
  layers: { index: number; score: number; rank: number }[];
  /** Activation metrics: tokens of text the model ran on. */
  tokens: number | null;
}

const METRIC_LABELS: Record<string, string> = {
  'weight-l2': 'weight L2',
  'block-influence': 'Block Influence',
  angular: 'angular distance',
  ablation: 'ablation Δ perplexity',
  wanda: 'Wanda score',
};

export function layerMetricLabel(metric: string): string {
  return METRIC_LABELS[metric] ?? metric;
}

export function storedRanking(result: LayersResult, at: Date): StoredLayerRanking {
  return {
    metric: result.metric,
    device: result.device,
    path: result.path,
    at: at.toISOString(),
    layers: result.layers.map(({ index, score, rank }) => ({ index, score, rank })),
    tokens: result.text?.tokens ?? null,
  };
}

const BLOCKS = '▁▂▃▄▅▆▇█';

/** One block per score, lowest ▁ to highest █; all equal (or non-finite) scores draw the middle block. */
export function sparkline(scores: readonly number[]): string {
  const finite = scores.filter(Number.isFinite);
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  return scores
    .map((s) => {
      if (!Number.isFinite(s) || !(max > min)) return BLOCKS[3];
      return BLOCKS[Math.round(((s - min) / (max - min)) * (BLOCKS.length - 1))];
    })
    .join('');
}

/** The `count` least important layers (highest rank numbers), least important first. */
export function leastImportant(ranking: StoredLayerRanking, count: number): StoredLayerRanking['layers'] {
  return [...ranking.layers].sort((a, b) => b.rank - a.rank).slice(0, count);
}
