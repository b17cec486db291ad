// Gemma 3 text's graphs (gemma3.ts declares the family): Gemma 2's block with a (1 + w) RMSNorm of q and k per
// head before RoPE, and two rotary embeddings: local layers rope_local_base_freq with plain RoPE, global layers
// rope_theta with rope_scaling. The head is every Gemma's (gemmaGraph.ts).
import { GEMMA3_TENSORS, type Gemma3Spec } from './gemma3';
import { gemma2Attention } from './gemma2Graph';
import { buildGemmaHead, GEMMA_BLOCK } from './gemmaGraph';
import { buildGatedBlock, llamaRope } from './llamaGraph';
import type { FamilyGraphs } from './types';

export const gemma3Graph: FamilyGraphs<Gemma3Spec> = {
  buildBlock: (spec, roles, variant) => buildGatedBlock(spec, roles, {
    ...GEMMA_BLOCK, ...GEMMA3_TENSORS, ...gemma2Attention(spec, variant),
    rope: variant === 'sliding_attention' ? { theta: spec.ropeLocalTheta, maxPositions: spec.maxPositions } : llamaRope(spec),
  }),
  buildHead: buildGemmaHead,
};
