// GGUF files of the families beyond the llama layout (src/arch/ggufModels.ts rows qwen3, gemma, gemma2, gemma3,
// phi3): HF fixtures converted as llama.cpp's convert_hf_to_gguf.py converts them (make_gguf_fixtures.py: Gemma's
// norms stored as 1 + w, Gemma 2/3's four norms under gguf-py's names, Phi-3's fused qkv / gate_up and LongRoPE as
// two factor tensors) must give the numbers of the same model as safetensors: spec, parameter counts, logits,
// perplexity, Block Influence, ablation and plans (drop a block, Wanda sparsity, verified in memory); Q8_0 within
// quantisation error. Where llama.cpp's keys cannot say what the
// fixture's config says (Gemma 2/3's query_pre_attn_scalar, Gemma 3's sliding pattern), the converter refuses unless
// the conversion states the config llama.cpp implies (gguf/<fixture>.config.json), and that is what is compared.
// What the metadata leaves to llama-model.cpp (27B attention scale) and what it cannot hold is checked on
// synthetic metadata. No python at test time but for the converter's own refusals (needsReference).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { activationLayers } from '../../src/analyses/activationLayers';
import { perplexity } from '../../src/analyses/perplexity';
import { saliency } from '../../src/analyses/saliency';
import { ggufModel, ggufTensorName, GGUF_ARCHITECTURES } from '../../src/arch/ggufModels';
import { LanguageModel } from '../../src/compute/languageModel';
import { InputError } from '../../src/errors';
import { verifyVirtually } from '../../src/plan/virtual';
import type { GgufValue } from '../../src/formats/gguf';
import { needsReference, PYTHON, ROOT, tempDir, writeTemp } from './helpers';
import { makePlan } from './planHelpers';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'models');
const CPU = ['cpu'];
// 596 characters, over 100 tokens: longer than Gemma's windows of 8 and, cut at 64, than Phi-3's original 32 (long factors).
const TEXT = readFileSync(join(ROOT, 'samples', 'text', 'psalms-23.txt'), 'utf8');
const MAX_TOKENS = 64;
/** Float32 metadata (eps, LongRoPE factors, attn_factor) against config.json's doubles. */
const F32_SPEC = 1e-6;
/** The same weights through the same graphs: only those float32 constants differ. */
const F32_TOLERANCE = 1e-5;

/** The fixture directory, or (for a conversion with overrides) a copy of its weights with the config the GGUF holds. */
function safetensorsModel(fixture: string): string {
  const source = fixture.replace(/^gguf\//, '');
  const config = join(FIXTURES, 'gguf', `${source}.config.json`);
  if (!existsSync(config)) return join(FIXTURES, fixture);
  const dir = tempDir();
  for (const file of ['model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(FIXTURES, source, file), join(dir, file));
  copyFileSync(config, join(dir, 'config.json'));
  return dir;
}

/** Equal, numbers within a relative `tolerance`. */
function assertClose(actual: unknown, expected: unknown, tolerance: number, path = 'spec'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${path}: ${actual} vs ${expected}`);
  } else if (expected && typeof expected === 'object') {
    assert.ok(actual && typeof actual === 'object', `${path}: ${JSON.stringify(actual)} vs an object`);
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${path}: keys`);
    for (const key of Object.keys(expected)) assertClose((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], tolerance, `${path}.${key}`);
  } else {
    assert.deepEqual(actual, expected, path);
  }
}

function worst(a: Float32Array | readonly number[], b: Float32Array | readonly number[]): number {
  assert.equal(a.length, b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i]! - b[i]!));
  return w;
}

async function forward(path: string, ids: number[]) {
  const model = await LanguageModel.open(path, CPU);
  try {
    const out = await model.forward([ids], { hidden: true });
    return { spec: model.spec, params: model.blockParameters, logits: out.logits, hidden: out.hidden };
  } finally {
    await model.release();
  }
}

const on = (model: string) => ({ model, text: { text: TEXT }, maxTokens: MAX_TOKENS, providers: CPU });

