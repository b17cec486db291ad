// The phi3 (Phi-3 / 3.5 / Phi-4-mini), gpt_neox (GPT-NeoX / Pythia) and olmo2 families against the plain-torch
// reference (test/fixtures/models/reference_phi3_neox_olmo2.py) through phi3-neox-olmo2-golden.json
// (make_phi3_neox_olmo2_fixtures.py, make_phi3_neox_olmo2_golden.py): logits, perplexity, Block Influence,
// ablation, Wanda, parameter counts (hover = engine = checkpoint), the CLI, layer-drop plans and Wanda on fused weights,
// and the refusals. No python at test time.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { onnx } from 'onnx-proto';
import { drain } from '../../src/analyses';
import { activationLayers } from '../../src/analyses/activationLayers';
import { perplexity } from '../../src/analyses/perplexity';
import { modelSpecFromConfig } from '../../src/arch/modelSpec';
import { familyOf } from '../../src/compute/families';
import { phi3SpecFromConfig, type Phi3Spec } from '../../src/compute/families/phi3';
import { LanguageModel } from '../../src/compute/languageModel';
import { deriveFacts } from '../../src/config/derived';
import { keyMeaning } from '../../src/config/keyDocs';
import { InputError } from '../../src/errors';
import { applyPlan } from '../../src/plan/apply';
import { planChoices } from '../../src/plan/choices';
import { verifyVirtually } from '../../src/plan/virtual';
import { assertForwardMatches, assertTextMetricsMatch } from './familyGolden';
import { DIST, ROOT, tempDir } from './helpers';
import { makePlan } from './planHelpers';

interface GoldenModel {
  path: string;
  family: string;
  layers: number;
  ids: number[];
  logit_positions: number[];
  logits: number[][];
  nll: number;
  perplexity: number;
  block_influence: number[];
  ablation_perplexity: number[];
  block_parameters: number;
  wanda: number[];
  longrope_boundary?: { tokens: number[]; nll: number[] };
}
const FIXTURES = join(ROOT, 'test', 'fixtures', 'models');
const golden = JSON.parse(readFileSync(join(FIXTURES, 'phi3-neox-olmo2-golden.json'), 'utf8')) as { text: { text: string }; models: Record<string, GoldenModel> };
const TEXT = golden.text.text;
const PLAN_TEXT = join(ROOT, 'samples', 'text', 'john-1.txt');
const config = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name, 'config.json'), 'utf8')) as Record<string, unknown>;
/** The families this file covers, in the order they were added. */
const FAMILIES = ['phi3', 'gpt_neox', 'olmo2'];
const models = Object.entries(golden.models).filter(([, g]) => FAMILIES.includes(g.family));

for (const [name, g] of models) {
  test(`${name}: logits, perplexity, Block Influence, ablation and parameters match torch`, async () => {
    await assertForwardMatches(TEXT, g, async (model) => {
      assert.equal(model.blockParameters[0], g.block_parameters, 'engine: parameters of one block = the checkpoint\'s block-0 tensors');
    });
    const input = await assertTextMetricsMatch(TEXT, g);
    // Wanda reads every linear layer's input, the fused ones included: the right tensor at each site.
    const wanda = await drain(activationLayers({ ...input, metric: 'wanda' }));
    wanda.layers.forEach((l) => assert.ok(Math.abs(l.score - g.wanda[l.index]!) <= 1e-5 * g.wanda[l.index]!, `Wanda ${l.index}: ${l.score} vs torch ${g.wanda[l.index]}`));
  });

  test(`${name}: the config hover counts what the engine counts, and the checkpoint holds`, () => {
    const facts = deriveFacts(config(name));
    assert.equal(facts.parametersUnavailable, null);
    const count = facts.parameters!;
    assert.equal(count.perLayer.total, g.block_parameters, 'hover: one block');
    const spec = modelSpecFromConfig(config(name), 'x');
    assert.equal(familyOf(spec).blockParameters(spec), g.block_parameters, 'engine: one block');
    const total = [...readSafetensors(join(FIXTURES, name, 'model.safetensors')).values()].reduce((s, t) => s + t.values.length, 0);
    assert.equal(count.total, total, 'hover: the whole checkpoint');
  });
}

/** name -> shape and F32 values of a safetensors file. */
function readSafetensors(path: string): Map<string, { shape: number[]; values: Float32Array }> {
  const st = readFileSync(path);
  const length = Number(st.readBigUInt64LE(0));
  const header = JSON.parse(st.subarray(8, 8 + length).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    assert.equal(t.dtype, 'F32');
    const bytes = st.subarray(8 + length + t.data_offsets[0], 8 + length + t.data_offsets[1]);
    out.set(name, { shape: t.shape, values: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) });
  }
  return out;
}

