// The layer metrics: one row each, read by everything that names, offers, admits or explains one — the CLI's
// `layers --metric` (analyses/layerMetrics.ts), the worker request type, Restricted Mode (a metric that runs the
// model is refused there), plan choices, the panel's metric dropdown and its definitions, the hover's ranking chart,
// progress and error titles. Here, under protocol/, because the webview reads it too (it imports only protocol/).
// Adding a metric: a row here, its computation in src/analyses/ (dispatched by layers.ts), its reference test.

export interface LayerMetricInfo {
  /** The id on the CLI and in JSON results (`layers --metric ID`). */
  id: string;
  /** As a title or a dropdown entry. */
  label: string;
  /** Inside a sentence ("Computing angular distance was cancelled"). */
  inSentence: string;
  /** What the number is, shown under the bars. */
  definition: string;
  /** True when it runs the model on a text (and so is refused in Restricted Mode and needs a tokenizer). */
  needsText: boolean;
  /** True when it runs the backward graphs (not offered for the MoE families, whose experts run outside the block graph). */
  needsGradients?: boolean;
}

export const LAYER_METRIC_INFO = [
  { id: 'weight-l2', label: 'Weight L2', inSentence: 'weight L2', needsText: false,
    definition: 'Weight L2 = Frobenius norm of the block’s weights; reads no text (the perplexity beside it does).' },
  { id: 'block-influence', label: 'Block Influence', inSentence: 'Block Influence', needsText: true,
    definition: 'Block Influence = 1 − mean over tokens of cos(block input, block output) (ShortGPT); higher = the block changes the hidden state more.' },
  { id: 'angular', label: 'Angular distance', inSentence: 'angular distance', needsText: true,
    definition: 'Angular distance = mean over tokens of arccos(cos(block input, block output))/π; higher = the block turns the hidden state further.' },
  { id: 'ablation', label: 'Ablation Δ perplexity', inSentence: 'ablation Δ perplexity', needsText: true,
    definition: 'Δ perplexity = perplexity with the block skipped (its residual update left out) − the full model’s; higher = removing the block hurts more.' },
  { id: 'wanda', label: 'Wanda |W|·‖X‖', inSentence: 'Wanda scores', needsText: true,
    definition: 'Wanda = mean over the block’s linear weights of |W|·‖X‖₂, X the layer inputs on the text; higher = larger weights on stronger signals.' },
  { id: 'taylor', label: 'Taylor |W ⊙ ∂L/∂W|', inSentence: 'Taylor |W ⊙ ∂L/∂W| scores', needsText: true, needsGradients: true,
    definition: 'First-order Taylor importance (LLM-Pruner) = Σ over the block’s weights of |W ⊙ ∂L/∂W|, L the mean next-token NLL of the text, gradients from the engine’s backward graphs; higher = removing the block’s weights changes the loss more.' },
  { id: 'fisher', label: 'Fisher ½ΣF·W²', inSentence: 'Fisher ½ΣF·W² scores', needsText: true, needsGradients: true,
    definition: 'Fisher importance = ½ Σ over the block’s weights of F·W², F the diagonal empirical Fisher (mean over the text’s tokens of the squared gradient of each token’s NLL): Optimal Brain Damage’s loss increase when the block’s weights are removed. One backward pass per token.' },
] as const satisfies readonly LayerMetricInfo[];

export type LayerMetric = (typeof LAYER_METRIC_INFO)[number]['id'];

export const LAYER_METRICS: readonly LayerMetric[] = LAYER_METRIC_INFO.map((m) => m.id);

export function layerMetricInfo(id: string): LayerMetricInfo | undefined {
  return LAYER_METRIC_INFO.find((m) => m.id === id);
}

/** Layer metrics that run the model on a text, in the order they are offered (Block Influence, ShortGPT's, first). */
export const TEXT_LAYER_METRICS: readonly LayerMetric[] = LAYER_METRIC_INFO.filter((m) => m.needsText).map((m) => m.id);
