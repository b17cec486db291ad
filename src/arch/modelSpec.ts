// config.json -> the numbers a forward pass needs, for the families the graph builder knows (GPT-2 and the Llama
// family: Llama, Mistral, Qwen2, here). Anything the builder cannot honour is refused, naming the key, rather than
// giving silently wrong activations. Families with a file of their own in src/compute/families/ (qwen3, gemma*,
// phi3, gpt_neox, olmo2, the MoE families, …) parse their config there; this file dispatches to them by model_type.
import { gptNeoxSpecFromConfig, type GptNeoxSpec } from '../compute/families/gptNeox';
import { olmo2SpecFromConfig, type Olmo2Spec } from '../compute/families/olmo2';
import { phi3SpecFromConfig, type Phi3Spec } from '../compute/families/phi3';
import { configFields, refuseUnlikeLlama, type ConfigFields } from '../compute/families/configFields';
import { MOE_MODEL_TYPES, moeSpecFromConfig, type MoeModelType, type MoeSpec } from '../compute/families/moeSpec';
import { InputError } from '../errors';
import { gemmaSpecFromConfig, GEMMA_TYPES, type GemmaSpec } from '../compute/families/gemma';
import { qwen3SpecFromConfig, type Qwen3Spec } from '../compute/families/qwen3';

export interface LlamaSpec {
  kind: 'llama';
  modelType: string;
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
  maxPositions: number;
  ropeTheta: number;
  rmsEps: number;
  /** q/k/v projections carry biases (Qwen2, or Llama with attention_bias: true). */
  qkvBias: boolean;
  /** o_proj carries a bias (Llama with attention_bias: true, as LlamaAttention builds it). */
  oBias: boolean;
  /** gate/up/down projections carry biases (Llama with mlp_bias: true). */
  mlpBias: boolean;
  /** rope_scaling, when it changes the rotary frequencies (absent for plain RoPE or rope_type "default"). */
  ropeScaling?: RopeScaling;
  tiedEmbeddings: boolean;
  /** Mistral/Qwen2 sliding-window attention: text windows are capped to this many tokens. */
  slidingWindow?: number;
}

/**
 * The numbers every RMSNorm decoder's spec states as LlamaSpec does: the one declaration of them that the other
 * families' specs (Phi-3, OLMo 2, Gemma, MoE) take theirs from, adding what is their own.
 */
export type DecoderFields = Pick<LlamaSpec, 'layers' | 'hidden' | 'heads' | 'kvHeads' | 'headDim' | 'intermediate' | 'vocab' | 'maxPositions' | 'ropeTheta' | 'rmsEps' | 'tiedEmbeddings'>;

/**
 * The rope_scaling types the Llama family honours, as transformers' modeling_rope_utils computes them
 * (_compute_linear_scaling_rope_parameters, _compute_dynamic_ntk_parameters, _compute_llama3_parameters,
 * _compute_yarn_parameters).
 */
export type RopeScaling =
  | { type: 'linear'; factor: number }
  /** NTK-aware: for a text of seq > max_position_embeddings tokens the base becomes θ·(f·seq/max − (f − 1))^(d/(d−2)). */
  | { type: 'dynamic'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number }
  /** factor absent: max_position_embeddings / original_max_position_embeddings (transformers 5). */
  /**
   * Per-frequency divisors of inv_freq, from a GGUF file's rope_freqs tensor: ggml_rope_ext divides θ_i by
   * freq_factors[i]. convert_hf_to_gguf.py stores Llama 3.1+ "llama3" scaling this way (no metadata keys).
   */
  | { type: 'factors'; factors: number[] }
  | {
      type: 'yarn'; factor?: number; betaFast: number; betaSlow: number; truncate: boolean;
      attentionFactor?: number; mscale?: number; mscaleAllDim?: number; originalMaxPositions?: number;
    };

export interface Gpt2Spec {
  kind: 'gpt2';
  modelType: 'gpt2';
  layers: number;
  hidden: number;
  heads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
  maxPositions: number;
  layerNormEps: number;
}

export type ModelSpec = LlamaSpec | Gpt2Spec | Qwen3Spec | GemmaSpec | Phi3Spec | GptNeoxSpec | Olmo2Spec | MoeSpec;

