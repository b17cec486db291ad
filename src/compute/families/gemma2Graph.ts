// Gemma 2's graphs (gemma2.ts declares the family): Gemma's block with four norms, q·kᵀ scaled by
// query_pre_attn_scalar^−½, soft-capped attention scores and, on the layers layer_types marks sliding, a window;
// one graph per layer type (blockVariant). The head is every Gemma's (gemmaGraph.ts).
import { SANDWICH, type Gemma2Spec } from './gemma2';
import { buildGemmaHead, GEMMA_BLOCK } from './gemmaGraph';
import { buildGatedBlock, llamaRope } from './llamaGraph';
import type { FamilyGraphs } from './types';

/** The attention options of one Gemma 2/3 layer type: scale, soft-cap and, for sliding layers, the window. */
export function gemma2Attention(spec: Omit<Gemma2Spec, 'kind'>, variant: string | undefined) {
  return {
    scale: spec.queryPreAttnScalar ** -0.5,
    ...(spec.attnSoftcap !== undefined ? { attnSoftcap: spec.attnSoftcap } : {}),
    ...(variant === 'sliding_attention' && spec.slidingWindow !== undefined ? { window: spec.slidingWindow } : {}),
  };
}

export const gemma2Graph: FamilyGraphs<Gemma2Spec> = {
  buildBlock: (spec, roles, variant) => buildGatedBlock(spec, roles, { ...GEMMA_BLOCK, ...SANDWICH, ...gemma2Attention(spec, variant), rope: llamaRope(spec) }),
  buildHead: buildGemmaHead,
};
