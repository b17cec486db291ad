// Weight-gradient metrics on Mixture-of-Experts models (engine/moeRunner.ts backward with weight gradients: the
// router, each routed expert's gate/up/down, Qwen2-MoE's shared expert and its gate, a dense MLP block) against
// torch autograd on the plain-torch MoE reference (test/fixtures/autodiff/moe-weight-golden.json from
// make_moe_weight_golden.py; no python at test time): `taylor` (one window, and two windows in two batches),
// `fisher`, head-taylor's group scores and the Fisher-weighted delta of a seeded fine-tune of moe-qwen2, each
// ≤ 1e-4 relative; the MLP's gradients come one expert at a time and only for the experts tokens are routed to;
// the CLI runs `layers MOE --metric taylor`. Per expert, Σ |W ⊙ ∂L/∂W| over its weights (expertTaylor.ts) against
// the same golden; the experts analysis's taylor column and the drop-experts metric expert-taylor through the CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { fisherScores } from '../../src/analyses/fisher';
import { expertTaylorScores } from '../../src/analyses/expertTaylor';
import { fisherOfChange } from '../../src/analyses/fisherDelta';
import { groupTaylorScores } from '../../src/analyses/groupTaylor';
import { lossGradients, taylorScores } from '../../src/analyses/taylor';
import type { TokenizedText } from '../../src/analyses/textInput';
import { ModelGradients } from '../../src/compute/autodiff/modelGradients';
import { LanguageModel } from '../../src/compute/languageModel';
import { DIST, relativeError, ROOT } from './helpers';

interface GoldenModel {
  ids: number[];
  taylor: number[];
  taylor_two_windows: number[];
  fisher: number[];
  head_taylor: { queryHeads: number[]; kvGroups: number[] }[];
  fisher_weighted?: Record<string, number>;
  expert_taylor: { index: number; experts: number[] }[];
}
const AUTODIFF = join(ROOT, 'test/fixtures/autodiff');
const MODELS = join(ROOT, 'test/fixtures/models');
const golden = JSON.parse(readFileSync(join(AUTODIFF, 'moe-weight-golden.json'), 'utf8')) as { models: Record<string, GoldenModel> };

function windows(...lists: number[][]): TokenizedText {
  const spans = lists.map((ids) => ids.map((id) => ({ id, text: '', start: 0, end: 0, special: false })));
  return { text: '', spans: spans.flat(), windows: spans, truncated: false };
}

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-4 * Math.abs(expected) + 1e-15, `${what}: ${actual} vs torch ${expected}`);
}

for (const [name, reference] of Object.entries(golden.models)) {
  test(`${name}: taylor (one window; two windows in two batches), fisher and head-taylor's group scores match torch autograd (1e-4 relative)`, async () => {
    const model = await LanguageModel.open(join(MODELS, name), ['cpu']);
    try {
      (await drain(taylorScores(model, windows(reference.ids)))).forEach((s, l) => close(s, reference.taylor[l]!, `${name} block ${l} taylor`));
      (await drain(taylorScores(model, windows(reference.ids, reference.ids.slice(0, 7))))).forEach((s, l) => close(s, reference.taylor_two_windows[l]!, `${name} block ${l} taylor, two windows`));
      (await drain(fisherScores(model, windows(reference.ids)))).forEach((s, l) => close(s, reference.fisher[l]!, `${name} block ${l} fisher`));
      const groups = await drain(groupTaylorScores(model, windows(reference.ids)));
      groups.forEach((b, l) => {
        const expected = reference.head_taylor[l]!;
        assert.ok(relativeError(b.queryHeads.map((h) => h.sum), expected.queryHeads) <= 1e-4, `${name} block ${l} query heads`);
        assert.ok(relativeError(b.kvGroups.map((g) => g.sum), expected.kvGroups) <= 1e-4, `${name} block ${l} KV groups`);
        assert.deepEqual(b.channels, [], 'an MoE block has experts, not MLP channel groups');
      });
    } finally {
      await model.release();
    }
  });
}

test('moe-qwen2: the Fisher-weighted delta of a seeded fine-tune matches torch autograd per block tensor (router, experts, shared expert, dense MLP; 1e-4 relative)', async () => {
  const reference = golden.models['moe-qwen2']!;
  const model = await LanguageModel.open(join(MODELS, 'moe-qwen2'), ['cpu']);
  try {
    const weighted = await drain(fisherOfChange(model, join(AUTODIFF, 'moe-qwen2-tuned'), windows(reference.ids)));
    assert.deepEqual([...weighted.keys()].sort(), Object.keys(reference.fisher_weighted!).sort());
    for (const [tensor, expected] of Object.entries(reference.fisher_weighted!)) close(weighted.get(tensor)!, expected, tensor);
    assert.ok(Object.keys(reference.fisher_weighted!).some((t) => /experts\.\d+\.down_proj/.test(t) && reference.fisher_weighted![t]! > 0));
  } finally {
    await model.release();
  }
});

