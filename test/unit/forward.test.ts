// The decoder graphs built in code and the forward-pass analyses, against the plain-torch reference
// (scripts/sample-model/model.py) through test/fixtures/models/golden.json (test/fixtures/models/make_golden.py).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { activationLayers } from '../../src/analyses/activationLayers';
import { perplexity } from '../../src/analyses/perplexity';
import { saliency } from '../../src/analyses/saliency';
import { LanguageModel } from '../../src/compute/languageModel';
import { TextTokenizer } from '../../src/compute/tokenizer';
import { InputError } from '../../src/errors';
import { ROOT, tempDir, writeTemp } from './helpers';

interface GoldenModel {
  path: string;
  layers: number;
  ids: number[];
  offsets: [number, number][];
  logits: number[][];
  hidden_first4: number[][][];
  nll: number;
  perplexity: number;
  block_influence: number[];
  angular_distance: number[];
  ablation_perplexity: number[];
}
interface Golden {
  text: { text: string; tokens: number };
  models: Record<string, GoldenModel>;
  heldout: { model: string; file: string; tokens: number; perplexity: number; block_influence: number[]; angular_distance: number[]; ablation_perplexity: number[] };
}
const golden = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'models', 'golden.json'), 'utf8')) as Golden;
const TEXT = golden.text.text;

function maxAbs(actual: ArrayLike<number>, expected: number[], offset = 0): number {
  let worst = 0;
  expected.forEach((x, i) => (worst = Math.max(worst, Math.abs(actual[offset + i]! - x))));
  return worst;
}

for (const [name, g] of Object.entries(golden.models)) {
  test(`${name}: token ids, logits and residual streams match torch`, async () => {
    const directory = join(ROOT, g.path);
    const spans = await (await TextTokenizer.load(directory)).encode(TEXT);
    assert.deepEqual(spans.map((s) => s.id), g.ids);
    assert.deepEqual(spans.map((s) => [s.start, s.end]), g.offsets, 'offsets (the text is ASCII: code points = UTF-16 units)');
    const model = await LanguageModel.open(directory, ['cpu']);
    try {
      const out = await model.forward([g.ids], { hidden: true });
      const vocab = model.spec.vocab;
      const worstLogit = Math.max(...g.logits.map((row, t) => maxAbs(out.logits, row, t * vocab)));
      assert.ok(worstLogit <= 1e-3, `logits differ by up to ${worstLogit}`);
      const width = model.spec.hidden;
      g.hidden_first4.forEach((positions, l) => positions.forEach((row, t) => {
        const worst = maxAbs(out.hidden[l]!, row, t * width);
        assert.ok(worst <= 1e-3 * Math.max(1, ...row.map(Math.abs)), `hidden ${l} position ${t} differs by ${worst}`);
      }));
    } finally {
      await model.release();
    }
  });

  test(`${name}: perplexity, Block Influence, angular distance and ablation match torch`, async () => {
    const input = { model: join(ROOT, g.path), text: { text: TEXT }, maxTokens: g.ids.length, providers: ['cpu'] };
    const ppl = await drain(perplexity(input));
    assert.equal(ppl.predicted, g.ids.length - 1);
    assert.ok(Math.abs(ppl.nll - g.nll) <= 1e-4 * Math.abs(g.nll), `nll ${ppl.nll} vs torch ${g.nll}`);
    for (const [metric, expected, tolerance] of [['block-influence', g.block_influence, 1e-4], ['angular', g.angular_distance, 1e-4], ['ablation', g.ablation_perplexity, 1e-4]] as const) {
      const result = await drain(activationLayers({ ...input, metric }));
      result.layers.forEach((l, i) => {
        const scale = metric === 'ablation' ? Math.abs(expected[i]!) : 1;
        assert.ok(Math.abs(l.score - expected[i]!) <= tolerance * scale, `${metric} block ${i}: ${l.score} vs torch ${expected[i]}`);
      });
    }
  });
}

test('held-out text on the trained sample: its blocks differ in importance, as torch says', async () => {
  const h = golden.heldout;
  const input = { model: join(ROOT, golden.models[h.model]!.path), text: { file: join(ROOT, h.file) }, maxTokens: h.tokens, providers: ['cpu'] };
  const ppl = await drain(perplexity(input));
  assert.ok(Math.abs(ppl.perplexity - h.perplexity) <= 1e-4 * h.perplexity, `perplexity ${ppl.perplexity} vs torch ${h.perplexity}`);
  const bi = await drain(activationLayers({ ...input, metric: 'block-influence' }));
  bi.layers.forEach((l, i) => assert.ok(Math.abs(l.score - h.block_influence[i]!) <= 1e-4, `BI ${i}: ${l.score} vs ${h.block_influence[i]}`));
  const order = (scores: number[]) => scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]).map(([, i]) => i);
  assert.deepEqual(bi.layers.sort((a, b) => a.rank - b.rank).map((l) => l.index), order(h.block_influence));
});

