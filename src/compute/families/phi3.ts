// Phi-3, Phi-3.5 and Phi-4-mini (model_type phi3)'s declaration (its graphs: phi3Graph.ts), following transformers' modeling_phi3: the
// Llama block with q|k|v fused into one qkv_proj and gate|up into one gate_up_proj (split along the outputs, no
// biases), RoPE on the first int(head_dim · partial_rotary_factor) features of each head (Phi-4-mini: 0.75), and
// rope_scaling longrope: per-frequency factors, short_factor while the text fits original_max_position_embeddings
// and long_factor past it (chosen in the graph from the window's length, as transformers' dynamic update does), and
// cos/sin × attention_factor, by default √(1 + ln s / ln original) with s = factor or max / original. Where the
// transformers versions differ (an explicit rope_scaling.factor: 4.x replaced it by max / original), this follows
// transformers 5. sliding_window caps the text windows (attention within a window equals full attention).
import type { DecoderFields } from '../../arch/modelSpec';
import { InputError } from '../../errors';
import { configFields } from './configFields';
import { llamaEnds } from './llama';
import type { BlockTensor, FamilyDeclaration, FamilyParameters } from './types';

/** LongRoPE as _compute_longrope_parameters resolves it for one config. */
export interface LongRope {
  shortFactor: number[];
  longFactor: number[];
  /** Windows longer than this many tokens use longFactor. */
  originalMaxPositions: number;
  /** cos and sin are multiplied by it. */
  attentionFactor: number;
}

export interface Phi3Spec extends DecoderFields {
  kind: 'phi3';
  modelType: 'phi3';
  /** Features of a head that RoPE rotates: int(headDim · partial_rotary_factor). */
  rotaryDim: number;
  longRope?: LongRope;
  slidingWindow?: number;
}

/** Phi3Config -> Phi3Spec with Phi3Config's defaults; refuses, by key, what the graph cannot honour. */
export function phi3SpecFromConfig(config: Record<string, unknown>, where: string): Phi3Spec {
  const f = configFields(config, where);
  const hidden = f.int('hidden_size');
  const { heads, kvHeads, headDim } = f.attentionShape(hidden);
  const activation = config.hidden_act ?? 'silu';
  if (activation !== 'silu') throw new InputError(`${where}: hidden_act ${JSON.stringify(activation)} is not supported for phi3 (its graph uses silu, as every Phi-3 checkpoint)`);
  // transformers 5 writes rope_parameters (theta and type inside) where 4.x wrote rope_theta and rope_scaling.
  const rope = f.rope();
  const ropeTheta = typeof rope?.rope_theta === 'number' ? rope.rope_theta : f.num('rope_theta', 10000);
  const fraction = typeof rope?.partial_rotary_factor === 'number' ? rope.partial_rotary_factor : f.num('partial_rotary_factor', 1);
  const rotaryDim = Math.floor(headDim * fraction);
  if (!(fraction <= 1) || rotaryDim < 2 || rotaryDim % 2 !== 0) {
    throw new InputError(`${where}: partial_rotary_factor ${fraction} gives ${rotaryDim} rotary features of head_dim ${headDim}; it must give an even number from 2 to head_dim`);
  }
  const maxPositions = f.int('max_position_embeddings', 4096);
  const longRope = longRopeFromConfig(rope, rotaryDim, maxPositions, f.int('original_max_position_embeddings', 4096), where);
  return {
    kind: 'phi3', modelType: 'phi3', layers: f.int('num_hidden_layers'), hidden, heads, kvHeads, headDim, rotaryDim,
    intermediate: f.int('intermediate_size'), vocab: f.int('vocab_size'), maxPositions, ropeTheta,
    rmsEps: f.num('rms_norm_eps', 1e-5),
    ...(longRope ? { longRope } : {}),
    tiedEmbeddings: f.bool('tie_word_embeddings', false),
    ...(f.has('sliding_window') ? { slidingWindow: f.int('sliding_window') } : {}),
  };
}

