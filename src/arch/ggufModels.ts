// A .gguf file as a model for the block engine: llama.cpp's metadata ("{arch}.block_count", …) becomes the
// Hugging Face config the family's spec is made from (modelSpecFromConfig, so one place validates and refuses),
// and llama.cpp's tensor names (gguf-py's TensorNameMap: token_embd, blk.N.attn_q, …) are mapped onto the HF names
// the families ask for. One row of GGUF_ARCHITECTURES per general.architecture the engine runs (llama, qwen2, qwen3,
// gemma, gemma2, gemma3, phi3, and the mixture-of-experts qwen2moe, qwen3moe; llama with expert_count is Mixtral),
// each reading what llama.cpp's convert_hf_to_gguf.py writes for it and filling in,
// as llama-model.cpp does, what it does not write (Gemma 2/3's attention scale, Gemma 3's sliding pattern and local
// RoPE base). Anything else is refused by name.
import { InputError } from '../errors';
import type { GgufValue } from '../formats/gguf';
import { modelSpecFromConfig, type ModelSpec, type RopeScaling } from './modelSpec';

export interface GgufArchitecture {
  /** The HF model_type whose family graph runs it. */
  modelType: string;
  /**
   * llama.cpp's converter (convert_hf_to_gguf.py, LlamaModel.permute) reorders the rows of q_proj and k_proj (and
   * their biases) within each head from HF's rotate-half layout to the interleaved pairs of llama.cpp's "normal"
   * RoPE; the reader undoes it. Architectures with NEOX RoPE (qwen2) are stored unpermuted.
   */
  permutedQk: boolean;
  /**
   * HF config keys that this architecture adds to (or overrides in) the shared ones: biases read from which tensors
   * exist, `vectors` the values of the 1-D RoPE tensors it reads (ropeTensors).
   */
  config(meta: GgufMeta, has: (name: string) => boolean, vectors: ReadonlyMap<string, readonly number[]>): Record<string, unknown>;
  /**
   * Block modules where this architecture differs from the shared llama layout (HF module path -> llama.cpp's; these
   * entries win): Qwen3's q/k norms, Gemma 2's four norms, Phi-3's fused projections.
   */
  blockNames?: Readonly<Record<string, string>>;
  /**
   * llama.cpp's Gemma converters store every RMSNorm weight ("…norm.weight") as 1 + w, GemmaRMSNorm's scale, so that
   * its graph multiplies by the weight; the family graph applies (1 + w) itself, so the reader subtracts this.
   */
  normShift?: number;
  /** The 1-D RoPE tensors (ROPE_TENSORS) it reads; a file holding another is refused, not run without it. */
  ropeTensors: readonly string[];
  /**
   * Mixture-of-experts files ("{arch}.expert_count" > 0): the HF model_type they run as and the config keys its
   * experts take (moeConfig). `only`: the architecture is always MoE (qwen2moe, qwen3moe); otherwise (llama) the
   * dense model_type runs files without experts. Absent: a file with experts is refused.
   */
  moe?: { modelType: string; only: boolean; config(meta: GgufMeta, experts: number): Record<string, unknown> };
}

/** llama.cpp's tensors of per-frequency RoPE divisors: Llama 3's rope_freqs, Phi-3's LongRoPE pair. */
export const ROPE_FACTORS_TENSOR = 'rope_freqs.weight';
export const ROPE_LONG_TENSOR = 'rope_factors_long.weight';
export const ROPE_SHORT_TENSOR = 'rope_factors_short.weight';
export const ROPE_TENSORS: readonly string[] = [ROPE_FACTORS_TENSOR, ROPE_LONG_TENSOR, ROPE_SHORT_TENSOR];

const QK_NORMS = { 'self_attn.q_norm': 'attn_q_norm', 'self_attn.k_norm': 'attn_k_norm' } as const;
/** gguf-py's names of Gemma 2/3's four norms: post_attention_layernorm is ATTN_POST_NORM, the pre-MLP norm FFN_NORM. */
const SANDWICH_NORMS = {
  'post_attention_layernorm': 'post_attention_norm',
  'pre_feedforward_layernorm': 'ffn_norm',
  'post_feedforward_layernorm': 'post_ffw_norm',
} as const;
/** llama-model.cpp's LLM_TYPE_27B layer counts: there Gemma 2/3 scale q·kᵀ by (hidden/heads)^-½, not head_dim^-½. */
const GEMMA_27B_LAYERS: Readonly<Record<string, number>> = { gemma2: 46, gemma3: 62 };

