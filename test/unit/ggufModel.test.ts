// GGUF files as models (src/arch/ggufModels.ts, src/compute/engine/ggufView.ts): the real trained stories260K
// (../shared) against a torch reference that parses the GGUF itself (make_gguf_golden.py), HF fixtures converted
// to GGUF as llama.cpp does (make_gguf_fixtures.py: llama with its q/k permutation, qwen2 without; F32 and Q8_0)
// against the same model as safetensors, and the refusals. No python at test time (golden JSON committed).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { activationLayers } from '../../src/analyses/activationLayers';
import { perplexity } from '../../src/analyses/perplexity';
import { saliency } from '../../src/analyses/saliency';
import { GGUF_ARCHITECTURES, ggufModel, ggufTensorName } from '../../src/arch/ggufModels';
import { unpermuteRows } from '../../src/compute/engine/ggufView';
import { GgufTokenizer } from '../../src/compute/ggufTokenizer';
import { LanguageModel } from '../../src/compute/languageModel';
import { InputError } from '../../src/errors';
import type { GgufValue } from '../../src/formats/gguf';
import { DIST, needsShared, ROOT, tempDir, writeTemp } from './helpers';

interface GoldenRun {
  ids: number[];
  logit_positions: number[];
  logits: number[][];
  nll: number;
  perplexity: number;
  block_influence: number[];
  angular_distance: number[];
  ablation_perplexity: number[];
}
const FIXTURES = join(ROOT, 'test', 'fixtures', 'models');
const golden = JSON.parse(readFileSync(join(FIXTURES, 'gguf-golden.json'), 'utf8')) as {
  stories260K: GoldenRun & { text: string; prompt: string; prompt_ids: number[]; greedy_ids: number[]; greedy_text: string };
  converted: Record<string, GoldenRun & { source: string }>;
};
const CPU = ['cpu'];

function worstLogit(logits: Float32Array, vocab: number, g: GoldenRun): number {
  let worst = 0;
  g.logit_positions.forEach((t, r) => g.logits[r]!.forEach((x, v) => (worst = Math.max(worst, Math.abs(logits[t * vocab + v]! - x)))));
  return worst;
}

test('stories260K.gguf: token ids, logits, perplexity, Block Influence, angular distance and ablation match torch', async (t) => {
  const path = needsShared(t, 'models/stories260K/stories260K.gguf');
  if (!path) return;
  const g = golden.stories260K;
  const tokenizer = await GgufTokenizer.load(path);
  assert.deepEqual((await tokenizer.encode(g.text)).map((s) => s.id), g.ids, 'the file\'s own tokenizer, BOS first (add_bos_token absent: llama.cpp\'s default for SPM)');
  const model = await LanguageModel.open(path, CPU);
  try {
    assert.deepEqual({ layers: model.layers, hidden: model.hidden, heads: model.heads, vocab: model.vocab }, { layers: 5, hidden: 64, heads: 8, vocab: 512 });
    const out = await model.forward([g.ids]);
    const worst = worstLogit(out.logits, model.vocab, g);
    assert.ok(worst <= 1e-3, `logits differ from torch by up to ${worst}`);
  } finally {
    await model.release();
  }
  const input = { model: path, text: { text: g.text }, maxTokens: 4096, providers: CPU };
  const ppl = await drain(perplexity(input));
  assert.equal(ppl.predicted, g.ids.length - 1);
  assert.ok(Math.abs(ppl.nll - g.nll) <= 1e-4 * g.nll, `nll ${ppl.nll} vs torch ${g.nll}`);
  for (const [metric, expected] of [['block-influence', g.block_influence], ['angular', g.angular_distance]] as const) {
    const result = await drain(activationLayers({ ...input, metric }));
    result.layers.forEach((l) => assert.ok(Math.abs(l.score - expected[l.index]!) <= 1e-4, `${metric} ${l.index}: ${l.score} vs torch ${expected[l.index]}`));
  }
  const ablation = await drain(activationLayers({ ...input, metric: 'ablation' }));
  ablation.layers.forEach((l) => {
    const expected = g.ablation_perplexity[l.index]!;
    assert.ok(Math.abs(l.score - expected) <= 1e-4 * expected, `ablation ${l.index}: ${l.score} vs torch ${expected}`);
  });
});

