import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layerOf, tensorRole } from '../../src/arch/names';
import { summaryFromConfig, TensorSummary } from '../../src/arch/summary';
import type { InspectTensor } from '../../src/protocol/results';

const roles: [string, number | null, string][] = [
  ['model.embed_tokens.weight', null, 'embed'],
  ['model.layers.3.self_attn.q_proj.weight', 3, 'attn.q'],
  ['model.layers.3.self_attn.k_proj.weight', 3, 'attn.k'],
  ['model.layers.3.self_attn.v_proj.bias', 3, 'attn.v'],
  ['model.layers.3.self_attn.o_proj.weight', 3, 'attn.o'],
  ['model.layers.12.mlp.gate_proj.weight', 12, 'mlp.gate'],
  ['model.layers.12.mlp.up_proj.weight', 12, 'mlp.up'],
  ['model.layers.12.mlp.down_proj.weight', 12, 'mlp.down'],
  ['model.layers.0.input_layernorm.weight', 0, 'norm'],
  ['model.norm.weight', null, 'norm'],
  ['lm_head.weight', null, 'lm_head'],
  ['transformer.wte.weight', null, 'embed'],
  ['transformer.wpe.weight', null, 'embed'],
  ['transformer.h.5.attn.c_attn.weight', 5, 'attn.qkv'],
  ['transformer.h.5.attn.c_proj.weight', 5, 'attn.o'],
  ['transformer.h.5.mlp.c_fc.weight', 5, 'mlp.up'],
  ['transformer.h.5.mlp.c_proj.weight', 5, 'mlp.down'],
  ['transformer.h.5.ln_1.weight', 5, 'norm'],
  ['transformer.ln_f.bias', null, 'norm'],
  ['bert.encoder.layer.7.attention.self.query.weight', 7, 'attn.q'],
  ['bert.encoder.layer.7.attention.output.dense.weight', 7, 'attn.o'],
  ['bert.encoder.layer.7.attention.output.LayerNorm.weight', 7, 'norm'],
  ['bert.encoder.layer.7.intermediate.dense.weight', 7, 'mlp.up'],
  ['bert.encoder.layer.7.output.dense.weight', 7, 'mlp.down'],
  ['bert.embeddings.word_embeddings.weight', null, 'embed'],
  ['model.layers.1.block_sparse_moe.gate.weight', 1, 'router'],
  ['model.layers.1.block_sparse_moe.experts.6.w1.weight', 1, 'expert'],
  ['model.layers.2.mlp.experts.3.down_proj.weight', 2, 'expert'],
  ['model.layers.2.mlp.gate.weight', 2, 'router'],
  ['blk.9.attn_q.weight', 9, 'attn.q'],
  ['blk.9.ffn_down.weight', 9, 'mlp.down'],
  ['blk.9.attn_norm.weight', 9, 'norm'],
  ['token_embd.weight', null, 'embed'],
  ['output.weight', null, 'lm_head'],
  ['encoder.stages.4.something.weight', 4, 'other'],
  ['/model/layers.3/self_attn/q_proj/MatMul', 3, 'attn.q'],
  ['/model/layers.3/mlp/down_proj/MatMul', 3, 'mlp.down'],
  ['/model/layers.1/post_attention_layernorm/Mul_1', 1, 'norm'],
  ['/model/embed_tokens/Gather', null, 'embed'],
  ['/lm_head/MatMul', null, 'lm_head'],
  ['base_model.model.model.layers.5.self_attn.v_proj.lora_A.weight', 5, 'attn.v'],
  ['base_model.model.model.layers.5.mlp.down_proj.lora_B.weight', 5, 'mlp.down'],
  ['model.layers.2.self_attn.qkv_proj.weight', 2, 'attn.qkv'],
  ['model.layers.2.mlp.gate_up_proj.weight', 2, 'mlp.up'],
  ['model.layers.2.mlp.shared_expert.up_proj.weight', 2, 'expert'],
  ['model.layers.2.mlp.shared_expert_gate.weight', 2, 'router'],
  ['gpt_neox.embed_in.weight', null, 'embed'],
  ['gpt_neox.layers.4.attention.query_key_value.weight', 4, 'attn.qkv'],
  ['gpt_neox.layers.4.attention.dense.weight', 4, 'attn.o'],
  ['gpt_neox.layers.4.mlp.dense_4h_to_h.weight', 4, 'mlp.down'],
  ['encoder.block.2.layer.0.SelfAttention.q.weight', 2, 'attn.q'],
  ['encoder.block.2.layer.0.SelfAttention.o.weight', 2, 'attn.o'],
  ['blk.3.ffn_gate_exps.weight', 3, 'expert'],
  ['blk.3.ffn_gate_inp.weight', 3, 'router'],
  ['rotary.inv_freq', null, 'other'],
];

test('tensor names map to {layer, module} across families', () => {
  for (const [name, layer, module] of roles) assert.deepEqual(tensorRole(name), { layer, module }, name);
});

