// The llama family's rope_scaling (llama3, linear, dynamic NTK, yarn), attention_bias / mlp_bias and explicit
// head_dim, against the plain-torch reference (scripts/sample-model/model.py) through
// test/fixtures/models/llama-golden.json (make_llama_fixtures.py, make_llama_golden.py). No python at test time.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { modelSpecFromConfig, type LlamaSpec } from '../../src/arch/modelSpec';
import { llama } from '../../src/compute/families/llama';
import { ropeFrequencies } from '../../src/compute/families/llamaGraph';
import { deriveFacts } from '../../src/config/derived';
import { InputError } from '../../src/errors';
import { assertForwardMatches, assertTextMetricsMatch } from './familyGolden';
import { ROOT } from './helpers';

interface GoldenModel {
  path: string;
  layers: number;
  ids: number[];
  logit_positions: number[];
  logits: number[][];
  nll: number;
  perplexity: number;
  block_influence: number[];
  ablation_perplexity: number[];
  block_parameters: number;
}
const FIXTURES = join(ROOT, 'test', 'fixtures', 'models');
const golden = JSON.parse(readFileSync(join(FIXTURES, 'llama-golden.json'), 'utf8')) as { text: { text: string; tokens: number }; models: Record<string, GoldenModel> };
const TEXT = golden.text.text;
const config = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name, 'config.json'), 'utf8')) as Record<string, unknown>;

for (const [name, g] of Object.entries(golden.models)) {
  test(`${name}: logits, perplexity, Block Influence, ablation and parameters match torch`, async () => {
    await assertForwardMatches(TEXT, g, async (model) => {
      assert.equal(model.blockParameters[0], g.block_parameters, 'parameters of one block, counted from the architecture');
    });
    await assertTextMetricsMatch(TEXT, g);
  });
}

test('defect: a Llama 3.1 config (rope_scaling llama3) used to be refused; it now opens with its scaling', () => {
  const spec = modelSpecFromConfig(config('llama-rope-llama3'), 'x') as LlamaSpec;
  assert.deepEqual(spec.ropeScaling, { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 });
  // Legacy key `type`, and rope_type "default" is plain RoPE.
  assert.deepEqual((modelSpecFromConfig(config('llama-rope-linear'), 'x') as LlamaSpec).ropeScaling, { type: 'linear', factor: 4 });
  assert.equal((modelSpecFromConfig({ ...config('llama-rope-linear'), rope_scaling: { rope_type: 'default' } }, 'x') as LlamaSpec).ropeScaling, undefined);
});

test('rope_scaling the llama family cannot honour is refused by name', () => {
  const base = config('llama-rope-linear');
  const refused = (rope: unknown, pattern: RegExp) =>
    assert.throws(() => modelSpecFromConfig({ ...base, rope_scaling: rope }, 'cfg'), (e: unknown) => e instanceof InputError && pattern.test(e.message));
  refused({ rope_type: 'longrope', short_factor: [1], long_factor: [1] }, /"longrope".*LongRoPE/);
  refused({ type: 'su' }, /"su"/);
  refused({ rope_type: 'mrope' }, /"mrope" is not supported/);
  refused({ factor: 2 }, /type null is not supported/);
  refused({ rope_type: 'llama3', factor: 8 }, /"low_freq_factor" must be a positive number/);
  refused({ rope_type: 'linear' }, /"factor"/);
  assert.throws(() => modelSpecFromConfig({ ...base, partial_rotary_factor: 0.5 }, 'cfg'), /partial_rotary_factor 0.5 is not supported/);
});

test('yarn with original_max_position_embeddings: an explicit factor is used as given, max / original only without one (transformers 5)', () => {
  const yarn = { type: 'yarn', betaFast: 32, betaSlow: 1, truncate: true } as const;
  // The ramp is placed by the original length; the factor is the explicit one.
  const explicit = ropeFrequencies(16, 10000, 256, { ...yarn, factor: 4, originalMaxPositions: 64 });
  const plain = ropeFrequencies(16, 10000, 64, { ...yarn, factor: 4 });
  assert.deepEqual(explicit, plain);
  assert.ok(Math.abs(plain.attentionScaling - (0.1 * Math.log(4) + 1)) < 1e-12);
  // No factor: max / original = 256 / 64 = 4.
  assert.deepEqual(ropeFrequencies(16, 10000, 256, { ...yarn, originalMaxPositions: 64 }), plain);
  const spec = modelSpecFromConfig({ ...config('llama-rope-yarn'), rope_scaling: { rope_type: 'yarn', original_max_position_embeddings: 16 } }, 'x') as LlamaSpec;
  assert.equal((spec.ropeScaling as { factor?: number }).factor, undefined);
  assert.throws(() => modelSpecFromConfig({ ...config('llama-rope-yarn'), rope_scaling: { rope_type: 'yarn' } }, 'x'), /"factor" must be a positive number/);
  const m = ropeFrequencies(16, 10000, 64, { ...yarn, factor: 4, mscale: 1, mscaleAllDim: 1 });
  assert.equal(m.attentionScaling, 1, 'mscale / mscale_all_dim');
});

test('defect: attention_bias / mlp_bias used to be dropped silently; every bias is now a block input and counted', () => {
  const spec = modelSpecFromConfig(config('llama-bias'), 'x') as LlamaSpec;
  const roles = llama.blockTensors(spec, 1, () => true).map((t) => t.name);
  for (const proj of ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj']) {
    assert.ok(roles.includes(`model.layers.1.${proj}.bias`), `${proj}.bias is read`);
  }
  // The config hover's count and the engine's are one function: both equal the checkpoint's tensors.
  for (const name of ['llama-bias', 'llama-head-dim', 'llama-rope-yarn']) {
    const facts = deriveFacts(config(name));
    assert.ok(typeof facts.parameters === 'object' && facts.parameters !== null, name);
    const perLayer = (facts.parameters as { perLayer: { total: number } }).perLayer.total;
    assert.equal(perLayer, golden.models[name]!.block_parameters, `${name}: hover count`);
    assert.equal(llama.blockParameters(modelSpecFromConfig(config(name), 'x') as LlamaSpec), golden.models[name]!.block_parameters, `${name}: engine count`);
  }
});

test('attention_bias / mlp_bias on a family whose transformers modules have no such option is refused', () => {
  for (const [modelType, key] of [['mistral', 'attention_bias'], ['qwen2', 'mlp_bias']] as const) {
    assert.throws(() => modelSpecFromConfig({ ...config('llama-bias'), model_type: modelType, attention_bias: false, mlp_bias: false, [key]: true }, 'cfg'),
      (e: unknown) => e instanceof InputError && new RegExp(`${key}: true is not a ${modelType} option`).test(e.message));
  }
});
