// Facts a config implies but does not state: parameters per block and their attention/MLP split, the whole model's
// count, the GQA grouping, the KV cache per token at the checkpoint's dtype, and how positions are encoded. Counted
// module by module from the transformers implementations of each family; an engine family with a count of its own
// (src/compute/families/<family>.ts `parameters`: phi3, gpt_neox, olmo2; the MoE families by moeSpec.ts) is counted there, by the engine's function;
// a family not known gets what can be said without its modules (attention grouping, KV cache, positions) and no count.
import { modelSpecFromConfig, NoForwardGraph, type ModelSpec } from '../arch/modelSpec';
import { languageConfig, summaryFromConfig } from '../arch/summary';
import { declarationOf } from '../compute/families/declarations';
import { gatedBlockParameters } from '../compute/families/parameters';
import { InputError } from '../errors';
import { MOE_MODEL_TYPES, moeBlockParameters, type MoeModelType } from '../compute/families/moeSpec';

export { gatedBlockParameters };

type Config = Record<string, unknown>;

export interface LayerParameters {
  attention: number;
  /** Dense MLP, or all experts of an MoE block. */
  mlp: number;
  norms: number;
  /** MoE router (0 for dense models). */
  router: number;
  total: number;
}

export interface ParameterCount {
  layers: number;
  perLayer: LayerParameters;
  /** Token embeddings (plus learned position and segment embeddings where the family has them). */
  embeddings: number;
  /** 0 when tied to the embeddings. */
  lmHead: number;
  /** Final norm, and anything else outside the blocks (BERT: embedding LayerNorm and pooler). */
  other: number;
  total: number;
  /** Mixture of experts: parameters one token passes through (num_experts_per_tok experts per block). */
  activePerToken: number | null;
  /** What the count leaves out, when it does (BERT task heads). */
  note: string | null;
}

export interface AttentionFacts {
  heads: number;
  kvHeads: number;
  headDim: number;
  kind: 'MHA' | 'GQA' | 'MQA';
  /** Query heads per KV head. */
  groupSize: number;
}

export interface KvCacheFacts {
  bytesPerToken: number;
  dtype: string;
  dtypeBytes: number;
  /** torch_dtype was not in the config: float32 was assumed. */
  assumedDtype: boolean;
  context: number | null;
  layers: number;
}

export interface PositionFacts {
  kind: 'rope' | 'learned' | 'unknown';
  context: number | null;
  ropeTheta: number | null;
  /** e.g. "llama3 ×8 (from 8 192 tokens)"; null for plain RoPE. */
  scaling: string | null;
  slidingWindow: number | null;
  rotaryFraction: number | null;
}

export interface DerivedFacts {
  family: string | null;
  parameters: ParameterCount | null;
  /** Why there is no parameter count, when there is none. */
  parametersUnavailable: string | null;
  attention: AttentionFacts | null;
  kvCache: KvCacheFacts | null;
  positions: PositionFacts | null;
}

/** Gated-MLP decoders with RoPE whose blocks are q/k/v/o + gate/up/down, counted here (families whose engine file has its own count, phi3, gpt_neox, olmo2, are counted there; MoE families by moeCount). */
const GATED_DECODERS = new Set(['llama', 'mistral', 'qwen2', 'qwen3', 'gemma', 'gemma2', 'gemma3_text']);
/** Families whose positions are rotary although their config may name no rope_theta (GPT-NeoX: rotary_emb_base). */
const ROTARY_FAMILIES = new Set([...GATED_DECODERS, 'phi3', 'gpt_neox', 'olmo2', ...MOE_MODEL_TYPES]);
/** Families whose config class ties the output head to the embeddings when tie_word_embeddings is absent. */
const TIED_BY_DEFAULT = new Set(['gemma', 'gemma2', 'gemma3_text', 'gpt2']);

const DTYPE_BYTES: Record<string, number> = {
  float64: 8, double: 8, float32: 4, float: 4, fp32: 4, float16: 2, half: 2, fp16: 2, bfloat16: 2, bf16: 2,
  float8_e4m3fn: 1, float8_e5m2: 1,
};

