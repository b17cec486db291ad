// The Mixture-of-Experts model types (Mixtral, Qwen2-MoE, Qwen3-MoE) declared as data: config.json -> MoeSpec (keys
// honoured and refused by name), the checkpoint names of each block (Llama's attention, then the MLP: dense, or
// router + experts), and the parameter count the engine, the plans and the config hover share. The block graph is
// moeGraph.ts. Semantics: transformers' modeling_mixtral, modeling_qwen2_moe, modeling_qwen3_moe.
import type { LlamaSpec, SpecFields } from '../../arch/modelSpec';
import { InputError } from '../../errors';
import { refuseUnlikeLlama } from './configFields';
import { gatedAttentionTensors, llamaEnds } from './llama';
import { gatedBlockParameters } from './parameters';
import type { BlockMlp, FamilyDeclaration, MlpTensors } from './types';

/** What differs between the MoE model types: one row each. */
const VARIANTS = {
  mixtral: { container: 'block_sparse_moe', expert: ['w1', 'w3', 'w2'], countKey: 'num_local_experts', expertSizeKey: 'intermediate_size', qkvBias: false, qkNorm: false, shared: false, denseBlocks: false },
  qwen2_moe: { container: 'mlp', expert: ['gate_proj', 'up_proj', 'down_proj'], countKey: 'num_experts', expertSizeKey: 'moe_intermediate_size', qkvBias: true, qkNorm: false, shared: true, denseBlocks: true },
  qwen3_moe: { container: 'mlp', expert: ['gate_proj', 'up_proj', 'down_proj'], countKey: 'num_experts', expertSizeKey: 'moe_intermediate_size', qkvBias: false, qkNorm: true, shared: false, denseBlocks: true },
} as const;

export type MoeModelType = keyof typeof VARIANTS;
export const MOE_MODEL_TYPES = Object.keys(VARIANTS) as MoeModelType[];

/** Llama's fields (the attention is Llama's; `intermediate` is the dense MLP's width, for Qwen*-MoE blocks without routed experts) and the experts'. */
export interface MoeSpec extends Omit<LlamaSpec, 'kind' | 'modelType' | 'mlpBias'> {
  kind: 'moe';
  modelType: MoeModelType;
  /** Qwen3-MoE: RMSNorm over each head's q and k before RoPE. */
  qkNorm: boolean;
  /** Routed experts per MoE block, the width of each, and how many each token goes to. */
  experts: number;
  expertIntermediate: number;
  topK: number;
  /** Top-k weights divided by their sum (Mixtral always; Qwen*-MoE when norm_topk_prob). */
  normTopK: boolean;
  /** Qwen2-MoE's shared expert width (0: none). */
  sharedIntermediate: number;
  /** Per block: whether it routes to experts (false: a dense MLP of `intermediate`). */
  sparse: boolean[];
}

export function moeSpecFromConfig(config: Record<string, unknown>, modelType: MoeModelType, f: SpecFields): MoeSpec {
  const v = VARIANTS[modelType];
  const { int, num, where } = f;
  const hidden = int('hidden_size');
  const { heads, kvHeads, headDim } = f.attentionShape(hidden);
  refuseUnlikeLlama(config, where, modelType);
  const ropeScaling = f.ropeScaling(config.rope_scaling);
  // Qwen3MoeAttention reads attention_bias (q/k/v/o); Mixtral's and Qwen2-MoE's attention have no such option.
  const attentionBias = config.attention_bias === true;
  if (attentionBias && modelType !== 'qwen3_moe') throw new InputError(`${where}: attention_bias: true is not a ${modelType} option in transformers; refusing rather than guessing which projections carry biases`);
  if (config.mlp_bias === true) throw new InputError(`${where}: mlp_bias: true is not a ${modelType} option in transformers (its experts have no biases)`);
  const layers = int('num_hidden_layers');
  const experts = int(v.countKey);
  const topK = int('num_experts_per_tok', modelType === 'mixtral' ? 2 : undefined);
  if (topK > experts) throw new InputError(`${where}: num_experts_per_tok ${topK} exceeds ${v.countKey} ${experts}`);
  const sparse = Array.from({ length: layers }, (_, l) => isSparse(config, where, modelType, l));
  const sharedIntermediate = v.shared && sparse.some(Boolean) ? int('shared_expert_intermediate_size') : 0;
  const window = typeof config.sliding_window === 'number' && config.sliding_window > 0 && (modelType === 'mixtral' || config.use_sliding_window === true) ? config.sliding_window : undefined;
  return {
    kind: 'moe', modelType, layers, hidden, heads, kvHeads, headDim,
    intermediate: v.denseBlocks && !sparse.every(Boolean) ? int('intermediate_size') : 0,
    vocab: int('vocab_size'), maxPositions: int('max_position_embeddings', modelType === 'mixtral' ? 131072 : 32768),
    ropeTheta: num('rope_theta', modelType === 'mixtral' ? 1e6 : 10000), rmsEps: num('rms_norm_eps', modelType === 'mixtral' ? 1e-5 : 1e-6),
    qkvBias: v.qkvBias || attentionBias, oBias: attentionBias, qkNorm: v.qkNorm,
    ...(ropeScaling ? { ropeScaling } : {}),
    tiedEmbeddings: config.tie_word_embeddings === true,
    // Sliding-window attention equals full attention within the window: windows are capped to it.
    ...(window !== undefined ? { slidingWindow: window } : {}),
    experts, expertIntermediate: int(v.expertSizeKey), topK,
    normTopK: modelType === 'mixtral' || config.norm_topk_prob === true,
    sharedIntermediate, sparse,
  };
}

