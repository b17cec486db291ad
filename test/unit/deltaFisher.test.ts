// The Fisher-weighted delta (`delta BASE TUNED --fisher-text`, src/analyses/fisherDelta.ts) against torch autograd
// on seeded fine-tunes of tiny-qwen2 and tiny-gpt2 (test/fixtures/autodiff/make_delta_fisher_golden.py: BF16 tuned
// weights over an F32 base): Σ F·Δ² per block tensor with F the base's diagonal empirical Fisher; the result's
// shares, per-layer sums and ranks through the CLI; the refusal of another architecture (MoE models run: moeWeightGradients.test.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { delta } from '../../src/analyses/delta';
import { fisherOfChange } from '../../src/analyses/fisherDelta';
import type { TokenizedText } from '../../src/analyses/textInput';
import { LanguageModel } from '../../src/compute/languageModel';
import { InputError } from '../../src/errors';
import type { DeltaResult } from '../../src/protocol/results';
import { DIST, ROOT } from './helpers';

const AUTODIFF = join(ROOT, 'test/fixtures/autodiff');
const MODELS = join(ROOT, 'test/fixtures/models');
interface GoldenModel { ids: number[]; predicted: number; fisher_weighted: Record<string, number> }
const golden = JSON.parse(readFileSync(join(AUTODIFF, 'delta-fisher-golden.json'), 'utf8')) as { models: Record<string, GoldenModel> };

function window(ids: number[]): TokenizedText {
  const spans = ids.map((id) => ({ id, text: '', start: 0, end: 0, special: false }));
  return { text: '', spans, windows: [spans], truncated: false };
}

for (const [name, reference] of Object.entries(golden.models)) {
  test(`${name}: Σ F·Δ² per block tensor matches torch autograd (1e-4 relative)`, async () => {
    const model = await LanguageModel.open(join(MODELS, name), ['cpu']);
    try {
      const weighted = await drain(fisherOfChange(model, join(AUTODIFF, `${name}-tuned`), window(reference.ids)));
      assert.deepEqual([...weighted.keys()].sort(), Object.keys(reference.fisher_weighted).sort());
      for (const [tensor, expected] of Object.entries(reference.fisher_weighted)) {
        const actual = weighted.get(tensor)!;
        assert.ok(Math.abs(actual - expected) <= 1e-4 * expected + 1e-15, `${name} ${tensor}: ${actual} vs torch ${expected}`);
      }
    } finally {
      await model.release();
    }
  });
}

test('CLI: delta --fisher-text adds Σ F·Δ² per tensor and layer, shares and ranks, beside the unweighted figures', () => {
  const base = join(MODELS, 'tiny-qwen2');
  const tuned = join(AUTODIFF, 'tiny-qwen2-tuned');
  const text = join(ROOT, 'samples/text/psalms-23.txt');
  const run = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'delta', base, tuned, '--fisher-text', text, '--max-tokens', '12', '--json'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout) as DeltaResult;
  assert.equal(result.fisher!.model, base);
  assert.equal(result.fisher!.text.tokens, 12);
  assert.equal(result.fisher!.predicted, 11);
  for (const t of result.tensors) {
    assert.ok(t.deltaL2 > 0, t.name);
    // Embeddings, final norm and head are not differentiated: no weight, said as null.
    if (t.layer === null) assert.equal(t.fisherWeighted, null, t.name);
    else assert.ok(t.fisherWeighted! > 0, t.name);
  }
  const total = result.tensors.reduce((s, t) => s + (t.fisherWeighted ?? 0), 0);
  assert.ok(Math.abs(result.fisher!.total - total) <= 1e-12 * total);
  assert.ok(Math.abs(result.tensors.reduce((s, t) => s + (t.fisherShare ?? 0), 0) - 1) < 1e-9);
  for (const layer of result.layers) {
    if (layer.index === null) {
      assert.deepEqual([layer.fisherWeighted, layer.fisherRank], [null, null]);
      continue;
    }
    const sum = result.tensors.filter((t) => t.layer === layer.index).reduce((s, t) => s + t.fisherWeighted!, 0);
    assert.ok(Math.abs(layer.fisherWeighted! - sum) <= 1e-12 * sum, `layer ${layer.index}`);
    assert.ok(Math.abs(layer.fisherShare! - sum / total) <= 1e-12);
  }
  const blocks = result.layers.filter((l) => l.index !== null);
  const top = blocks.reduce((a, b) => (b.fisherWeighted! > a.fisherWeighted! ? b : a));
  assert.equal(top.fisherRank, 1);
  assert.deepEqual(blocks.map((l) => l.fisherRank).sort(), [1, 2]);
  // The text rendering shows the weighted columns.
  const plain = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'delta', base, tuned, '--fisher-text', text, '--max-tokens', '6'], { encoding: 'utf8' });
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(plain.stdout, /Fisher of the base on 5 predicted tokens/);
  assert.match(plain.stdout, /Σ F·Δ².*F share/);
});

test('another architecture is refused by name; --max-tokens without --fisher-text is an error', async () => {
  await assert.rejects(drain(delta({ base: join(MODELS, 'tiny-qwen2'), tuned: join(AUTODIFF, 'tiny-gpt2-tuned'), fisherText: { text: 'The Lord is my shepherd' } })),
    (e: unknown) => e instanceof InputError && /different architectures/.test(e.message) && /modelType qwen2/.test(e.message) && /modelType gpt2/.test(e.message));
  const run = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'delta', join(MODELS, 'tiny-qwen2'), join(AUTODIFF, 'tiny-qwen2-tuned'), '--max-tokens', '6'], { encoding: 'utf8' });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /--max-tokens caps the --fisher-text text/);
});
