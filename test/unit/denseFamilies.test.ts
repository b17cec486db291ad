// Qwen3 and Gemma 1/2/3 (text) on the block engine against the plain-torch reference
// (test/fixtures/models/dense_reference.py) through test/fixtures/models/dense-golden.json (make_dense_fixtures.py,
// make_dense_golden.py): logits, perplexity, Block Influence, ablation and the parameter count (engine and config
// hover, one function), plus the config keys each family refuses by name. No python at test time.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { modelSpecFromConfig } from '../../src/arch/modelSpec';
import { familyOf } from '../../src/compute/families';
import { embeddingNormalizer, gemmaLayerTypes } from '../../src/compute/families/gemma';
import { deriveFacts } from '../../src/config/derived';
import { InputError } from '../../src/errors';
import { assertForwardMatches, assertTextMetricsMatch } from './familyGolden';
import { DIST, ROOT, tempDir, writeTemp } from './helpers';

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
const golden = JSON.parse(readFileSync(join(FIXTURES, 'dense-golden.json'), 'utf8')) as {
  text: { text: string }; models: Record<string, GoldenModel>; normalizers: Record<string, Record<string, number>>;
};
const TEXT = golden.text.text;
const config = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name, 'config.json'), 'utf8')) as Record<string, unknown>;

for (const [name, g] of Object.entries(golden.models)) {
  test(`${name}: logits, perplexity, Block Influence, ablation and parameters match torch`, async () => {
    await assertForwardMatches(TEXT, g, async (model) => {
      assert.equal(model.blockParameters[0], g.block_parameters, 'engine: parameters of one block');
    });
    const facts = deriveFacts(config(name));
    assert.equal(facts.parameters?.perLayer.total, g.block_parameters, 'config hover: parameters of one block');
    await assertTextMetricsMatch(TEXT, g);
  });
}

test('Gemma embedding scale: √hidden held in the embedding dtype, as torch rounds it (bf16 √3072 = 55.5)', () => {
  for (const [dtype, values] of Object.entries(golden.normalizers)) {
    for (const [hidden, expected] of Object.entries(values)) assert.equal(embeddingNormalizer(Number(hidden), dtype), expected, `${dtype} √${hidden}`);
  }
  assert.equal(embeddingNormalizer(3072, 'BF16'), 55.5);
});

test('Gemma 2 / 3 layer types: stated, or derived as transformers derives them', () => {
  assert.deepEqual(gemmaLayerTypes(config('gemma2')), ['sliding_attention', 'full_attention']);
  assert.deepEqual(gemmaLayerTypes(config('gemma3-text')), ['sliding_attention', 'full_attention']);
  const six = gemmaLayerTypes({ ...config('gemma3-text'), num_hidden_layers: 7, sliding_window_pattern: undefined })!;
  assert.deepEqual(six.map((t) => t[0]), ['s', 's', 's', 's', 's', 'f', 's']);
  assert.deepEqual(gemmaLayerTypes({ ...config('gemma2'), layer_types: ['full_attention', 'full_attention'] }), ['full_attention', 'full_attention']);
  assert.equal(gemmaLayerTypes(config('gemma')), null);
  assert.throws(() => gemmaLayerTypes({ ...config('gemma2'), layer_types: ['sliding_attention'] }), /layer_types must list/);
  // The engine runs one graph per layer type.
  const spec = modelSpecFromConfig(config('gemma3-text'), 'x');
  assert.deepEqual([0, 1].map((l) => familyOf(spec).blockVariant?.(spec, l)), ['sliding_attention', 'full_attention']);
});