function int(config: Config, key: string): number | null {
  const value = config[key];
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : null;
}

function num(config: Config, key: string): number | null {
  const value = config[key];
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : null;
}

export function deriveFacts(raw: Config): DerivedFacts {
  const config = languageConfig(raw);
  const summary = summaryFromConfig(raw, '');
  const family = summary.family;
  const engine = engineBlock(config);
  const attention = attentionFacts(config, summary.hidden, summary.heads, summary.kvHeads, engine?.spec.headDim);
  const decoder = family !== 'bert';
  const counted = parameterCount(config, family, attention, engine);
  return {
    family,
    parameters: typeof counted === 'string' ? null : counted,
    parametersUnavailable: typeof counted === 'string' ? counted : null,
    attention,
    kvCache: decoder && attention && summary.layers !== null ? kvCache(raw, config, attention, summary.layers) : null,
    positions: positions(config, family),
  };
}

/** `engineHeadDim`: the head size the forward engine's parser settled on (it knows a family's default). */
function attentionFacts(config: Config, hidden: number | null, heads: number | null, kvHeads: number | null, engineHeadDim?: number): AttentionFacts | null {
  if (heads === null || kvHeads === null || kvHeads > heads || heads % kvHeads !== 0) return null;
  const headDim = engineHeadDim ?? int(config, 'head_dim') ?? (hidden !== null && hidden % heads === 0 ? hidden / heads : null);
  if (headDim === null) return null;
  return { heads, kvHeads, headDim, kind: kvHeads === heads ? 'MHA' : kvHeads === 1 ? 'MQA' : 'GQA', groupSize: heads / kvHeads };
}

function kvCache(raw: Config, config: Config, attention: AttentionFacts, layers: number): KvCacheFacts {
  const named = [config.torch_dtype, config.dtype, raw.torch_dtype, raw.dtype].find((d): d is string => typeof d === 'string');
  const known = named === undefined ? undefined : DTYPE_BYTES[named.replace(/^torch\./, '')];
  const dtype = known === undefined ? 'float32' : named!.replace(/^torch\./, '');
  const dtypeBytes = known ?? 4;
  return {
    // K and V, for every layer and KV head.
    bytesPerToken: 2 * layers * attention.kvHeads * attention.headDim * dtypeBytes,
    dtype,
    dtypeBytes,
    assumedDtype: known === undefined,
    context: int(config, 'max_position_embeddings') ?? int(config, 'n_positions') ?? int(config, 'n_ctx'),
    layers,
  };
}

function parameterCount(config: Config, family: string | null, attention: AttentionFacts | null, engine: ReturnType<typeof engineBlock>): ParameterCount | string {
  const counted = familyCount(config);
  if (counted !== null && typeof counted !== 'string') return counted;
  if (family === 'gpt2') return gpt2Count(config);
  if (family === 'bert') return bertCount(config);
  if (family !== null && MOE_MODEL_TYPES.includes(family as MoeModelType)) return moeCount(config);
  // A family the engine counts but whose config it refused: the refusal says why there is no count.
  if (family === null || !GATED_DECODERS.has(family)) return counted ?? `no module layout known for model_type ${JSON.stringify(family)}`;
  const hidden = int(config, 'hidden_size');
  const intermediate = int(config, 'intermediate_size');
  const layers = int(config, 'num_hidden_layers');
  const vocab = int(config, 'vocab_size');
  const missing = [['hidden_size', hidden], ['intermediate_size', intermediate], ['num_hidden_layers', layers], ['vocab_size', vocab]].filter(([, v]) => v === null).map(([k]) => k);
  if (missing.length > 0 || attention === null || hidden === null || intermediate === null || layers === null || vocab === null) {
    return missing.length > 0 ? `${missing.join(', ')} missing` : 'attention heads inconsistent with hidden_size';
  }
  // A config the engine runs is counted from the engine family's spec and function (biases, head_dim defaults,
  // q/k norms and four-norm blocks as its parser reads them); the attention/MLP split is gatedBlockParameters on
  // that spec and the norms the rest of the family's count. Other gated decoders: q/k/v/o, gate/up/down, 2 norms.
  const biasAll = config.attention_bias === true && family !== 'qwen2';
  const shape = engine && 'qkvBias' in engine.spec && 'mlpBias' in engine.spec ? engine.spec : {
    hidden, intermediate, heads: attention.heads, kvHeads: attention.kvHeads, headDim: attention.headDim,
    qkvBias: family === 'qwen2' || biasAll, oBias: biasAll, mlpBias: config.mlp_bias === true,
  };
  const { attention: attentionParams, mlp: expert } = gatedBlockParameters(shape);
  const norms = engine ? engine.total - attentionParams - expert : 2 * hidden;
  const perLayer = layer(attentionParams, expert, norms, 0);
  const tied = typeof config.tie_word_embeddings === 'boolean' ? config.tie_word_embeddings : TIED_BY_DEFAULT.has(family);
  const embeddings = vocab * hidden;
  const lmHead = tied ? 0 : vocab * hidden;
  const outside = embeddings + lmHead + hidden;
  return { layers, perLayer, embeddings, lmHead, other: hidden, total: layers * perLayer.total + outside, activePerToken: null, note: null };
}