/**
 * query_pre_attn_scalar as llama.cpp fixes it (no converter writes it): head_dim, or hidden / heads for the 27B
 * checkpoints (gemma_pytorch's config).
 */
function gemmaQueryScalar(meta: GgufMeta, headDim: number): number {
  return meta.count('block_count') === GEMMA_27B_LAYERS[meta.architecture] ? meta.count('embedding_length') / meta.count('attention.head_count') : headDim;
}

/** A soft-cap as llama.cpp reads it: absent is its default (undefined here: the family's), present must be > 0. */
function softcap(meta: GgufMeta, suffix: string): number | undefined {
  const value = meta.number(suffix);
  if (value !== undefined && value <= 0) throw new InputError(`${meta.where}: metadata ${meta.architecture}.${suffix} is ${value}; a soft-cap must be positive`);
  return value;
}

/** attention.sliding_window, 0 or absent meaning none (how Phi3MiniModel marks Phi-4-mini). */
function slidingWindow(meta: GgufMeta): number | undefined {
  const value = meta.number('attention.sliding_window');
  if (value === undefined || value === 0) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) throw new InputError(`${meta.where}: metadata ${meta.architecture}.attention.sliding_window is ${value}, not a window size`);
  return value;
}

/**
 * llama-model.cpp's expert widths: expert_feed_forward_length, else (files converted before the key existed)
 * feed_forward_length / expert_used_count; the tensors' shapes are checked against it when the model opens.
 */
function expertWidth(meta: GgufMeta): number {
  return meta.count('expert_feed_forward_length', Math.floor(meta.count('feed_forward_length') / meta.count('expert_used_count')));
}

/**
 * Qwen2-MoE / Qwen3-MoE as llama.cpp runs them (llm_build_qwen2moe / qwen3moe): softmax routing over
 * expert_count, top expert_used_count, the top-k weights renormalised for qwen3moe and not for qwen2moe (its graph
 * fixes build_moe_ffn's norm_w; config.json's norm_topk_prob is not written), Qwen2-MoE's shared expert of
 * expert_shared_feed_forward_length (llama.cpp's default: feed_forward_length) behind its sigmoid gate.
 */
function qwenMoe(normTopK: boolean, shared: boolean): NonNullable<GgufArchitecture['moe']>['config'] {
  return (meta, experts) => ({
    num_experts: experts, num_experts_per_tok: meta.count('expert_used_count'), moe_intermediate_size: expertWidth(meta),
    norm_topk_prob: normTopK,
    ...(shared ? { shared_expert_intermediate_size: meta.count('expert_shared_feed_forward_length', meta.count('feed_forward_length')) } : {}),
  });
}

/** Gemma (1/2/3): tied head (the converters drop lm_head), GeGLU, norms stored as 1 + w. */
const GEMMA_COMMON = { hidden_activation: 'gelu_pytorch_tanh', tie_word_embeddings: true } as const;

