// Config hovers: the key under the cursor, what it means, the facts derived from the config (checked against
// published parameter counts and against the sample checkpoint's own tensors) and the layer sparkline.
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tensorRole } from '../../src/arch/names';
import { deriveFacts } from '../../src/config/derived';
import { configHoverSections } from '../../src/config/hoverText';
import { keyAtOffset } from '../../src/config/jsonPath';
import { configFileKind, keyMeaning } from '../../src/config/keyDocs';
import { leastImportant, sparkline, sparklineSvg, type StoredLayerRanking } from '../../src/config/layerSparkline';
import { ROOT } from './helpers';

const KJV = join(ROOT, 'samples', 'tiny-llama-kjv');

function at(text: string, marker: string, delta = 1): number {
  const index = text.indexOf(marker);
  assert.ok(index >= 0, marker);
  return index + delta;
}

test('keyAtOffset: keys, values, nesting, arrays, unfinished documents and comments', () => {
  const text = '{\n  "hidden_size": 128,\n  "rope_scaling": {"type": "linear", "factor": 2.0},\n  "architectures": ["LlamaForCausalLM"],\n  "name": "a \\"quoted\\" key"\n}';
  assert.deepEqual(keyAtOffset(text, at(text, '"hidden_size"')), { path: ['hidden_size'], start: text.indexOf('"hidden_size"'), end: text.indexOf('"hidden_size"') + 13, onValue: false });
  assert.deepEqual(keyAtOffset(text, at(text, '128'))?.path, ['hidden_size']);
  assert.equal(keyAtOffset(text, at(text, '128'))?.onValue, true);
  assert.deepEqual(keyAtOffset(text, at(text, '"factor"'))?.path, ['rope_scaling', 'factor']);
  assert.deepEqual(keyAtOffset(text, at(text, '2.0'))?.path, ['rope_scaling', 'factor']);
  assert.deepEqual(keyAtOffset(text, at(text, '"type"'))?.path, ['rope_scaling', 'type']);
  // Inside an array the element is not a key's scalar value: nothing to say.
  assert.equal(keyAtOffset(text, at(text, '"LlamaForCausalLM"')), null);
  assert.deepEqual(keyAtOffset(text, at(text, '"architectures"'))?.path, ['architectures']);
  assert.deepEqual(keyAtOffset(text, at(text, 'quoted'))?.path, ['name']);
  // Whitespace and punctuation are on no key.
  assert.equal(keyAtOffset(text, 0), null);
  assert.equal(keyAtOffset(text, text.indexOf(':')), null);

  const unfinished = '{ // written by hand\n "num_hidden_layers": 4, /* more */ "num_attention_heads": ';
  assert.deepEqual(keyAtOffset(unfinished, at(unfinished, '"num_attention_heads"'))?.path, ['num_attention_heads']);
  assert.equal(keyAtOffset(unfinished, at(unfinished, 'written')), null);
  const nested = '{"text_config": {"layers": [{"x": 1}, {"y": 2}]}}';
  assert.deepEqual(keyAtOffset(nested, at(nested, '"y"'))?.path, ['text_config', 'layers', 1, 'y']);
  assert.deepEqual(keyAtOffset('{"a": "unclosed', 8)?.path, ['a']);
});

test('key meanings: model, adapter and generation tables; nested rope_scaling and text_config keys', () => {
  assert.equal(configFileKind('config.json'), 'model');
  assert.equal(configFileKind('adapter_config.json'), 'adapter');
  assert.equal(configFileKind('generation_config.json'), 'generation');
  assert.equal(configFileKind('tokenizer_config.json'), null);
  assert.match(keyMeaning('model', ['num_key_value_heads'])!.meaning, /grouped-query attention/);
  assert.deepEqual(keyMeaning('model', ['rope_scaling', 'factor'])?.key, 'rope_scaling.factor');
  assert.deepEqual(keyMeaning('model', ['text_config', 'hidden_size'])?.key, 'hidden_size');
  assert.match(keyMeaning('adapter', ['lora_alpha'])!.meaning, /lora_alpha \/ r/);
  assert.match(keyMeaning('generation', ['temperature'])!.meaning, /do_sample/);
  assert.equal(keyMeaning('generation', ['hidden_size']), null);
  assert.equal(keyMeaning('model', ['quantization_config', 'bits']), null);
  assert.equal(keyMeaning('model', [0]), null);
});