test('stories260K.gguf: greedy decoding continues "Once upon a time" as its provenance says', async (t) => {
  const path = needsShared(t, 'models/stories260K/stories260K.gguf');
  if (!path) return;
  const g = golden.stories260K;
  const tokenizer = await GgufTokenizer.load(path);
  const ids = (await tokenizer.encode(g.prompt)).map((s) => s.id);
  assert.deepEqual(ids, g.prompt_ids);
  const model = await LanguageModel.open(path, CPU);
  try {
    for (let step = 0; step < g.greedy_ids.length; step++) {
      const { logits } = await model.forward([ids]);
      const last = logits.subarray((ids.length - 1) * model.vocab, ids.length * model.vocab);
      ids.push(last.indexOf(Math.max(...last)));
    }
  } finally {
    await model.release();
  }
  const generated = ids.slice(g.prompt_ids.length);
  assert.deepEqual(generated, g.greedy_ids, 'the same greedy tokens as torch');
  const text = generated.map((id) => tokenizer.vocab.tokens[id]!).join('').replaceAll('\u2581', ' ');
  assert.ok(text.startsWith(', there was a little girl named Lily. She loved to play outside'), text);
});

test('stories260K.gguf from the CLI: perplexity and layers --json follow the contract', async (t) => {
  const path = needsShared(t, 'models/stories260K/stories260K.gguf');
  if (!path) return;
  const g = golden.stories260K;
  const text = writeTemp(tempDir(), 'story.txt', g.text);
  const cli = (...args: string[]) => {
    const result = spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args, '--json'], { encoding: 'utf8', env: { ...process.env, IMPORTANCE_LENS_PROVIDERS: 'cpu' } });
    assert.equal(result.status, 0, result.stderr);
    return JSON.parse(result.stdout);
  };
  const ppl = cli('perplexity', path, '--text-file', text);
  assert.deepEqual([ppl.tokens, ppl.device], [g.ids.length, 'cpu']);
  assert.ok(Math.abs(ppl.nll - g.nll) <= 1e-4 * g.nll && Math.abs(ppl.perplexity - g.perplexity) <= 1e-4 * g.perplexity);
  const ablation = cli('layers', path, '--metric', 'ablation', '--text-file', text);
  assert.equal(ablation.metric, 'ablation');
  for (const l of ablation.layers as { index: number; score: number; rank: number }[]) assert.ok(Math.abs(l.score - g.ablation_perplexity[l.index]!) <= 1e-4 * g.ablation_perplexity[l.index]!);
  // rank 1 = most important: the block whose removal hurts most.
  assert.equal((ablation.layers as { index: number; rank: number }[]).find((l) => l.rank === 1)!.index, g.ablation_perplexity.indexOf(Math.max(...g.ablation_perplexity)));
});

/** The converted GGUF files, by source fixture: [F32 file, Q8_0 file]. */
const CONVERTED = [['llama-rope-linear', 'llama'], ['tiny-qwen2', 'qwen2']] as const;

