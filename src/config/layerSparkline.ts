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
  taylor: 'Taylor |W ⊙ ∂L/∂W|',
  fisher: 'Fisher ½ΣF·W²',
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

const BAR = { height: 40, color: '#3794ff', least: '#e8912d' };
/** The chart is about this wide whatever the layer count; bars are 3 to 16 px, a quarter of that apart. */
const CHART_WIDTH = 320;

/**
 * The ranking as a small bar chart, an SVG data URI for a hover image: one bar per layer, scaled between the lowest
 * and highest score, the `highlight` least important layers in orange. Fixed colours that read on light and dark
 * themes alike (an image in a hover gets no theme variables).
 */
export function sparklineSvg(ranking: StoredLayerRanking, highlight: number): string {
  const scores = ranking.layers.map((l) => l.score);
  const finite = scores.filter(Number.isFinite);
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  const least = new Set(leastImportant(ranking, highlight).map((l) => l.index));
  const barWidth = Math.max(3, Math.min(16, Math.floor((0.8 * CHART_WIDTH) / ranking.layers.length)));
  const gap = Math.max(1, Math.round(barWidth / 4));
  const step = barWidth + gap;
  const bars = ranking.layers.map((layer, i) => {
    const fraction = Number.isFinite(layer.score) && max > min ? (layer.score - min) / (max - min) : 0.5;
    const height = Math.round(3 + fraction * (BAR.height - 3));
    return `<rect x="${i * step}" y="${BAR.height - height}" width="${barWidth}" height="${height}" fill="${least.has(layer.index) ? BAR.least : BAR.color}"/>`;
  });
  const width = Math.max(step * ranking.layers.length - gap, 1);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${BAR.height}" viewBox="0 0 ${width} ${BAR.height}">${bars.join('')}</svg>`;
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}

/** The `count` least important layers (highest rank numbers), least important first. */
export function leastImportant(ranking: StoredLayerRanking, count: number): StoredLayerRanking['layers'] {
  return [...ranking.layers].sort((a, b) => b.rank - a.rank).slice(0, count);
}