/** Mixtral, Qwen2-MoE, Qwen3-MoE: the engine's own count (families/moeSpec.ts), block by block (dense blocks differ). */
function moeCount(config: Config): ParameterCount | string {
  let spec;
  try {
    spec = modelSpecFromConfig(config, 'config.json');
  } catch (error) {
    return error instanceof Error ? error.message.replace(/^config\.json: /, '') : String(error);
  }
  if (spec.kind !== 'moe') return 'not an MoE config';
  const blocks = Array.from({ length: spec.layers }, (_, l) => moeBlockParameters(spec, l));
  const shown = blocks[spec.sparse.indexOf(true)] ?? blocks[0]!;
  const perLayer = layer(shown.attention, shown.mlp, shown.norms, shown.router);
  const embeddings = spec.vocab * spec.hidden;
  const lmHead = spec.tiedEmbeddings ? 0 : embeddings;
  const outside = embeddings + lmHead + spec.hidden;
  return {
    layers: spec.layers, perLayer, embeddings, lmHead, other: spec.hidden,
    total: blocks.reduce((s, b) => s + b.attention + b.mlp + b.norms + b.router, 0) + outside,
    activePerToken: blocks.reduce((s, b) => s + b.active, 0) + outside,
    note: spec.sparse.every(Boolean) ? null : `per layer: an MoE block; ${spec.sparse.filter((s) => !s).length} of ${spec.layers} blocks are dense MLPs of ${spec.intermediate}`,
  };
}

/** The forward engine's spec of the config and its family's parameters per block; null when it has no family for it. */
function engineBlock(config: Config): { spec: ModelSpec; total: number } | null {
  try {
    const spec = modelSpecFromConfig(config, 'config.json');
    return { spec, total: declarationOf(spec).blockParameters(spec) };
  } catch (error) {
    if (error instanceof InputError) return null;
    throw error;
  }
}

/**
 * The count of an engine family that has its own (src/compute/families/<family>.ts `parameters`): the numbers the
 * engine and the plans use. A config that family refuses gives the refusal; null where no such family applies.
 */
function familyCount(config: Config): ParameterCount | string | null {
  let spec;
  try {
    spec = modelSpecFromConfig(config, 'config.json');
  } catch (error) {
    if (error instanceof NoForwardGraph) return null;
    if (error instanceof InputError) return error.message;
    throw error;
  }
  const count = declarationOf(spec).parameters?.(spec);
  if (!count) return null;
  const perLayer = layer(count.attention, count.mlp, count.norms, 0);
  const outside = count.embeddings + count.lmHead + count.other;
  return {
    layers: spec.layers, perLayer, embeddings: count.embeddings, lmHead: count.lmHead, other: count.other,
    total: spec.layers * perLayer.total + outside, activePerToken: null, note: null,
  };
}