for (const [source, architecture] of CONVERTED) {
  test(`${source} as GGUF (${architecture}): F32 gives the safetensors model's numbers exactly, Q8_0 within quantisation error`, async () => {
    const directory = join(FIXTURES, source);
    const f32 = join(FIXTURES, 'gguf', `${source}.f32.gguf`);
    const q8 = join(FIXTURES, 'gguf', `${source}.q8_0.gguf`);
    const gf = golden.converted[`${source}.f32.gguf`]!;
    const gq = golden.converted[`${source}.q8_0.gguf`]!;
    const run = async (path: string) => {
      const model = await LanguageModel.open(path, CPU);
      try {
        const out = await model.forward([gf.ids], { hidden: true });
        return { spec: model.spec, params: model.blockParameters, logits: out.logits, hidden: out.hidden };
      } finally {
        await model.release();
      }
    };
    const hf = await run(directory);
    const asF32 = await run(f32);
    assert.deepEqual({ ...asF32.spec, rmsEps: 0 }, { ...hf.spec, rmsEps: 0 }, 'the spec from the GGUF metadata is config.json\'s');
    assert.ok(Math.abs(asF32.spec.kind === 'llama' && hf.spec.kind === 'llama' ? asF32.spec.rmsEps - hf.spec.rmsEps : 1) < 1e-12, 'rms eps (float32 in GGUF)');
    assert.deepEqual(asF32.params, hf.params);
    assert.deepEqual(asF32.logits, hf.logits, 'F32 GGUF logits equal the safetensors model\'s bit for bit');
    asF32.hidden.forEach((h, l) => assert.deepEqual(h, hf.hidden[l], `residual stream ${l}`));
    assert.ok(worstLogit(asF32.logits, asF32.spec.vocab, gf) <= 1e-3, 'and torch\'s on the GGUF');

    // Through the analyses, each with its own tokenizer: tokenizer.json for the directory, the GGUF's gpt2 vocabulary.
    const text = JSON.parse(readFileSync(join(FIXTURES, architecture === 'llama' ? 'llama-golden.json' : 'golden.json'), 'utf8')).text.text as string;
    const on = (model: string) => ({ model, text: { text }, maxTokens: gf.ids.length, providers: CPU });
    const [pHf, pF32, pQ8] = [await drain(perplexity(on(directory))), await drain(perplexity(on(f32))), await drain(perplexity(on(q8)))];
    assert.equal(pF32.tokens, pHf.tokens);
    assert.equal(pF32.nll, pHf.nll, 'perplexity: F32 GGUF = safetensors');
    assert.ok(Math.abs(pF32.nll - gf.nll) <= 1e-4 * gf.nll, `nll ${pF32.nll} vs torch ${gf.nll}`);
    assert.ok(Math.abs(pQ8.nll - gq.nll) <= 1e-4 * gq.nll, `Q8_0 nll ${pQ8.nll} vs torch on the dequantised weights ${gq.nll}`);
    assert.ok(Math.abs(pQ8.nll - pF32.nll) <= 0.01 * pF32.nll, `Q8_0 nll ${pQ8.nll} within 1 % of F32 ${pF32.nll}`);
    assert.notEqual(pQ8.nll, pF32.nll, 'the Q8_0 file is quantised');
    for (const metric of ['block-influence', 'ablation'] as const) {
      const [lHf, lF32, lQ8] = [await drain(activationLayers({ ...on(directory), metric })), await drain(activationLayers({ ...on(f32), metric })), await drain(activationLayers({ ...on(q8), metric }))];
      assert.deepEqual(lF32.layers, lHf.layers, `${metric}: F32 GGUF = safetensors`);
      const expected = metric === 'ablation' ? gq.ablation_perplexity : gq.block_influence;
      lQ8.layers.forEach((l) => assert.ok(Math.abs(l.score - expected[l.index]!) <= 1e-4 * Math.max(1, expected[l.index]!), `Q8_0 ${metric} ${l.index}: ${l.score} vs torch ${expected[l.index]}`));
    }
  });
}

test('saliency (occlusion, ReAGent, attention rollout) and Wanda on the llama F32 GGUF equal the safetensors model\'s', async () => {
  const directory = join(FIXTURES, 'llama-rope-linear');
  const gguf = join(FIXTURES, 'gguf', 'llama-rope-linear.f32.gguf');
  const text = 'The LORD is my shepherd; I shall not want. He maketh me to lie down';
  for (const method of ['occlusion', 'reagent', 'attention'] as const) {
    const run = (model: string) => drain(saliency({ model, text: { text }, method, seeds: 3, providers: CPU }));
    const [hf, fromGguf] = [await run(directory), await run(gguf)];
    assert.deepEqual(fromGguf.tokens, hf.tokens, `${method}: scores per token`);
    assert.deepEqual(fromGguf.target, hf.target);
  }
  const wanda = (model: string) => drain(activationLayers({ model, text: { text }, metric: 'wanda', providers: CPU }));
  const [hf, fromGguf] = [await wanda(directory), await wanda(gguf)];
  // The weights are read under GGUF names, [in, out] dims: the same bytes, so the same sums.
  fromGguf.layers.forEach((l, i) => assert.ok(Math.abs(l.score - hf.layers[i]!.score) <= 1e-12 * hf.layers[i]!.score, `wanda ${l.index}: ${l.score} vs ${hf.layers[i]!.score}`));
});

