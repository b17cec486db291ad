// Gemma 2 for the block engine, following transformers' modeling_gemma2: Gemma's block (gemma.ts) with four norms
// (input, post-attention, pre- and post-feed-forward: the attention and MLP outputs are normalised before their
// residual adds), q·kᵀ scaled by query_pre_attn_scalar^−½, attention scores soft-capped (cap·tanh(s/cap),
// attn_logit_softcapping) before the mask, the final logits soft-capped per head chunk (final_logit_softcapping),
// and sliding-window attention on the layers layer_types marks sliding (even layers by default). The two kinds
// of layer run two graphs (blockVariant); windows are not capped, global layers read the whole text.
import { buildGatedBlock, gatedBlockTensors, gatedLinearSites } from './llama';
import { GEMMA_BLOCK, gemmaEnds, type GemmaBase, type LayerType } from './gemma';
import { gatedBlockParameters } from './parameters';
import type { Family } from './types';

export interface Gemma2Spec extends GemmaBase {
  kind: 'gemma2';
  queryPreAttnScalar: number;
  attnSoftcap?: number;
  finalSoftcap?: number;
  /** Window of the sliding layers (absent: sliding_window null, every layer global). */
  slidingWindow?: number;
  layerTypes: LayerType[];
}

/** The attention options of one Gemma 2/3 layer type: scale, soft-cap and, for sliding layers, the window. */
export function gemma2Attention(spec: Omit<Gemma2Spec, 'kind'>, variant: string | undefined) {
  return {
    scale: spec.queryPreAttnScalar ** -0.5,
    ...(spec.attnSoftcap !== undefined ? { attnSoftcap: spec.attnSoftcap } : {}),
    ...(variant === 'sliding_attention' && spec.slidingWindow !== undefined ? { window: spec.slidingWindow } : {}),
  };
}

const SANDWICH = { sandwichNorms: true } as const;

export const gemma2: Family<Gemma2Spec> = {
  blockTensors: (spec, layer) => gatedBlockTensors(spec, layer, SANDWICH),
  blockVariant: (spec, layer) => spec.layerTypes[layer]!,
  // Not capped to the sliding window: the global layers read the whole text, the local ones mask the rest.
  contextLength: (spec) => spec.maxPositions,
  buildBlock: (spec, roles, variant) => buildGatedBlock(spec, roles, {
    ...GEMMA_BLOCK, ...SANDWICH, ...gemma2Attention(spec, variant),
    rope: { theta: spec.ropeTheta, maxPositions: spec.maxPositions, ...(spec.ropeScaling ? { scaling: spec.ropeScaling } : {}) },
  }),
  ...gemmaEnds,
  linearSites: (spec, layer) => gatedLinearSites(spec, layer),
  /** input, post-attention, pre- and post-feed-forward norms. */
  blockParameters(s) {
    const { attention, mlp } = gatedBlockParameters(s);
    return attention + mlp + 4 * s.hidden;
  },
};
