// ArchitectureSummary from a Hugging Face config.json, or, without one, inferred from tensor names and shapes.
import { InputError } from '../errors';
import type { ArchitectureSummary, InspectTensor } from '../protocol/results';
import { modelSpecFromConfig } from './modelSpec';

type Config = Record<string, unknown>;

function firstInt(config: Config, keys: string[]): number | null {
  for (const key of keys) {
    const value = config[key];
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  }
  return null;
}

/** Multimodal and wrapper configs keep the language model's numbers under text_config / llm_config. */
export function languageConfig(config: Config): Config {
  for (const key of ['text_config', 'llm_config', 'language_config']) {
    const nested = config[key];
    if (nested && typeof nested === 'object' && !Array.isArray(nested)) return { ...(nested as Config) };
  }
  return config;
}

/**
 * Query and KV heads: for a config an engine family runs, as that family reads them (configFields attentionShape,
 * the one reader); otherwise read leniently. A summary describes any config.json, also of architectures no family
 * runs (BERT, T5, Falcon, ChatGLM: n_head, num_heads, multi_query_group_num, …) and ones whose numbers the engine
 * refuses, so nothing is refused here: a missing value is unknown, an odd one is shown as found.
 */
function attentionHeads(config: Config, configPath: string): { heads: number | null; kvHeads: number | null } {
  try {
    const spec = modelSpecFromConfig(config, configPath);
    return { heads: spec.heads, kvHeads: 'kvHeads' in spec ? spec.kvHeads : spec.heads };
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
  }
  const heads = firstInt(config, ['num_attention_heads', 'n_head', 'num_heads', 'n_heads']);
  return { heads, kvHeads: firstInt(config, ['num_key_value_heads', 'n_head_kv', 'num_kv_heads', 'multi_query_group_num']) ?? heads };
}

export function summaryFromConfig(raw: Config, configPath: string): ArchitectureSummary {
  const config = languageConfig(raw);
  const hidden = firstInt(config, ['hidden_size', 'n_embd', 'd_model', 'dim']);
  const { heads, kvHeads } = attentionHeads(config, configPath);
  const family = typeof config.model_type === 'string' ? config.model_type : typeof raw.model_type === 'string' ? raw.model_type : null;
  let intermediate = firstInt(config, ['intermediate_size', 'n_inner', 'ffn_dim', 'd_ff', 'hidden_dim']);
  if (intermediate === null && family === 'gpt2' && hidden !== null) intermediate = 4 * hidden; // GPT-2's n_inner default
  return {
    family,
    layers: firstInt(config, ['num_hidden_layers', 'n_layer', 'num_layers', 'n_layers']),
    hidden,
    heads,
    kvHeads,
    intermediate,
    vocab: firstInt(config, ['vocab_size', 'n_vocab', 'padded_vocab_size']),
    experts: firstInt(config, ['num_local_experts', 'num_experts', 'n_routed_experts', 'moe_num_experts']),
    source: 'config',
    configPath,
  };
}

const EXPERT_INDEX = /experts?\.(\d+)\./;

export function summaryFromTensors(tensors: readonly InspectTensor[]): ArchitectureSummary {
  const layers = tensors.reduce((max, t) => (t.layer !== null && t.layer > max ? t.layer : max), -1) + 1;
  const embed = tensors.find((t) => t.module === 'embed' && t.shape.length === 2 && /(embed_tokens|wte|word_embeddings|tok_embeddings|token_embd)/.test(t.name));
  const up = tensors.find((t) => (t.module === 'mlp.up' || t.module === 'mlp.gate') && t.shape.length === 2);
  const experts = new Set<string>();
  for (const t of tensors) {
    if (t.module !== 'expert') continue;
    const index = EXPERT_INDEX.exec(t.name)?.[1];
    if (index !== undefined) experts.add(index);
  }
  let hidden: number | null = null;
  let vocab: number | null = null;
  if (embed) {
    // HF stores [vocab, hidden]; GGUF lists dims fastest-first, i.e. [hidden, vocab]. The vocabulary is the larger.
    const [a, b] = embed.shape as [number, number];
    vocab = Math.max(a, b);
    hidden = Math.min(a, b);
  }
  let intermediate: number | null = null;
  if (up && hidden !== null) {
    const other = up.shape.find((d) => d !== hidden);
    intermediate = other ?? up.shape[0] ?? null;
    if (up.name.includes('c_fc') || up.name.includes('gate_up_proj')) intermediate = null; // fused or transposed layouts: ambiguous
  }
  return {
    family: guessFamily(tensors),
    layers: layers > 0 ? layers : null,
    hidden,
    heads: null,
    kvHeads: null,
    intermediate,
    vocab,
    experts: experts.size > 0 ? experts.size : null,
    source: 'tensors',
    configPath: null,
  };
}

// Literal name parts are matched with includes, all markers in one pass over the names (a 100 000-tensor MoE
// checkpoint has no marker at all, and was scanned once per marker), then decided in the order of precedence.
function guessFamily(tensors: readonly InspectTensor[]): string | null {
  let cAttn = false, wte = false, bert = false, gguf = false, qProj = false, gateProj = false;
  for (const { name: n } of tensors) {
    if (n.includes('block_sparse_moe.')) return 'mixtral'; // first in precedence: decided at once
    if (!cAttn && n.includes('.c_attn.')) cAttn = true;
    if (!wte && (n.startsWith('wte.') || n.includes('.wte.'))) wte = true;
    if (!bert && n.includes('attention.self.query')) bert = true;
    if (!gguf && n.startsWith('blk.') && /^blk\.\d+\./.test(n)) gguf = true;
    if (!qProj && n.includes('.q_proj.')) qProj = true;
    if (!gateProj && n.includes('.gate_proj.')) gateProj = true;
  }
  if (cAttn && wte) return 'gpt2';
  if (bert) return 'bert';
  if (gguf) return 'gguf';
  if (qProj && gateProj) return 'llama';
  return null;
}
