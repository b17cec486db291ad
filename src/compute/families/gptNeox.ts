// GPT-NeoX and Pythia (model_type gpt_neox)'s declaration (its graphs: gptNeoxGraph.ts), following transformers' modeling_gpt_neox:
// LayerNorms with biases, one fused query_key_value whose outputs are laid out per head ([heads, 3, head_dim]: q, k
// and v of head 0, then of head 1, …, not q | k | v), RoPE on the first int(head_dim · rotary_pct) features of each
// head, gelu (exact erf; the tanh forms where the config names them), biases on every linear (attention_bias
// false drops those of query_key_value and dense), an untied embed_out head, and the parallel residual
// (use_parallel_residual: attention and MLP both read the block input, h + attn(ln1 h) + mlp(ln2 h)) or the
// sequential one.
import { InputError } from '../../errors';
import { configFields } from './configFields';
import type { BlockTensor, FamilyDeclaration, FamilyParameters } from './types';

/** hidden_act values and the gelu each is: transformers' GELUActivation (erf) or the tanh approximation. */
const ACTIVATIONS: Record<string, 'erf' | 'tanh'> = { gelu: 'erf', gelu_new: 'tanh', gelu_fast: 'tanh', gelu_pytorch_tanh: 'tanh' };

export interface GptNeoxSpec {
  kind: 'gpt_neox';
  modelType: 'gpt_neox';
  layers: number;
  hidden: number;
  heads: number;
  headDim: number;
  /** Features of a head that RoPE rotates: int(headDim · rotary_pct). */
  rotaryDim: number;
  intermediate: number;
  vocab: number;
  maxPositions: number;
  ropeTheta: number;
  layerNormEps: number;
  parallelResidual: boolean;
  /** query_key_value and dense carry biases (attention_bias, default true). */
  attentionBias: boolean;
  gelu: 'erf' | 'tanh';
  tiedEmbeddings: boolean;
}

/** GPTNeoXConfig -> GptNeoxSpec with its defaults; refuses, by key, what the graph cannot honour. */
export function gptNeoxSpecFromConfig(config: Record<string, unknown>, where: string): GptNeoxSpec {
  const f = configFields(config, where);
  const hidden = f.int('hidden_size');
  const heads = f.int('num_attention_heads');
  const headDim = hidden / heads;
  if (!Number.isInteger(headDim)) throw new InputError(`${where}: hidden_size ${hidden} is not divisible by num_attention_heads ${heads}`);
  const activation = String(config.hidden_act ?? 'gelu');
  const gelu = ACTIVATIONS[activation];
  if (!gelu) throw new InputError(`${where}: hidden_act ${JSON.stringify(activation)} is not supported for gpt_neox; supported: ${Object.keys(ACTIVATIONS).join(', ')}`);
  // transformers 5 keeps theta and the rotary fraction in rope_parameters; 4.x in rotary_emb_base and rotary_pct.
  const r = f.rope();
  let ropeTheta = f.num('rope_theta', f.num('rotary_emb_base', 10000));
  let fraction = f.num('partial_rotary_factor', f.num('rotary_pct', 0.25));
  if (r) {
    const type = r.rope_type ?? r.type ?? 'default';
    if (type !== 'default') throw new InputError(`${where}: rope_scaling type ${JSON.stringify(type)} is not supported for gpt_neox (only plain rotary embeddings)`);
    if (typeof r.rope_theta === 'number') ropeTheta = r.rope_theta;
    if (typeof r.partial_rotary_factor === 'number') fraction = r.partial_rotary_factor;
  }
  const rotaryDim = Math.floor(headDim * fraction);
  if (!(fraction <= 1) || rotaryDim < 2 || rotaryDim % 2 !== 0) {
    throw new InputError(`${where}: rotary_pct ${fraction} gives ${rotaryDim} rotary features of the ${headDim} in a head; it must give an even number from 2 to ${headDim}`);
  }
  return {
    kind: 'gpt_neox', modelType: 'gpt_neox', layers: f.int('num_hidden_layers'), hidden, heads, headDim, rotaryDim,
    intermediate: f.int('intermediate_size'), vocab: f.int('vocab_size'), maxPositions: f.int('max_position_embeddings', 2048),
    ropeTheta, layerNormEps: f.num('layer_norm_eps', 1e-5), parallelResidual: f.bool('use_parallel_residual', true),
    attentionBias: f.bool('attention_bias', true), gelu, tiedEmbeddings: f.bool('tie_word_embeddings', false),
  };
}

