// Expert importance on the MoE fixtures against the torch reference (moe-golden.json, make_moe_golden.py): each
// expert's routing share, mean gate, Δ NLL when dropped and re-routed, and the block output's change; the CLI's
// `experts`, `perplexity` and `layers --metric block-influence` on a fixture; a dense model refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { expertImportance } from '../../src/analyses/experts';
import { InputError } from '../../src/errors';
import { DIST, ROOT, tempDir } from './helpers';
import { MOE_FIXTURES, moeGolden } from './moeGolden';

const TEXT = moeGolden.text.text;

for (const [name, g] of Object.entries(moeGolden.models)) {
  test(`${name}: expert shares, gates, drop scores and output changes match torch`, async () => {
    const result = await drain(expertImportance({ model: join(ROOT, g.path), text: { text: TEXT }, maxTokens: g.ids.length, providers: ['cpu'] }));
    assert.equal(result.tokens, g.ids.length);
    assert.ok(Math.abs(result.nll - g.nll) <= 1e-4 * g.nll, `plain nll ${result.nll} vs ${g.nll}`);
    assert.deepEqual(result.blocks.map((b) => b.index), g.experts.map((b) => b.index));
    assert.deepEqual(result.denseBlocks, Array.from({ length: g.layers }, (_, l) => l).filter((l) => !g.sparse_blocks.includes(l)));
    for (const [i, block] of result.blocks.entries()) {
      const expected = g.experts[i]!.experts;
      assert.ok(Math.abs(block.experts.reduce((s, e) => s + e.share, 0) - 1) < 1e-12, 'shares sum to 1');
      for (const [e, got] of block.experts.entries()) {
        const want = expected[e]!;
        const at = `block ${block.index} expert ${e}`;
        assert.ok(Math.abs(got.share - want.share) < 1e-12, `${at} share ${got.share} vs ${want.share}`);
        if (want.meanGate === null) assert.equal(got.meanGate, null);
        else assert.ok(got.meanGate !== null && Math.abs(got.meanGate - want.meanGate) <= 1e-5, `${at} mean gate ${got.meanGate} vs ${want.meanGate}`);
        assert.ok(Math.abs(got.score - want.score) <= 1e-4, `${at} score ${got.score} vs ${want.score}`);
        assert.ok(Math.abs(got.outputChange - want.outputChange) <= 1e-4, `${at} output change ${got.outputChange} vs ${want.outputChange}`);
      }
      const best = block.experts.reduce((a, b) => (b.score > a.score ? b : a));
      assert.equal(best.rank, 1);
    }
  });
}

test('experts on a dense model or an exported .onnx is refused, naming what it needs', async () => {
  await assert.rejects(drain(expertImportance({ model: join(MOE_FIXTURES, 'tiny-qwen2'), text: { text: TEXT }, providers: ['cpu'] })),
    (e: unknown) => e instanceof InputError && /has no routed experts.*mixtral, qwen2_moe, qwen3_moe/.test(e.message));
  await assert.rejects(drain(expertImportance({ model: join(ROOT, 'test', 'fixtures', 'onnx-decoder', 'tiny-qwen2.onnx'), text: { text: TEXT }, providers: ['cpu'] })),
    (e: unknown) => e instanceof InputError && /needs a Hugging Face model directory .* an exported \.onnx does not expose its router/.test(e.message));
});

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args], { encoding: 'utf8', env: { ...process.env, IMPORTANCE_LENS_PROVIDERS: 'cpu' } });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

