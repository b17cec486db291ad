// Gemma (1)'s declaration (its graphs: gemmaGraph.ts), and what Gemma 2 and Gemma 3 share with it (their specs are parsed here, from
// the keys the three GemmaConfig classes read), following transformers' modeling_gemma: the Llama block with
// RMSNorm applied as (1 + w) (GemmaRMSNorm), GeGLU with the tanh approximation of gelu (hidden_activation,
// gelu_pytorch_tanh when unset; hidden_act is ignored as GemmaMLP ignores it), head_dim from the config (256 when
// absent, GemmaConfig's default), attention_bias on q/k/v/o, a head tied to the embeddings unless
// tie_word_embeddings is false, and embeddings multiplied by √hidden_size as a value of the embedding's dtype
// (bf16 turns √3072 = 55.4256 into 55.5; the product itself is float32 here as the rest of the pass).
import type { LlamaSpec, SpecFields } from '../../arch/modelSpec';
import { InputError } from '../../errors';
import { gatedBlockTensors, gatedLinearSites } from './llama';
import { gatedBlockParameters } from './parameters';
import type { BlockTensor, FamilyDeclaration } from './types';
import type { Gemma2Spec } from './gemma2';
import type { Gemma3Spec } from './gemma3';

/** Fields every Gemma generation has. */
/** Llama's fields (attention_bias puts biases on q, k, v and o: qkvBias and oBias both follow it), never MLP biases. */
export interface GemmaBase extends Omit<LlamaSpec, 'kind' | 'mlpBias' | 'slidingWindow'> {
  mlpBias: false;
}

export interface Gemma1Spec extends GemmaBase {
  kind: 'gemma';
}

export type GemmaSpec = Gemma1Spec | Gemma2Spec | Gemma3Spec;

/** The model_type values parsed here. */
export const GEMMA_TYPES: ReadonlySet<string> = new Set(['gemma', 'gemma2', 'gemma3_text']);

/** What each layer's attention is: local (sliding window) or global. */
export type LayerType = 'sliding_attention' | 'full_attention';

const TANH_GELU = new Set(['gelu_pytorch_tanh', 'gelu_new']);

/**
 * layer_types as the config states it or, absent, as Gemma2Config / Gemma3TextConfig derive it: Gemma 2 alternates
 * from a sliding layer 0; Gemma 3 makes every sliding_window_pattern-th layer (default 6) global. null for
 * model types without per-layer attention types. Plans write the derived list into a pruned config.json, so
 * dropped blocks do not shift the pattern of the ones kept.
 */
export function gemmaLayerTypes(config: Record<string, unknown>, where = 'config.json'): LayerType[] | null {
  const modelType = config.model_type;
  if (modelType !== 'gemma2' && modelType !== 'gemma3_text') return null;
  const layers = config.num_hidden_layers;
  if (typeof layers !== 'number' || !Number.isSafeInteger(layers) || layers <= 0) return null;
  const stated = config.layer_types;
  if (stated !== undefined && stated !== null) {
    if (!Array.isArray(stated) || stated.length !== layers || stated.some((t) => t !== 'sliding_attention' && t !== 'full_attention')) {
      throw new InputError(`${where}: layer_types must list "sliding_attention" or "full_attention" for each of the ${layers} layers (found ${JSON.stringify(stated)})`);
    }
    return stated as LayerType[];
  }
  const pattern = modelType === 'gemma2' ? 2 : config.sliding_window_pattern ?? 6;
  if (typeof pattern !== 'number' || !Number.isSafeInteger(pattern) || pattern <= 0) throw new InputError(`${where}: sliding_window_pattern must be a positive integer (found ${JSON.stringify(pattern)})`);
  return Array.from({ length: layers }, (_, i) => ((i + 1) % pattern !== 0 ? 'sliding_attention' : 'full_attention'));
}

