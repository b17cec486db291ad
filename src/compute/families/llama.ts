// The Llama family (Llama, Mistral, Qwen2), as declared for every reader (the config hover, plans, the engine):
// the checkpoint tensors of a block (RMSNorms, q/k/v/o with optional q/k/v biases (Qwen2), o_proj biases
// (attention_bias) and MLP biases (mlp_bias), SwiGLU's gate/up/down), the linear sites Wanda reads, the context
// length rope_scaling allows, and the parameter count. The same declarations serve the families whose block is a
// variant of Llama's (Qwen3, Gemma 1/2/3, the MoE attention). The graphs, following transformers' modeling_llama,
// are llamaGraph.ts; the spec is parsed in arch/modelSpec.ts.
import type { LlamaSpec } from '../../arch/modelSpec';
import { gatedBlockParameters } from './parameters';
import type { BlockTensor, FamilyDeclaration, LinearSite } from './types';

const LINEARS = {
  attn: ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'],
  attn_out: ['self_attn.o_proj'],
  mlp: ['mlp.gate_proj', 'mlp.up_proj'],
  mlp_down: ['mlp.down_proj'],
} as const;

/** What the gated block builder reads of a spec (LlamaSpec and the specs of its variants have these fields). */
export interface GatedBlockShape {
  modelType: string;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  rmsEps: number;
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
}

/** The tensors a Llama-variant block adds to Llama's (the graph reads them as GatedBlockOptions, llamaGraph.ts). */
export interface GatedTensorOptions {
  /** Per-head RMSNorm of q and k (over head_dim) before RoPE, roles q_norm / k_norm: Qwen3, Gemma 3. */
  qkNorm?: boolean;
  /**
   * Gemma 2/3's four norms: the attention output and the MLP output are normalised before their residual adds
   * (post_attention_layernorm, post_feedforward_layernorm) and the MLP reads pre_feedforward_layernorm.
   */
  sandwichNorms?: boolean;
}

/** The attention half of a Llama-variant block (input norm, q/k/v/o with their biases and q/k norms, post-attention norm), in role order; MoE blocks end here. */
export function gatedAttentionTensors(spec: Pick<GatedBlockShape, 'hidden' | 'heads' | 'kvHeads' | 'headDim' | 'qkvBias' | 'oBias'>, layer: number, options: Pick<GatedTensorOptions, 'qkNorm'> = {}): BlockTensor[] {
  const { hidden, heads, kvHeads, headDim } = spec;
  const p = `model.layers.${layer}.`;
  const t = (role: string, name: string, shape: number[]): BlockTensor => ({ role, name: p + name, shape });
  return [
    t('input_norm', 'input_layernorm.weight', [hidden]),
    t('q', 'self_attn.q_proj.weight', [heads * headDim, hidden]),
    t('k', 'self_attn.k_proj.weight', [kvHeads * headDim, hidden]),
    t('v', 'self_attn.v_proj.weight', [kvHeads * headDim, hidden]),
    ...(spec.qkvBias
      ? [t('q_bias', 'self_attn.q_proj.bias', [heads * headDim]), t('k_bias', 'self_attn.k_proj.bias', [kvHeads * headDim]), t('v_bias', 'self_attn.v_proj.bias', [kvHeads * headDim])]
      : []),
    ...(options.qkNorm ? [t('q_norm', 'self_attn.q_norm.weight', [headDim]), t('k_norm', 'self_attn.k_norm.weight', [headDim])] : []),
    t('o', 'self_attn.o_proj.weight', [hidden, heads * headDim]),
    ...(spec.oBias ? [t('o_bias', 'self_attn.o_proj.bias', [hidden])] : []),
    t('post_norm', 'post_attention_layernorm.weight', [hidden]),
  ];
}

/** The tensors of a Llama-variant block, in role order. */
export function gatedBlockTensors(spec: GatedBlockShape, layer: number, options: GatedTensorOptions = {}): BlockTensor[] {
  const { hidden, intermediate } = spec;
  const p = `model.layers.${layer}.`;
  const t = (role: string, name: string, shape: number[]): BlockTensor => ({ role, name: p + name, shape });
  return [
    ...gatedAttentionTensors(spec, layer, options),
    ...(options.sandwichNorms ? [t('pre_ffw_norm', 'pre_feedforward_layernorm.weight', [hidden]), t('post_ffw_norm', 'post_feedforward_layernorm.weight', [hidden])] : []),
    t('gate', 'mlp.gate_proj.weight', [intermediate, hidden]),
    t('up', 'mlp.up_proj.weight', [intermediate, hidden]),
    t('down', 'mlp.down_proj.weight', [hidden, intermediate]),
    ...(spec.mlpBias
      ? [t('gate_bias', 'mlp.gate_proj.bias', [intermediate]), t('up_bias', 'mlp.up_proj.bias', [intermediate]), t('down_bias', 'mlp.down_proj.bias', [hidden])]
      : []),
  ];
}

/** The linear layers of a Llama-variant block, by the tensor that feeds them (Wanda's sites). */
export function gatedLinearSites(spec: GatedBlockShape, layer: number): LinearSite[] {
  const widths = { attn: spec.hidden, attn_out: spec.heads * spec.headDim, mlp: spec.hidden, mlp_down: spec.intermediate };
  return (Object.keys(LINEARS) as LinearSite['site'][]).map((site) => ({
    layer, site, width: widths[site],
    weights: LINEARS[site].map((l) => ({ name: `model.layers.${layer}.${l}.weight`, layout: 'out-in' as const })),
  }));
}

/** Dynamic NTK scaling exists to run past max_position_embeddings: windows go up to factor × that many tokens; a sliding window caps them. */
export function llamaContextLength(spec: Pick<LlamaSpec, 'maxPositions' | 'ropeScaling' | 'slidingWindow'>): number {
  const positions = spec.ropeScaling?.type === 'dynamic' ? Math.floor(spec.maxPositions * spec.ropeScaling.factor) : spec.maxPositions;
  return spec.slidingWindow ? Math.min(positions, spec.slidingWindow) : positions;
}

/** Embedding, final norm and head of the Llama layout (model.embed_tokens, model.norm, lm_head), shared by its variants. */
export const llamaEnds = {
  embedding: () => ({ tokens: 'model.embed_tokens.weight' }),
  finalNorm: (spec: { hidden: number }): BlockTensor[] => [{ role: 'final_norm', name: 'model.norm.weight', shape: [spec.hidden] }],
  // A checkpoint saved with a tied head has no lm_head tensor; transformers then uses the embedding, and so do we.
  head: (spec: { tiedEmbeddings: boolean }, has: (name: string) => boolean) => (spec.tiedEmbeddings || !has('lm_head.weight') ? 'model.embed_tokens.weight' : 'lm_head.weight'),
};

export const llama: FamilyDeclaration<LlamaSpec> = {
  blockTensors: (spec, layer) => gatedBlockTensors(spec, layer),
  ...llamaEnds,
  linearSites: (spec, layer) => gatedLinearSites(spec, layer),
  contextLength: llamaContextLength,
  // The config hover's count (src/config/derived.ts) and this one are the same function.
  blockParameters(s) {
    const { attention, mlp } = gatedBlockParameters(s);
    return attention + mlp + 2 * s.hidden;
  },
};