const LLAMA2_7B = { model_type: 'llama', hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 32, vocab_size: 32000, max_position_embeddings: 4096, rope_theta: 10000, torch_dtype: 'float16' };

test('derived parameter counts match the published totals of real models', () => {
  const cases: [string, Record<string, unknown>, number][] = [
    ['Llama-2-7B', LLAMA2_7B, 6_738_415_616],
    ['Mistral-7B', { model_type: 'mistral', hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, vocab_size: 32000 }, 7_241_732_096],
    ['Mixtral-8x7B', { model_type: 'mixtral', hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, vocab_size: 32000, num_local_experts: 8, num_experts_per_tok: 2 }, 46_702_792_704],
    ['Qwen2-0.5B', { model_type: 'qwen2', hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936, tie_word_embeddings: true }, 494_032_768],
    ['Gemma-2B', { model_type: 'gemma', hidden_size: 2048, intermediate_size: 16384, num_hidden_layers: 18, num_attention_heads: 8, num_key_value_heads: 1, head_dim: 256, vocab_size: 256000 }, 2_506_172_416],
    ['Phi-3-mini', { model_type: 'phi3', hidden_size: 3072, intermediate_size: 8192, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 32, vocab_size: 32064, tie_word_embeddings: false }, 3_821_079_552],
    ['GPT-2', { model_type: 'gpt2', n_embd: 768, n_layer: 12, n_head: 12, n_positions: 1024, vocab_size: 50257 }, 124_439_808],
    ['BERT-base', { model_type: 'bert', hidden_size: 768, intermediate_size: 3072, num_hidden_layers: 12, num_attention_heads: 12, vocab_size: 30522, max_position_embeddings: 512, type_vocab_size: 2 }, 109_482_240],
  ];
  for (const [name, config, total] of cases) assert.equal(deriveFacts(config).parameters?.total, total, name);
  const mixtral = deriveFacts(cases[2]![1]).parameters!;
  assert.equal(mixtral.activePerToken, 12_879_925_248);
  assert.equal(mixtral.perLayer.router, 4096 * 8);
  assert.equal(deriveFacts({ model_type: 'falcon', hidden_size: 64 }).parameters, null);
  assert.match(deriveFacts({ model_type: 'falcon', hidden_size: 64 }).parametersUnavailable!, /falcon/);
});

/** Tensors of a safetensors file straight from its header: name -> element count. */
function safetensorsCounts(path: string): Map<string, number> {
  const fd = openSync(path, 'r');
  try {
    const length = Buffer.alloc(8);
    readSync(fd, length, 0, 8, 0);
    const header = Buffer.alloc(Number(length.readBigUInt64LE(0)));
    readSync(fd, header, 0, header.length, 8);
    const entries = JSON.parse(header.toString('utf8')) as Record<string, { shape?: number[] }>;
    return new Map(Object.entries(entries).filter(([name]) => name !== '__metadata__').map(([name, e]) => [name, e.shape!.reduce((a, b) => a * b, 1)]));
  } finally {
    closeSync(fd);
  }
}

