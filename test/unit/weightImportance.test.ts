// The weight-gradient layer metrics against torch autograd on tiny-qwen2 and tiny-gpt2
// (test/fixtures/autodiff/model-golden.json, make_model_golden.py): `taylor` (src/analyses/taylor.ts, Σ |W ⊙ ∂L/∂W|
// per block) with one window and with two windows of different lengths (two batches: the gradient sums over batches
// before |·|), and `fisher` (src/analyses/fisher.ts, ½ Σ F·W² with the per-token empirical Fisher); both through the
// CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { fisherScores } from '../../src/analyses/fisher';
import { taylorScores } from '../../src/analyses/taylor';
import type { TokenizedText } from '../../src/analyses/textInput';
import { LanguageModel } from '../../src/compute/languageModel';
import { DIST, ROOT } from './helpers';

interface GoldenModel { ids: number[]; taylor: number[]; taylor_two_windows: number[]; fisher: number[] }
const golden = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/autodiff/model-golden.json'), 'utf8')) as { models: Record<string, GoldenModel> };

function windows(...lists: number[][]): TokenizedText {
  const spans = lists.map((ids) => ids.map((id) => ({ id, text: '', start: 0, end: 0, special: false })));
  return { text: '', spans: spans.flat(), windows: spans, truncated: false };
}

for (const name of Object.keys(golden.models)) {
  test(`${name}: taylor (one window, two batches) and fisher per block match torch autograd (1e-4 relative)`, async () => {
    const reference = golden.models[name]!;
    const model = await LanguageModel.open(join(ROOT, 'test/fixtures/models', name), ['cpu']);
    try {
      const one = await drain(taylorScores(model, windows(reference.ids)));
      one.forEach((s, l) => assert.ok(Math.abs(s - reference.taylor[l]!) <= 1e-4 * reference.taylor[l]!, `${name} block ${l}: ${s} vs torch ${reference.taylor[l]}`));
      const two = await drain(taylorScores(model, windows(reference.ids, reference.ids.slice(0, 7))));
      two.forEach((s, l) => assert.ok(Math.abs(s - reference.taylor_two_windows[l]!) <= 1e-4 * reference.taylor_two_windows[l]!, `${name} block ${l}, two windows: ${s} vs torch ${reference.taylor_two_windows[l]}`));
      const progress: string[] = [];
      const fisher = await drain(fisherScores(model, windows(reference.ids)), (p) => progress.push(p.message));
      fisher.forEach((s, l) => assert.ok(Math.abs(s - reference.fisher[l]!) <= 1e-4 * reference.fisher[l]!, `${name} block ${l}, fisher: ${s} vs torch ${reference.fisher[l]}`));
      assert.ok(progress.some((m) => m.startsWith(`Token ${reference.ids.length - 1}/${reference.ids.length - 1}`)), progress.slice(-3).join('; '));
    } finally {
      await model.release();
    }
  });
}

for (const metric of ['taylor', 'fisher']) {
  test(`CLI: layers --metric ${metric} ranks every block`, () => {
    const model = join(ROOT, 'test/fixtures/models/tiny-gpt2');
    const text = join(ROOT, 'samples/text/psalms-23.txt');
    const run = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'layers', model, '--metric', metric, '--text-file', text, '--max-tokens', '24', '--json'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.metric, metric);
    assert.equal(doc.layers.length, 2);
    assert.deepEqual(doc.layers.map((l: { rank: number }) => l.rank).sort(), [1, 2]);
    assert.ok(doc.layers.every((l: { score: number }) => l.score > 0));
  });
}

test('CLI: plan --drop-layers 1 --metric taylor drops the block with the lowest Taylor score', () => {
  const model = join(ROOT, 'test/fixtures/models/tiny-qwen2');
  const text = join(ROOT, 'samples/text/psalms-23.txt');
  const run = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'plan', model, '--drop-layers', '1', '--metric', 'taylor', '--text-file', text, '--max-tokens', '24', '--json'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const plan = JSON.parse(run.stdout);
  assert.equal(plan.metric.name, 'taylor');
  assert.equal(plan.metric.scores.length, 2);
  const lowest = plan.metric.scores.find((s: { rank: number }) => s.rank === 2).layer;
  assert.deepEqual(plan.actions[0].layers, [lowest]);
});
