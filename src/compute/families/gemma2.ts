// Gemma 2's declaration (its graphs: gemma2Graph.ts), following transformers' modeling_gemma2: Gemma's block with four norms
// (input, post-attention, pre- and post-feed-forward: the attention and MLP outputs are normalised before their
// residual adds), q·kᵀ scaled by query_pre_attn_scalar^−½, attention scores soft-capped (cap·tanh(s/cap),
// attn_logit_softcapping) before the mask, the final logits soft-capped per head chunk (final_logit_softcapping),
// and sliding-window attention on the layers layer_types marks sliding (even layers by default). The two kinds
// of layer run two graphs (blockVariant); windows are not capped, global layers read the whole text.
import { gatedBlockTensors, gatedLinearSites } from './llama';
import { gemmaEnds, type GemmaBase, type LayerType } from './gemma';
import { gatedBlockParameters } from './parameters';
import type { FamilyDeclaration } from './types';

export interface Gemma2Spec extends GemmaBase {
  kind: 'gemma2';
  queryPreAttnScalar: number;
  attnSoftcap?: number;
  finalSoftcap?: number;
  /** Window of the sliding layers (absent: sliding_window null, every layer global). */
  slidingWindow?: number;
  layerTypes: LayerType[];
}

/** Gemma 2's block: Gemma's with four norms. */
export const SANDWICH = { sandwichNorms: true } as const;

export const gemma2: FamilyDeclaration<Gemma2Spec> = {
  blockTensors: (spec, layer) => gatedBlockTensors(spec, layer, SANDWICH),
  blockVariant: (spec, layer) => spec.layerTypes[layer]!,
  // Not capped to the sliding window: the global layers read the whole text, the local ones mask the rest.
  contextLength: (spec) => spec.maxPositions,
  ...gemmaEnds,
  linearSites: (spec, layer) => gatedLinearSites(spec, layer),
  /** input, post-attention, pre- and post-feed-forward norms. */
  blockParameters(s) {
    const { attention, mlp } = gatedBlockParameters(s);
    return attention + mlp + 4 * s.hidden;
  },
};
