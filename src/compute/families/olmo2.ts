// OLMo 2 (model_type olmo2)'s declaration (its graphs: olmo2Graph.ts), following transformers' modeling_olmo2: no norm before attention
// or MLP; instead RMSNorms on what each branch adds (post_attention_layernorm on o_proj's output,
// post_feedforward_layernorm on the MLP's), and q_norm / k_norm over the whole q and k projections (heads × head_dim
// features at once, not per head) before RoPE. Otherwise the Llama block: full-head rotate_half RoPE, GQA, SwiGLU,
// optional q/k/v/o biases (attention_bias), tied or untied head.
import type { DecoderFields } from '../../arch/modelSpec';
import { InputError } from '../../errors';
import { configFields } from './configFields';
import { llamaEnds } from './llama';
import type { BlockTensor, FamilyDeclaration, FamilyParameters } from './types';

export interface Olmo2Spec extends DecoderFields {
  kind: 'olmo2';
  modelType: 'olmo2';
  /** q/k/v/o projections carry biases (attention_bias). */
  attentionBias: boolean;
}

/** Olmo2Config -> Olmo2Spec with its defaults; refuses, by key, what the graph cannot honour. */
export function olmo2SpecFromConfig(config: Record<string, unknown>, where: string): Olmo2Spec {
  const f = configFields(config, where);
  const hidden = f.int('hidden_size');
  const { heads, kvHeads, headDim } = f.attentionShape(hidden);
  const activation = config.hidden_act ?? 'silu';
  if (activation !== 'silu') throw new InputError(`${where}: hidden_act ${JSON.stringify(activation)} is not supported for olmo2 (its graph uses silu)`);
  // transformers 5 keeps theta in rope_parameters; only plain RoPE is honoured (OLMo 2 checkpoints use no scaling).
  let ropeTheta = f.num('rope_theta', 10000);
  const r = f.rope();
  if (r) {
    const type = r.rope_type ?? r.type ?? 'default';
    if (type !== 'default') throw new InputError(`${where}: rope_scaling type ${JSON.stringify(type)} is not supported for olmo2 (only plain RoPE)`);
    if (typeof r.rope_theta === 'number') ropeTheta = r.rope_theta;
  }
  return {
    kind: 'olmo2', modelType: 'olmo2', layers: f.int('num_hidden_layers'), hidden, heads, kvHeads, headDim,
    intermediate: f.int('intermediate_size'), vocab: f.int('vocab_size'), maxPositions: f.int('max_position_embeddings', 2048),
    ropeTheta, rmsEps: f.num('rms_norm_eps', 1e-5), attentionBias: f.bool('attention_bias', false),
    tiedEmbeddings: f.bool('tie_word_embeddings', false),
  };
}

export function olmo2Parameters(s: Olmo2Spec): FamilyParameters {
  const q = s.heads * s.headDim;
  const kv = s.kvHeads * s.headDim;
  return {
    attention: 2 * s.hidden * q + 2 * s.hidden * kv + (s.attentionBias ? q + 2 * kv + s.hidden : 0),
    mlp: 3 * s.hidden * s.intermediate,
    // post-attention and post-feedforward norms, and q_norm / k_norm over the whole projections.
    norms: 2 * s.hidden + q + kv,
    embeddings: s.vocab * s.hidden, lmHead: s.tiedEmbeddings ? 0 : s.vocab * s.hidden, other: s.hidden,
  };
}

export const olmo2: FamilyDeclaration<Olmo2Spec> = {
  blockTensors(spec, layer) {
    const { hidden, heads, kvHeads, headDim, intermediate } = spec;
    const p = `model.layers.${layer}.`;
    const t = (role: string, name: string, shape: number[]): BlockTensor => ({ role, name: p + name, shape });
    const biases = spec.attentionBias;
    return [
      t('q', 'self_attn.q_proj.weight', [heads * headDim, hidden]),
      t('k', 'self_attn.k_proj.weight', [kvHeads * headDim, hidden]),
      t('v', 'self_attn.v_proj.weight', [kvHeads * headDim, hidden]),
      t('o', 'self_attn.o_proj.weight', [hidden, heads * headDim]),
      ...(biases
        ? [t('q_bias', 'self_attn.q_proj.bias', [heads * headDim]), t('k_bias', 'self_attn.k_proj.bias', [kvHeads * headDim]),
          t('v_bias', 'self_attn.v_proj.bias', [kvHeads * headDim]), t('o_bias', 'self_attn.o_proj.bias', [hidden])]
        : []),
      t('q_norm', 'self_attn.q_norm.weight', [heads * headDim]),
      t('k_norm', 'self_attn.k_norm.weight', [kvHeads * headDim]),
      t('post_attn_norm', 'post_attention_layernorm.weight', [hidden]),
      t('gate', 'mlp.gate_proj.weight', [intermediate, hidden]),
      t('up', 'mlp.up_proj.weight', [intermediate, hidden]),
      t('down', 'mlp.down_proj.weight', [hidden, intermediate]),
      t('post_ff_norm', 'post_feedforward_layernorm.weight', [hidden]),
    ];
  },

  // Llama's embedding, final RMSNorm and (tied or own) head.
  ...llamaEnds,

  linearSites(spec, layer) {
    const w = (...names: string[]) => names.map((n) => ({ name: `model.layers.${layer}.${n}.weight`, layout: 'out-in' as const }));
    return [
      { layer, site: 'attn', width: spec.hidden, weights: w('self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj') },
      { layer, site: 'attn_out', width: spec.heads * spec.headDim, weights: w('self_attn.o_proj') },
      { layer, site: 'mlp', width: spec.hidden, weights: w('mlp.gate_proj', 'mlp.up_proj') },
      { layer, site: 'mlp_down', width: spec.intermediate, weights: w('mlp.down_proj') },
    ];
  },

  blockParameters(spec) {
    const { attention: a, mlp, norms } = olmo2Parameters(spec);
    return a + mlp + norms;
  },
  parameters: olmo2Parameters,
  headPruningRefused: 'q_norm and k_norm normalise all heads\' q and k features together, so removing a head would change the heads that stay (and their norm weights would need slicing)',
};