/** [fixture (under test/fixtures/models), general.architecture, whether a Q8_0 file was written too] */
const CONVERTED = [
  ['qwen3-head-dim', 'qwen3', false],
  ['gemma', 'gemma', false],
  ['gemma2', 'gemma2', true],
  ['gemma3-text', 'gemma3', false],
  // gemma3-text's blocks repeated to six: llama.cpp's pattern makes block 5 global (rope.freq_base, linear scaling).
  ['gguf/gemma3-text-6', 'gemma3', false],
  ['phi3-longrope', 'phi3', true],
  ['phi4-mini-partial', 'phi3', false],
] as const;

for (const [fixture, architecture, quantised] of CONVERTED) {
  const source = fixture.replace(/^gguf\//, '');
  test(`${source} as GGUF (${architecture}): the safetensors model's spec, parameters, logits, perplexity, Block Influence and ablation`, async (t) => {
    const directory = safetensorsModel(fixture);
    const f32 = join(FIXTURES, 'gguf', `${source}.f32.gguf`);
    // Token ids of the GGUF's own gpt2 vocabulary, which must be tokenizer.json's.
    const ppl = await drain(perplexity(on(f32)));
    const pplHf = await drain(perplexity(on(directory)));
    assert.equal(ppl.tokens, pplHf.tokens);
    const ids = Array.from({ length: 48 }, (_, i) => (i * 37 + 11) % 1000);
    const [hf, gguf] = [await forward(directory, ids), await forward(f32, ids)];
    assertClose(gguf.spec, hf.spec, F32_SPEC);
    if (source === 'gemma3-text-6') assert.equal((gguf.spec as { layerTypes: string[] }).layerTypes[5], 'full_attention');
    assert.deepEqual(gguf.params, hf.params, 'block parameters');
    // Relative to the largest logit: Phi-3's float32 LongRoPE factors move the rotation angles by ~1e-7 of themselves.
    const scale = Math.max(1, ...Array.from(hf.logits, Math.abs));
    const logits = worst(gguf.logits, hf.logits);
    assert.ok(logits <= F32_TOLERANCE * scale, `logits differ by up to ${logits} (largest ${scale})`);
    gguf.hidden.forEach((h, l) => assert.ok(worst(h, hf.hidden[l]!) <= F32_TOLERANCE * Math.max(1, ...Array.from(hf.hidden[l]!, Math.abs)), `residual stream ${l}`));
    assert.ok(Math.abs(ppl.nll - pplHf.nll) <= F32_TOLERANCE * pplHf.nll, `nll ${ppl.nll} vs ${pplHf.nll}`);
    for (const metric of ['block-influence', 'ablation'] as const) {
      const [a, b] = [await drain(activationLayers({ ...on(f32), metric })), await drain(activationLayers({ ...on(directory), metric }))];
      a.layers.forEach((l, i) => assert.ok(Math.abs(l.score - b.layers[i]!.score) <= F32_TOLERANCE * Math.max(1, b.layers[i]!.score), `${metric} ${l.index}: ${l.score} vs ${b.layers[i]!.score}`));
    }
    t.diagnostic(`${source}: F32 GGUF vs safetensors: logits ${logits.toExponential(2)} (largest ${scale.toFixed(2)}), nll ${ppl.nll} vs ${pplHf.nll}`);
    if (!quantised) return;

    const q8 = join(FIXTURES, 'gguf', `${source}.q8_0.gguf`);
    const pplQ8 = await drain(perplexity(on(q8)));
    assert.notEqual(pplQ8.nll, ppl.nll, 'the Q8_0 file is quantised');
    assert.ok(Math.abs(pplQ8.nll - ppl.nll) <= 0.01 * ppl.nll, `Q8_0 nll ${pplQ8.nll} within 1 % of F32 ${ppl.nll}`);
    const [bq, bf] = [await drain(activationLayers({ ...on(q8), metric: 'block-influence' })), await drain(activationLayers({ ...on(f32), metric: 'block-influence' }))];
    bq.layers.forEach((l, i) => assert.ok(Math.abs(l.score - bf.layers[i]!.score) <= 0.02 * bf.layers[i]!.score + 1e-4, `Q8_0 block influence ${l.index}: ${l.score} vs F32 ${bf.layers[i]!.score}`));
    t.diagnostic(`${source}: Q8_0 nll ${pplQ8.nll} vs F32 ${ppl.nll}; block influence ${bq.layers.map((l) => l.score.toFixed(5))} vs ${bf.layers.map((l) => l.score.toFixed(5))}`);
  });
}

for (const [source, sparsity] of [['gemma2', 0.5], ['phi3-longrope', 0.4]] as const) {
  test(`${source}: plans made from the GGUF choose and verify as from the safetensors model (drop a block by Block Influence, Wanda sparsity)`, async () => {
    const dir = tempDir();
    const text = writeTemp(dir, 'text.txt', TEXT);
    const gguf = join(FIXTURES, 'gguf', `${source}.f32.gguf`);
    const directory = safetensorsModel(source);
    for (const request of [{ dropLayers: 1 }, { sparsity, metric: 'wanda' as const }]) {
      const verify = async (model: string, name: string) => {
        const planPath = join(dir, `${name}.pruneplan.json`);
        await makePlan({ ...request, model, textFile: text, maxTokens: MAX_TOKENS }, planPath);
        const plan = JSON.parse(readFileSync(planPath, 'utf8')) as { model: { family: string }; actions: unknown[] };
        const { verification } = await drain(verifyVirtually(planPath, text, { maxTokens: MAX_TOKENS, providers: CPU }));
        return { plan, perplexity: verification.perplexity };
      };
      const [hf, fromGguf] = [await verify(directory, 'hf'), await verify(gguf, 'gguf')];
      assert.deepEqual(fromGguf.plan.actions, hf.plan.actions, `${JSON.stringify(request)}: the same blocks, ratios`);
      assert.equal(fromGguf.plan.model.family, hf.plan.model.family);
      for (const when of ['before', 'after'] as const) {
        const [a, b] = [fromGguf.perplexity[when], hf.perplexity[when]];
        assert.ok(Math.abs(a - b) <= F32_TOLERANCE * b, `${JSON.stringify(request)} perplexity ${when}: ${a} vs ${b}`);
      }
      assert.notEqual(fromGguf.perplexity.after, fromGguf.perplexity.before);
    }
  });
}

test('saliency (occlusion, attention rollout) on the gemma3 six-block GGUF equals the safetensors model\'s', async () => {
  const text = 'The LORD is my shepherd; I shall not want. He maketh me to lie down';
  for (const method of ['occlusion', 'attention'] as const) {
    const run = (model: string) => drain(saliency({ model, text: { text }, method, seeds: 3, providers: CPU }));
    const [hf, fromGguf] = [await run(safetensorsModel('gguf/gemma3-text-6')), await run(join(FIXTURES, 'gguf', 'gemma3-text-6.f32.gguf'))];
    assert.deepEqual(fromGguf.tokens, hf.tokens, `${method}: scores per token`);
    assert.deepEqual(fromGguf.target, hf.target);
  }
});

test('gguf-py names of the families\' own tensors: q/k norms, Gemma 2/3\'s four norms, Phi-3\'s fused projections', () => {
  const name = (hf: string, arch: string) => ggufTensorName(hf, GGUF_ARCHITECTURES[arch]);
  assert.equal(name('model.layers.1.self_attn.q_norm.weight', 'qwen3'), 'blk.1.attn_q_norm.weight');
  assert.equal(name('model.layers.1.post_attention_layernorm.weight', 'qwen3'), 'blk.1.ffn_norm.weight');
  // Gemma 2/3: post_attention_layernorm is ATTN_POST_NORM; FFN_NORM is the pre-feed-forward norm.
  assert.equal(name('model.layers.1.post_attention_layernorm.weight', 'gemma2'), 'blk.1.post_attention_norm.weight');
  assert.equal(name('model.layers.1.pre_feedforward_layernorm.weight', 'gemma3'), 'blk.1.ffn_norm.weight');
  assert.equal(name('model.layers.1.post_feedforward_layernorm.weight', 'gemma3'), 'blk.1.post_ffw_norm.weight');
  assert.equal(name('model.layers.1.self_attn.k_norm.weight', 'gemma3'), 'blk.1.attn_k_norm.weight');
  assert.equal(name('model.layers.1.post_attention_layernorm.weight', 'gemma'), 'blk.1.ffn_norm.weight');
  assert.equal(name('model.layers.1.self_attn.qkv_proj.weight', 'phi3'), 'blk.1.attn_qkv.weight');
  assert.equal(name('model.layers.1.mlp.gate_up_proj.weight', 'phi3'), 'blk.1.ffn_up.weight');
});

const scalar = (value: string | number, type: 'string' | 'uint32' | 'float32' = typeof value === 'string' ? 'string' : 'uint32'): GgufValue => ({ kind: 'scalar', type, value });
function meta(arch: string, layers = 2, extra: [string, GgufValue][] = []): Map<string, GgufValue> {
  return new Map([
    ['general.architecture', scalar(arch)], [`${arch}.block_count`, scalar(layers)], [`${arch}.embedding_length`, scalar(64)],
    [`${arch}.attention.head_count`, scalar(4)], [`${arch}.feed_forward_length`, scalar(128)], [`${arch}.context_length`, scalar(64)],
    [`${arch}.attention.layer_norm_rms_epsilon`, scalar(1e-6, 'float32')], [`${arch}.attention.key_length`, scalar(32)],
    [`${arch}.attention.value_length`, scalar(32)], ...extra,
  ]);
}
const shapes = (extra: [string, number[]][] = []) => {
  const all = new Map<string, number[]>([['token_embd.weight', [64, 100]], ...extra]);
  return (n: string) => all.get(n);
};

test('what llama.cpp fixes for Gemma 2/3 rather than reading it: attention scale (27B: hidden/heads), sliding pattern, local RoPE base', () => {
  const spec = (arch: string, layers: number, extra: [string, GgufValue][] = []) => ggufModel(meta(arch, layers, extra), shapes(), 'm.gguf').spec as unknown as Record<string, unknown>;
  // 2B/9B: head_dim; 27B (46 layers): hidden / heads = 16 here.
  assert.equal(spec('gemma2', 26).queryPreAttnScalar, 32);
  assert.equal(spec('gemma2', 46).queryPreAttnScalar, 16);
  assert.equal(spec('gemma3', 62, [['gemma3.attention.sliding_window', scalar(512)]]).queryPreAttnScalar, 16);
  // Gemma 2: llama.cpp's defaults (soft-caps 50 / 30, window 4096) are transformers' when the keys are absent.
  assert.deepEqual([spec('gemma2', 2).attnSoftcap, spec('gemma2', 2).finalSoftcap, spec('gemma2', 2).slidingWindow], [50, 30, 4096]);
  const g3 = spec('gemma3', 7, [['gemma3.attention.sliding_window', scalar(512)], ['gemma3.rope.freq_base', scalar(1e6, 'float32')]]);
  assert.deepEqual(g3.layerTypes, [...Array(5).fill('sliding_attention'), 'full_attention', 'sliding_attention']);
  assert.deepEqual([g3.ropeLocalTheta, g3.ropeTheta, g3.slidingWindow, g3.attnSoftcap, g3.finalSoftcap, g3.tiedEmbeddings], [10000, 1e6, 512, undefined, undefined, true]);
  // Gemma 1: no rope.freq_base in the file is llama.cpp's 10000.
  assert.equal(spec('gemma', 2).ropeTheta, 10000);
});

test('GGUF metadata the families cannot run is refused by name', () => {
  const refuse = (values: Map<string, GgufValue>, pattern: RegExp, tensors: [string, number[]][] = [], vectors: [string, number[]][] = []) =>
    assert.throws(() => ggufModel(values, shapes(tensors), 'm.gguf', new Map(vectors)), (e: unknown) => e instanceof InputError && pattern.test(e.message), String(pattern));
  refuse(meta('gemma3'), /gemma3\.attention\.sliding_window is missing or 0/);
  refuse(meta('gemma2', 2, [['gemma2.attn_logit_softcapping', scalar(0, 'float32')]]), /gemma2\.attn_logit_softcapping is 0; a soft-cap must be positive/);
  const long = ['rope_factors_long.weight', [8]] as [string, number[]];
  refuse(meta('phi3'), /holds rope_factors_long\.weight without rope_factors_short\.weight/, [long], [[long[0], [1, 1, 1, 1, 1, 1, 1, 1]]]);
  refuse(meta('llama'), /holds rope_factors_long\.weight, which llama\.cpp does not read for llama/, [long], [[long[0], [1, 1, 1, 1, 1, 1, 1, 1]]]);
  // Qwen3 reads rope_freqs as llama does (Llama 3-style scaling, per-frequency divisors), the Gemmas do not.
  const factors = Array.from({ length: 16 }, (_, i) => 1 + i);
  const qwen3 = ggufModel(meta('qwen3'), shapes([['rope_freqs.weight', [16]]]), 'm.gguf', new Map([['rope_freqs.weight', factors]]));
  assert.deepEqual(qwen3.spec.kind === 'qwen3' && qwen3.spec.ropeScaling, { type: 'factors', factors });
  refuse(meta('gemma2'), /holds rope_freqs\.weight, which llama\.cpp does not read for gemma2/, [['rope_freqs.weight', [16]]], [['rope_freqs.weight', Array(16).fill(1)]]);
});

test('the test converter refuses by name what llama.cpp\'s keys cannot express (make_gguf_fixtures.refusals)', (t) => {
  if (!needsReference(t, ['numpy', 'torch'])) return;
  const script = [
    'import json, sys',
    `sys.path[:0] = [${JSON.stringify(FIXTURES)}, ${JSON.stringify(join(ROOT, 'scripts', 'sample-model'))}]`,
    'from make_gguf_fixtures import refusals',
    `d = ${JSON.stringify(FIXTURES)}`,
    'c = lambda n: json.load(open(f"{d}/{n}/config.json"))',
    'print(json.dumps({"gemma2": refusals(c("gemma2"), "gemma2"), "gemma3": refusals(c("gemma3-text"), "gemma3"),',
    '  "gemma_theta": refusals({**c("gemma"), "rope_theta": 1e6}, "gemma"), "gemma_untied": refusals({**c("gemma"), "tie_word_embeddings": False}, "gemma"),',
    '  "phi3": refusals({**c("phi3-longrope"), "rope_scaling": {**c("phi3-longrope")["rope_scaling"], "attention_factor": 1.2}}, "phi3"),',
    '  "ok": [refusals(c(n), a) for n, a in [("qwen3-head-dim", "qwen3"), ("gemma", "gemma"), ("phi3-longrope", "phi3"), ("phi4-mini-partial", "phi3")]]}))',
  ].join('\n');
  const result = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const r = JSON.parse(result.stdout) as Record<string, string[]>;
  assert.deepEqual(r.gemma2, ['query_pre_attn_scalar 24 (llama.cpp uses 32)']);
  assert.match(r.gemma3!.join('; '), /query_pre_attn_scalar 24 \(llama\.cpp uses 32\); sliding_window_pattern \/ layer_types \(llama\.cpp makes every 6th layer global\)/);
  assert.match(r.gemma_theta!.join(), /rope_theta \(the converter writes no rope\.freq_base/);
  assert.match(r.gemma_untied!.join(), /tie_word_embeddings false/);
  assert.match(r.phi3!.join(), /attention_factor/);
  assert.deepEqual(r.ok, [[], [], [], []]);
});
