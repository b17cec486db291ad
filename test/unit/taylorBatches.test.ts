// The weight-gradient pass over several batches (src/analyses/taylor.ts lossGradients, ModelGradients.inputGradients):
// it runs block-major and sums each block's gradient over the batches before handing it over, so a long text holds
// one block's gradient sum, not the model's. Checked here: the sums with the windows forced into one batch each equal
// the one-batch sums (to float summation order) on dense and MoE fixtures, each block tensor is handed over once,
// last block first; the up-front estimate counts one block of gradients whatever the number of batches; and a pass
// whose kept block boundaries do not fit is refused by name, with --max-tokens as the fix, before any block runs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { gradientBatches, lossGradients, taylorScores } from '../../src/analyses/taylor';
import type { TokenizedText } from '../../src/analyses/textInput';
import { ModelGradients } from '../../src/compute/autodiff/modelGradients';
import { LanguageModel } from '../../src/compute/languageModel';
import { InputError } from '../../src/errors';
import { ROOT } from './helpers';

const AUTODIFF = join(ROOT, 'test/fixtures/autodiff');
const MODELS = join(ROOT, 'test/fixtures/models');
const ids = (file: string, name: string) => (JSON.parse(readFileSync(join(AUTODIFF, file), 'utf8')) as { models: Record<string, { ids: number[] }> }).models[name]!.ids;

function windows(...lists: number[][]): TokenizedText {
  const spans = lists.map((list) => list.map((id) => ({ id, text: '', start: 0, end: 0, special: false })));
  return { text: '', spans: spans.flat(), windows: spans, truncated: false };
}

/** Every block tensor's gradient sum, keyed `layer/tensor`, in the order handed over; refuses a tensor handed twice. */
async function sums(model: LanguageModel, text: TokenizedText, rowsPerBatch?: number): Promise<{ order: number[]; sums: Map<string, Float32Array>; predicted: number }> {
  const order: number[] = [];
  const all = new Map<string, Float32Array>();
  const predicted = await drain(lossGradients(model, text, 'test', (layer, grads) => {
    if (order[order.length - 1] !== layer) order.push(layer);
    for (const [key, g] of Object.entries(grads)) {
      assert.ok(!all.has(`${layer}/${key}`), `block ${layer} ${key} handed over twice`);
      all.set(`${layer}/${key}`, Float32Array.from(g));
    }
  }, undefined, rowsPerBatch === undefined ? {} : { rowsPerBatch }));
  return { order, sums: all, predicted };
}

const cases: [string, number[]][] = [
  ['tiny-qwen2', ids('model-golden.json', 'tiny-qwen2')],
  ['tiny-gpt2', ids('model-golden.json', 'tiny-gpt2')],
  ['moe-mixtral', ids('moe-weight-golden.json', 'moe-mixtral')],
  ['moe-qwen2', ids('moe-weight-golden.json', 'moe-qwen2')],
];

for (const [name, tokens] of cases) {
  test(`${name}: three windows in three batches give the one-batch weight gradients (block by block, each tensor once, last block first)`, async () => {
    const model = await LanguageModel.open(join(MODELS, name), ['cpu']);
    try {
      const n = Math.min(8, tokens.length - 4);
      const text = windows(tokens.slice(0, n), tokens.slice(2, 2 + n), tokens.slice(4, 4 + n));
      assert.equal(gradientBatches(text.windows.map((w) => w.map((s) => s.id))).length, 1);
      assert.equal(gradientBatches(text.windows.map((w) => w.map((s) => s.id)), 1).length, 3);
      const one = await sums(model, text);
      const split = await sums(model, text, 1);
      const layers = Array.from({ length: model.engine.layers }, (_, l) => model.engine.layers - 1 - l);
      assert.deepEqual(one.order, layers);
      assert.deepEqual(split.order, layers);
      assert.equal(split.predicted, one.predicted);
      assert.deepEqual([...split.sums.keys()].sort(), [...one.sums.keys()].sort());
      for (const [key, expected] of one.sums) {
        const got = split.sums.get(key)!;
        const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(got[i]! - expected[i]!) <= 1e-5 * scale + 1e-12, `${name} ${key}[${i}]: ${got[i]} in three batches vs ${expected[i]} in one`);
      }
      if (model.engine.moe) assert.ok([...one.sums.keys()].some((k) => /experts\.\d+\./.test(k)), 'the MoE experts\' gradients are handed over');
    } finally {
      await model.release();
    }
  });
}

test('the pass estimate counts one block of weight gradients whatever the batches, and the kept boundaries of all of them', async () => {
  const model = await LanguageModel.open(join(MODELS, 'tiny-qwen2'), ['cpu']);
  const { engine } = model;
  const gradients = await ModelGradients.open(engine);
  try {
    const one = gradients.passNeeds([{ batch: 1, seq: 8 }], true);
    const many = gradients.passNeeds([{ batch: 16, seq: 8 }, { batch: 16, seq: 8 }, { batch: 3, seq: 5 }], true);
    assert.equal(one['one block of weight gradients'], engine.blockBytes);
    assert.equal(many['one block of weight gradients'], engine.blockBytes);
    assert.equal(many['kept block boundaries'], (16 * 8 + 16 * 8 + 3 * 5) * (engine.layers + 2) * engine.spec.hidden * 4);
    assert.deepEqual(gradients.needs(4, 8, true), gradients.passNeeds([{ batch: 4, seq: 8 }], true));
  } finally {
    await gradients.release();
    await model.release();
  }
});

test('taylor on a text whose kept block boundaries do not fit is refused up front by name, with --max-tokens as the fix', async () => {
  const tokens = ids('model-golden.json', 'tiny-qwen2');
  const model = await LanguageModel.open(join(MODELS, 'tiny-qwen2'), ['cpu']);
  const saved = process.env.IMPORTANCE_LENS_MEMORY_BUDGET;
  try {
    process.env.IMPORTANCE_LENS_MEMORY_BUDGET = String(2 ** 20);
    const progress: string[] = [];
    await assert.rejects(drain(taylorScores(model, windows(tokens, tokens.slice(0, 7))), (p) => progress.push(p.message)), (error: unknown) => {
      assert.ok(error instanceof InputError, String(error));
      assert.match(error.message, /tiny-qwen2: this job needs about .*kept block boundaries.*one block of weight gradients.*--max-tokens/);
      return true;
    });
    assert.deepEqual(progress, [], 'refused before any block runs');
  } finally {
    if (saved === undefined) delete process.env.IMPORTANCE_LENS_MEMORY_BUDGET;
    else process.env.IMPORTANCE_LENS_MEMORY_BUDGET = saved;
    await model.release();
  }
});