function longRopeFromConfig(rope: Record<string, unknown> | undefined, rotaryDim: number, maxPositions: number, configOriginal: number, where: string): LongRope | undefined {
  const type = rope?.rope_type ?? rope?.type;
  if (rope === undefined || type === 'default' || (type === undefined && rope.short_factor === undefined)) return undefined;
  if (type !== 'longrope' && type !== 'su') {
    throw new InputError(`${where}: rope_scaling type ${JSON.stringify(type ?? null)} is not supported for phi3; supported: longrope (or its old name su), or none`);
  }
  const factors = (key: string): number[] => {
    const list = rope[key];
    if (!Array.isArray(list) || list.length !== rotaryDim / 2 || !list.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
      throw new InputError(`${where}: rope_scaling "${key}" must list ${rotaryDim / 2} positive numbers (one per rotary frequency of ${rotaryDim} rotated features)`);
    }
    return list as number[];
  };
  const positive = (key: string): number | undefined => {
    const v = rope[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new InputError(`${where}: rope_scaling "${key}" must be a positive number (found ${JSON.stringify(v)})`);
    return v;
  };
  const originalMaxPositions = positive('original_max_position_embeddings') ?? configOriginal;
  const factor = positive('factor') ?? maxPositions / originalMaxPositions;
  return {
    shortFactor: factors('short_factor'), longFactor: factors('long_factor'), originalMaxPositions,
    attentionFactor: positive('attention_factor') ?? (factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(originalMaxPositions))),
  };
}

/** The block's attention (fused qkv and o) and MLP (fused gate|up and down), no biases, two RMSNorms. */
export function phi3Parameters(s: Phi3Spec): FamilyParameters {
  const q = s.heads * s.headDim;
  const kv = s.kvHeads * s.headDim;
  return {
    attention: s.hidden * (q + 2 * kv) + q * s.hidden, mlp: 3 * s.hidden * s.intermediate, norms: 2 * s.hidden,
    embeddings: s.vocab * s.hidden, lmHead: s.tiedEmbeddings ? 0 : s.vocab * s.hidden, other: s.hidden,
  };
}

export const phi3: FamilyDeclaration<Phi3Spec> = {
  blockTensors(spec, layer) {
    const { hidden, heads, kvHeads, headDim, intermediate } = spec;
    const p = `model.layers.${layer}.`;
    const t = (role: string, name: string, shape: number[]): BlockTensor => ({ role, name: p + name, shape });
    return [
      t('input_norm', 'input_layernorm.weight', [hidden]),
      t('qkv', 'self_attn.qkv_proj.weight', [(heads + 2 * kvHeads) * headDim, hidden]),
      t('o', 'self_attn.o_proj.weight', [hidden, heads * headDim]),
      t('post_norm', 'post_attention_layernorm.weight', [hidden]),
      t('gate_up', 'mlp.gate_up_proj.weight', [2 * intermediate, hidden]),
      t('down', 'mlp.down_proj.weight', [hidden, intermediate]),
    ];
  },

  // Llama's embedding, final RMSNorm and (tied or own) head.
  ...llamaEnds,

  // The fused weights read one input each: Wanda's norms of x feed every row of qkv_proj, of y every row of gate_up_proj.
  linearSites(spec, layer) {
    const w = (name: string) => [{ name: `model.layers.${layer}.${name}.weight`, layout: 'out-in' as const }];
    return [
      { layer, site: 'attn', width: spec.hidden, weights: w('self_attn.qkv_proj') },
      { layer, site: 'attn_out', width: spec.heads * spec.headDim, weights: w('self_attn.o_proj') },
      { layer, site: 'mlp', width: spec.hidden, weights: w('mlp.gate_up_proj') },
      { layer, site: 'mlp_down', width: spec.intermediate, weights: w('mlp.down_proj') },
    ];
  },

  blockParameters(spec) {
    const { attention: a, mlp, norms } = phi3Parameters(spec);
    return a + mlp + norms;
  },
  parameters: phi3Parameters,
};