/** config.json of model_type gemma, gemma2 or gemma3_text -> its spec; refuses by name what the graphs cannot honour. */
export function gemmaSpecFromConfig(config: Record<string, unknown>, modelType: string, f: SpecFields): GemmaSpec {
  const { where } = f;
  const present = (key: string) => config[key] !== undefined && config[key] !== null;
  const activation = config.hidden_activation ?? 'gelu_pytorch_tanh';
  if (typeof activation !== 'string' || !TANH_GELU.has(activation)) {
    throw new InputError(`${where}: hidden_activation ${JSON.stringify(activation)} is not supported (Gemma graphs use gelu_pytorch_tanh)`);
  }
  if (config.use_bidirectional_attention === true) throw new InputError(`${where}: use_bidirectional_attention: true (an encoder, EmbeddingGemma) is not supported; the graphs are causal decoders`);
  if (present('rope_parameters') && !present('rope_theta')) {
    throw new InputError(`${where}: rope_parameters (transformers 5's per-layer-type RoPE) is not read; give rope_theta${modelType === 'gemma3_text' ? ', rope_local_base_freq' : ''} and rope_scaling instead`);
  }
  const hidden = f.int('hidden_size');
  const { heads, kvHeads, headDim } = f.attentionShape(hidden, 256);
  const bias = config.attention_bias === true;
  const gemma3 = modelType === 'gemma3_text';
  const ropeScaling = f.ropeScaling(config.rope_scaling);
  const base: GemmaBase = {
    modelType, layers: f.int('num_hidden_layers'), hidden, heads, kvHeads, headDim,
    intermediate: f.int('intermediate_size'), vocab: f.int('vocab_size'),
    maxPositions: f.int('max_position_embeddings', gemma3 ? 131072 : 8192), rmsEps: f.num('rms_norm_eps', 1e-6),
    ropeTheta: f.num('rope_theta', gemma3 ? 1_000_000 : 10000), ...(ropeScaling ? { ropeScaling } : {}),
    qkvBias: bias, oBias: bias, mlpBias: false, tiedEmbeddings: config.tie_word_embeddings !== false,
  };
  if (modelType === 'gemma') return { ...base, kind: 'gemma' };
  // Gemma 2 defaults both soft-caps on (50, 30); Gemma 3 off. null turns them off.
  const cap = (key: string, fallback: number | undefined) => (config[key] === null ? undefined : config[key] === undefined ? fallback : f.num(key, 0));
  const attnSoftcap = cap('attn_logit_softcapping', gemma3 ? undefined : 50);
  const finalSoftcap = cap('final_logit_softcapping', gemma3 ? undefined : 30);
  const slidingWindow = config.sliding_window === null ? undefined : f.int('sliding_window', 4096);
  const later = {
    ...base,
    queryPreAttnScalar: f.num('query_pre_attn_scalar', 256),
    ...(attnSoftcap !== undefined ? { attnSoftcap } : {}),
    ...(finalSoftcap !== undefined ? { finalSoftcap } : {}),
    ...(slidingWindow !== undefined ? { slidingWindow } : {}),
    layerTypes: gemmaLayerTypes(config, where)!,
  };
  if (!gemma3) return { ...later, kind: 'gemma2' };
  return { ...later, kind: 'gemma3', ropeLocalTheta: f.num('rope_local_base_freq', 10000) };
}

/** x rounded to the nearest value with `bits` explicit mantissa bits, ties to even (x > 0). */
function roundMantissa(x: number, bits: number): number {
  const step = 2 ** (Math.floor(Math.log2(x)) - bits);
  const scaled = x / step;
  let r = Math.round(scaled);
  if (scaled - Math.floor(scaled) === 0.5 && r % 2 !== 0) r -= 1;
  return r * step;
}

/** √hidden as a value of the embedding table's dtype (float32 for anything else: the pass runs in float32). */
export function embeddingNormalizer(hidden: number, dtype: string): number {
  const value = Math.fround(Math.sqrt(hidden));
  if (dtype === 'BF16') return roundMantissa(value, 7);
  if (dtype === 'F16') return roundMantissa(value, 10);
  return value;
}

/** Embedding, final (1 + w) norm and head of every Gemma (the head graph: gemmaGraph.ts). */
export const gemmaEnds = {
  embedding: () => ({ tokens: 'model.embed_tokens.weight' }),
  embeddingScale: (spec: { hidden: number }, dtype: string) => embeddingNormalizer(spec.hidden, dtype),
  finalNorm: (spec: { hidden: number }): BlockTensor[] => [{ role: 'final_norm', name: 'model.norm.weight', shape: [spec.hidden] }],
  head: (spec: { tiedEmbeddings: boolean }, has: (name: string) => boolean) => (spec.tiedEmbeddings || !has('lm_head.weight') ? 'model.embed_tokens.weight' : 'lm_head.weight'),
};

export const gemma: FamilyDeclaration<Gemma1Spec> = {
  blockTensors: (spec, layer) => gatedBlockTensors(spec, layer),
  ...gemmaEnds,
  linearSites: (spec, layer) => gatedLinearSites(spec, layer),
  blockParameters(s) {
    const { attention, mlp } = gatedBlockParameters(s);
    return attention + mlp + 2 * s.hidden;
  },
};