/** The config readers (configFields.ts) with the file's name and rope_scaling as the rotary tables honour it, for family parsers. */
export interface SpecFields extends ConfigFields {
  where: string;
  /** The model_type the user opened: every refusal names it. */
  family: string;
  /** rope_scaling as the rotary tables honour it (undefined: plain RoPE). */
  ropeScaling(value: unknown): RopeScaling | undefined;
}

/** The config names a model_type no family runs (as against a family's config it refuses: a plain InputError). */
export class NoForwardGraph extends InputError {}

const LLAMA_FAMILY = new Set(['llama', 'mistral', 'qwen2']);

/** config.json's readers for a family's parser; refusals name `family` (the model_type the user opened). */
function specFields(config: Record<string, unknown>, where: string, family: string): SpecFields {
  return { ...configFields(config, where), where, family, ropeScaling: (value) => ropeScalingFromConfig(value, where, family) };
}

export function modelSpecFromConfig(config: Record<string, unknown>, where: string): ModelSpec {
  const modelType = typeof config.model_type === 'string' ? config.model_type : undefined;
  const read = configFields(config, where);
  const int = read.int;
  const num = (key: string, fallback: number): number => read.num(key, fallback);

  // Qwen3 is parsed as Llama (its defaults filled in first); the refusals still say qwen3.
  if (modelType === 'qwen3') return qwen3SpecFromConfig(config, where, (c) => llamaSpecFromConfig(c, specFields(c, where, 'qwen3')));
  if (modelType && GEMMA_TYPES.has(modelType)) return gemmaSpecFromConfig(config, modelType, specFields(config, where, modelType));
  if (modelType === 'phi3') return phi3SpecFromConfig(config, where);
  if (modelType === 'gpt_neox') return gptNeoxSpecFromConfig(config, where);
  if (modelType === 'olmo2') return olmo2SpecFromConfig(config, where);
  if (modelType === 'gpt2') {
    const hidden = int('n_embd');
    const heads = int('n_head');
    if (hidden % heads !== 0) throw new InputError(`${where}: n_embd ${hidden} is not divisible by n_head ${heads}`);
    const activation = config.activation_function ?? 'gelu_new';
    if (activation !== 'gelu_new') throw new InputError(`${where}: activation_function "${String(activation)}" is not supported (GPT-2 graphs use gelu_new)`);
    return {
      kind: 'gpt2', modelType, layers: int('n_layer'), hidden, heads, headDim: hidden / heads,
      intermediate: config.n_inner === null || config.n_inner === undefined ? 4 * hidden : int('n_inner'),
      vocab: int('vocab_size'), maxPositions: int('n_positions', 1024), layerNormEps: num('layer_norm_epsilon', 1e-5),
    };
  }
  if (modelType && LLAMA_FAMILY.has(modelType)) return llamaSpecFromConfig(config, specFields(config, where, modelType));
  if (modelType && (MOE_MODEL_TYPES as string[]).includes(modelType)) {
    return moeSpecFromConfig(config, modelType as MoeModelType, specFields(config, where, modelType));
  }
  throw new NoForwardGraph(
    `${where}: model_type ${JSON.stringify(modelType ?? null)} has no forward-pass graph in this version (supported: gpt2, llama, mistral, qwen2, qwen3, ${[...GEMMA_TYPES].join(', ')}, phi3, gpt_neox, olmo2, ${MOE_MODEL_TYPES.join(', ')}); ` +
      'export the model to ONNX and analyse the .onnx file instead',
  );
}

/**
 * config.json of the Llama family (model_type llama, mistral, qwen2; qwen3 through qwen3.ts) -> LlamaSpec. The
 * options read follow config.model_type; the refusals name f.family, the family the user opened.
 */
