// LLM-Pruner's channel-group Taylor (src/analyses/groupTaylor.ts) against torch autograd
// (test/fixtures/autodiff/make_group_taylor_golden.py) on tiny-qwen2 (GQA, q/k/v biases; one window, and two windows
// of different lengths: two batches whose gradients add before |·|) and tiny-llama-random (GQA, no biases): per
// query head, KV group and MLP channel the sum, max, product and last-member aggregations; and the plan metric
// head-taylor (plan --drop-heads / --drop-query-heads) through the CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { groupTaylorScores, type GroupAggregates } from '../../src/analyses/groupTaylor';
import type { TokenizedText } from '../../src/analyses/textInput';
import { LanguageModel } from '../../src/compute/languageModel';
import { InputError } from '../../src/errors';
import { DIST, ROOT } from './helpers';

type Row = [number, number, number, number];
interface GoldenBlock { queryHeads: Row[]; kvGroups: Row[]; channels: Row[] }
interface GoldenModel { path: string; ids: number[]; one: GoldenBlock[]; two?: GoldenBlock[] }
const golden = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/autodiff/group-taylor-golden.json'), 'utf8')) as { models: Record<string, GoldenModel> };

function windows(...lists: number[][]): TokenizedText {
  const spans = lists.map((ids) => ids.map((id) => ({ id, text: '', start: 0, end: 0, special: false })));
  return { text: '', spans: spans.flat(), windows: spans, truncated: false };
}

function compare(actual: GroupAggregates[], expected: Row[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    (['sum', 'max', 'product', 'last'] as const).forEach((key, k) => {
      // The product of four members carries four members' relative errors.
      const tolerance = (key === 'product' ? 4e-4 : 1e-4) * Math.abs(e[k]!) + 1e-14;
      assert.ok(Math.abs(a[key] - e[k]!) <= tolerance, `${what}[${i}].${key}: ${a[key]} vs torch ${e[k]}`);
    });
  });
}

for (const [name, reference] of Object.entries(golden.models)) {
  test(`${name}: channel-group Taylor per query head, KV group and MLP channel matches torch autograd`, async () => {
    const model = await LanguageModel.open(join(ROOT, reference.path), ['cpu']);
    try {
      const cases: [string, TokenizedText, GoldenBlock[] | undefined][] = [['one window', windows(reference.ids), reference.one], ['two windows', windows(reference.ids, reference.ids.slice(0, 7)), reference.two]];
      for (const [label, text, expected] of cases) {
        if (!expected) continue;
        const blocks = await drain(groupTaylorScores(model, text));
        assert.equal(blocks.length, expected.length);
        blocks.forEach((b, l) => {
          compare(b.queryHeads, expected[l]!.queryHeads, `${name} ${label} block ${l} queryHeads`);
          compare(b.kvGroups, expected[l]!.kvGroups, `${name} ${label} block ${l} kvGroups`);
          compare(b.channels, expected[l]!.channels, `${name} ${label} block ${l} channels`);
        });
      }
    } finally {
      await model.release();
    }
  });
}

test('fused q|k|v (GPT-2) is refused by name', async () => {
  const model = await LanguageModel.open(join(ROOT, 'test/fixtures/models/tiny-gpt2'), ['cpu']);
  try {
    await assert.rejects(drain(groupTaylorScores(model, windows([1, 2, 3]))), (e: unknown) => e instanceof InputError && /fuses q, k and v/.test(e.message));
  } finally {
    await model.release();
  }
});

for (const [option, unit] of [['--drop-heads', 'group'], ['--drop-query-heads', 'head']] as const) {
  test(`CLI: plan ${option} 1 --metric head-taylor drops the lowest group-Taylor ${unit} of every block`, () => {
    const model = join(ROOT, 'test/fixtures/models/tiny-qwen2');
    const text = join(ROOT, 'samples/text/psalms-23.txt');
    const run = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'plan', model, option, '1', '--metric', 'head-taylor', '--text-file', text, '--max-tokens', '24', '--json'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const plan = JSON.parse(run.stdout);
    assert.equal(plan.metric.name, 'head-taylor');
    assert.equal(plan.metric.text.maxTokens, 24);
    const scores = plan.metric.scores as { layer: number; group?: number; head?: number; score: number }[];
    assert.equal(scores.length, option === '--drop-heads' ? 2 * 2 : 2 * 4);
    assert.ok(scores.every((s) => s.score > 0));
    const action = plan.actions[0];
    for (const layer of [0, 1]) {
      const mine = scores.filter((s) => s.layer === layer);
      if (option === '--drop-heads') {
        const lowest = mine.reduce((a, b) => (b.score < a.score ? b : a)).group;
        assert.deepEqual(action.kvGroups[String(layer)], [lowest]);
      } else {
        // One query head per KV group of two: the lower of each pair.
        const expected = [0, 1].map((g) => mine.filter((s) => Math.floor(s.head! / 2) === g).reduce((a, b) => (b.score < a.score ? b : a)).head);
        assert.deepEqual(action.queryHeads[String(layer)], expected);
      }
    }
  });
}