export const GGUF_ARCHITECTURES: Readonly<Record<string, GgufArchitecture>> = {
  // LlamaAttention: q/k/v and o biases together (attention_bias), LlamaMLP: gate/up/down (mlp_bias).
  // With llama.expert_count: Mixtral (LlamaModel stacks its experts): llm_build_llama routes with softmax, top
  // expert_used_count, weights renormalised; the experts are feed_forward_length wide.
  llama: {
    modelType: 'llama', permutedQk: true, ropeTensors: [ROPE_FACTORS_TENSOR],
    config: (_, has) => ({ attention_bias: has('blk.0.attn_q.bias'), mlp_bias: has('blk.0.ffn_gate.bias') }),
    moe: {
      modelType: 'mixtral', only: false,
      config: (meta, experts) => ({ num_local_experts: experts, num_experts_per_tok: meta.count('expert_used_count') }),
    },
  },
  // Qwen2: q/k/v biases always (the family adds them for model_type qwen2), NEOX RoPE, so no permutation.
  qwen2: { modelType: 'qwen2', permutedQk: false, ropeTensors: [ROPE_FACTORS_TENSOR], config: () => ({}) },
  // Qwen3Model: TextModel's keys with key_length = head_dim, q/k RMSNorm per head, NEOX RoPE (unpermuted).
  qwen3: {
    modelType: 'qwen3', permutedQk: false, ropeTensors: [ROPE_FACTORS_TENSOR], blockNames: QK_NORMS,
    config: (_, has) => ({ attention_bias: has('blk.0.attn_q.bias') }),
  },
  // GemmaModel: no rope.freq_base (llama.cpp's 10000), head_dim as key_length.
  gemma: { modelType: 'gemma', permutedQk: false, normShift: 1, ropeTensors: [], config: () => ({ ...GEMMA_COMMON }) },
  // Gemma2Model: soft-caps and the window as keys; scale and the alternating pattern (layer 0 sliding) as llama.cpp fixes them.
  gemma2: {
    modelType: 'gemma2', permutedQk: false, normShift: 1, ropeTensors: [], blockNames: SANDWICH_NORMS,
    config: (meta) => {
      const [attn, final, window] = [softcap(meta, 'attn_logit_softcapping'), softcap(meta, 'final_logit_softcapping'), slidingWindow(meta)];
      return {
        ...GEMMA_COMMON, query_pre_attn_scalar: gemmaQueryScalar(meta, headDimOf(meta)),
        ...(attn !== undefined ? { attn_logit_softcapping: attn } : {}), ...(final !== undefined ? { final_logit_softcapping: final } : {}),
        ...(window !== undefined ? { sliding_window: window } : {}),
      };
    },
  },
  // Gemma3Model: rope.freq_base and linear scaling of the global layers; llama.cpp fixes the local base (10000) and
  // makes every 6th layer global. No attention soft-cap; a final one only where the file has the key.
  gemma3: {
    modelType: 'gemma3_text', permutedQk: false, normShift: 1, ropeTensors: [], blockNames: { ...SANDWICH_NORMS, ...QK_NORMS },
    config: (meta) => {
      const window = slidingWindow(meta);
      if (window === undefined) throw new InputError(`${meta.where}: metadata gemma3.attention.sliding_window is missing or 0; Gemma 3 text models without local layers cannot be run yet`);
      const final = softcap(meta, 'final_logit_softcapping');
      return {
        ...GEMMA_COMMON, query_pre_attn_scalar: gemmaQueryScalar(meta, headDimOf(meta)), sliding_window: window,
        sliding_window_pattern: 6, rope_local_base_freq: 10000,
        attn_logit_softcapping: null, final_logit_softcapping: final ?? null,
      };
    },
  },
  // Phi3MiniModel: fused attn_qkv and ffn_up (gate|up), NEOX RoPE over rope.dimension_count features, LongRoPE as
  // two factor tensors and rope.scaling.attn_factor; the factor set is chosen per text as transformers does.
  phi3: {
    modelType: 'phi3', permutedQk: false, ropeTensors: [ROPE_LONG_TENSOR, ROPE_SHORT_TENSOR],
    blockNames: { 'self_attn.qkv_proj': 'attn_qkv', 'mlp.gate_up_proj': 'ffn_up' },
    config: (meta, _, vectors) => {
      const original = meta.count('rope.scaling.original_context_length', meta.count('context_length'));
      const [long, short] = [vectors.get(ROPE_LONG_TENSOR), vectors.get(ROPE_SHORT_TENSOR)];
      if ((long === undefined) !== (short === undefined)) {
        throw new InputError(`${meta.where}: holds ${long ? ROPE_LONG_TENSOR : ROPE_SHORT_TENSOR} without ${long ? ROPE_SHORT_TENSOR : ROPE_LONG_TENSOR}; LongRoPE needs both`);
      }
      const attnFactor = meta.number('rope.scaling.attn_factor');
      const window = slidingWindow(meta);
      return {
        original_max_position_embeddings: original,
        rope_scaling: long && short
          ? { type: 'longrope', long_factor: [...long], short_factor: [...short], original_max_position_embeddings: original, ...(attnFactor !== undefined ? { attention_factor: attnFactor } : {}) }
          : null,
        ...(window !== undefined ? { sliding_window: window } : {}),
      };
    },
  },  // Qwen2MoeModel: Qwen2's attention (q/k/v biases, NEOX RoPE), routed experts plus the gated shared expert.
  qwen2moe: { modelType: 'qwen2_moe', permutedQk: false, ropeTensors: [ROPE_FACTORS_TENSOR], config: () => ({}), moe: { modelType: 'qwen2_moe', only: true, config: qwenMoe(false, true) } },
  // Qwen3MoeModel: Qwen3's attention (per-head q/k RMSNorm, key_length = head_dim), routed experts, no shared one.
  qwen3moe: {
    modelType: 'qwen3_moe', permutedQk: false, ropeTensors: [ROPE_FACTORS_TENSOR], blockNames: QK_NORMS,
    config: (_, has) => ({ attention_bias: has('blk.0.attn_q.bias') }),
    moe: { modelType: 'qwen3_moe', only: true, config: qwenMoe(true, false) },
  },
};