test('config.json summaries: llama with GQA, gpt2 defaults, nested text_config, MoE experts', () => {
  const llama = summaryFromConfig({ model_type: 'llama', num_hidden_layers: 32, hidden_size: 4096, num_attention_heads: 32, num_key_value_heads: 8, intermediate_size: 14336, vocab_size: 128256 }, '/c.json');
  assert.deepEqual([llama.layers, llama.hidden, llama.heads, llama.kvHeads, llama.intermediate, llama.vocab, llama.experts], [32, 4096, 32, 8, 14336, 128256, null]);
  const gpt2 = summaryFromConfig({ model_type: 'gpt2', n_layer: 12, n_embd: 768, n_head: 12, vocab_size: 50257 }, '/c.json');
  assert.deepEqual([gpt2.kvHeads, gpt2.intermediate], [12, 3072]);
  const nested = summaryFromConfig({ model_type: 'llava', text_config: { model_type: 'llama', num_hidden_layers: 2, hidden_size: 8 } }, '/c.json');
  assert.deepEqual([nested.family, nested.layers, nested.hidden], ['llama', 2, 8]);
  const mixtral = summaryFromConfig({ model_type: 'mixtral', num_local_experts: 8, num_hidden_layers: 32 }, '/c.json');
  assert.equal(mixtral.experts, 8);
  const hostile = summaryFromConfig({ num_hidden_layers: '32', hidden_size: -4, num_attention_heads: 1.5 }, '/c.json');
  assert.deepEqual([hostile.layers, hostile.hidden, hostile.heads], [null, null, null]);
  // Heads of a config a family runs are the family's reading; others stay lenient (no family reads ChatGLM's
  // multi_query_group_num, and a config the engine refuses is still summarised as found).
  const glm = summaryFromConfig({ model_type: 'chatglm', num_layers: 28, hidden_size: 4096, num_attention_heads: 32, multi_query_group_num: 2 }, '/c.json');
  assert.deepEqual([glm.heads, glm.kvHeads], [32, 2]);
  const uneven = summaryFromConfig({ model_type: 'llama', hidden_size: 4096, num_attention_heads: 32, num_key_value_heads: 5 }, '/c.json');
  assert.deepEqual([uneven.heads, uneven.kvHeads], [32, 5]);
});

test('block indices: where the digits end, leading zeros, the cap, the first container, a lone numeric segment', () => {
  // Expected values are those of the regex exec that layerOf replaced (match array and Number of the digits).
  const cases: [string, number | null][] = [
    ['model.layers.7', 7], ['h.000012.attn.c_attn.weight', 12], ['blk.3.ffn_up.weight', 3], ['layers_4/mlp', 4],
    ['model.layers.100000.x', 100000], ['model.layers.100001.x', null], ['layers.99999999999999999999.w', null],
    ['layers.0000000000000000000000042.w', 42], ['decoder_layers.5.fc1.weight', 5], ['x.layers.2.layers.3.w', 2],
    ['a.3.b', 3], ['a.3.b.4', null], ['model.norm.weight', null],
  ];
  for (const [name, layer] of cases) assert.equal(layerOf(name), layer, name);
  assert.equal(layerOf('model.layers.9.w'), 9, 'the same name twice in a row reads the same (no state left between calls)');
  assert.equal(layerOf('model.layers.9.w'), 9);
});

test('the inferred summary counts experts by their index as written and reads family markers in one pass', () => {
  const summary = (names: string[]) => {
    const s = new TensorSummary();
    for (const name of names) s.add({ name, dtype: 'F32', shape: [2, 2], count: 4, file: 'f', byteOffset: 0, byteLength: 16, ...tensorRole(name) } satisfies InspectTensor);
    return s.result();
  };
  // "01" and "1" are two indices, as the digit strings differ; the first experts?.N. in a name counts.
  const moe = summary(['model.layers.0.mlp.experts.1.w1.weight', 'model.layers.0.mlp.experts.01.w1.weight', 'model.layers.0.mlp.experts.0.w1.weight', 'model.layers.1.expert.1.w2.weight', 'model.layers.1.shared_experts.x.expert.2.w.weight']);
  assert.deepEqual([moe.experts, moe.layers, moe.family], [4, 2, null]);
  assert.equal(summary(['model.layers.0.self_attn.q_proj.weight', 'model.layers.0.mlp.gate_proj.weight']).family, 'llama');
  assert.equal(summary(['model.layers.0.self_attn.q_proj.weight', 'model.layers.0.block_sparse_moe.gate.weight', 'h.0.attn.c_attn.weight', 'wte.weight']).family, 'mixtral');
  assert.equal(summary(['h.0.attn.c_attn.weight', 'wte.weight']).family, 'gpt2');
  assert.equal(summary(['blk.0.attn_q.weight']).family, 'gguf');
  assert.equal(summary(['blk.x.attn_q.weight']).family, null);
});