test('moe-mixtral: the MLP weight gradients come one expert (or router) at a time, only for the experts a token is routed to', async () => {
  const model = await LanguageModel.open(join(MODELS, 'moe-mixtral'), ['cpu']);
  const { engine } = model;
  const gradients = await ModelGradients.open(engine);
  try {
    const ids = golden.models['moe-mixtral']!.ids.slice(0, 3);
    // The experts each block routes the three tokens to, from the forward.
    const routed: Set<number>[] = [];
    let h = await engine.embed([ids]);
    for await (const block of engine.sweep(Array.from({ length: engine.layers }, (_, l) => l))) {
      const out = await engine.runBlock(block, h, 1, ids.length);
      routed[block.layer] = new Set(out.routing!.chosen);
      h = out.hidden;
    }
    const handed: Map<number, Set<number>> = new Map();
    await gradients.inputGradient({
      embeddings: await engine.embed([ids]), batch: 1, seq: ids.length, targets: Int32Array.of(-1, -1, ids[2]!),
      onWeightGradient: (layer, grads, weights) => {
        const keys = Object.keys(grads);
        assert.deepEqual(Object.keys(weights).sort(), keys.sort());
        const experts = new Set(keys.map((k) => /experts\.(\d+)\./.exec(k)?.[1]).filter((e) => e !== undefined).map(Number));
        assert.ok(experts.size <= 1, `one expert per call, got ${keys.join(', ')}`);
        for (const e of experts) (handed.get(layer) ?? handed.set(layer, new Set()).get(layer)!).add(e);
      },
    });
    for (let l = 0; l < engine.layers; l++) assert.deepEqual([...(handed.get(l) ?? [])].sort(), [...routed[l]!].sort(), `block ${l}`);
    assert.ok(routed.some((r) => r.size < engine.moe!.experts(0)), 'three tokens leave some expert unrouted in some block');
  } finally {
    await gradients.release();
    await model.release();
  }
});

test('without MoE weight gradients (head-taylor\'s request) only the block graphs\' weights are handed, with the gradients they have with them', async () => {
  for (const name of Object.keys(golden.models)) {
    const model = await LanguageModel.open(join(MODELS, name), ['cpu']);
    try {
      const reference = golden.models[name]!;
      // Two windows in two batches too: the multi-batch pass must not bring the MLP back.
      for (const text of [windows(reference.ids), windows(reference.ids, reference.ids.slice(0, 7))]) {
        const all = new Map<string, Float32Array>();
        await drain(lossGradients(model, text, 'test', (layer, sums) => {
          for (const [key, g] of Object.entries(sums)) all.set(`${layer} ${key}`, Float32Array.from(g));
        }));
        const attention = new Map<string, Float32Array>();
        await drain(lossGradients(model, text, 'test', (layer, sums) => {
          for (const [key, g] of Object.entries(sums)) attention.set(`${layer} ${key}`, Float32Array.from(g));
        }, undefined, { withoutMoeWeights: true }));
        const roles = new Set(model.engine.roles.map((r) => r.role));
        assert.ok([...all.keys()].some((k) => !roles.has(k.split(' ')[1]!)), `${name}: with them, the MLP's tensors come by name`);
        assert.deepEqual([...attention.keys()].sort(), [...all.keys()].filter((k) => roles.has(k.split(' ')[1]!)).sort(), `${name}: only the block graphs' roles`);
        for (const [key, g] of attention) assert.ok(relativeError(Array.from(g), Array.from(all.get(key)!)) <= 1e-6, `${name} ${key}`);
      }
    } finally {
      await model.release();
    }
  }
});

test('CLI: layers MOE --metric taylor --text-file F --json ranks every block', () => {
  const text = join(ROOT, 'samples/text/psalms-23.txt');
  const run = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'layers', join(MODELS, 'moe-qwen3'), '--metric', 'taylor', '--text-file', text, '--max-tokens', '16', '--json'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const doc = JSON.parse(run.stdout) as { metric: string; layers: { rank: number; score: number }[] };
  assert.equal(doc.metric, 'taylor');
  assert.deepEqual(doc.layers.map((l) => l.rank).sort(), [1, 2]);
  assert.ok(doc.layers.every((l) => l.score > 0));
});

