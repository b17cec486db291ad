// `layers`: one importance score per block, ranked (1 = most important). weight-l2 is the Frobenius norm of the
// block's weights; the activation metrics (block-influence, angular, ablation) run the model (activationLayers.ts).
import { InputError } from '../errors';
import type { LayersResult, Progress } from '../protocol/results';
import type { TextSource } from '../protocol/worker';
import { activationLayers } from './activationLayers';
import { stats } from './stats';
import { rank, type LayerMetric } from './layerMetrics';

export { LAYER_METRICS, parseLayerMetric, rank, type LayerMetric } from './layerMetrics';

export interface LayersInput {
  path: string;
  metric: LayerMetric;
  text?: TextSource;
  maxTokens?: number;
  providers?: readonly string[];
  residualStream?: readonly string[];
}

export async function* layers(input: LayersInput, signal?: AbortSignal): AsyncGenerator<Progress, LayersResult> {
  if (input.metric !== 'weight-l2') {
    if (!input.text) throw new InputError(`metric '${input.metric}' runs the model on a text: give one with --text-file (or the importanceLens.sampleTextFile setting)`);
    return yield* activationLayers({ model: input.path, metric: input.metric, text: input.text, ...(input.maxTokens ? { maxTokens: input.maxTokens } : {}), ...(input.providers ? { providers: input.providers } : {}), ...(input.residualStream ? { residualStream: input.residualStream } : {}) }, signal);
  }
  const weights = yield* stats(input, signal);
  const blocks = weights.layers.filter((l): l is typeof l & { index: number } => l.index !== null);
  if (blocks.length === 0) throw new InputError(`${input.path}: no tensor belongs to a numbered block, so there are no layers to rank`);
  // For a LoRA adapter the block's weight is the update it makes, √Σ‖ΔW‖², not the norm of its small factors.
  const lora = weights.lora && weights.lora.length > 0 ? weights.lora : null;
  const score = (index: number, l2: number) => (lora ? Math.sqrt(lora.filter((m) => m.layer === index).reduce((s, m) => s + (m.deltaNorm ?? m.productNorm) ** 2, 0)) : l2);
  return {
    metric: input.metric,
    device: weights.device,
    path: input.path,
    layers: rank(blocks.map((l) => ({ index: l.index, score: score(l.index, l.l2), params: l.params }))),
    warnings: weights.warnings,
  };
}
