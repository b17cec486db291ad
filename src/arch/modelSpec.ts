// config.json -> the numbers a forward pass needs, for the families the graph builder knows (GPT-2 and the Llama
// family: Llama, Mistral, Qwen2). Anything the builder cannot honour is refused here, naming the key, rather than
// giving silently wrong activations.
import { InputError } from '../errors';

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
  /** q/k/v projections carry biases (Qwen2, or attention_bias: true). */
  qkvBias: boolean;
  tiedEmbeddings: boolean;
  /** Mistral/Qwen2 sliding-window attention: text windows are capped to this many tokens. */
  slidingWindow?: number;
}

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

export type ModelSpec = LlamaSpec | Gpt2Spec;

const LLAMA_FAMILY = new Set(['llama', 'mistral', 'qwen2']);

export function modelSpecFromConfig(config: Record<string, unknown>, where: string): ModelSpec {
  const modelType = typeof config.model_type === 'string' ? config.model_type : undefined;
  const int = (key: string, fallback?: number): number => {
    const value = config[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      throw new InputError(`${where}: "${key}" must be a positive integer for a forward pass (found ${JSON.stringify(config[key])})`);
    }
    return value;
  };
  const num = (key: string, fallback: number): number => {
    const value = config[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new InputError(`${where}: "${key}" must be a positive number (found ${JSON.stringify(value)})`);
    return value;
  };

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
  if (modelType && LLAMA_FAMILY.has(modelType)) {
    const hidden = int('hidden_size');
    const heads = int('num_attention_heads');
    const kvHeads = int('num_key_value_heads', heads);
    const headDim = config.head_dim === undefined || config.head_dim === null ? hidden / heads : int('head_dim');
    if (!Number.isInteger(headDim)) throw new InputError(`${where}: hidden_size ${hidden} is not divisible by num_attention_heads ${heads}`);
    if (heads % kvHeads !== 0) throw new InputError(`${where}: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
    const rope = config.rope_scaling;
    if (rope !== undefined && rope !== null) {
      throw new InputError(`${where}: rope_scaling ${JSON.stringify(rope)} is not supported yet; only plain RoPE with rope_theta is`);
    }
    const activation = config.hidden_act ?? 'silu';
    if (activation !== 'silu') throw new InputError(`${where}: hidden_act "${String(activation)}" is not supported (Llama-family graphs use silu)`);
    return {
      kind: 'llama', modelType, layers: int('num_hidden_layers'), hidden, heads, kvHeads, headDim,
      intermediate: int('intermediate_size'), vocab: int('vocab_size'), maxPositions: int('max_position_embeddings', 2048),
      ropeTheta: num('rope_theta', 10000), rmsEps: num('rms_norm_eps', 1e-6),
      qkvBias: modelType === 'qwen2' || config.attention_bias === true,
      tiedEmbeddings: config.tie_word_embeddings === true,
      // Sliding-window attention equals full attention within the window: windows are capped to it.
      ...(typeof config.sliding_window === 'number' && config.sliding_window > 0 && config.use_sliding_window !== false ? { slidingWindow: config.sliding_window } : {}),
    };
  }
  throw new InputError(
    `${where}: model_type ${JSON.stringify(modelType ?? null)} has no forward-pass graph in this version (supported: gpt2, llama, mistral, qwen2); ` +
      'export the model to ONNX and analyse the .onnx file instead',
  );
}