test('saliency: offsets line up with the text; occlusion is exact leave-one-out; reagent is reproducible with an sd', async () => {
  const model = join(ROOT, golden.models['tiny-qwen2']!.path);
  const text = 'The LORD is my shepherd; I shall not';
  const occlusion = await drain(saliency({ model, text: { text }, target: ' want', method: 'occlusion', seeds: 1, providers: ['cpu'] }));
  assert.equal(occlusion.text, text);
  for (const t of occlusion.tokens) assert.equal(text.slice(t.start, t.end), t.text);
  assert.equal(occlusion.tokens.map((t) => t.text).join(''), text);
  // Leave-one-out by hand for one token: log p(target | context without it), through the same model.
  const lm = await LanguageModel.open(model, ['cpu']);
  try {
    const tokenizer = await TextTokenizer.load(model);
    const ids = (await tokenizer.encode(text)).map((s) => s.id);
    const target = (await tokenizer.encode(' want')).map((s) => s.id);
    // log p(target | context): the sum over the target's tokens, each from the position before it.
    const logp = async (context: number[]) => {
      const out = await lm.forward([[...context, ...target]]);
      const vocab = lm.spec.vocab;
      let sum = 0;
      target.forEach((token, k) => {
        const row = context.length - 1 + k;
        const logits = Array.from(out.logits.subarray(row * vocab, (row + 1) * vocab));
        const max = Math.max(...logits);
        sum += logits[token]! - max - Math.log(logits.reduce((s, x) => s + Math.exp(x - max), 0));
      });
      return sum;
    };
    const base = await logp(ids);
    assert.ok(Math.abs(occlusion.target.logProbability - base) < 1e-4);
    const expected = base - (await logp(ids.filter((_, j) => j !== 2)));
    assert.ok(Math.abs(occlusion.tokens[2]!.score - expected) < 1e-4, `${occlusion.tokens[2]!.score} vs ${expected}`);
  } finally {
    await lm.release();
  }
  const a = await drain(saliency({ model, text: { text }, target: ' want', method: 'reagent', seeds: 3, providers: ['cpu'] }));
  const b = await drain(saliency({ model, text: { text }, target: ' want', method: 'reagent', seeds: 3, providers: ['cpu'] }));
  assert.deepEqual(a.tokens, b.tokens, 'the same seeds give the same explanation');
  assert.ok(a.tokens.some((t) => t.sd > 0), 'random replacement varies across seeds');
  const rollout = await drain(saliency({ model, text: { text }, method: 'attention', seeds: 1, providers: ['cpu'] }));
  const total = rollout.tokens.reduce((s, t) => s + t.score, 0);
  assert.ok(total > 0 && total <= 1 + 1e-9, 'rollout flows are a share of the target row');
});

test('models and texts that cannot run give input errors that say why', async () => {
  const dir = tempDir();
  writeTemp(dir, 'config.json', JSON.stringify({ model_type: 'bert', hidden_size: 8 }));
  await assert.rejects(LanguageModel.open(dir), (e: unknown) => e instanceof InputError && /model_type "bert" has no forward-pass graph/.test(e.message));
  writeTemp(dir, 'config.json', JSON.stringify({ model_type: 'llama', hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 1, intermediate_size: 16, vocab_size: 10, rope_scaling: { type: 'longrope', factor: 4 } }));
  await assert.rejects(LanguageModel.open(dir), (e: unknown) => e instanceof InputError && /rope_scaling type "longrope"/.test(e.message));
  const model = join(ROOT, golden.models['tiny-gpt2']!.path);
  await assert.rejects(drain(saliency({ model, text: { text: 'x' }, method: 'occlusion', seeds: 1, providers: ['cpu'] })), (e: unknown) => e instanceof InputError && /at least one token of context/.test(e.message));
  await assert.rejects(drain(perplexity({ model, text: { file: join(dir, 'missing.txt') }, providers: ['cpu'] })), (e: unknown) => e instanceof InputError && /missing\.txt/.test(e.message));
});