test('derived parameters of samples/tiny-llama-kjv equal the sum of its tensors, in all and per layer by module', () => {
  const config = JSON.parse(readFileSync(join(KJV, 'config.json'), 'utf8')) as Record<string, unknown>;
  const facts = deriveFacts(config);
  const p = facts.parameters!;
  const counts = safetensorsCounts(join(KJV, 'model.safetensors'));
  assert.equal(p.total, [...counts.values()].reduce((a, b) => a + b, 0));
  for (let layer = 0; layer < p.layers; layer++) {
    const sum = (pick: (module: string) => boolean) => [...counts].filter(([name]) => tensorRole(name).layer === layer && pick(tensorRole(name).module)).reduce((a, [, c]) => a + c, 0);
    assert.equal(sum(() => true), p.perLayer.total, `layer ${layer}`);
    assert.equal(sum((m) => m.startsWith('attn.')), p.perLayer.attention, `layer ${layer} attention`);
    assert.equal(sum((m) => m.startsWith('mlp.')), p.perLayer.mlp, `layer ${layer} MLP`);
    assert.equal(sum((m) => m === 'norm'), p.perLayer.norms, `layer ${layer} norms`);
  }
  const embed = [...counts].find(([name]) => tensorRole(name).module === 'embed')![1];
  const head = [...counts].find(([name]) => tensorRole(name).module === 'lm_head')![1];
  assert.deepEqual([p.embeddings, p.lmHead], [embed, head]);

  // GQA 4:2, head_dim 32; K and V for 4 layers x 2 KV heads x 32 dims x 4 bytes (float32).
  assert.deepEqual(facts.attention, { heads: 4, kvHeads: 2, headDim: 32, kind: 'GQA', groupSize: 2 });
  assert.equal(facts.kvCache?.bytesPerToken, 2 * 4 * 2 * 32 * 4);
  assert.equal(facts.kvCache?.dtype, 'float32');
  assert.deepEqual(facts.positions, { kind: 'rope', context: 256, ropeTheta: 10000, scaling: null, slidingWindow: null, rotaryFraction: null });
});

test('KV cache follows torch_dtype (or dtype); RoPE scaling and sliding windows are described', () => {
  assert.equal(deriveFacts(LLAMA2_7B).kvCache?.bytesPerToken, 2 * 32 * 32 * 128 * 2); // 512 KiB per token in float16
  assert.equal(deriveFacts({ ...LLAMA2_7B, torch_dtype: undefined, dtype: 'bfloat16' }).kvCache?.dtypeBytes, 2);
  const unset = deriveFacts({ ...LLAMA2_7B, torch_dtype: undefined }).kvCache!;
  assert.deepEqual([unset.dtype, unset.assumedDtype], ['float32', true]);
  const llama3 = deriveFacts({ ...LLAMA2_7B, num_key_value_heads: 8, rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 8.0, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } });
  assert.equal(llama3.positions?.scaling, 'llama3 ×8 (from 8,192 tokens)');
  assert.equal(llama3.attention?.kind, 'GQA');
  assert.equal(deriveFacts({ model_type: 'mistral', hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 1, sliding_window: 4096 }).positions?.slidingWindow, 4096);
  assert.equal(deriveFacts({ model_type: 'mistral', hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 1 }).attention?.kind, 'MQA');
  assert.equal(deriveFacts({ model_type: 'gpt2', n_embd: 768, n_layer: 12, n_head: 12, n_positions: 1024, vocab_size: 50257 }).positions?.kind, 'learned');
  assert.equal(deriveFacts({ model_type: 'bert', hidden_size: 768, num_attention_heads: 12, num_hidden_layers: 12 }).kvCache, null, 'an encoder has no KV cache');
});

const RANKING: StoredLayerRanking = {
  metric: 'block-influence', device: 'cpu', path: '/m', at: '2026-11-23T05:10:42.123Z', tokens: 120,
  layers: [{ index: 0, score: 0.9, rank: 1 }, { index: 1, score: 0.1, rank: 4 }, { index: 2, score: 0.3, rank: 3 }, { index: 3, score: 0.5, rank: 2 }],
};