function gpt2Count(config: Config): ParameterCount | string {
  const h = int(config, 'n_embd');
  const layers = int(config, 'n_layer');
  const vocab = int(config, 'vocab_size');
  const positions = int(config, 'n_positions') ?? int(config, 'n_ctx');
  if (h === null || layers === null || vocab === null || positions === null) return 'n_embd, n_layer, vocab_size or n_positions missing';
  const inner = int(config, 'n_inner') ?? 4 * h;
  // c_attn (fused q/k/v) and c_proj with biases; c_fc and c_proj; ln_1 and ln_2 with weight and bias.
  const perLayer = layer(h * 3 * h + 3 * h + h * h + h, h * inner + inner + inner * h + h, 4 * h, 0);
  const tied = config.tie_word_embeddings !== false;
  const embeddings = vocab * h + positions * h;
  const lmHead = tied ? 0 : vocab * h;
  return { layers, perLayer, embeddings, lmHead, other: 2 * h, total: layers * perLayer.total + embeddings + lmHead + 2 * h, activePerToken: null, note: null };
}

function bertCount(config: Config): ParameterCount | string {
  const h = int(config, 'hidden_size');
  const inner = int(config, 'intermediate_size');
  const layers = int(config, 'num_hidden_layers');
  const vocab = int(config, 'vocab_size');
  const positions = int(config, 'max_position_embeddings') ?? 512;
  if (h === null || inner === null || layers === null || vocab === null) return 'hidden_size, intermediate_size, num_hidden_layers or vocab_size missing';
  const types = int(config, 'type_vocab_size') ?? 2;
  // q, k, v and the attention output dense, all with biases; two LayerNorms; intermediate and output dense.
  const perLayer = layer(4 * (h * h + h), h * inner + inner + inner * h + h, 4 * h, 0);
  const embeddings = (vocab + positions + types) * h;
  const other = 2 * h + h * h + h; // embedding LayerNorm, pooler
  return {
    layers, perLayer, embeddings, lmHead: 0, other, total: layers * perLayer.total + embeddings + other, activePerToken: null,
    note: 'BertModel with its pooler; task heads (MLM, classifier) not counted',
  };
}

function layer(attention: number, mlp: number, norms: number, router: number): LayerParameters {
  return { attention, mlp, norms, router, total: attention + mlp + norms + router };
}

function positions(config: Config, family: string | null): PositionFacts | null {
  const theta = num(config, 'rope_theta') ?? num(config, 'rotary_emb_base');
  const base = { scaling: null, slidingWindow: null, rotaryFraction: null, ropeTheta: null };
  if (family === 'gpt2') return { ...base, kind: 'learned', context: int(config, 'n_positions') ?? int(config, 'n_ctx') };
  if (family === 'bert') return { ...base, kind: 'learned', context: int(config, 'max_position_embeddings') };
  const context = int(config, 'max_position_embeddings');
  const rope = (family !== null && ROTARY_FAMILIES.has(family)) || theta !== null || config.rope_scaling != null;
  if (!rope && context === null) return null;
  const window = int(config, 'sliding_window');
  const fraction = num(config, 'partial_rotary_factor') ?? num(config, 'rotary_pct');
  return {
    kind: rope ? 'rope' : 'unknown',
    context,
    ropeTheta: theta,
    scaling: ropeScaling(config.rope_scaling),
    slidingWindow: window !== null && config.use_sliding_window !== false ? window : null,
    rotaryFraction: fraction !== null && fraction < 1 ? fraction : null,
  };
}

function ropeScaling(value: unknown): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const scaling = value as Config;
  const type = typeof scaling.rope_type === 'string' ? scaling.rope_type : typeof scaling.type === 'string' ? scaling.type : 'unnamed';
  if (type === 'default') return null;
  const factor = num(scaling, 'factor');
  const original = int(scaling, 'original_max_position_embeddings');
  return `${type}${factor === null ? '' : ` ×${factor}`}${original === null ? '' : ` (from ${original.toLocaleString('en-US')} tokens)`}`;
}