function cli(...args: string[]): { code: number | null; json: Record<string, unknown>; stderr: string } {
  const run = spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args, '--json'], { encoding: 'utf8', env: { ...process.env, IMPORTANCE_LENS_PROVIDERS: 'cpu' } });
  return { code: run.status, json: run.status === 0 ? (JSON.parse(run.stdout) as Record<string, unknown>) : {}, stderr: run.stderr };
}

for (const family of FAMILIES) {
  const [name, g] = models.find(([, m]) => m.family === family)!;
  test(`${name}: the CLI runs layers --metric block-influence and perplexity`, () => {
    const dir = tempDir();
    const textFile = join(dir, 'text.txt');
    writeFileSync(textFile, TEXT);
    const layers = cli('layers', join(ROOT, g.path), '--metric', 'block-influence', '--text-file', textFile);
    assert.equal(layers.code, 0, layers.stderr);
    const scores = (layers.json.layers as { index: number; score: number }[]).map((l) => l.score);
    scores.forEach((s, l) => assert.ok(Math.abs(s - g.block_influence[l]!) <= 1e-4, `CLI BI ${l}: ${s} vs torch ${g.block_influence[l]}`));
    const ppl = cli('perplexity', join(ROOT, g.path), '--text-file', textFile);
    assert.equal(ppl.code, 0, ppl.stderr);
    assert.ok(Math.abs((ppl.json.perplexity as number) - g.perplexity) <= 1e-4 * g.perplexity, `CLI perplexity ${ppl.json.perplexity} vs torch ${g.perplexity}`);
  });

  for (const [what, request] of [
    ['drop one block (ShortGPT)', { dropLayers: 1, metric: 'block-influence', textFile: PLAN_TEXT, maxTokens: 64 }],
    ['Wanda sparsity, fused weights included', { sparsity: 0.5, metric: 'wanda', allocation: 'uniform', textFile: PLAN_TEXT, maxTokens: 64 }],
  ] as const) {
    test(`${name}: ${what}: apply --verify's written copy agrees with the virtual run`, async () => {
      const dir = tempDir();
      const planPath = join(dir, 'p.pruneplan.json');
      const model = join(ROOT, g.path);
      await makePlan({ model, ...request }, planPath);
      const out = join(dir, 'pruned');
      const applied = await drain(applyPlan(planPath, out, { providers: ['cpu'] }));
      const input = { text: { file: PLAN_TEXT }, maxTokens: 96, providers: ['cpu'] };
      const written = await drain(perplexity({ model: out, ...input }));
      const { result, verification } = await drain(verifyVirtually(planPath, PLAN_TEXT, { maxTokens: 96, providers: ['cpu'] }));
      assert.ok(Math.abs(verification.perplexity.after - written.perplexity) <= 1e-5 * written.perplexity, `after: virtual ${verification.perplexity.after} vs written ${written.perplexity}`);
      assert.notEqual(verification.perplexity.after, verification.perplexity.before);
      assert.deepEqual([result.parameters, result.layers, result.zeroed], [applied.parameters, applied.layers, applied.zeroed]);
      if (!('sparsity' in request)) {
        assert.equal(applied.layers.after, g.layers - 1);
        return;
      }
      // Every row (output) of each fused weight lost exactly half its inputs.
      const tensors = readSafetensors(join(out, 'model.safetensors'));
      const fused = [...tensors.keys()].filter((k) => /\.(qkv_proj|gate_up_proj|query_key_value)\.weight$/.test(k));
      assert.equal(fused.length, { phi3: 2, gpt_neox: 1, olmo2: 0 }[g.family]! * g.layers, `fused weights: ${fused.join(', ')}`);
      for (const k of fused) {
        const { shape, values } = tensors.get(k)!;
        const [rows, cols] = shape as [number, number];
        for (let r = 0; r < rows; r++) assert.equal(values.subarray(r * cols, (r + 1) * cols).filter((x) => x === 0).length, cols / 2, `${k} row ${r}`);
      }
    });
  }
}

