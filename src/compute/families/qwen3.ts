// Qwen3's declaration (its graphs: qwen3Graph.ts), following transformers' modeling_qwen3: the Llama block with a
// per-head RMSNorm of q and k over head_dim before RoPE (self_attn.q_norm / k_norm), head_dim explicit in the
// config (128 whatever hidden_size / heads is), attention_bias putting biases on q, k, v and o as LlamaAttention
// does, and no MLP bias option. Sliding windows are handled as Mistral's (windows capped to sliding_window when
// use_sliding_window is true), rope_scaling as the Llama family's.
import type { LlamaSpec } from '../../arch/modelSpec';
import { InputError } from '../../errors';
import { gatedBlockTensors, gatedLinearSites, llamaContextLength, llamaEnds } from './llama';
import { gatedBlockParameters } from './parameters';
import type { FamilyDeclaration } from './types';

export interface Qwen3Spec extends Omit<LlamaSpec, 'kind'> {
  kind: 'qwen3';
}

/**
 * Qwen3's keys are Llama's plus q/k norm (always on); `parseLlama` is the Llama family's config parser. Where a key
 * is absent, Qwen3Config's defaults apply: head_dim 128 (not hidden / heads), max_position_embeddings 32768.
 */
export function qwen3SpecFromConfig(config: Record<string, unknown>, where: string, parseLlama: (config: Record<string, unknown>) => LlamaSpec): Qwen3Spec {
  if (config.mlp_bias === true) throw new InputError(`${where}: mlp_bias: true is not a qwen3 option in transformers (Qwen3MLP has no biases); refusing rather than guessing`);
  const { kind: _, ...llama } = parseLlama({
    ...config, model_type: 'llama', head_dim: config.head_dim ?? 128, max_position_embeddings: config.max_position_embeddings ?? 32768,
  });
  return { ...llama, kind: 'qwen3', modelType: 'qwen3' };
}

/** Qwen3's block: Llama's with q/k norm. */
export const QK_NORM = { qkNorm: true } as const;

export const qwen3: FamilyDeclaration<Qwen3Spec> = {
  blockTensors: (spec, layer) => gatedBlockTensors(spec, layer, QK_NORM),
  ...llamaEnds,
  linearSites: (spec, layer) => gatedLinearSites(spec, layer),
  contextLength: llamaContextLength,
  /** input_layernorm, post_attention_layernorm [hidden] and q_norm, k_norm [head_dim]. */
  blockParameters(s) {
    const { attention, mlp } = gatedBlockParameters(s);
    return attention + mlp + 2 * s.hidden + 2 * s.headDim;
  },
};
