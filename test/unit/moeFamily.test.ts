// The MoE families (Mixtral, Qwen2-MoE with a shared expert and a dense block, Qwen3-MoE with q/k norm and an
// explicit head_dim) against the plain-torch reference (test/fixtures/models/moe_reference.py, transformers'
// routing semantics) through moe-golden.json (make_moe_fixtures.py, make_moe_golden.py): logits, perplexity,
// Block Influence, ablation, parameter counts (engine and config hover), and what the config refuses by name.
// No python at test time.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { saliency } from '../../src/analyses/saliency';
import { modelSpecFromConfig } from '../../src/arch/modelSpec';
import { route } from '../../src/compute/engine/routing';
import type { MoeSpec } from '../../src/compute/families/moeSpec';
import { LanguageModel } from '../../src/compute/languageModel';
import { TextTokenizer } from '../../src/compute/tokenizer';
import { deriveFacts } from '../../src/config/derived';
import { InputError } from '../../src/errors';
import { assertForwardMatches, assertTextMetricsMatch } from './familyGolden';
import { ROOT } from './helpers';
import { MOE_FIXTURES, moeGolden } from './moeGolden';

const TEXT = moeGolden.text.text;
const config = (name: string) => JSON.parse(readFileSync(join(MOE_FIXTURES, name, 'config.json'), 'utf8')) as Record<string, unknown>;

for (const [name, g] of Object.entries(moeGolden.models)) {
  test(`${name}: logits, perplexity, Block Influence, ablation and parameters match torch`, async () => {
    await assertForwardMatches(TEXT, g, async (model, logits) => {
      assert.deepEqual(model.blockParameters, g.block_parameters, 'parameters per block, counted from the architecture');
      const spec = model.spec as MoeSpec;
      assert.deepEqual(spec.sparse.flatMap((s, l) => (s ? [l] : [])), g.sparse_blocks);
      // Batched rows route independently: two copies of the text give the same logits as one.
      const twice = await model.forward([g.ids, g.ids], { logits: true });
      const half = g.ids.length * model.spec.vocab;
      let batchWorst = 0;
      for (let i = 0; i < half; i++) batchWorst = Math.max(batchWorst, Math.abs(twice.logits[half + i]! - logits[i]!));
      assert.ok(batchWorst <= 1e-4, `second batch row differs by ${batchWorst}`);
    });
    await assertTextMetricsMatch(TEXT, g);
  });
}

test('MoE parameter counts: the config hover reads the family\'s count, equal to the checkpoint\'s tensors', () => {
  for (const [name, g] of Object.entries(moeGolden.models)) {
    const facts = deriveFacts(config(name));
    assert.ok(facts.parameters, `${name}: ${facts.parametersUnavailable}`);
    assert.equal(facts.parameters.total, g.parameters, `${name}: whole model`);
    const sparse = g.sparse_blocks[0]!;
    assert.equal(facts.parameters.perLayer.total, g.block_parameters[sparse], `${name}: an MoE block`);
    assert.ok(facts.parameters.activePerToken !== null && facts.parameters.activePerToken < g.parameters, `${name}: active per token`);
  }
});

test('routing: softmax over the kept experts, top-k best first, renormalised only when the family does', () => {
  const logits = Float32Array.from([0, 1, 2, 3, 3, 2, 1, 0]);
  const p = (xs: number[]) => xs.map((x) => Math.exp(x) / xs.reduce((s, y) => s + Math.exp(y), 0));
  const plain = route(logits, 2, 4, 2, false);
  assert.deepEqual([...plain.chosen], [3, 2, 0, 1]);
  const probs = p([0, 1, 2, 3]);
  assert.ok(Math.abs(plain.weights[0]! - probs[3]!) < 1e-7 && Math.abs(plain.weights[1]! - probs[2]!) < 1e-7);
  const normed = route(logits, 2, 4, 2, true);
  assert.ok(Math.abs(normed.weights[0]! + normed.weights[1]! - 1) < 1e-7);
  // Expert 3 dropped: the router row is gone, so softmax runs over experts 0..2 and token 0 goes to its next choice.
  const dropped = route(logits, 2, 4, 2, false, [3]);
  assert.deepEqual([...dropped.chosen], [2, 1, 0, 1]);
  assert.ok(Math.abs(dropped.weights[0]! - p([0, 1, 2])[2]!) < 1e-7);
});