test('CLI: plan MOE --drop-heads 1 --metric head-taylor drops the lowest group-Taylor KV group of every block', () => {
  const text = join(ROOT, 'samples/text/psalms-23.txt');
  const run = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'plan', join(MODELS, 'moe-mixtral'), '--drop-heads', '1', '--metric', 'head-taylor', '--text-file', text, '--max-tokens', '16', '--json'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const plan = JSON.parse(run.stdout) as { metric: { name: string; scores: { layer: number; group: number; score: number }[] }; actions: { kvGroups: Record<string, number[]> }[] };
  assert.equal(plan.metric.name, 'head-taylor');
  assert.equal(plan.metric.scores.length, 2 * 2);
  assert.ok(plan.metric.scores.every((s) => s.score > 0));
  for (const layer of [0, 1]) {
    const lowest = plan.metric.scores.filter((s) => s.layer === layer).reduce((a, b) => (b.score < a.score ? b : a)).group;
    assert.deepEqual(plan.actions[0]!.kvGroups[String(layer)], [lowest]);
  }
});

test('CLI: delta MOE TUNED --fisher-text gives every block tensor of an MoE model a Fisher weight (router, experts, shared expert)', () => {
  const text = join(ROOT, 'samples/text/psalms-23.txt');
  const run = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'delta', join(MODELS, 'moe-qwen2'), join(AUTODIFF, 'moe-qwen2-tuned'), '--fisher-text', text, '--max-tokens', '8', '--json'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { tensors: { name: string; layer: number | null; fisherWeighted: number | null }[]; fisher: { predicted: number } };
  assert.equal(result.fisher.predicted, 7);
  for (const t of result.tensors) {
    if (t.layer === null) assert.equal(t.fisherWeighted, null, t.name);
    else assert.ok(t.fisherWeighted !== null && t.fisherWeighted >= 0, t.name);
  }
  assert.ok(result.tensors.some((t) => /shared_expert\./.test(t.name) && t.fisherWeighted! > 0));
  assert.ok(result.tensors.some((t) => /mlp\.gate\.weight$/.test(t.name) && t.fisherWeighted! > 0));
});

test('expert Taylor (Σ |W ⊙ ∂L/∂W| over each routed expert\'s weights) matches torch autograd on the three MoE fixtures (1e-4 relative)', async () => {
  for (const [name, reference] of Object.entries(golden.models)) {
    const model = await LanguageModel.open(join(MODELS, name), ['cpu']);
    try {
      const scores = await drain(expertTaylorScores(model, windows(reference.ids)));
      const sparse = scores.flatMap((s, l) => (s.length > 0 ? [l] : []));
      assert.deepEqual(sparse, reference.expert_taylor.map((b) => b.index), `${name}: blocks with experts`);
      for (const block of reference.expert_taylor) {
        block.experts.forEach((want, e) => close(scores[block.index]![e]!, want, `${name} block ${block.index} expert ${e}`));
      }
    } finally {
      await model.release();
    }
  }
});

test('CLI: experts --taylor gives each expert a taylor column (JSON and table), and plan --drop-experts 1 --metric expert-taylor drops each block\'s lowest', () => {
  const text = join(ROOT, 'samples/text/psalms-23.txt');
  const model = join(MODELS, 'moe-qwen3');
  const run = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'experts', model, '--text-file', text, '--max-tokens', '16', '--taylor', '--json'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { blocks: { index: number; experts: { index: number; taylor: number }[] }[] };
  assert.ok(result.blocks.every((b) => b.experts.every((e) => Number.isFinite(e.taylor) && e.taylor >= 0)));
  assert.ok(result.blocks.every((b) => b.experts.some((e) => e.taylor > 0)));
  const table = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'experts', model, '--text-file', text, '--max-tokens', '16', '--taylor'], { encoding: 'utf8' });
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /output change\s+taylor\n/);
  const plan = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'plan', model, '--drop-experts', '1', '--metric', 'expert-taylor', '--text-file', text, '--max-tokens', '16', '--json'], { encoding: 'utf8' });
  assert.equal(plan.status, 0, plan.stderr);
  const doc = JSON.parse(plan.stdout) as { metric: { name: string; scores: { layer: number; group: number; score: number }[] }; actions: { experts: Record<string, number[]> }[] };
  assert.equal(doc.metric.name, 'expert-taylor');
  for (const block of result.blocks) {
    const lowest = block.experts.reduce((a, b) => (b.taylor < a.taylor ? b : a)).index;
    assert.deepEqual(doc.actions[0]!.experts[String(block.index)], [lowest], `block ${block.index}`);
    for (const e of block.experts) {
      const s = doc.metric.scores.find((x) => x.layer === block.index && x.group === e.index)!;
      close(s.score, e.taylor, `plan score of block ${block.index} expert ${e.index}`);
    }
  }
});
