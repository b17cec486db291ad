// Gemma 3 text (model_type gemma3_text) for the block engine, following transformers' modeling_gemma3: Gemma 2's
// block (four norms, query_pre_attn_scalar, optional soft-caps, sliding layers per layer_types, by default every
// sliding_window_pattern-th layer global) with a (1 + w) RMSNorm of q and k per head before RoPE, and two rotary
// embeddings: local layers use rope_local_base_freq with plain RoPE, global layers rope_theta with rope_scaling
// (linear ×8 on the 4B-27B checkpoints). Embeddings are scaled by √hidden in the embedding's dtype (gemma.ts).
import { buildGatedBlock, gatedBlockTensors, gatedLinearSites } from './llama';
import { GEMMA_BLOCK, gemmaEnds } from './gemma';
import { gemma2Attention, type Gemma2Spec } from './gemma2';
import { gatedBlockParameters } from './parameters';
import type { Family } from './types';

export interface Gemma3Spec extends Omit<Gemma2Spec, 'kind'> {
  kind: 'gemma3';
  /** RoPE base of the sliding (local) layers. */
  ropeLocalTheta: number;
}

const OPTIONS = { qkNorm: true, sandwichNorms: true } as const;

export const gemma3: Family<Gemma3Spec> = {
  blockTensors: (spec, layer) => gatedBlockTensors(spec, layer, OPTIONS),
  blockVariant: (spec, layer) => spec.layerTypes[layer]!,
  // Not capped to the sliding window: the global layers read the whole text, the local ones mask the rest.
  contextLength: (spec) => spec.maxPositions,
  buildBlock: (spec, roles, variant) => buildGatedBlock(spec, roles, {
    ...GEMMA_BLOCK, ...OPTIONS, ...gemma2Attention(spec, variant),
    rope: variant === 'sliding_attention'
      ? { theta: spec.ropeLocalTheta, maxPositions: spec.maxPositions }
      : { theta: spec.ropeTheta, maxPositions: spec.maxPositions, ...(spec.ropeScaling ? { scaling: spec.ropeScaling } : {}) },
  }),
  ...gemmaEnds,
  linearSites: (spec, layer) => gatedLinearSites(spec, layer),
  /** Four norms [hidden] and q_norm, k_norm [head_dim]. */
  blockParameters(s) {
    const { attention, mlp } = gatedBlockParameters(s);
    return attention + mlp + 4 * s.hidden + 2 * s.headDim;
  },
};