test('MoE configs: what the graphs cannot honour is refused by name', () => {
  const refused = (name: string, patch: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(() => modelSpecFromConfig({ ...config(name), ...patch }, 'cfg'), (e: unknown) => e instanceof InputError && pattern.test(e.message), JSON.stringify(patch));
  refused('moe-mixtral', { hidden_act: 'gelu' }, /hidden_act "gelu" is not supported for mixtral/);
  refused('moe-qwen2', { rope_scaling: { rope_type: 'longrope' } }, /"longrope" \(LongRoPE, Phi-3\) is not supported for qwen2_moe/);
  refused('moe-mixtral', { attention_bias: true }, /attention_bias: true is not a mixtral option/);
  refused('moe-mixtral', { num_experts_per_tok: 5 }, /num_experts_per_tok 5 exceeds num_local_experts 4/);
  refused('moe-mixtral', { num_local_experts: undefined }, /"num_local_experts" must be a positive integer/);
  refused('moe-qwen2', { shared_expert_intermediate_size: 0 }, /"shared_expert_intermediate_size" must be a positive integer/);
  refused('moe-qwen2', { moe_intermediate_size: undefined }, /"moe_intermediate_size"/);
  refused('moe-qwen2', { mlp_only_layers: 'all' }, /mlp_only_layers must be a list/);
  refused('moe-qwen3', { decoder_sparse_step: 0 }, /decoder_sparse_step must be a positive integer/);
  refused('moe-qwen3', { partial_rotary_factor: 0.5 }, /partial_rotary_factor 0.5 is not supported for qwen3_moe/);
  refused('moe-qwen3', { rope_scaling: { rope_type: 'longrope' } }, /"longrope"/);
  // decoder_sparse_step 2: blocks 1, 3, … route; the others are dense MLPs of intermediate_size.
  const stepped = modelSpecFromConfig({ ...config('moe-qwen3'), num_hidden_layers: 4, decoder_sparse_step: 2 }, 'cfg') as MoeSpec;
  assert.deepEqual(stepped.sparse, [false, true, false, true]);
  assert.equal(stepped.intermediate, 128);
});

test('a checkpoint whose experts are missing is refused naming the tensor', async () => {
  const { mkdirSync, writeFileSync, copyFileSync } = await import('node:fs');
  const { tempDir } = await import('./helpers');
  const { encodeSafetensors } = await import('../fixtures/safetensorsWriter');
  const { openCheckpoint } = await import('../../src/formats/open');
  const dir = join(tempDir(), 'cut');
  mkdirSync(dir);
  const src = join(MOE_FIXTURES, 'moe-mixtral');
  copyFileSync(join(src, 'config.json'), join(dir, 'config.json'));
  const { header } = await openCheckpoint(src);
  const kept = header!.tensors.filter((t) => !t.name.includes('experts.3.w2'));
  const bytes = readFileSync(join(src, 'model.safetensors'));
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(kept.map((t) => ({
    name: t.name, dtype: 'F32', shape: t.shape, data: bytes.subarray(t.byteOffset, t.byteOffset + t.byteLength),
  })), { format: 'pt' }));
  await assert.rejects(LanguageModel.open(dir, ['cpu']), /tensor 'model\.layers\.0\.block_sparse_moe\.experts\.3\.w2\.weight' is missing/);
});

test('saliency runs on an MoE model: the target\'s log-probability is torch\'s, occlusion and attention rollout cover every token', async () => {
  const g = moeGolden.models['moe-qwen2']!;
  const directory = join(ROOT, g.path);
  // Tokens 0..17: the text's last token is predicted from position 16, whose logits the golden file holds.
  const spans = await (await TextTokenizer.load(directory)).encode(TEXT);
  const text = TEXT.slice(0, spans[17]!.end);
  const row = g.logits[g.logit_positions.indexOf(16)]!;
  const max = Math.max(...row);
  const expected = row[g.ids[17]!]! - max - Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
  for (const method of ['occlusion', 'attention'] as const) {
    const result = await drain(saliency({ model: directory, text: { text }, method, seeds: 1, providers: ['cpu'] }));
    assert.ok(Math.abs(result.target.logProbability - expected) <= 1e-4, `${method}: log p ${result.target.logProbability} vs torch ${expected}`);
    assert.equal(result.tokens.length, 17);
    assert.ok(result.tokens.every((t) => Number.isFinite(t.score)) && result.tokens.some((t) => t.score !== 0), method);
  }
});