test('phi3: head pruning is refused (fused qkv_proj), the other plan kinds (MLP width too: gate_up_proj is sliced in halves) are offered', async () => {
  const choices = await planChoices(join(FIXTURES, 'phi3-longrope'));
  assert.deepEqual(choices.available.map((c) => c.kind).sort(), ['contiguous-block', 'drop-layers', 'drop-mlp-channels', 'sparsity']);
  const heads = choices.unavailable.find((u) => u.kind === 'drop-heads');
  assert.match(heads!.reason, /separate q\/k\/v projections.*phi3 is not one/);
  const dir = tempDir();
  await assert.rejects(makePlan({ model: join(FIXTURES, 'phi3-longrope'), dropHeads: 1 }, join(dir, 'p.json')), (e: unknown) => e instanceof InputError && /phi3 is not one/.test(e.message));
});

test('phi3: longrope picks long_factor past original_max_position_embeddings, scales by sqrt(1 + ln s / ln original)', () => {
  const spec = phi3SpecFromConfig(config('phi3-longrope'), 'x');
  const rope = spec.longRope!;
  assert.equal(rope.originalMaxPositions, 32);
  assert.ok(Math.abs(rope.attentionFactor - Math.sqrt(1 + Math.log(128 / 32) / Math.log(32))) < 1e-12);
  const partial = phi3SpecFromConfig(config('phi4-mini-partial'), 'x');
  assert.equal(partial.rotaryDim, 12, 'partial_rotary_factor 0.75 of head_dim 16');
  assert.equal(partial.slidingWindow, 256);
  // An explicit attention_factor wins; factor <= 1 means no scaling; the old type name "su" is LongRoPE.
  const base = config('phi3-longrope');
  const rs = base.rope_scaling as Record<string, unknown>;
  assert.equal(phi3SpecFromConfig({ ...base, rope_scaling: { ...rs, attention_factor: 1.5 } }, 'x').longRope!.attentionFactor, 1.5);
  assert.equal(phi3SpecFromConfig({ ...base, max_position_embeddings: 32 }, 'x').longRope!.attentionFactor, 1);
  assert.deepEqual(phi3SpecFromConfig({ ...base, rope_scaling: { ...rs, type: 'su' } }, 'x').longRope, rope);
  // transformers 5's rope_parameters carry theta and type.
  const v5 = phi3SpecFromConfig({ ...base, rope_scaling: undefined, rope_theta: undefined, rope_parameters: { ...rs, rope_theta: 250000 } }, 'x');
  assert.equal(v5.ropeTheta, 250000);
  assert.deepEqual(v5.longRope, rope);
});

test('phi3: longrope switches to long_factor at original_max_position_embeddings + 1 tokens, as torch', async () => {
  for (const [name, g] of models.filter(([, m]) => m.longrope_boundary)) {
    const { tokens, nll } = g.longrope_boundary!;
    for (const [i, n] of tokens.entries()) {
      const ppl = await drain(perplexity({ model: join(ROOT, g.path), text: { file: join(ROOT, 'samples', 'text', 'psalms-23.txt') }, maxTokens: n, providers: ['cpu'] }));
      assert.equal(ppl.predicted, n - 1);
      assert.ok(Math.abs(ppl.nll - nll[i]!) <= 1e-4 * nll[i]!, `${name}, ${n} tokens: nll ${ppl.nll} vs torch ${nll[i]}`);
    }
  }
});