test('config keys the Qwen3 and Gemma graphs cannot honour are refused by name', () => {
  const refused = (name: string, patch: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(() => modelSpecFromConfig({ ...config(name), ...patch }, 'cfg'), (e: unknown) => e instanceof InputError && pattern.test(e.message), JSON.stringify(patch));
  refused('qwen3-head-dim', { mlp_bias: true }, /mlp_bias: true is not a qwen3 option/);
  refused('qwen3-head-dim', { hidden_act: 'gelu' }, /hidden_act "gelu" is not supported for qwen3/);
  // Qwen3 is parsed by the Llama parser; its refusals still name the family the user opened, never "llama".
  const message = (name: string, patch: Record<string, unknown>) => {
    try {
      modelSpecFromConfig({ ...config(name), ...patch }, 'cfg');
    } catch (e) {
      return (e as Error).message;
    }
    return assert.fail(`${JSON.stringify(patch)} was accepted`);
  };
  for (const patch of [{ partial_rotary_factor: 0.5 }, { hidden_act: 'gelu' }, { rope_scaling: { rope_type: 'longrope', short_factor: [1], long_factor: [1] } }, { rope_scaling: { rope_type: 'ntk' } }]) {
    const text = message('qwen3-head-dim', patch);
    assert.match(text, /for qwen3/, text);
    assert.doesNotMatch(text, /(for|a) llama\b|llama[- ]family/i, text);
  }
  refused('gemma3-text', { rope_scaling: { rope_type: 'ntk' } }, /type "ntk" is not supported for gemma3_text/);
  refused('gemma', { hidden_activation: 'gelu' }, /hidden_activation "gelu" is not supported/);
  refused('gemma2', { query_pre_attn_scalar: 0 }, /"query_pre_attn_scalar" must be a positive number/);
  refused('gemma2', { attn_logit_softcapping: -1 }, /"attn_logit_softcapping" must be a positive number/);
  refused('gemma3-text', { sliding_window_pattern: 0 }, /sliding_window_pattern must be a positive integer/);
  refused('gemma3-text', { use_bidirectional_attention: true }, /use_bidirectional_attention/);
  refused('gemma3-text', { rope_theta: undefined, rope_parameters: { full_attention: {} } }, /rope_parameters/);
  refused('gemma3-text', { rope_scaling: { rope_type: 'longrope' } }, /"longrope"/);
  // Gemma 2 soft-caps default on (50, 30) and null turns them off; Gemma 3's default off.
  const gemma2 = (patch: Record<string, unknown>) => modelSpecFromConfig({ ...config('gemma2'), ...patch }, 'x') as { attnSoftcap?: number; finalSoftcap?: number };
  assert.deepEqual([gemma2({ attn_logit_softcapping: undefined, final_logit_softcapping: undefined })].map((s) => [s.attnSoftcap, s.finalSoftcap]), [[50, 30]]);
  assert.deepEqual([gemma2({ attn_logit_softcapping: null, final_logit_softcapping: null })].map((s) => [s.attnSoftcap, s.finalSoftcap]), [[undefined, undefined]]);
});

test('the CLI runs layers --metric block-influence and perplexity on each fixture (docs/cli.md), with the reference numbers', () => {
  const dir = tempDir();
  const textFile = writeTemp(dir, 'psalm.txt', TEXT);
  for (const [name, g] of Object.entries(golden.models)) {
    const directory = join(ROOT, g.path);
    const run = (...args: string[]) => {
      const result = spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args, '--text-file', textFile, '--json'], { encoding: 'utf8', env: { ...process.env, IMPORTANCE_LENS_PROVIDERS: 'cpu' } });
      assert.equal(result.status, 0, `${name} ${args.join(' ')}: ${result.stderr}`);
      return JSON.parse(result.stdout);
    };
    const layers = run('layers', directory, '--metric', 'block-influence');
    assert.equal(layers.metric, 'block-influence');
    assert.deepEqual(layers.layers.map((l: { index: number }) => l.index).sort(), [0, 1]);
    for (const l of layers.layers as { index: number; score: number; rank: number }[]) {
      assert.ok(Math.abs(l.score - g.block_influence[l.index]!) <= 1e-4, `${name} BI ${l.index}: ${l.score}`);
    }
    const ppl = run('perplexity', directory);
    assert.equal(ppl.tokens, g.ids.length);
    assert.ok(Math.abs(ppl.perplexity - g.perplexity) <= 1e-4 * g.perplexity, `${name} perplexity ${ppl.perplexity} vs torch ${g.perplexity}`);
  }
});

test('the config hover counts and sizes with the engine family also where a config leaves a default to it (Gemma head_dim 256)', () => {
  for (const name of ['gemma', 'gemma2', 'gemma3-text']) {
    const { head_dim: _, ...withoutHeadDim } = config(name);
    const spec = modelSpecFromConfig(withoutHeadDim, 'x');
    assert.equal((spec as { headDim: number }).headDim, 256);
    const facts = deriveFacts(withoutHeadDim);
    assert.equal(facts.attention?.headDim, 256, `${name}: the hover's head size`);
    assert.equal(facts.kvCache?.bytesPerToken, 2 * 2 * 2 * 256 * 4, `${name}: K and V of 2 layers × 2 KV heads × 256, float32`);
    const hover = facts.parameters!.perLayer;
    assert.equal(hover.total, familyOf(spec).blockParameters(spec), name);
    assert.equal(hover.norms, (name === 'gemma' ? 2 : 4) * 64 + (name === 'gemma3-text' ? 2 * 256 : 0), `${name}: norms`);
  }
});

test('Qwen3Config defaults where config.json is silent: head_dim 128, 32768 positions', () => {
  const { head_dim: _, max_position_embeddings: __, ...silent } = config('qwen3-head-dim');
  const spec = modelSpecFromConfig(silent, 'x') as { headDim: number; maxPositions: number };
  assert.deepEqual([spec.headDim, spec.maxPositions], [128, 32768]);
});