test('memory: the engine holds two blocks\' attention weights and two experts\' buffers, not an MoE block\'s experts', async () => {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const { tempDir } = await import('./helpers');
  const { encodeSafetensors, normalF32, seededRandom } = await import('../fixtures/safetensorsWriter');
  const [H, I, E, L, V] = [32, 64, 16, 3, 64];
  const random = seededRandom(3);
  const t = (name: string, shape: number[]) => ({ name, dtype: 'F32', shape, data: normalF32(shape.reduce((a, b) => a * b, 1), 0.1, random) });
  const tensors = [t('model.embed_tokens.weight', [V, H])];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    tensors.push(t(`${p}input_layernorm.weight`, [H]), t(`${p}post_attention_layernorm.weight`, [H]), t(`${p}block_sparse_moe.gate.weight`, [E, H]));
    for (const m of ['q', 'k', 'v', 'o']) tensors.push(t(`${p}self_attn.${m}_proj.weight`, [H, H]));
    for (let e = 0; e < E; e++) tensors.push(t(`${p}block_sparse_moe.experts.${e}.w1.weight`, [I, H]), t(`${p}block_sparse_moe.experts.${e}.w3.weight`, [I, H]), t(`${p}block_sparse_moe.experts.${e}.w2.weight`, [H, I]));
  }
  tensors.push(t('model.norm.weight', [H]), t('lm_head.weight', [V, H]));
  const dir = join(tempDir(), 'wide-moe');
  mkdirSync(dir);
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(tensors, { format: 'pt' }));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'mixtral', hidden_size: H, intermediate_size: I, num_hidden_layers: L, num_attention_heads: 2, num_key_value_heads: 2, num_local_experts: E, num_experts_per_tok: 2, vocab_size: V }));
  const model = await LanguageModel.open(dir, ['cpu']);
  try {
    await model.forward([Array.from({ length: 40 }, (_, i) => (i * 13) % V)], { logits: false });
    const expert = 3 * I * H * 4;
    const attention = (4 * H * H + 2 * H) * 4;
    assert.equal(model.engine.blockBytes, attention, 'the streamed block is its attention');
    assert.equal(model.engine.moe!.mlpBytes, expert);
    const held = model.engine.bytesHeld.blocks;
    // Two attention sets (read ahead) + two expert sets of float32 and their raw reading buffers.
    assert.ok(held <= 2 * attention + 2 * expert + 2 * expert + E * H * 4 * 2, `held ${held}`);
    assert.ok(held < (E * expert) / 2, `held ${held} vs one block's experts ${E * expert}`);
    assert.ok(model.engine.needs(1, 40, 2)['two experts of float32 weights'] === 2 * expert);
  } finally {
    await model.release();
  }
});

test('MoE parameter counts of published models: Qwen3-30B-A3B (30.5 B, 3.3 B active), Qwen1.5-MoE-A2.7B (14.3 B, 2.7 B active)', () => {
  // Published figures are rounded to 0.1 B (and "active" conventions differ on the embedding): within 0.06 B.
  const near = (value: number, billions: number) => Math.abs(value / 1e9 - billions) < 0.06;
  const qwen3 = deriveFacts({
    model_type: 'qwen3_moe', hidden_size: 2048, intermediate_size: 6144, moe_intermediate_size: 768, num_experts: 128, num_experts_per_tok: 8,
    num_hidden_layers: 48, num_attention_heads: 32, num_key_value_heads: 4, head_dim: 128, vocab_size: 151936, norm_topk_prob: true, tie_word_embeddings: false,
  }).parameters!;
  assert.ok(near(qwen3.total, 30.5) && near(qwen3.activePerToken!, 3.3), `${qwen3.total} ${qwen3.activePerToken}`);
  const qwen15 = deriveFacts({
    model_type: 'qwen2_moe', hidden_size: 2048, intermediate_size: 5632, moe_intermediate_size: 1408, shared_expert_intermediate_size: 5632, num_experts: 60,
    num_experts_per_tok: 4, num_hidden_layers: 24, num_attention_heads: 16, num_key_value_heads: 16, vocab_size: 151936, tie_word_embeddings: false,
  }).parameters!;
  assert.ok(near(qwen15.total, 14.3) && near(qwen15.activePerToken!, 2.7), `${qwen15.total} ${qwen15.activePerToken}`);
});