test('sparkline: one block per layer between the lowest and highest score; least important layers by rank', () => {
  assert.equal(sparkline([0, 1, 2, 3]), '▁▃▆█');
  assert.equal(sparkline([5, 5]), '▄▄');
  assert.equal(sparkline([1, Number.NaN, 2]), '▁▄█');
  assert.deepEqual(leastImportant(RANKING, 2).map((l) => l.index), [1, 2]);
  // The image: one bar per layer, heights between the lowest and highest score, the least important in orange.
  const svg = Buffer.from(sparklineSvg(RANKING, 2).replace(/^data:image\/svg\+xml;base64,/, ''), 'base64').toString('utf8');
  const bars = [...svg.matchAll(/<rect x="(\d+)" y="(\d+)" width="16" height="(\d+)" fill="(#[0-9a-f]+)"\/>/g)].map((m) => [Number(m[1]), Number(m[3]), m[4]]);
  assert.deepEqual(bars, [[0, 40, '#3794ff'], [20, 3, '#e8912d'], [40, 12, '#e8912d'], [60, 22, '#3794ff']]);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="76" height="40"/);
});

test('hover text on num_hidden_layers of the sample: meaning, derived facts and the sparkline', () => {
  const config = JSON.parse(readFileSync(join(KJV, 'config.json'), 'utf8')) as Record<string, unknown>;
  const text = configHoverSections({ kind: 'model', path: ['num_hidden_layers'], config, ranking: RANKING }).join('\n\n');
  assert.match(text, /\*\*`num_hidden_layers`\*\* — Number of transformer blocks/);
  assert.match(text, /Parameters per layer:\*\* 184,576 — attention 49,152 \(26\.6%\) · MLP 135,168 \(73\.2%\) · norms 256/);
  assert.match(text, /Parameters in all:\*\* 1,000,576 \(1\.00 M\) = 4 × 184,576 \+ embeddings 131,072 \+ LM head 131,072 \+ other 128/);
  assert.match(text, /grouped-query attention: 4 query heads share 2 KV heads, 2 per group \(2:1\); head_dim 32/);
  assert.match(text, /KV cache:\*\* 2,048 bytes \(2\.0 KB\) per token at float32/);
  assert.match(text, /RoPE, θ = 10,000, context 256 tokens, no scaling/);
  assert.match(text, /Layer importance\*\* — Block Influence, cpu, 120 tokens, 2026-11-23 05:10 UTC/);
  assert.match(text, /!\[█▁▃▅\]\(data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+ "layers 0–3"\)\n\nlayers 0–3, left to right/);
  assert.match(text, /Least important \(orange\): layer 1 \(0\.1, rank 4\), layer 2 \(0\.3, rank 3\), layer 3 \(0\.5, rank 2\)/);

  // An unparsable document still gets the meaning; an adapter gets its update scale; an unknown key only facts.
  assert.deepEqual(configHoverSections({ kind: 'generation', path: ['top_p'], config: null, ranking: null }).length, 1);
  assert.match(configHoverSections({ kind: 'adapter', path: ['r'], config: { r: 16, lora_alpha: 32 }, ranking: null }).join('\n'), /B·A × 2 \(lora_alpha 32 \/ r 16\)/);
  assert.match(configHoverSections({ kind: 'adapter', path: ['r'], config: { r: 16, lora_alpha: 32, use_rslora: true }, ranking: null }).join('\n'), /B·A × 8 \(lora_alpha 32 \/ √r 16, rank-stabilised\)/);
  assert.match(configHoverSections({ kind: 'model', path: ['my_key'], config, ranking: null })[0]!, /^\*\*`my_key`\*\* · derived from this config/);
  assert.deepEqual(configHoverSections({ kind: 'generation', path: ['my_key'], config: {}, ranking: null }), []);
  // Another tool's config.json: no model hovers, not even for a key that happens to share a name.
  assert.deepEqual(configHoverSections({ kind: 'model', path: ['vocab_size'], config: { vocab_size: 3, name: 'app' }, ranking: null }), []);
  assert.equal(configHoverSections({ kind: 'model', path: ['vocab_size'], config: null, ranking: null }).length, 1);
});