/** The head size the metadata gives: key_length, else hidden / heads (ggufModel and the Gemma rows read it here). */
function headDimOf(meta: GgufMeta): number {
  return meta.number('attention.key_length') ?? meta.count('embedding_length') / meta.count('attention.head_count');
}

/** HF tensor name -> llama.cpp's, for the tensors of the llama-layout families (gguf-py's TensorNameMap). */
const GLOBAL_NAMES: Readonly<Record<string, string>> = {
  'model.embed_tokens.weight': 'token_embd.weight',
  'model.norm.weight': 'output_norm.weight',
  'lm_head.weight': 'output.weight',
};
const BLOCK_NAMES: Readonly<Record<string, string>> = {
  'input_layernorm': 'attn_norm',
  'self_attn.q_proj': 'attn_q',
  'self_attn.k_proj': 'attn_k',
  'self_attn.v_proj': 'attn_v',
  'self_attn.o_proj': 'attn_output',
  'post_attention_layernorm': 'ffn_norm',
  'mlp.gate_proj': 'ffn_gate',
  'mlp.up_proj': 'ffn_up',
  'mlp.down_proj': 'ffn_down',
  // Mixture-of-experts blocks (Mixtral's block_sparse_moe, Qwen*-MoE's mlp): the router, Qwen2-MoE's shared expert
  // and its gate. The routed experts are slices of stacked tensors (ggufExpertSlice).
  'block_sparse_moe.gate': 'ffn_gate_inp',
  'mlp.gate': 'ffn_gate_inp',
  'mlp.shared_expert.gate_proj': 'ffn_gate_shexp',
  'mlp.shared_expert.up_proj': 'ffn_up_shexp',
  'mlp.shared_expert.down_proj': 'ffn_down_shexp',
  'mlp.shared_expert_gate': 'ffn_gate_inp_shexp',
};

/** HF's expert projections (Mixtral's w1/w3/w2, Qwen*-MoE's gate/up/down) -> llama.cpp's stacked tensors. */
const EXPERT_STACKS: Readonly<Record<string, string>> = {
  w1: 'ffn_gate_exps', w3: 'ffn_up_exps', w2: 'ffn_down_exps',
  gate_proj: 'ffn_gate_exps', up_proj: 'ffn_up_exps', down_proj: 'ffn_down_exps',
};

/**
 * Where the expert weight a family calls `hfName` lies in a GGUF file: convert_hf_to_gguf.py stacks each block's
 * experts into one tensor per projection, [n_expert, out, in] (GGUF dims [in, out, n_expert]), so expert `index` is
 * the index-th slice of the outermost dim, its bytes contiguous. Undefined when `hfName` is no routed expert.
 */