test('llama-rope-llama3 as GGUF: llama3 scaling stored as rope_freqs (per-frequency divisors) gives the safetensors model\'s numbers', async () => {
  const directory = join(FIXTURES, 'llama-rope-llama3');
  const gguf = join(FIXTURES, 'gguf', 'llama-rope-llama3.f32.gguf');
  const g = golden.converted['llama-rope-llama3.f32.gguf']!;
  const logits = async (path: string) => {
    const model = await LanguageModel.open(path, CPU);
    try {
      return { spec: model.spec, logits: (await model.forward([g.ids])).logits };
    } finally {
      await model.release();
    }
  };
  const [hf, fromGguf] = [await logits(directory), await logits(gguf)];
  assert.equal(fromGguf.spec.kind === 'llama' && fromGguf.spec.ropeScaling?.type, 'factors');
  let worst = 0;
  hf.logits.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - fromGguf.logits[i]!))));
  // Not bit for bit: transformers interpolates inv_freq, llama.cpp divides by a float32 factor.
  assert.ok(worst <= 1e-4, `logits differ from the safetensors model's by up to ${worst}`);
  assert.ok(worstLogit(fromGguf.logits, fromGguf.spec.vocab, g) <= 1e-3, 'and from torch\'s on the GGUF');
  const text = JSON.parse(readFileSync(join(FIXTURES, 'llama-golden.json'), 'utf8')).text.text as string;
  const ppl = await drain(perplexity({ model: gguf, text: { text }, maxTokens: g.ids.length, providers: CPU }));
  assert.ok(Math.abs(ppl.nll - g.nll) <= 1e-4 * g.nll, `nll ${ppl.nll} vs torch ${g.nll}`);
});

test('unpermuteRows undoes llama.cpp\'s LlamaModel.permute (rows 2i + j of a head back to j·d/2 + i)', () => {
  // Two heads of 4 rows of width 2: HF rows r hold r·10 + column.
  const heads = 2, rows = 4, width = 2;
  const hf = Float32Array.from({ length: heads * rows * width }, (_, k) => Math.floor(k / width) * 10 + (k % width));
  // permute: reshape(heads, 2, rows/2, width).swapaxes(1, 2)
  const permuted = new Float32Array(hf.length);
  for (let h = 0; h < heads; h++) for (let j = 0; j < 2; j++) for (let i = 0; i < rows / 2; i++) for (let c = 0; c < width; c++) {
    permuted[((h * rows) + 2 * i + j) * width + c] = hf[((h * rows) + j * (rows / 2) + i) * width + c]!;
  }
  assert.deepEqual([...permuted.subarray(0, 8)], [0, 1, 20, 21, 10, 11, 30, 31]);
  unpermuteRows(permuted, heads, width);
  assert.deepEqual(permuted, hf);
});

test('llama.cpp tensor names map onto the family\'s', () => {
  assert.equal(ggufTensorName('model.embed_tokens.weight'), 'token_embd.weight');
  assert.equal(ggufTensorName('lm_head.weight'), 'output.weight');
  assert.equal(ggufTensorName('model.norm.weight'), 'output_norm.weight');
  assert.equal(ggufTensorName('model.layers.12.self_attn.o_proj.weight'), 'blk.12.attn_output.weight');
  assert.equal(ggufTensorName('model.layers.0.self_attn.q_proj.bias'), 'blk.0.attn_q.bias');
  assert.equal(ggufTensorName('model.layers.3.post_attention_layernorm.weight'), 'blk.3.ffn_norm.weight');
  assert.equal(ggufTensorName('model.layers.3.mlp.down_proj.weight'), 'blk.3.ffn_down.weight');
  assert.equal(ggufTensorName('model.layers.3.self_attn.q_norm.weight'), undefined);
  assert.equal(ggufTensorName('model.layers.3.constructor.weight'), undefined);
  // An architecture's own block modules are one entry of its row.
  const withNorms = { ...GGUF_ARCHITECTURES.qwen2!, blockNames: { 'self_attn.q_norm': 'attn_q_norm' } };
  assert.equal(ggufTensorName('model.layers.3.self_attn.q_norm.weight', withNorms), 'blk.3.attn_q_norm.weight');
});

