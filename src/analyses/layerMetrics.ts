// The layer metrics `layers` offers and the ranking every per-layer result uses, apart from layers.ts so the
// activation metrics (activationLayers.ts, which layers.ts dispatches to) can use them without importing it back.
import { InputError } from '../errors';

export const LAYER_METRICS = ['weight-l2', 'block-influence', 'angular', 'ablation', 'wanda', 'taylor', 'fisher'] as const;
export type LayerMetric = (typeof LAYER_METRICS)[number];

export function parseLayerMetric(value: string | undefined): LayerMetric {
  const metric = value ?? 'weight-l2';
  if (!(LAYER_METRICS as readonly string[]).includes(metric)) throw new InputError(`unknown metric '${metric}' (one of ${LAYER_METRICS.join(', ')})`);
  return metric as LayerMetric;
}

/** Rank 1 = highest score; ties share the order of their index. */
export function rank<T extends { index: number; score: number }>(rows: T[]): (T & { rank: number })[] {
  const order = [...rows].sort((a, b) => b.score - a.score || a.index - b.index);
  const ranks = new Map(order.map((row, i) => [row.index, i + 1]));
  return rows.map((row) => ({ ...row, rank: ranks.get(row.index)! }));
}