export function ggufExpertSlice(hfName: string): { name: string; index: number } | undefined {
  const match = /^model\.layers\.(\d+)\.(?:block_sparse_moe|mlp)\.experts\.(\d+)\.(\w+)\.weight$/.exec(hfName);
  const stack = match ? entry(EXPERT_STACKS, match[3]!) : undefined;
  return match && stack ? { name: `blk.${match[1]}.${stack}.weight`, index: Number(match[2]) } : undefined;
}

/** llama.cpp's name for the tensor a family calls `hfName`; undefined when GGUF has no such tensor. */
export function ggufTensorName(hfName: string, architecture?: GgufArchitecture): string | undefined {
  const global = entry(GLOBAL_NAMES, hfName);
  if (global) return global;
  const match = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(hfName);
  const module = match ? entry(architecture?.blockNames, match[2]!) ?? entry(BLOCK_NAMES, match[2]!) : undefined;
  return match && module ? `blk.${match[1]}.${module}.${match[3]}` : undefined;
}

/** A table's own entry (never an Object.prototype member such as "constructor"). */
function entry(table: Readonly<Record<string, string>> | undefined, key: string): string | undefined {
  return table && Object.hasOwn(table, key) ? table[key] : undefined;
}

/** The permutation convert_hf_to_gguf.py applied to a tensor (by its GGUF name), as heads of rows; null if none. */
export function permutedHeads(spec: ModelSpec, architecture: GgufArchitecture, ggufName: string): number | null {
  if (!architecture.permutedQk || (spec.kind !== 'llama' && spec.kind !== 'moe')) return null;
  const match = /^blk\.\d+\.attn_(q|k)\.(weight|bias)$/.exec(ggufName);
  if (!match) return null;
  // LlamaModel.permute(w, n_head, n_head_kv) reshapes by n_head_kv when it differs: the k projection's heads.
  return match[1] === 'q' ? spec.heads : spec.kvHeads;
}

/** Typed reads of "{arch}.…" metadata, each naming the key when it is missing or not what llama.cpp writes. */
export class GgufMeta {
  constructor(private readonly values: ReadonlyMap<string, GgufValue>, readonly architecture: string, readonly where: string) {}

  private scalar(suffix: string): { key: string; value: unknown } {
    const key = `${this.architecture}.${suffix}`;
    const value = this.values.get(key);
    if (value && value.kind !== 'scalar') throw new InputError(`${this.where}: metadata ${key} is an array; llama.cpp reads one value there`);
    return { key, value: value?.value };
  }

  /** A positive integer, or `fallback` when absent (required when no fallback). */
  count(suffix: string, fallback?: number): number {
    const { key, value } = this.scalar(suffix);
    if (value === undefined) {
      if (fallback !== undefined) return fallback;
      throw new InputError(`${this.where}: metadata ${key} is missing; it is needed to run the model (llama.cpp requires it too)`);
    }
    const n = typeof value === 'bigint' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) throw new InputError(`${this.where}: metadata ${key} is ${String(value)}, not a positive integer`);
    return n;
  }

  number(suffix: string): number | undefined {
    const { key, value } = this.scalar(suffix);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new InputError(`${this.where}: metadata ${key} is ${String(value)}, not a number`);
    return value;
  }

  text(suffix: string): string | undefined {
    const { key, value } = this.scalar(suffix);
    if (value !== undefined && typeof value !== 'string') throw new InputError(`${this.where}: metadata ${key} is ${String(value)}, not a string`);
    return value;
  }
}

export interface GgufModel {
  spec: ModelSpec;
  architecture: GgufArchitecture;
  /** HF config keys made from the metadata (what the spec was validated as). */
  config: Record<string, unknown>;
}

/**
 * The spec of the model a GGUF file holds. `tensorShape(name)` gives a tensor's GGUF dims (innermost first) or
 * undefined when the file has no such tensor; `vectors`, the values of the ROPE_TENSORS it has (read by the caller).
 */