test('CLI on an MoE fixture: experts (JSON and table), perplexity and layers --metric block-influence', () => {
  const g = moeGolden.models['moe-qwen2']!;
  const textFile = join(tempDir(), 'text.txt');
  writeFileSync(textFile, TEXT);
  const model = join(ROOT, g.path);
  const experts = JSON.parse(cli('experts', model, '--text-file', textFile, '--json'));
  assert.equal(experts.device, 'cpu');
  assert.deepEqual(experts.blocks.map((b: { index: number }) => b.index), [0]);
  for (const e of experts.blocks[0].experts) for (const key of ['index', 'share', 'meanGate', 'score', 'rank']) assert.ok(key in e, key);
  // Taylor is opt-in (--taylor, a backward pass): without it the field is null and the table has no column.
  assert.ok(experts.blocks[0].experts.every((e: { taylor: unknown }) => e.taylor === null));
  assert.ok(Math.abs(experts.blocks[0].experts[2].score - g.experts[0]!.experts[2]!.score) <= 1e-4);
  const table = cli('experts', model, '--text-file', textFile);
  assert.match(table, /dense blocks \(no experts\): 1/);
  assert.match(table, /block\s+expert\s+share\s+mean gate\s+score\s+rank\s+output change\n/);
  const ppl = JSON.parse(cli('perplexity', model, '--text-file', textFile, '--json'));
  assert.ok(Math.abs(ppl.nll - g.nll) <= 1e-4 * g.nll, `cli nll ${ppl.nll} vs ${g.nll}`);
  const bi = JSON.parse(cli('layers', model, '--metric', 'block-influence', '--text-file', textFile, '--json'));
  bi.layers.forEach((l: { index: number; score: number }) => assert.ok(Math.abs(l.score - g.block_influence[l.index]!) <= 1e-4));
});

test('each expert read once for all drops: runEachDrop equals a run with that expert dropped (renormalised or not, shared expert)', async () => {
  const { LanguageModel } = await import('../../src/compute/languageModel');
  for (const name of ['moe-mixtral', 'moe-qwen2']) {
    const model = await LanguageModel.open(join(MOE_FIXTURES, name), ['cpu']);
    try {
      const moe = model.engine.moe!;
      const rows = 40;
      const random = (await import('../../src/compute/random')).seededRandom(5);
      const x = Float32Array.from({ length: rows * model.hidden }, () => random() * 2 - 1);
      const each = await moe.runEachDrop(0, x, rows, [0, 1, 2, 3]);
      for (let e = 0; e < 4; e++) {
        const { y } = await moe.run(0, x, rows, { drop: [e] });
        let worst = 0;
        for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i]! - each[e]![i]!));
        assert.ok(worst <= 1e-5, `${name} drop ${e}: differs by ${worst}`);
      }
    } finally {
      await model.release();
    }
  }
});

test('CLI: plan --drop-experts on a text, then apply --verify without --out runs the plan virtually', () => {
  const dir = tempDir();
  const textFile = join(dir, 'text.txt');
  writeFileSync(textFile, TEXT);
  const planPath = join(dir, 'experts.pruneplan.json');
  cli('plan', join(MOE_FIXTURES, 'moe-mixtral'), '--drop-experts', '1', '--text-file', textFile, '--out', planPath);
  const plan = JSON.parse(readFileSync(planPath, 'utf8'));
  assert.equal(plan.metric.name, 'expert-drop');
  const g = moeGolden.models['moe-mixtral']!;
  const lowest = (b: number) => g.experts[b]!.experts.reduce((lo, e) => (e.score < lo.score ? e : lo)).index;
  assert.deepEqual(plan.actions[0].experts, { 0: [lowest(0)], 1: [lowest(1)] });
  const verified = JSON.parse(cli('apply', planPath, '--verify', '--text-file', textFile, '--json'));
  assert.ok(Math.abs(Math.log(verified.perplexity.before) - g.nll) <= 1e-4 * g.nll);
  assert.ok(verified.perplexity.after !== verified.perplexity.before);
  assert.ok(verified.warnings.some((w: string) => /experts removed from their routers/.test(w)), JSON.stringify(verified.warnings));
});

test('the experts job runs in the analysis process (the panel\'s path) and returns the typed result', async (t) => {
  const { AnalysisWorkerClient } = await import('../../src/worker/client');
  const client = new AnalysisWorkerClient(join(DIST, 'worker.js'));
  t.after(() => client.dispose());
  const g = moeGolden.models['moe-mixtral']!;
  const progress: string[] = [];
  const outcome = await client.run({ analysis: 'experts', model: join(ROOT, g.path), text: { text: TEXT }, providers: ['cpu'] }, { onProgress: (p) => progress.push(p.message) });
  assert.equal(outcome.analysis, 'experts');
  assert.deepEqual(outcome.result.blocks.map((b) => b.experts.map((e) => e.rank)), g.experts.map((b) => {
    const order = [...b.experts].sort((x, y) => y.score - x.score).map((e) => e.index);
    return b.experts.map((e) => order.indexOf(e.index) + 1);
  }));
  assert.ok(progress.length >= 1);
});
