// What the common keys of Hugging Face config files mean: model configs (Llama, Mistral, Qwen2, Gemma, Phi-3,
// Mixtral, GPT-2, BERT), PEFT adapter configs (LoRA) and generation configs. Short on purpose: a hover, not the docs.
import type { JsonPathSegment } from './jsonPath';

export type ConfigFileKind = 'model' | 'adapter' | 'generation';

/** Which table a file's keys are looked up in, by its name; null for other JSON files. */
export function configFileKind(fileName: string): ConfigFileKind | null {
  switch (fileName) {
    case 'config.json':
      return 'model';
    case 'adapter_config.json':
      return 'adapter';
    case 'generation_config.json':
      return 'generation';
    default:
      return null;
  }
}

/** A model's config.json names its architecture; other tools' config.json files (and tokenizer configs) do not. */
export function isModelConfig(config: Record<string, unknown>): boolean {
  return 'model_type' in config || 'architectures' in config;
}

const MODEL: Record<string, string> = {
  architectures: 'The model classes the weights were saved from (e.g. `LlamaForCausalLM`): which head sits on top of the base model.',
  model_type: 'The architecture family; selects the config and model classes in transformers (`llama`, `mistral`, `qwen2`, `gemma`, `phi3`, `mixtral`, `gpt2`, `bert`, …).',
  hidden_size: 'Width of the residual stream (d_model): every token is a vector of this many numbers between blocks.',
  intermediate_size: 'Width of the MLP’s inner layer (gate/up projections go hidden → this, down goes back).',
  num_hidden_layers: 'Number of transformer blocks (decoder or encoder layers) stacked in the model.',
  num_attention_heads: 'Query heads per attention layer.',
  num_key_value_heads: 'Key/value heads per attention layer. Fewer than the query heads is grouped-query attention (GQA): each KV head serves a group of query heads; 1 is multi-query attention. Absent: equal to the query heads.',
  head_dim: 'Size of each attention head. Absent: hidden_size / num_attention_heads.',
  hidden_act: 'Activation of the MLP (`silu` = SwiGLU with a gate, `gelu_pytorch_tanh` = GeGLU in Gemma, `gelu` in BERT).',
  hidden_activation: 'Gemma: activation of the gated MLP (`gelu_pytorch_tanh`); overrides hidden_act.',
  max_position_embeddings: 'The longest sequence the model was configured for (its context length, in tokens). With RoPE it is not a hard limit, but quality drops past what it was trained on.',
  original_max_position_embeddings: 'The context length before RoPE scaling extended it (Phi-3 long-context variants).',
  rms_norm_eps: 'Epsilon added inside RMSNorm’s square root, for numerical stability.',
  layer_norm_eps: 'Epsilon of LayerNorm (BERT, GPT-NeoX).',
  layer_norm_epsilon: 'Epsilon of LayerNorm (GPT-2).',
  rope_theta: 'Base of the rotary position embedding frequencies. Larger bases rotate slower, which suits longer contexts (10 000 in Llama 2, 500 000 in Llama 3, 1 000 000 in Qwen2/Mixtral).',
  rope_scaling: 'How RoPE is stretched beyond the trained context (`linear`, `dynamic`, `yarn`, `longrope`, `llama3`), with its factor; null = plain RoPE.',
  partial_rotary_factor: 'Fraction of each head’s dimensions that RoPE rotates (the rest carry no position).',
  rotary_pct: 'GPT-NeoX / Pythia: fraction of each head’s dimensions that RoPE rotates (0.25 in Pythia).',
  rotary_emb_base: 'GPT-NeoX / Pythia: base of the rotary frequencies (rope_theta under another name).',
  use_parallel_residual: 'GPT-NeoX / Pythia: attention and MLP both read the block input and are added together (x + attn(ln1 x) + mlp(ln2 x)) instead of one after the other.',
  attention_bias: 'Whether the attention projections have bias terms.',
  mlp_bias: 'Whether the MLP projections have bias terms.',
  attention_dropout: 'Dropout on attention probabilities during training (0 at inference).',
  initializer_range: 'Standard deviation of the normal initialisation of weights (training only).',
  tie_word_embeddings: 'Whether the output head (lm_head) reuses the input embedding matrix instead of having its own.',
  torch_dtype: 'The dtype the weights were saved in (`float32`, `bfloat16`, `float16`); transformers loads in it with `torch_dtype="auto"`.',
  dtype: 'The dtype the weights were saved in (newer transformers write this instead of torch_dtype).',
  use_cache: 'Whether generation keeps past keys and values (the KV cache) so each new token attends without recomputing them.',
  transformers_version: 'The transformers version that wrote this file.',
  vocab_size: 'Number of token ids: rows of the embedding matrix (and of the output head).',
  bos_token_id: 'Token id of beginning-of-sequence.',
  eos_token_id: 'Token id(s) that end a sequence.',
  pad_token_id: 'Token id used to pad batches to one length.',
  sliding_window: 'Sliding-window attention: each token attends to at most this many previous tokens (Mistral, Qwen2, Gemma 2/3 local layers).',
  use_sliding_window: 'Qwen2: whether sliding-window attention is on at all.',
  max_window_layers: 'Qwen2: the layers from this index on use sliding-window attention; the earlier ones attend fully.',
  num_local_experts: 'Mixtral: MLP experts per MoE layer.',
  num_experts_per_tok: 'Mixture of experts: how many experts the router sends each token to.',
  router_aux_loss_coef: 'Weight of the load-balancing loss that keeps experts evenly used (training only).',
  output_router_logits: 'Whether the model returns router logits (needed for the auxiliary loss).',
  router_jitter_noise: 'Noise added to router inputs during training.',
  pretraining_tp: 'Tensor-parallel degree used in pretraining (Llama); 1 = exact matmuls at inference.',
  resid_pdrop: 'Dropout on residual connections (training only).',
  embd_pdrop: 'Dropout on embeddings (training only).',
  attn_pdrop: 'Dropout on attention probabilities (GPT-2, training only).',
  hidden_dropout_prob: 'BERT: dropout on hidden states (training only).',
  attention_probs_dropout_prob: 'BERT: dropout on attention probabilities (training only).',
  type_vocab_size: 'BERT: number of segment (token type) ids, 2 for sentence A/B.',
  position_embedding_type: 'BERT: `absolute` learned positions, or relative variants.',
  is_decoder: 'Whether the model attends causally (BERT as a decoder).',
  n_embd: 'GPT-2: width of the residual stream (hidden size).',
  n_layer: 'GPT-2: number of transformer blocks.',
  n_head: 'GPT-2: attention heads per layer.',
  n_inner: 'GPT-2: width of the MLP’s inner layer; null = 4 × n_embd.',
  n_positions: 'GPT-2: learned position embeddings, i.e. the longest context.',
  n_ctx: 'GPT-2: context length (older configs; same as n_positions).',
  activation_function: 'GPT-2: activation of the MLP (`gelu_new`, the tanh approximation).',
  scale_attn_weights: 'GPT-2: divide attention scores by √head_dim.',
  scale_attn_by_inverse_layer_idx: 'GPT-2: also divide attention scores by the layer index + 1.',
  reorder_and_upcast_attn: 'GPT-2: compute attention in float32 for stability.',
  query_pre_attn_scalar: 'Gemma 2/3: queries are scaled by 1/√ of this instead of 1/√head_dim.',
  final_logit_softcapping: 'Gemma 2: logits are squashed by tanh to ± this value (null: not at all).',
  attn_logit_softcapping: 'Gemma 2: attention scores are squashed by tanh to ± this value (null: not at all).',
  layer_types: 'Per layer, `sliding_attention` (local, within sliding_window) or `full_attention` (global); Gemma 2/3 derive it from the layer index when absent.',
  sliding_window_pattern: 'Gemma 3: every this-many-th layer is global, the others slide (default 6); layer_types overrides it.',
  rope_local_base_freq: 'Gemma 3: RoPE base of the sliding-window (local) layers; the global layers use rope_theta and rope_scaling.',
  quantization_config: 'How the saved weights are quantized (bitsandbytes, GPTQ, AWQ, …); absent for plain float weights.',
  text_config: 'Multimodal models: the config of the language model inside.',
  vision_config: 'Multimodal models: the config of the vision encoder.',
  auto_map: 'Custom code: the Python classes (in the repository) that implement this config and model.',
  // rope_scaling.* (looked up by their full path first).
  'rope_scaling.type': 'RoPE scaling method (older key; `rope_type` in newer configs).',
  'rope_scaling.rope_type': 'RoPE scaling method: `linear` (position interpolation), `dynamic` (NTK), `yarn`, `longrope`, `llama3`.',
  'rope_scaling.factor': 'How many times the trained context the scaled RoPE is meant to reach.',
  'rope_scaling.original_max_position_embeddings': 'The context length the model was pretrained with, before scaling.',
  'rope_scaling.low_freq_factor': 'Llama 3 scaling: wavelengths longer than original context / this are fully scaled.',
  'rope_scaling.high_freq_factor': 'Llama 3 scaling: wavelengths shorter than original context / this are left unscaled.',
  'rope_scaling.beta_fast': 'YaRN: boundary (in rotations) of the dimensions left unscaled.',
  'rope_scaling.beta_slow': 'YaRN: boundary (in rotations) of the dimensions fully interpolated.',
  'rope_scaling.long_factor': 'LongRoPE (Phi-3): per-dimension scale factors used past the original context.',
  'rope_scaling.short_factor': 'LongRoPE (Phi-3): per-dimension scale factors used within the original context.',
  'rope_scaling.attention_factor': 'YaRN/LongRoPE: scale applied to attention for the extended context.',
};