function llamaSpecFromConfig(config: Record<string, unknown>, f: SpecFields): LlamaSpec {
  const modelType = String(config.model_type);
  const { int, num, where } = f;
  const hidden = int('hidden_size');
  const { heads, kvHeads, headDim } = f.attentionShape(hidden);
  const ropeScaling = f.ropeScaling(config.rope_scaling);
  refuseUnlikeLlama(config, where, f.family);
  // LlamaAttention and LlamaMLP read attention_bias / mlp_bias; Mistral's and Qwen2's modules have no such option
  // (Qwen2: q/k/v biases always, none on o_proj or the MLP), so a true value there is a config we cannot place.
  const attentionBias = config.attention_bias === true;
  const mlpBias = config.mlp_bias === true;
  if (modelType !== 'llama' && (attentionBias || mlpBias)) {
    throw new InputError(`${where}: ${attentionBias ? 'attention_bias' : 'mlp_bias'}: true is not a ${modelType} option in transformers (only LlamaAttention / LlamaMLP read it); refusing rather than guessing which projections carry biases`);
  }
  return {
    kind: 'llama', modelType, layers: int('num_hidden_layers'), hidden, heads, kvHeads, headDim,
    intermediate: int('intermediate_size'), vocab: int('vocab_size'), maxPositions: int('max_position_embeddings', 2048),
    ropeTheta: num('rope_theta', 10000), rmsEps: num('rms_norm_eps', 1e-6),
    qkvBias: modelType === 'qwen2' || attentionBias,
    oBias: attentionBias,
    mlpBias,
    ...(ropeScaling ? { ropeScaling } : {}),
    tiedEmbeddings: config.tie_word_embeddings === true,
    // Sliding-window attention equals full attention within the window: windows are capped to it.
    ...(typeof config.sliding_window === 'number' && config.sliding_window > 0 && config.use_sliding_window !== false ? { slidingWindow: config.sliding_window } : {}),
  };
}

/** rope_scaling (keyed by rope_type or the legacy type) -> RopeScaling; refuses, by name, what the graph cannot honour. */
export function ropeScalingFromConfig(value: unknown, where: string, family: string): RopeScaling | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new InputError(`${where}: rope_scaling must be an object (found ${JSON.stringify(value)})`);
  const r = value as Record<string, unknown>;
  const type = r.rope_type ?? r.type;
  const positive = (key: string, fallback?: number): number => {
    const v = r[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new InputError(`${where}: rope_scaling "${key}" must be a positive number for rope_type ${JSON.stringify(type)} (found ${JSON.stringify(r[key])})`);
    return v;
  };
  const optional = (key: string): number | undefined => (r[key] === undefined || r[key] === null ? undefined : positive(key));
  switch (type) {
    case 'default':
      return undefined;
    case 'linear':
      return { type, factor: positive('factor') };
    case 'dynamic':
      return { type, factor: positive('factor') };
    case 'llama3': {
      const scaling = {
        type, factor: positive('factor'), lowFreqFactor: positive('low_freq_factor'), highFreqFactor: positive('high_freq_factor'),
        originalMaxPositions: positive('original_max_position_embeddings'),
      } as const;
      if (scaling.highFreqFactor <= scaling.lowFreqFactor) throw new InputError(`${where}: rope_scaling high_freq_factor ${scaling.highFreqFactor} must exceed low_freq_factor ${scaling.lowFreqFactor}`);
      return scaling;
    }
    case 'yarn': {
      const attentionFactor = optional('attention_factor');
      const mscale = optional('mscale');
      const mscaleAllDim = optional('mscale_all_dim');
      const originalMaxPositions = optional('original_max_position_embeddings');
      if (r.truncate !== undefined && typeof r.truncate !== 'boolean') throw new InputError(`${where}: rope_scaling "truncate" must be true or false`);
      const factor = originalMaxPositions === undefined ? positive('factor') : optional('factor');
      return {
        type, ...(factor !== undefined ? { factor } : {}),
        // transformers: `rope_scaling.get("beta_fast") or 32`, `... or 1`.
        betaFast: optional('beta_fast') ?? 32, betaSlow: optional('beta_slow') ?? 1, truncate: r.truncate !== false,
        ...(attentionFactor !== undefined ? { attentionFactor } : {}), ...(mscale !== undefined ? { mscale } : {}),
        ...(mscaleAllDim !== undefined ? { mscaleAllDim } : {}), ...(originalMaxPositions !== undefined ? { originalMaxPositions } : {}),
      };
    }
    case 'longrope':
    case 'su':
      throw new InputError(`${where}: rope_scaling type ${JSON.stringify(type)} (LongRoPE, Phi-3) is not supported for ${family}; supported: linear, dynamic, llama3, yarn`);
    default:
      throw new InputError(`${where}: rope_scaling type ${JSON.stringify(type ?? null)} is not supported for ${family}; supported: linear, dynamic, llama3, yarn (key rope_type or type)`);
  }
}
