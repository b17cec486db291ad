// Gemma 3 text (model_type gemma3_text)'s declaration (its graphs: gemma3Graph.ts), following transformers' modeling_gemma3: Gemma 2's
// block (four norms, query_pre_attn_scalar, optional soft-caps, sliding layers per layer_types, by default every
// sliding_window_pattern-th layer global) with a (1 + w) RMSNorm of q and k per head before RoPE, and two rotary
// embeddings: local layers use rope_local_base_freq with plain RoPE, global layers rope_theta with rope_scaling
// (linear ×8 on the 4B-27B checkpoints). Embeddings are scaled by √hidden in the embedding's dtype (gemma.ts).
import { gatedBlockTensors, gatedLinearSites } from './llama';
import { gemmaEnds } from './gemma';
import type { Gemma2Spec } from './gemma2';
import { gatedBlockParameters } from './parameters';
import type { FamilyDeclaration } from './types';

export interface Gemma3Spec extends Omit<Gemma2Spec, 'kind'> {
  kind: 'gemma3';
  /** RoPE base of the sliding (local) layers. */
  ropeLocalTheta: number;
}

/** Gemma 3's block: Gemma 2's with q/k norm. */
export const GEMMA3_TENSORS = { qkNorm: true, sandwichNorms: true } as const;

export const gemma3: FamilyDeclaration<Gemma3Spec> = {
  blockTensors: (spec, layer) => gatedBlockTensors(spec, layer, GEMMA3_TENSORS),
  blockVariant: (spec, layer) => spec.layerTypes[layer]!,
  // Not capped to the sliding window: the global layers read the whole text, the local ones mask the rest.
  contextLength: (spec) => spec.maxPositions,
  ...gemmaEnds,
  linearSites: (spec, layer) => gatedLinearSites(spec, layer),
  /** Four norms [hidden] and q_norm, k_norm [head_dim]. */
  blockParameters(s) {
    const { attention, mlp } = gatedBlockParameters(s);
    return attention + mlp + 4 * s.hidden + 2 * s.headDim;
  },
};