const ADAPTER: Record<string, string> = {
  peft_type: 'The adapter method (`LORA`, `IA3`, `PREFIX_TUNING`, …).',
  task_type: 'The task head the adapter was trained for (`CAUSAL_LM`, `SEQ_CLS`, …).',
  r: 'LoRA rank: the inner size of the low-rank update B·A (A is r × in, B is out × r).',
  lora_alpha: 'LoRA scaling numerator: the update B·A is multiplied by lora_alpha / r (or / √r with use_rslora).',
  lora_dropout: 'Dropout on the adapter’s input during training.',
  target_modules: 'The modules (by name or regex) that got a LoRA update, e.g. `q_proj`, `v_proj`.',
  exclude_modules: 'Modules kept out of target_modules.',
  modules_to_save: 'Modules trained in full and saved with the adapter (often the classifier head).',
  bias: 'Which biases are trained: `none`, `all` or `lora_only`.',
  lora_bias: 'Whether the LoRA B matrix has a bias.',
  fan_in_fan_out: 'Set when the base layer stores its weight as (in, out) (GPT-2’s Conv1D).',
  base_model_name_or_path: 'The model the adapter was trained on; load the adapter on top of this.',
  revision: 'The revision of the base model.',
  inference_mode: 'Saved for inference (adapter weights frozen).',
  init_lora_weights: 'How the adapter was initialised (`true`: B = 0 so training starts from the base model; `gaussian`, `pissa`, `olora`, …).',
  use_rslora: 'Rank-stabilised LoRA: scale by lora_alpha / √r instead of / r.',
  use_dora: 'DoRA: the update is split into magnitude and direction.',
  rank_pattern: 'Per-module ranks that override r (module name or regex → rank).',
  alpha_pattern: 'Per-module alphas that override lora_alpha.',
  layers_to_transform: 'Only these layer indices are adapted.',
  layers_pattern: 'Name of the layer list that layers_to_transform indexes (e.g. `layers`, `h`).',
  auto_mapping: 'Custom model classes the adapter maps to.',
  megatron_config: 'Megatron-LM tensor-parallel settings for the LoRA layers.',
};

