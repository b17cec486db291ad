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

/**
 * The architecture inferred from tensor names and shapes, gathered in one pass: `add` each weight in order, then
 * `result`. inspect feeds it from the loop that builds its tensors, so 100 000 tensors are walked once, not once
 * per question (layers, embedding, MLP, experts, family markers: docs/benchmarks.md).
 */
export class TensorSummary {
  private maxLayer = -1;
  private embed: InspectTensor | undefined;
  private up: InspectTensor | undefined;
  /** Expert indices: a number when the digits are canonical, else the digit string ("01"), as the regex read them. */
  private readonly experts = new Set<number | string>();
  private mixtral = false;
  private cAttn = false;
  private wte = false;
  private bert = false;
  private gguf = false;
  private qProj = false;
  private gateProj = false;

  add(t: InspectTensor): void {
    if (t.layer !== null && t.layer > this.maxLayer) this.maxLayer = t.layer;
    const module = t.module;
    if (module === 'expert') this.addExpert(t.name);
    else if (this.embed === undefined && module === 'embed' && t.shape.length === 2 && EMBED_NAME.test(t.name)) this.embed = t;
    else if (this.up === undefined && (module === 'mlp.up' || module === 'mlp.gate') && t.shape.length === 2) this.up = t;
    if (!this.mixtral) this.familyMarkers(t.name);
  }

  result(): ArchitectureSummary {
    let hidden: number | null = null;
    let vocab: number | null = null;
    if (this.embed) {
      // HF stores [vocab, hidden]; GGUF lists dims fastest-first, i.e. [hidden, vocab]. The vocabulary is the larger.
      const [a, b] = this.embed.shape as [number, number];
      vocab = Math.max(a, b);
      hidden = Math.min(a, b);
    }
    let intermediate: number | null = null;
    const up = this.up;
    if (up && hidden !== null) {
      const other = up.shape.find((d) => d !== hidden);
      intermediate = other ?? up.shape[0] ?? null;
      if (up.name.includes('c_fc') || up.name.includes('gate_up_proj')) intermediate = null; // fused or transposed layouts: ambiguous
    }
    const layers = this.maxLayer + 1;
    return {
      family: this.family(),
      layers: layers > 0 ? layers : null,
      hidden,
      heads: null,
      kvHeads: null,
      intermediate,
      vocab,
      experts: this.experts.size > 0 ? this.experts.size : null,
      source: 'tensors',
      configPath: null,
    };
  }

  /** The first `experts?.<digits>.` in the name (what /experts?\.(\d+)\./ finds), read without a match object. */
  private addExpert(name: string): void {
    for (let at = name.indexOf('expert'); at !== -1; at = name.indexOf('expert', at + 1)) {
      let i = at + 6;
      if (name.charCodeAt(i) === 0x73 /* s */) i++;
      if (name.charCodeAt(i) !== 0x2e /* . */) continue;
      const start = ++i;
      let value = 0;
      for (let c = name.charCodeAt(i); c >= 0x30 && c <= 0x39; c = name.charCodeAt(++i)) value = value * 10 + (c - 0x30);
      const digits = i - start;
      if (digits === 0 || name.charCodeAt(i) !== 0x2e) continue;
      this.experts.add((digits === 1 || name.charCodeAt(start) !== 0x30) && digits <= 15 ? value : name.slice(start, i));
      return;
    }
  }

  // Literal name parts are matched with includes, all markers in the one pass over the names (a 100 000-tensor MoE
  // checkpoint has no marker at all, and was scanned once per marker), then decided in the order of precedence.
  // One regex test first: it matches wherever any marker could (4x faster than the includes on names with none).
  private familyMarkers(n: string): void {
    if (!ANY_FAMILY_MARKER.test(n)) return;
    if (n.includes('block_sparse_moe.')) {
      this.mixtral = true; // first in precedence: no other marker matters
      return;
    }
    if (!this.cAttn && n.includes('.c_attn.')) this.cAttn = true;
    if (!this.wte && (n.startsWith('wte.') || n.includes('.wte.'))) this.wte = true;
    if (!this.bert && n.includes('attention.self.query')) this.bert = true;
    if (!this.gguf && n.startsWith('blk.') && /^blk\.\d+\./.test(n)) this.gguf = true;
    if (!this.qProj && n.includes('.q_proj.')) this.qProj = true;
    if (!this.gateProj && n.includes('.gate_proj.')) this.gateProj = true;
  }

  private family(): string | null {
    if (this.mixtral) return 'mixtral';
    if (this.cAttn && this.wte) return 'gpt2';
    if (this.bert) return 'bert';
    if (this.gguf) return 'gguf';
    if (this.qProj && this.gateProj) return 'llama';
    return null;
  }
}

/**
 * Parameters used per token by a mixture-of-experts GGUF file: all of them, less the routed experts a token does
 * not go to. llama.cpp stores each block's routed experts stacked, one 3-D tensor per projection
 * (blk.N.ffn_{gate,up,down}_exps, [in, out, n_expert]), of which a token uses expert_used_count of expert_count
 * slices; everything else (attention, router, shared expert, embeddings) every token uses. Undefined unless both
 * counts are known and the file has such stacks.
 */
export function ggufActiveParameters(tensors: readonly { name: string; count: number; shape: readonly number[] }[], parameters: number, experts: number | null, used: number | null): number | undefined {
  if (!experts || used === null || used > experts) return undefined;
  const stacked = tensors.filter((t) => t.shape.length === 3 && t.shape[2] === experts && /^blk\.\d+\.ffn_(gate|up|down)_exps\.weight$/.test(t.name));
  if (stacked.length === 0) return undefined;
  const unused = stacked.reduce((s, t) => s + (t.count / experts) * (experts - used), 0);
  return parameters - unused;
}

/** Every part familyMarkers looks for (a superset: `wte.` anywhere, `blk.` without the digits). */
const ANY_FAMILY_MARKER = /block_sparse_moe\.|\.c_attn\.|wte\.|attention\.self\.query|^blk\.|\.q_proj\.|\.gate_proj\./;
const EMBED_NAME = /(embed_tokens|wte|word_embeddings|tok_embeddings|token_embd)/;