test('phi3: what the graph cannot honour is refused by key', () => {
  const base = config('phi3-longrope');
  const rs = base.rope_scaling as Record<string, unknown>;
  const refused = (change: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(() => modelSpecFromConfig({ ...base, ...change }, 'cfg'), (e: unknown) => e instanceof InputError && pattern.test(e.message), JSON.stringify(change));
  refused({ rope_scaling: { ...rs, type: 'yarn' } }, /rope_scaling type "yarn" is not supported for phi3/);
  refused({ rope_scaling: { ...rs, short_factor: [1, 2] } }, /"short_factor" must list 8 positive numbers/);
  refused({ rope_scaling: { ...rs, long_factor: [...(rs.long_factor as number[]).slice(1), -1] } }, /"long_factor"/);
  refused({ hidden_act: 'gelu' }, /hidden_act "gelu" is not supported for phi3/);
  refused({ partial_rotary_factor: 0.1 }, /partial_rotary_factor 0.1 gives 1 rotary features/);
  refused({ num_key_value_heads: 3 }, /not a multiple of num_key_value_heads 3/);
  refused({ sliding_window: -5 }, /"sliding_window" must be a positive integer/);
  // The hover says why it has no count rather than counting a model the engine refuses.
  assert.match(deriveFacts({ ...base, hidden_act: 'gelu' }).parametersUnavailable!, /hidden_act "gelu"/);
});

test('gpt_neox: head pruning is refused (per-head fused query_key_value); what the graph cannot honour is refused by key', async () => {
  const choices = await planChoices(join(FIXTURES, 'gpt-neox-parallel'));
  assert.deepEqual(choices.available.map((c) => c.kind).sort(), ['contiguous-block', 'drop-layers', 'drop-mlp-channels', 'sparsity']);
  assert.match(choices.unavailable.find((u) => u.kind === 'drop-query-heads')!.reason, /gpt_neox is not one/);
  const base = config('gpt-neox-parallel');
  const refused = (change: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(() => modelSpecFromConfig({ ...base, ...change }, 'cfg'), (e: unknown) => e instanceof InputError && pattern.test(e.message), JSON.stringify(change));
  refused({ hidden_act: 'relu' }, /hidden_act "relu" is not supported for gpt_neox; supported: gelu, gelu_new, gelu_fast, gelu_pytorch_tanh/);
  refused({ rope_scaling: { type: 'linear', factor: 2 } }, /rope_scaling type "linear" is not supported for gpt_neox/);
  refused({ rotary_pct: 0.1 }, /rotary_pct 0.1 gives 1 rotary features/);
  refused({ num_attention_heads: 5 }, /hidden_size 64 is not divisible by num_attention_heads 5/);
  refused({ use_parallel_residual: 'yes' }, /"use_parallel_residual" must be true or false/);
  // Pythia's keys, and transformers 5's rope_parameters, name the same rotary.
  const spec = modelSpecFromConfig(base, 'x');
  assert.deepEqual([spec.kind === 'gpt_neox' && spec.rotaryDim, spec.kind === 'gpt_neox' && spec.ropeTheta], [4, 10000]);
  const v5 = modelSpecFromConfig({ ...base, rotary_pct: undefined, rotary_emb_base: undefined, rope_parameters: { rope_type: 'default', rope_theta: 20000, partial_rotary_factor: 0.5 } }, 'x');
  assert.deepEqual([v5.kind === 'gpt_neox' && v5.rotaryDim, v5.kind === 'gpt_neox' && v5.ropeTheta], [8, 20000]);
  // attention_bias false: query_key_value and dense without biases, and counted so.
  const unbiased = modelSpecFromConfig({ ...base, attention_bias: false }, 'x');
  assert.equal(familyOf(unbiased).blockParameters(unbiased), golden.models['gpt-neox-parallel']!.block_parameters - 4 * 64);
  assert.equal(familyOf(unbiased).blockTensors(unbiased, 0, () => true).filter((t) => t.name.endsWith('.bias')).length, 4, 'the two LayerNorms\' and the MLP\'s');
});

test('gpt_neox: gelu is the erf form, gelu_new / gelu_fast / gelu_pytorch_tanh the tanh form (too close for the golden numbers to tell)', () => {
  const ops = (hiddenAct: string) => {
    const spec = modelSpecFromConfig({ ...config('gpt-neox-parallel'), hidden_act: hiddenAct }, 'x');
    const family = familyOf(spec);
    return new Set(onnx.ModelProto.decode(family.buildBlock(spec, family.blockTensors(spec, 0, () => true))).graph!.node!.map((n) => n.opType));
  };
  assert.ok(ops('gelu').has('Erf') && !ops('gelu').has('Tanh'));
  for (const act of ['gelu_new', 'gelu_fast', 'gelu_pytorch_tanh']) assert.ok(ops(act).has('Tanh') && !ops(act).has('Erf'), act);
});

test('olmo2: head pruning is refused (q/k norms span all heads); what the graph cannot honour is refused by key', async () => {
  const model = join(FIXTURES, 'olmo2');
  const choices = await planChoices(model);
  assert.deepEqual(choices.available.map((c) => c.kind).sort(), ['contiguous-block', 'drop-layers', 'drop-mlp-channels', 'sparsity']);
  for (const kind of ['drop-heads', 'drop-query-heads']) assert.match(choices.unavailable.find((u) => u.kind === kind)!.reason, /not possible for olmo2: q_norm and k_norm normalise all heads/);
  const dir = tempDir();
  await assert.rejects(makePlan({ model, dropQueryHeads: 1 }, join(dir, 'p.json')), (e: unknown) => e instanceof InputError && /q_norm and k_norm/.test(e.message));
  const base = config('olmo2');
  const refused = (change: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(() => modelSpecFromConfig({ ...base, ...change }, 'cfg'), (e: unknown) => e instanceof InputError && pattern.test(e.message), JSON.stringify(change));
  refused({ rope_scaling: { rope_type: 'yarn', factor: 2 } }, /rope_scaling type "yarn" is not supported for olmo2/);
  refused({ rope_scaling: 5 }, /rope_scaling must be an object \(found 5\)/);
  refused({ rope_parameters: [] }, /rope_parameters must be an object/);
  refused({ hidden_act: 'gelu' }, /hidden_act "gelu" is not supported for olmo2/);
  refused({ num_key_value_heads: 3 }, /not a multiple of num_key_value_heads 3/);
  // attention_bias: q/k/v/o biases are read and counted.
  const biased = modelSpecFromConfig({ ...base, attention_bias: true }, 'x');
  assert.equal(familyOf(biased).blockParameters(biased), golden.models.olmo2!.block_parameters + 64 + 2 * 32 + 64);
  assert.equal(familyOf(biased).blockTensors(biased, 0, () => true).filter((t) => t.name.endsWith('.bias')).length, 4);
});

test('phi3: a Phi-3-mini-4k config (no rope_scaling, sliding_window 2047) runs plain RoPE over windows capped to 2047 tokens', () => {
  const spec = modelSpecFromConfig({
    model_type: 'phi3', hidden_size: 3072, intermediate_size: 8192, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 32,
    vocab_size: 32064, max_position_embeddings: 4096, original_max_position_embeddings: 4096, rope_scaling: null, sliding_window: 2047,
  }, 'x') as Phi3Spec;
  assert.equal(spec.longRope, undefined);
  assert.equal(spec.rotaryDim, 96);
  assert.equal(spec.slidingWindow, 2047);
  assert.equal(familyOf(spec).blockParameters(spec), 3072 * 3 * 3072 + 3072 * 3072 + 3 * 3072 * 8192 + 2 * 3072);
});

test('the config hover counts published checkpoints as their model cards do (the family\'s own count)', () => {
  const ones = (n: number) => new Array<number>(n).fill(1);
  const cases: [string, Record<string, unknown>, number][] = [
    // Phi-4-mini-instruct: 3.84 B, GQA 24 / 8 heads, partial_rotary_factor 0.75 (48 longrope factors), tied head.
    ['Phi-4-mini', {
      model_type: 'phi3', hidden_size: 3072, intermediate_size: 8192, num_hidden_layers: 32, num_attention_heads: 24, num_key_value_heads: 8,
      vocab_size: 200064, max_position_embeddings: 131072, original_max_position_embeddings: 4096, partial_rotary_factor: 0.75,
      rope_scaling: { type: 'longrope', short_factor: ones(48), long_factor: ones(48) }, sliding_window: 262144, tie_word_embeddings: true,
    }, 3_836_021_760],
    // Pythia-160m: 162,322,944 with its untied embed_out.
    ['Pythia-160m', {
      model_type: 'gpt_neox', hidden_size: 768, intermediate_size: 3072, num_hidden_layers: 12, num_attention_heads: 12, vocab_size: 50304,
      rotary_pct: 0.25, rotary_emb_base: 10000, use_parallel_residual: true, tie_word_embeddings: false,
    }, 162_322_944],
    // OLMo-2-0425-1B: 1,484,916,736.
    ['OLMo-2-1B', {
      model_type: 'olmo2', hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16, num_attention_heads: 16, num_key_value_heads: 16,
      vocab_size: 100352, rope_theta: 500000, tie_word_embeddings: false,
    }, 1_484_916_736],
  ];
  for (const [name, cfg, total] of cases) {
    const facts = deriveFacts(cfg);
    assert.equal(facts.parameters?.total, total, name);
    const spec = modelSpecFromConfig(cfg, name);
    assert.equal(facts.parameters!.perLayer.total, familyOf(spec).blockParameters(spec), `${name}: hover block = engine block`);
  }
  const neox = deriveFacts({ model_type: 'gpt_neox', rotary_pct: 0.25, rotary_emb_base: 10000, max_position_embeddings: 2048 }).positions!;
  assert.deepEqual([neox.kind, neox.rotaryFraction, neox.ropeTheta], ['rope', 0.25, 10000]);
  for (const key of ['rotary_pct', 'rotary_emb_base', 'use_parallel_residual']) assert.match(keyMeaning('model', [key])?.meaning ?? '', /GPT-NeoX/, key);
});

test('phi3: windows are capped to sliding_window', async () => {
  const model = await LanguageModel.open(join(FIXTURES, 'phi3-longrope'), ['cpu']);
  try {
    assert.equal(model.contextLength, 100, 'sliding_window 100 of max_position_embeddings 128');
  } finally {
    await model.release();
  }
});