const GENERATION: Record<string, string> = {
  do_sample: 'Sample the next token from the distribution (`true`) or take the most likely one (`false`, greedy or beam search).',
  temperature: 'Divides the logits before sampling: below 1 sharper, above 1 flatter. Only used when do_sample is true.',
  top_k: 'Sample only among the k most likely tokens (0 = off).',
  top_p: 'Nucleus sampling: sample among the smallest set of tokens whose probabilities add up to p.',
  min_p: 'Drop tokens less likely than min_p × the probability of the most likely token.',
  typical_p: 'Locally typical sampling mass.',
  repetition_penalty: 'Penalises tokens already in the sequence (1.0 = none).',
  no_repeat_ngram_size: 'Never repeat an n-gram of this size.',
  max_new_tokens: 'Most tokens to generate after the prompt.',
  max_length: 'Most tokens in prompt + generated text (max_new_tokens takes precedence).',
  min_new_tokens: 'Fewest tokens to generate before EOS is allowed.',
  num_beams: 'Beam search width (1 = no beam search).',
  length_penalty: 'Beam search: exponent on length when scoring beams (> 1 favours longer outputs).',
  early_stopping: 'Beam search: stop when num_beams candidates are finished.',
  num_return_sequences: 'How many sequences to return per prompt.',
  bos_token_id: 'Token id of beginning-of-sequence.',
  eos_token_id: 'Token id(s) at which generation stops.',
  pad_token_id: 'Token id used to pad batches to one length.',
  decoder_start_token_id: 'Encoder-decoder models: the first token fed to the decoder.',
  use_cache: 'Keep past keys and values (the KV cache) while generating.',
  transformers_version: 'The transformers version that wrote this file.',
  _from_model_config: 'Written by transformers when this file was derived from config.json.',
};

const TABLES: Record<ConfigFileKind, Record<string, string>> = { model: MODEL, adapter: ADAPTER, generation: GENERATION };

/** The meaning of the key at `path`: its full dotted path first (rope_scaling.factor), then its own name. */
export function keyMeaning(kind: ConfigFileKind, path: readonly JsonPathSegment[]): { key: string; meaning: string } | null {
  const table = TABLES[kind];
  const names = path.filter((s): s is string => typeof s === 'string');
  const key = names[names.length - 1];
  if (key === undefined) return null;
  // Multimodal configs nest the language model's keys under text_config: the same meanings apply.
  const local = names[0] === 'text_config' || names[0] === 'llm_config' ? names.slice(1) : names;
  for (let from = 0; from < local.length; from++) {
    const dotted = local.slice(from).join('.');
    if (Object.hasOwn(table, dotted)) return { key: dotted, meaning: table[dotted]! };
  }
  return null;
}