export function ggufModel(values: ReadonlyMap<string, GgufValue>, tensorShape: (name: string) => readonly number[] | undefined, where: string, vectors: ReadonlyMap<string, readonly number[]> = new Map()): GgufModel {
  const declared = values.get('general.architecture');
  if (declared?.kind !== 'scalar' || typeof declared.value !== 'string') throw new InputError(`${where}: has no general.architecture, so which model it holds is unknown; it cannot be run`);
  const name = declared.value;
  const architecture = Object.hasOwn(GGUF_ARCHITECTURES, name) ? GGUF_ARCHITECTURES[name] : undefined;
  if (!architecture) {
    throw new InputError(`${where}: GGUF architecture "${name}" cannot be run as a model in this version (supported: ${Object.keys(GGUF_ARCHITECTURES).join(', ')}); its weights can still be inspected`);
  }
  const meta = new GgufMeta(values, name, where);
  const has = (tensor: string) => tensorShape(tensor) !== undefined;
  // llama.cpp's gguf-split writes a model as several files, each with split.count; this reader opens one.
  const split = values.get('split.count');
  if (split?.kind === 'scalar' && Number(split.value) > 1) {
    throw new InputError(`${where}: is one of ${String(split.value)} split GGUF files (split.count); merge them into one first (llama-gguf-split --merge FIRST.gguf OUT.gguf)`);
  }
  const experts = meta.number('expert_count') ?? 0;
  if (architecture.moe?.only && experts === 0) throw new InputError(`${where}: ${name}.expert_count is missing or 0; a ${name} model routes to experts, so it cannot be run without it`);
  if (experts > 0 && !architecture.moe) throw new InputError(`${where}: ${name}.expert_count is ${experts}: mixture-of-experts ${name} files cannot be run (supported: ${moeArchitectures()})`);
  for (const tensor of ROPE_TENSORS.filter(has)) {
    if (!architecture.ropeTensors.includes(tensor)) throw new InputError(`${where}: holds ${tensor}, which llama.cpp does not read for ${name}; refusing rather than running without it`);
    if (!vectors.has(tensor)) throw new Error(`ggufModel: ${where} has ${tensor}; read it and pass its values`);
  }
  const ropeFactors = vectors.get(ROPE_FACTORS_TENSOR);
  const embedding = tensorShape('token_embd.weight');
  if (!embedding || embedding.length !== 2) throw new InputError(`${where}: token_embd.weight (the token embedding, [hidden, vocab] in GGUF order) is missing or not 2-D`);
  const heads = meta.count('attention.head_count');
  const hidden = meta.count('embedding_length');
  const keyLength = meta.number('attention.key_length');
  const valueLength = meta.number('attention.value_length');
  if (keyLength !== undefined && valueLength !== undefined && keyLength !== valueLength) {
    throw new InputError(`${where}: ${name}.attention.key_length ${keyLength} differs from value_length ${valueLength}; the graph has one head size`);
  }
  const headDim = headDimOf(meta);
  const ropeDims = meta.number('rope.dimension_count');
  const config: Record<string, unknown> = {
    model_type: architecture.modelType,
    hidden_size: hidden,
    num_hidden_layers: meta.count('block_count'),
    num_attention_heads: heads,
    num_key_value_heads: meta.count('attention.head_count_kv', heads),
    intermediate_size: meta.count('feed_forward_length'),
    vocab_size: embedding[1],
    max_position_embeddings: meta.count('context_length'),
    // llama.cpp's defaults when a key is absent: freq_base 10000; the RMS epsilon has none (it must be there).
    rope_theta: meta.number('rope.freq_base') ?? 10000,
    rms_norm_eps: requireKey(meta.number('attention.layer_norm_rms_epsilon'), `${name}.attention.layer_norm_rms_epsilon`, where),
    ...(keyLength !== undefined ? { head_dim: keyLength } : {}),
    // A rotary dimension below the head size is partial rotary, which modelSpecFromConfig refuses by name.
    ...(ropeDims !== undefined && ropeDims !== headDim ? { partial_rotary_factor: ropeDims / headDim } : {}),
    rope_scaling: ropeScaling(meta),
    // llama.cpp uses token_embd for the output when output.weight is absent: a tied head.
    tie_word_embeddings: !has('output.weight'),
    hidden_act: 'silu',
    ...architecture.config(meta, has, vectors),
    ...(experts > 0 ? moeConfig(meta, architecture, experts, has) : {}),
  };
  const spec = modelSpecFromConfig(config, `${where} (its GGUF metadata)`);
  if (ropeFactors && (spec.kind === 'llama' || spec.kind === 'qwen3' || spec.kind === 'moe')) spec.ropeScaling = factorScaling(ropeFactors, spec.headDim, config.rope_scaling !== null, where);
  return { spec, architecture, config };
}

