// Tensor name -> {layer, module} across the naming schemes of the common families (HF Llama/Mistral/Qwen2/Gemma/
// Phi-3, GPT-2, GPT-NeoX/Falcon, BERT/RoBERTa, T5, Mixtral/Qwen-MoE, PEFT LoRA adapters, GGUF's blk.N.*, and ONNX
// exporter node paths like /model/layers.0/self_attn/q_proj/MatMul). Order matters: experts and routers before
// the generic MLP patterns, attention output before the generic "dense"/"c_proj".
import type { ModuleKind } from '../protocol/results';

export interface TensorRole {
  layer: number | null;
  module: ModuleKind;
}

/** Global so that `test` leaves the match's end in lastIndex: layerOf reads the digits back from there, no match array. */
const BLOCK_PATTERN = /(?:^|[./])(?:layers|layer|h|blocks|block|blk|decoder_layers|encoder_layers)[._](\d+)(?:[./]|$)/g;

const MODULE_RULES: ReadonlyArray<[RegExp, ModuleKind]> = [
  [/(?:^|\.)experts?\.\d+\.|ffn_(?:gate|up|down)_(?:exps|shexp)|\.experts\.(?:gate_up_proj|down_proj)|\.shared_experts?\./, 'expert'],
  [/block_sparse_moe\.gate\.|\.mlp\.gate\.weight$|\.router\.|ffn_gate_inp|\.gate\.wg\.|shared_expert_gate\./, 'router'],
  [/(?:^|\.)(?:embed_tokens|wte|wpe|word_embeddings|position_embeddings|token_type_embeddings|tok_embeddings|embed_positions|embed_in|shared)\.|^token_embd\.|^position_embd\./, 'embed'],
  [/(?:^|\.)(?:lm_head|embed_out)\.|^output\.weight$|^cls\.predictions\.decoder\./, 'lm_head'],
  [/(?:^|\.)(?:norm|ln_f|ln_\d|final_layernorm|final_layer_norm|LayerNorm|layernorm|layer_norm)\b|_norm\.|_layernorm\.|norm\.weight$|norm\.bias$/i, 'norm'],
  [/(?:^|\.)(?:c_attn|qkv_proj|query_key_value|Wqkv|qkv)\.|\.attn_qkv\./, 'attn.qkv'],
  [/(?:^|\.)(?:q_proj|query|wq)\.|\.attn_q\.|Attention\.q\./, 'attn.q'],
  [/(?:^|\.)(?:k_proj|key|wk)\.|\.attn_k\.|Attention\.k\./, 'attn.k'],
  [/(?:^|\.)(?:v_proj|value|wv)\.|\.attn_v\.|Attention\.v\./, 'attn.v'],
  [/(?:^|\.)(?:o_proj|out_proj|wo)\.|\.attn_output\.|Attention\.o\.|attn\.c_proj\.|attention\.output\.dense\.|self_attention\.dense\.|attention\.dense\./, 'attn.o'],
  [/(?:^|\.)(?:gate_proj|w1)\.|\.ffn_gate\./, 'mlp.gate'],
  [/(?:^|\.)(?:up_proj|c_fc|w3|fc1|gate_up_proj|dense_h_to_4h)\.|intermediate\.dense\.|\.ffn_up\./, 'mlp.up'],
  [/(?:^|\.)(?:down_proj|w2|fc2|dense_4h_to_h)\.|mlp\.c_proj\.|\.output\.dense\.|\.ffn_down\./, 'mlp.down'],
];

export function tensorRole(name: string): TensorRole {
  const dotted = dottedName(name);
  return { layer: layerOf(dotted), module: moduleOf(dotted) };
}

/** The name layerOf and moduleOf read: ONNX exporters name nodes by module path with slashes, read as dots. */
export function dottedName(name: string): string {
  return name.includes('/') ? name.replace(/\//g, '.').replace(/^\.+/, '') : name;
}

export function moduleOf(name: string): ModuleKind {
  for (const [pattern, module] of MODULE_RULES) if (pattern.test(name)) return module;
  return 'other';
}

/**
 * Block indices above this are not block indices: a number in a name is then a value (ONNX constants named after
 * what they hold, `.../TensorProto.INT64/1D/9223372036854775807`) or an id, and would make a block of its own.
 */
export const MAX_BLOCK_INDEX = 100_000;

/** The block index: from a known block container, else from the only numeric path segment if there is one. */
export function layerOf(name: string): number | null {
  // Called once per tensor (100 000 in a large MoE checkpoint): exec's match array and digit string per call were
  // garbage, so the match's end is taken from lastIndex and the digits, which end at it or one before, read back.
  BLOCK_PATTERN.lastIndex = 0;
  if (BLOCK_PATTERN.test(name)) {
    let end = BLOCK_PATTERN.lastIndex;
    const last = name.charCodeAt(end - 1);
    if (last < 0x30 || last > 0x39) end--; // the match ended with its '.' or '/'
    let start = end;
    while (start > 0 && isDigit(name.charCodeAt(start - 1))) start--;
    // Exact until past 2^53, and never decreasing: above MAX_BLOCK_INDEX here exactly when Number(digits) is.
    let index = 0;
    for (let k = start; k < end; k++) index = index * 10 + (name.charCodeAt(k) - 0x30);
    return index <= MAX_BLOCK_INDEX ? index : null;
  }
  const numeric = name.split(/[./]/).filter((segment) => /^\d+$/.test(segment));
  if (numeric.length !== 1) return null;
  const index = Number(numeric[0]);
  return index <= MAX_BLOCK_INDEX ? index : null;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
