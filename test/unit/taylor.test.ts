// `layers --metric taylor` (src/analyses/taylor.ts): Σ |W ⊙ ∂L/∂W| per block against torch autograd on tiny-qwen2
// and tiny-gpt2 (test/fixtures/autodiff/model-golden.json, make_model_golden.py), with one window and with two
// windows of different lengths (two batches: the gradient sums over batches before |·|); and through the CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { taylorScores } from '../../src/analyses/taylor';
import type { TokenizedText } from '../../src/analyses/textInput';
import { LanguageModel } from '../../src/compute/languageModel';
import { DIST, ROOT } from './helpers';

interface GoldenModel { ids: number[]; taylor: number[]; taylor_two_windows: number[] }
const golden = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/autodiff/model-golden.json'), 'utf8')) as { models: Record<string, GoldenModel> };

function windows(...lists: number[][]): TokenizedText {
  const spans = lists.map((ids) => ids.map((id) => ({ id, text: '', start: 0, end: 0, special: false })));
  return { text: '', spans: spans.flat(), windows: spans, truncated: false };
}

for (const name of Object.keys(golden.models)) {
  test(`${name}: taylor per block matches torch autograd (1e-4 relative), one window and two batches`, async () => {
    const reference = golden.models[name]!;
    const model = await LanguageModel.open(join(ROOT, 'test/fixtures/models', name), ['cpu']);
    try {
      const one = await drain(taylorScores(model, windows(reference.ids)));
      one.forEach((s, l) => assert.ok(Math.abs(s - reference.taylor[l]!) <= 1e-4 * reference.taylor[l]!, `${name} block ${l}: ${s} vs torch ${reference.taylor[l]}`));
      const two = await drain(taylorScores(model, windows(reference.ids, reference.ids.slice(0, 7))));
      two.forEach((s, l) => assert.ok(Math.abs(s - reference.taylor_two_windows[l]!) <= 1e-4 * reference.taylor_two_windows[l]!, `${name} block ${l}, two windows: ${s} vs torch ${reference.taylor_two_windows[l]}`));
    } finally {
      await model.release();
    }
  });
}

test('CLI: layers --metric taylor ranks every block; ranks are 1..L', () => {
  const model = join(ROOT, 'test/fixtures/models/tiny-gpt2');
  const text = join(ROOT, 'samples/text/psalms-23.txt');
  const run = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'layers', model, '--metric', 'taylor', '--text-file', text, '--max-tokens', '40', '--json'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const doc = JSON.parse(run.stdout);
  assert.equal(doc.metric, 'taylor');
  assert.equal(doc.layers.length, 2);
  assert.deepEqual(doc.layers.map((l: { rank: number }) => l.rank).sort(), [1, 2]);
  assert.ok(doc.layers.every((l: { score: number }) => l.score > 0));
});