/** The architectures whose GGUF files with experts run, for messages. */
const moeArchitectures = (): string => Object.entries(GGUF_ARCHITECTURES).filter(([, a]) => a.moe).map(([n]) => n).join(', ');

/**
 * An MoE file's config keys: its MoE model_type and expert keys (the row's moe.config), and which blocks route: as
 * llama.cpp decides per block, those with a router (ffn_gate_inp); the others are dense MLPs (Mixtral has none, and
 * llama.cpp's qwen2moe / qwen3moe load only files whose every block routes).
 */
function moeConfig(meta: GgufMeta, architecture: GgufArchitecture, experts: number, has: (name: string) => boolean): Record<string, unknown> {
  if (!Number.isSafeInteger(experts)) throw new InputError(`${meta.where}: metadata ${meta.architecture}.expert_count is ${experts}, not a count of experts`);
  const moe = architecture.moe!;
  const layers = meta.count('block_count');
  const dense = Array.from({ length: layers }, (_, l) => l).filter((l) => !has(`blk.${l}.ffn_gate_inp.weight`));
  if (dense.length > 0 && moe.modelType === 'mixtral') {
    throw new InputError(`${meta.where}: ${meta.architecture}.expert_count is ${experts} but block ${dense[0]} has no router (blk.${dense[0]}.ffn_gate_inp.weight); Mixtral-style files route in every block`);
  }
  return { model_type: moe.modelType, ...moe.config(meta, experts), mlp_only_layers: dense, decoder_sparse_step: 1 };
}

/**
 * rope_freqs as divisors of the head's headDim/2 frequencies. llama.cpp would also apply a rope.scaling.type on top;
 * no converter writes both, so that is refused rather than composed.
 */
function factorScaling(factors: readonly number[], headDim: number, alsoScaled: boolean, where: string): RopeScaling {
  if (alsoScaled) throw new InputError(`${where}: holds ${ROPE_FACTORS_TENSOR} and a rope.scaling.type as well; the two together are not supported`);
  if (factors.length !== headDim / 2) throw new InputError(`${where}: ${ROPE_FACTORS_TENSOR} has ${factors.length} values, but a head of ${headDim} has ${headDim / 2} rotary frequencies`);
  const bad = factors.findIndex((f) => !Number.isFinite(f) || f <= 0);
  if (bad >= 0) throw new InputError(`${where}: ${ROPE_FACTORS_TENSOR}[${bad}] is ${factors[bad]}, not a positive factor`);
  return { type: 'factors', factors: [...factors] };
}

function requireKey<T>(value: T | undefined, key: string, where: string): T {
  if (value === undefined) throw new InputError(`${where}: metadata ${key} is missing; it is needed to run the model`);
  return value;
}

/**
 * "{arch}.rope.scaling.*" (and the legacy rope.scale_linear) as HF's rope_scaling. llama.cpp's yarn and longrope
 * take their parameters differently from transformers' (ext_factor, attn_factor); refused rather than guessed.
 */
function ropeScaling(meta: GgufMeta): Record<string, unknown> | null {
  const type = meta.text('rope.scaling.type');
  const factor = meta.number('rope.scaling.factor') ?? meta.number('rope.scale_linear');
  if (type === undefined || type === 'none') {
    if (type === undefined && factor !== undefined && factor !== 1) return { type: 'linear', factor };
    return null;
  }
  if (type === 'linear') {
    if (factor === undefined) throw new InputError(`${meta.where}: ${meta.architecture}.rope.scaling.type is linear but rope.scaling.factor is missing`);
    return factor === 1 ? null : { type: 'linear', factor };
  }
  throw new InputError(`${meta.where}: ${meta.architecture}.rope.scaling.type "${type}" is not supported for GGUF models yet (supported: none, linear)`);
}