test('GGUF models the engine cannot run are refused by name', () => {
  const scalar = (value: string | number, type: 'string' | 'uint32' | 'float32' = typeof value === 'string' ? 'string' : 'uint32'): GgufValue => ({ kind: 'scalar', type, value });
  const base = (arch: string): Map<string, GgufValue> => new Map([
    ['general.architecture', scalar(arch)], [`${arch}.block_count`, scalar(2)], [`${arch}.embedding_length`, scalar(64)],
    [`${arch}.attention.head_count`, scalar(4)], [`${arch}.feed_forward_length`, scalar(128)], [`${arch}.context_length`, scalar(64)],
    [`${arch}.attention.layer_norm_rms_epsilon`, scalar(1e-5, 'float32')],
  ]);
  const shapes = new Map<string, number[]>([['token_embd.weight', [64, 100]]]);
  const refuse = (values: Map<string, GgufValue>, pattern: RegExp, extra: [string, number[]][] = []) => {
    const all = new Map([...shapes, ...extra]);
    assert.throws(() => ggufModel(values, (n) => all.get(n), 'm.gguf'), (e: unknown) => e instanceof InputError && pattern.test(e.message));
  };
  assert.equal(ggufModel(base('llama'), (n) => shapes.get(n), 'm.gguf').spec.vocab, 100);
  refuse(base('phi2'), /GGUF architecture "phi2" cannot be run as a model.*supported: llama, qwen2, qwen3, gemma, gemma2, gemma3, phi3, qwen2moe, qwen3moe/);
  refuse(base('mamba'), /"mamba"/);
  // Experts: llama with expert_count is Mixtral (ggufMoe.test.ts): a router in every block.
  refuse(new Map([...base('llama'), ['llama.expert_count', scalar(8)]]), /llama\.expert_count is 8 but block 0 has no router/);
  refuse(new Map([...base('llama'), ['split.count', { kind: 'scalar', type: 'uint16', value: 3 }]]), /one of 3 split GGUF files.*llama-gguf-split --merge/);
  const factors = (values: Map<string, GgufValue>, f: number[]) => ggufModel(values, (n) => new Map([...shapes, ['rope_freqs.weight', [f.length]]]).get(n), 'm.gguf', new Map([['rope_freqs.weight', f]]));
  const eight = [1, 1, 1, 2, 4, 8, 8, 8];
  assert.deepEqual(factors(base('llama'), eight).spec, { ...ggufModel(base('llama'), (n) => shapes.get(n), 'm.gguf').spec, ropeScaling: { type: 'factors', factors: eight } });
  assert.throws(() => factors(base('llama'), [1, 2]), /rope_freqs\.weight has 2 values, but a head of 16 has 8 rotary frequencies/);
  assert.throws(() => factors(base('llama'), [1, 1, 1, 0, 4, 8, 8, 8]), /rope_freqs\.weight\[3\] is 0, not a positive factor/);
  assert.throws(() => factors(new Map([...base('llama'), ['llama.rope.scaling.type', scalar('linear')], ['llama.rope.scaling.factor', scalar(2, 'float32')]]), eight), /rope_freqs\.weight and a rope\.scaling\.type as well/);
  refuse(new Map([...base('llama'), ['llama.rope.scaling.type', scalar('yarn')]]), /rope\.scaling\.type "yarn" is not supported/);
  refuse(new Map([...base('llama'), ['llama.rope.dimension_count', scalar(8)]]), /partial_rotary_factor 0\.5 is not supported/);
  const noEps = base('llama');
  noEps.delete('llama.attention.layer_norm_rms_epsilon');
  refuse(noEps, /llama\.attention\.layer_norm_rms_epsilon is missing/);
  refuse(new Map([...base('qwen2'), ['qwen2.block_count', scalar(0)]]), /qwen2\.block_count is 0, not a positive integer/);
});