export function gptNeoxParameters(s: GptNeoxSpec): FamilyParameters {
  const { hidden: h, intermediate: i } = s;
  return {
    attention: 4 * h * h + (s.attentionBias ? 4 * h : 0), mlp: 2 * h * i + i + h, norms: 4 * h,
    embeddings: s.vocab * h, lmHead: s.tiedEmbeddings ? 0 : s.vocab * h, other: 2 * h,
  };
}

/** GPTNeoXForCausalLM names its tensors gpt_neox.*, a bare GPTNeoXModel without the prefix. */
const prefixOf = (has: (name: string) => boolean) => (has('embed_in.weight') && !has('gpt_neox.embed_in.weight') ? '' : 'gpt_neox.');

export const gptNeox: FamilyDeclaration<GptNeoxSpec> = {
  blockTensors(spec, layer, has) {
    const { hidden, intermediate } = spec;
    const p = `${prefixOf(has)}layers.${layer}.`;
    const t = (role: string, name: string, shape: number[]): BlockTensor => ({ role, name: p + name, shape });
    return [
      t('ln1_w', 'input_layernorm.weight', [hidden]), t('ln1_b', 'input_layernorm.bias', [hidden]),
      t('qkv', 'attention.query_key_value.weight', [3 * hidden, hidden]),
      ...(spec.attentionBias ? [t('qkv_b', 'attention.query_key_value.bias', [3 * hidden])] : []),
      t('dense', 'attention.dense.weight', [hidden, hidden]),
      ...(spec.attentionBias ? [t('dense_b', 'attention.dense.bias', [hidden])] : []),
      t('ln2_w', 'post_attention_layernorm.weight', [hidden]), t('ln2_b', 'post_attention_layernorm.bias', [hidden]),
      t('fc', 'mlp.dense_h_to_4h.weight', [intermediate, hidden]), t('fc_b', 'mlp.dense_h_to_4h.bias', [intermediate]),
      t('out', 'mlp.dense_4h_to_h.weight', [hidden, intermediate]), t('out_b', 'mlp.dense_4h_to_h.bias', [hidden]),
    ];
  },

  embedding: (_, has) => ({ tokens: `${prefixOf(has)}embed_in.weight` }),
  finalNorm: (spec, has) => [
    { role: 'final_w', name: `${prefixOf(has)}final_layer_norm.weight`, shape: [spec.hidden] },
    { role: 'final_b', name: `${prefixOf(has)}final_layer_norm.bias`, shape: [spec.hidden] },
  ],
  head: (spec, has) => (spec.tiedEmbeddings || !has('embed_out.weight') ? `${prefixOf(has)}embed_in.weight` : 'embed_out.weight'),

  // query_key_value is one fused weight reading the attention input: Wanda scores its rows with that input's norms.
  linearSites(spec, layer, has) {
    const w = (name: string) => [{ name: `${prefixOf(has)}layers.${layer}.${name}.weight`, layout: 'out-in' as const }];
    return [
      { layer, site: 'attn', width: spec.hidden, weights: w('attention.query_key_value') },
      { layer, site: 'attn_out', width: spec.hidden, weights: w('attention.dense') },
      { layer, site: 'mlp', width: spec.hidden, weights: w('mlp.dense_h_to_4h') },
      { layer, site: 'mlp_down', width: spec.intermediate, weights: w('mlp.dense_4h_to_h') },
    ];
  },

  blockParameters(spec) {
    const { attention: a, mlp, norms } = gptNeoxParameters(spec);
    return a + mlp + norms;
  },
  parameters: gptNeoxParameters,
};