/** Qwen*-MoE: a block routes unless it is in mlp_only_layers or (l + 1) is not a multiple of decoder_sparse_step. */
function isSparse(config: Record<string, unknown>, where: string, modelType: MoeModelType, layer: number): boolean {
  if (!VARIANTS[modelType].denseBlocks) return true;
  const only = config.mlp_only_layers ?? [];
  if (!Array.isArray(only) || only.some((l) => !Number.isInteger(l))) throw new InputError(`${where}: mlp_only_layers must be a list of block indices (found ${JSON.stringify(only)})`);
  const step = config.decoder_sparse_step ?? 1;
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step <= 0) throw new InputError(`${where}: decoder_sparse_step must be a positive integer (found ${JSON.stringify(step)})`);
  return !only.includes(layer) && (layer + 1) % step === 0;
}

/** The checkpoint names of block `layer`'s MLP: a dense MLP, or router + routed experts (+ shared expert). */
export function moeBlockMlp(spec: MoeSpec, layer: number): BlockMlp {
  const v = VARIANTS[spec.modelType];
  const p = `model.layers.${layer}.`;
  const gated = (prefix: string, names: readonly string[], intermediate: number): MlpTensors => ({
    gate: `${prefix}${names[0]}.weight`, up: `${prefix}${names[1]}.weight`, down: `${prefix}${names[2]}.weight`, intermediate,
  });
  if (!spec.sparse[layer]) return { kind: 'dense', mlp: gated(`${p}mlp.`, ['gate_proj', 'up_proj', 'down_proj'], spec.intermediate) };
  const base = `${p}${v.container}.`;
  return {
    kind: 'sparse', router: `${base}gate.weight`, topK: spec.topK, normTopK: spec.normTopK,
    experts: Array.from({ length: spec.experts }, (_, e) => gated(`${base}experts.${e}.`, v.expert, spec.expertIntermediate)),
    ...(spec.sharedIntermediate > 0 ? { shared: { mlp: gated(`${base}shared_expert.`, ['gate_proj', 'up_proj', 'down_proj'], spec.sharedIntermediate), gate: `${base}shared_expert_gate.weight` } } : {}),
  };
}

/** Parameters of block `layer`, split as the config hover shows them (router: the router and the shared-expert gate). */
export function moeBlockParameters(spec: MoeSpec, layer: number): { attention: number; mlp: number; norms: number; router: number; active: number } {
  const { attention } = gatedBlockParameters({ ...spec, intermediate: 0, mlpBias: false });
  const mlp = (width: number) => gatedBlockParameters({ ...spec, intermediate: width, qkvBias: false, oBias: false, mlpBias: false }).mlp;
  const norms = 2 * spec.hidden + (spec.qkNorm ? 2 * spec.headDim : 0);
  if (!spec.sparse[layer]) return { attention, mlp: mlp(spec.intermediate), norms, router: 0, active: attention + mlp(spec.intermediate) + norms };
  const shared = spec.sharedIntermediate > 0 ? mlp(spec.sharedIntermediate) : 0;
  const router = spec.hidden * spec.experts + (shared > 0 ? spec.hidden : 0);
  return {
    attention, mlp: spec.experts * mlp(spec.expertIntermediate) + shared, norms, router,
    active: attention + spec.topK * mlp(spec.expertIntermediate) + shared + norms + router,
  };
}

export const moe: FamilyDeclaration<MoeSpec> = {
  blockTensors: (spec, layer) => gatedAttentionTensors(spec, layer, { qkNorm: spec.qkNorm }),
  // Llama's embedding, final RMSNorm and (tied or own) head.
  ...llamaEnds,
  // Wanda needs each expert's input norms over the rows routed to it, which the engine does not collect: no sites,
  // and Wanda is refused for MoE models by name (analyses/wanda.ts refuseWandaOnExperts).
  linearSites: () => [],
  blockParameters(spec, layer = 0) {
    const { attention: a, mlp, norms, router } = moeBlockParameters(spec, layer);
    return a + mlp + norms + router;
  },
  mlp: moeBlockMlp,
};
