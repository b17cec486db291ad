// plan --drop-mlp-channels (src/plan/mlpChannels.ts, channelTaylor.ts) against torch
// (test/fixtures/autodiff/make_mlp_channel_golden.py) on three MLP layouts — Llama (tiny-llama-random), Phi-3's
// fused gate_up_proj (phi3-longrope) and GPT-NeoX's non-gated MLP with biases (gpt-neox-sequential): the channel
// scores (group Taylor and Σ|W|), and the logits of the checkpoint `apply` writes with the golden's channels
// dropped, run by our engine, against torch's model with the same channels sliced out. Also: the written config and
// shapes, the source left byte-identical, verify-without-writing agreeing with the written copy, the plan's checks
// (clear InputErrors), the plan choices, and the CLI end to end (plan → apply → layers on the new folder). The channel
// group is mlpChannels.ts's for groupTaylor.ts too: its sum per channel is the same torch golden on all three layouts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { groupTaylorScores } from '../../src/analyses/groupTaylor';
import type { TokenizedText } from '../../src/analyses/textInput';
import { LanguageModel } from '../../src/compute/languageModel';
import { InputError } from '../../src/errors';
import { parseAmount } from '../../src/plan/amount';
import { applyPlan } from '../../src/plan/apply';
import { channelTaylorOf } from '../../src/plan/channelTaylor';
import { planChoices } from '../../src/plan/choices';
import { generatePlan } from '../../src/plan/generate';
import { channelCount, channelMagnitudeScores, mlpLayout } from '../../src/plan/mlpChannels';
import { planPreview } from '../../src/plan/preview';
import { openSource } from '../../src/plan/source';
import type { PrunePlan } from '../../src/plan/types';
import { verifyApplied } from '../../src/plan/verify';
import { verifyVirtually } from '../../src/plan/virtual';
import { DIST, relativeError, ROOT, tempDir } from './helpers';
import { hashDirectory, makePlan } from './planHelpers';

interface GoldenModel {
  path: string; ids: number[]; intermediate: number; taylor: number[][]; magnitude: number[][];
  /** Per block and channel, group Taylor's [sum, max, product, last] over gate, up, down. */
  groups: [number, number, number, number][][];
  dropped: Record<string, number[]>; rows: number[]; logits: number[];
}
const golden = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/autodiff/mlp-channel-golden.json'), 'utf8')) as { drop: number; models: Record<string, GoldenModel> };
const TEXT = join(ROOT, 'samples/text/psalms-23.txt');

function window(ids: number[]): TokenizedText {
  const spans = ids.map((id) => ({ id, text: '', start: 0, end: 0, special: false }));
  return { text: '', spans, windows: [spans], truncated: false };
}

function assertClose(actual: readonly number[], expected: readonly number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]!) <= tolerance * Math.abs(expected[i]!) + 1e-12, `${what}[${i}]: ${a} vs torch ${expected[i]}`));
}

/** A plan for `model` whose action drops `channels` (made by generatePlan, then edited as a user would). */
async function planWith(model: string, channels: Record<string, number[]>, planPath: string): Promise<void> {
  const plan = await drain(generatePlan({ model, dropMlpChannels: Object.values(channels)[0]!.length, metric: 'channel-magnitude', planDirectory: join(planPath, '..') }));
  plan.actions = [{ type: 'drop-mlp-channels', channels }];
  writeFileSync(planPath, `${JSON.stringify(plan, null, 2)}\n`);
}

for (const [name, reference] of Object.entries(golden.models)) {
  const path = join(ROOT, reference.path);

  test(`${name}: channel-taylor and channel-magnitude scores match torch`, async () => {
    const source = await openSource(path);
    const layout = mlpLayout(source);
    assert.equal(layout.intermediate, reference.intermediate);
    const magnitude = await drain(channelMagnitudeScores(source, layout));
    magnitude.forEach((s, l) => assertClose(s, reference.magnitude[l]!, 1e-5, `${name} magnitude block ${l}`));
    const model = await LanguageModel.open(path, ['cpu']);
    try {
      const taylor = await drain(channelTaylorOf(model, layout, window(reference.ids)));
      assert.equal(taylor.length, reference.taylor.length);
      taylor.forEach((s, l) => assertClose(s, reference.taylor[l]!, 1e-4, `${name} taylor block ${l}`));
      // The lowest-scoring channels are torch's (the action generatePlan would write for these scores).
      const n = channelCount(golden.drop, layout.intermediate);
      taylor.forEach((s, l) => assert.deepEqual(s.map((score, c) => ({ c, score })).sort((a, b) => a.score - b.score || b.c - a.c).slice(0, n).map((x) => x.c).sort((a, b) => a - b), reference.dropped[String(l)]));
    } finally {
      await model.release();
    }
  });

  test(`${name}: LLM-Pruner's group Taylor (analyses/groupTaylor.ts) scores the same MLP channel groups: sum, max, product and last match torch`, async () => {
    const model = await LanguageModel.open(path, ['cpu']);
    try {
      const blocks = await drain(groupTaylorScores(model, window(reference.ids)));
      assert.equal(blocks.length, reference.taylor.length);
      const fused = /phi3|neox/.test(name);
      for (const b of blocks) {
        assertClose(b.channels.map((c) => c.sum), reference.taylor[b.layer]!, 1e-4, `${name} group-Taylor channels block ${b.layer}`);
        // Members: gate, up, down (Phi-3's fused gate|up rows as two); GPT-NeoX's non-gated MLP has two.
        (['sum', 'max', 'product', 'last'] as const).forEach((key, k) => {
          // A product of three members carries three members' relative errors.
          assertClose(b.channels.map((c) => c[key]), reference.groups[b.layer]!.map((g) => g[k]), key === 'product' ? 3e-4 : 1e-4, `${name} block ${b.layer} ${key}`);
        });
        // Blocks that fuse q|k|v get no head groups; Llama's are scored.
        assert.equal(b.queryHeads.length === 0, fused, `${name} head groups`);
      }
    } finally {
      await model.release();
    }
  });

  test(`${name}: apply writes the sliced MLPs; their logits match torch's sliced model; the source is untouched`, async () => {
    const dir = tempDir();
    const planPath = join(dir, 'p.pruneplan.json');
    await planWith(path, reference.dropped, planPath);
    const before = hashDirectory(path);
    const result = await drain(applyPlan(planPath, join(dir, 'out')));
    assert.deepEqual(hashDirectory(path), before);
    const n = reference.dropped['0']!.length;
    assert.deepEqual(result.configChanges, ['intermediate_size']);
    const config = JSON.parse(readFileSync(join(dir, 'out', 'config.json'), 'utf8'));
    assert.equal(config.intermediate_size, reference.intermediate - n);
    const written = await openSource(join(dir, 'out'));
    const plan = JSON.parse(readFileSync(planPath, 'utf8')) as PrunePlan;
    assert.equal(written.parameters, plan.predicted.parameters.after);
    assert.equal(result.parameters.after, plan.predicted.parameters.after);
    const mlp = written.tensors.filter((t) => /mlp\.(gate_proj|up_proj|gate_up_proj|down_proj|dense_h_to_4h|dense_4h_to_h)\./.test(t.name));
    for (const t of mlp) {
      const kept = reference.intermediate - n;
      const expected = /down_proj|dense_4h_to_h/.test(t.name) ? (t.name.endsWith('.bias') ? t.shape[0] : kept) : /gate_up_proj/.test(t.name) ? 2 * kept : kept;
      assert.equal(/down_proj|dense_4h_to_h/.test(t.name) && !t.name.endsWith('.bias') ? t.shape[1] : t.shape[0], expected, `${t.name} ${JSON.stringify(t.shape)}`);
    }
    const model = await LanguageModel.open(join(dir, 'out'), ['cpu']);
    try {
      const out = await model.forward([reference.ids]);
      const vocab = model.spec.vocab;
      const ours = reference.rows.flatMap((t) => Array.from(out.logits.subarray(t * vocab, (t + 1) * vocab)));
      const error = relativeError(ours, reference.logits);
      assert.ok(error <= 1e-3, `${name}: pruned logits differ from torch's by ${error} (relative)`);
    } finally {
      await model.release();
    }
  });
}

test('verify without writing (down_proj columns zeroed) agrees with the written copy', async () => {
  const dir = tempDir();
  const model = join(ROOT, golden.models['phi3-longrope']!.path);
  const planPath = join(dir, 'p.pruneplan.json');
  await makePlan({ model, dropMlpChannels: 0.25, metric: 'channel-taylor', textFile: TEXT, maxTokens: 24 }, planPath);
  const { result, verification } = await drain(verifyVirtually(planPath, TEXT, { maxTokens: 24, providers: ['cpu'] }));
  const applied = await drain(applyPlan(planPath, join(dir, 'out'), { providers: ['cpu'] }));
  const written = await drain(verifyApplied(applied.source, applied.out, TEXT, { maxTokens: 24, providers: ['cpu'] }));
  assert.equal(result.parameters.after, applied.parameters.after);
  assert.equal(result.bytes.after, applied.bytes.after);
  assert.ok(Math.abs(verification.perplexity.before - written.perplexity.before) <= 1e-9 * written.perplexity.before);
  assert.ok(Math.abs(verification.perplexity.after - written.perplexity.after) <= 1e-5 * written.perplexity.after, `${verification.perplexity.after} vs ${written.perplexity.after}`);
  assert.notEqual(written.perplexity.after, written.perplexity.before);
  // The note under the numbers names this plan's edit only (it listed every kind of edit before).
  assert.deepEqual(result.warnings, ['verified without writing: the plan ran on the source model in memory (MLP channels zeroed out (the same outputs as the narrower MLP))']);
  assert.equal(result.out, '');
});

// Every other dense layout the engine runs: the written checkpoint (sliced, with Llama-bias's gate/up biases and
// GPT-NeoX-parallel's dense_h_to_4h bias) runs to the perplexity of the source with the channels silenced in memory.
for (const fixture of ['llama-bias', 'tiny-qwen2', 'qwen3-head-dim', 'gemma', 'gemma2', 'gemma3-text', 'olmo2', 'gpt-neox-parallel']) {
  test(`${fixture}: a channel-taylor plan, written, equals the source with the channels silenced`, async () => {
    const dir = tempDir();
    const model = join(ROOT, 'test/fixtures/models', fixture);
    const planPath = join(dir, 'p.pruneplan.json');
    await makePlan({ model, dropMlpChannels: 0.5, metric: 'channel-taylor', textFile: TEXT, maxTokens: 24 }, planPath);
    const { verification } = await drain(verifyVirtually(planPath, TEXT, { maxTokens: 24, providers: ['cpu'] }));
    const applied = await drain(applyPlan(planPath, join(dir, 'out'), { providers: ['cpu'] }));
    const written = await drain(verifyApplied(applied.source, applied.out, TEXT, { maxTokens: 24, providers: ['cpu'] }));
    const width = (await openSource(model)).config.intermediate_size as number;
    assert.equal(JSON.parse(readFileSync(join(dir, 'out', 'config.json'), 'utf8')).intermediate_size, width - Math.round(width / 2));
    assert.ok(Math.abs(verification.perplexity.after - written.perplexity.after) <= 1e-4 * written.perplexity.after, `${verification.perplexity.after} vs ${written.perplexity.after}`);
    assert.notEqual(written.perplexity.after, written.perplexity.before);
  });
}

test('generatePlan: amount as a fraction or a count, the same count per block, scores of the lowest listed', async () => {
  const model = join(ROOT, golden.models['tiny-llama-random']!.path);
  const byFraction = await drain(generatePlan({ model, dropMlpChannels: 0.25 }));
  const byCount = await drain(generatePlan({ model, dropMlpChannels: 44 }));
  assert.equal(byFraction.metric.name, 'channel-magnitude');
  assert.equal(byFraction.metric.text, null);
  assert.deepEqual(byFraction.actions, byCount.actions);
  const action = byFraction.actions[0]!;
  assert.equal(action.type, 'drop-mlp-channels');
  if (action.type !== 'drop-mlp-channels') return;
  assert.deepEqual(Object.keys(action.channels), ['0', '1', '2', '3']);
  const magnitude = golden.models['tiny-llama-random']!.magnitude;
  for (const [key, list] of Object.entries(action.channels)) {
    assert.equal(list.length, 44);
    const scores = magnitude[Number(key)]!;
    const highestDropped = Math.max(...list.map((c) => scores[c]!));
    assert.ok(scores.every((s, c) => list.includes(c) || s >= highestDropped), `block ${key} drops its lowest Σ|W| channels`);
  }
  // Each block lists its dropped channels and 8 more, ranked among all 4 × 176 channels.
  assert.equal(byFraction.metric.scores.length, 4 * (44 + 8));
  assert.ok(byFraction.metric.scores.every((s) => s.group !== undefined && s.rank >= 1 && s.rank <= 4 * 176));
  assert.equal(byFraction.predicted.parameters.before - byFraction.predicted.parameters.after, 4 * 44 * 3 * 64);
  for (const amount of [0, 176, 200, 1.5, -0.1, 0.001]) {
    await assert.rejects(drain(generatePlan({ model, dropMlpChannels: amount })), (e: unknown) => e instanceof InputError && /--drop-mlp-channels/.test(e.message), String(amount));
  }
  await assert.rejects(drain(generatePlan({ model, dropMlpChannels: 4, metric: 'channel-taylor' })), /takes gradients on a text; give --text-file F/);
  await assert.rejects(drain(generatePlan({ model, dropMlpChannels: 4, metric: 'head-l2' })), /MLP channels are scored by one of channel-magnitude, channel-taylor/);
});

test('preview: config.json and the weight map as apply writes them, one panel row per block', async () => {
  const dir = tempDir();
  const model = join(ROOT, golden.models['phi3-longrope']!.path);
  const planPath = join(dir, 'p.pruneplan.json');
  await makePlan({ model, dropMlpChannels: 32 }, planPath);
  const preview = await planPreview(planPath);
  assert.deepEqual(preview.configChanges, ['intermediate_size']);
  assert.match(preview.config.before, /"intermediate_size": 128,/);
  assert.equal(preview.config.after, preview.config.before.replace('"intermediate_size": 128,', '"intermediate_size": 96,'));
  assert.deepEqual(preview.rows.map((r) => [r.kind, r.layer, r.ratio, r.configKey, r.tensor?.name]), [
    ['mlp-channels', 0, 0.25, 'intermediate_size', 'model.layers.0.mlp.down_proj.weight'],
    ['mlp-channels', 1, 0.25, 'intermediate_size', 'model.layers.1.mlp.down_proj.weight'],
  ]);
  // Each row's span of scores and ranks is over exactly the channels its block drops, as metric.scores lists them.
  const action = preview.plan.actions[0]!;
  assert.equal(action.type, 'drop-mlp-channels');
  const channels: Record<string, number[]> = action.type === 'drop-mlp-channels' ? action.channels : {};
  for (const row of preview.rows) {
    const dropped = new Set<number>(channels[String(row.layer)]);
    const entries: typeof preview.plan.metric.scores = preview.plan.metric.scores.filter((e) => e.layer === row.layer && dropped.has(e.group!));
    assert.equal(entries.length, 32);
    assert.deepEqual(row.channels, {
      dropped: 32, width: 128,
      score: [Math.min(...entries.map((e) => e.score)), Math.max(...entries.map((e) => e.score))],
      rank: [Math.min(...entries.map((e) => e.rank)), Math.max(...entries.map((e) => e.rank))],
    });
  }
  // A hand edit that drops a channel metric.scores does not list: the row keeps its count, without a span.
  const edited = structuredClone(preview.plan);
  const editedAction = edited.actions[0]!;
  if (editedAction.type !== 'drop-mlp-channels') return;
  const listed = new Set(edited.metric.scores.filter((e) => e.layer === 0).map((e) => e.group));
  const unlisted = Array.from({ length: 128 }, (_, c) => c).find((c) => !listed.has(c))!;
  editedAction.channels['0'] = [unlisted, ...editedAction.channels['0']!.slice(1)].sort((a, b) => a - b);
  const editedPreview = await planPreview(planPath, JSON.stringify(edited));
  assert.deepEqual(editedPreview.rows[0]!.channels, { dropped: 32, width: 128, score: null, rank: null });
  assert.ok(editedPreview.rows[1]!.channels!.score);
  const applied = await drain(applyPlan(planPath, join(dir, 'out')));
  assert.equal(readFileSync(join(dir, 'out', 'config.json'), 'utf8'), preview.config.after);
  assert.equal(applied.bytes.after, (await openSource(join(dir, 'out'))).bytes);
  // The weight map keeps every tensor (only shapes change); its total is the written tensor bytes.
  const [before, after] = [preview.weightMap.before, preview.weightMap.after].map((t) => JSON.parse(t) as { metadata: { total_size: number }; weight_map: Record<string, string> });
  assert.deepEqual(Object.keys(after!.weight_map), Object.keys(before!.weight_map));
  assert.equal(after!.metadata.total_size, applied.bytes.after);
  assert.equal(before!.metadata.total_size - after!.metadata.total_size, 2 * 32 * 3 * 64 * 4);
});

test('metric.scores of a wide, deep model is capped at 32 768 channel scores: each block lists its lowest', async () => {
  // 40 blocks of 1024 channels (MLP weights only: magnitude reads no more), seeded values; dropping 90% would list
  // 922 + 8 per block, 37 200 in all.
  const dir = tempDir();
  const [blocks, width, hidden] = [40, 1024, 4];
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
  const entries: [string, number[]][] = [];
  for (let l = 0; l < blocks; l++) for (const [m, shape] of [['gate_proj', [width, hidden]], ['up_proj', [width, hidden]], ['down_proj', [hidden, width]]] as const) entries.push([`model.layers.${l}.mlp.${m}.weight`, [...shape]]);
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape] of entries) {
    const bytes = shape[0]! * shape[1]! * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  const data = Float32Array.from({ length: offset / 4 }, random);
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([size, json, Buffer.from(data.buffer)]));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'llama', num_hidden_layers: blocks, hidden_size: hidden, intermediate_size: width }));
  const plan = await drain(generatePlan({ model: dir, dropMlpChannels: 0.9 }));
  const listed = Math.floor(32768 / blocks);
  assert.equal(plan.metric.scores.length, blocks * listed);
  const action = plan.actions[0] as { channels: Record<string, number[]> };
  for (let l = 0; l < blocks; l++) {
    const mine = plan.metric.scores.filter((s) => s.layer === l);
    assert.equal(mine.length, listed);
    assert.ok(mine.every((s) => action.channels[String(l)]!.includes(s.group!)), `block ${l} lists the lowest of the channels it drops`);
  }
  assert.ok(plan.metric.scores.every((s) => s.rank > blocks * width - blocks * 922), 'ranked among all 40 960 channels');
  assert.match(plan.notes[0]!, /lists each block's 819 lowest \(the lowest of the dropped ones\)/);
});

test('apply refuses a malformed drop-mlp-channels action with the field at fault, before writing anything', async () => {
  const dir = tempDir();
  const model = join(ROOT, golden.models['tiny-llama-random']!.path);
  const planPath = join(dir, 'p.pruneplan.json');
  const cases: [Record<string, number[]>, RegExp][] = [
    [{ 0: [1], 1: [1], 2: [1] }, /actions\[0\]\.channels: every block must drop the same number of MLP channels, since config.json holds one intermediate_size \(block 0 drops 1, block 1 drops 1, block 2 drops 1, block 3 drops 0\)/],
    [{ 0: [176], 1: [1], 2: [1], 3: [1] }, /actions\[0\]\.channels\["0"\]: block 0 has MLP channels 0\.\.175, not 176/],
    [{ 7: [1] }, /actions\[0\]\.channels\["7"\]: block 7 does not exist/],
    [{ 0: [2, 1] }, /actions\[0\]\.channels\["0"\]\[1\]: indices must be ascending and distinct/],
  ];
  for (const [channels, message] of cases) {
    await planWith(model, { 0: [1], 1: [1], 2: [1], 3: [1] }, planPath);
    const plan = JSON.parse(readFileSync(planPath, 'utf8'));
    plan.actions[0].channels = channels;
    writeFileSync(planPath, JSON.stringify(plan));
    await assert.rejects(drain(applyPlan(planPath, join(dir, 'out'))), (e: unknown) => e instanceof InputError && message.test(e.message), message.source);
  }
  // With sparsity in the same plan: refused (sparsity's ratios are for the full-width weights).
  const plan = JSON.parse(readFileSync(planPath, 'utf8'));
  plan.actions = [{ type: 'drop-mlp-channels', channels: { 0: [1], 1: [1], 2: [1], 3: [1] } }, { type: 'sparsity', metric: 'magnitude', target: 0.5, allocation: { method: 'uniform' }, layers: [{ layer: 0, ratio: 0.5, outlierRatio: null }] }];
  writeFileSync(planPath, JSON.stringify(plan));
  await assert.rejects(drain(applyPlan(planPath, join(dir, 'out'))), /drop-mlp-channels and sparsity in one plan are not supported/);
});

test('families without a Linear gate/up/down MLP are refused by name; plan choices offer the rest', async () => {
  await assert.rejects(drain(generatePlan({ model: join(ROOT, 'test/fixtures/models/tiny-gpt2'), dropMlpChannels: 1 })), /not possible for gpt2: GPT-2 stores its MLP as Conv1D/);
  await assert.rejects(drain(generatePlan({ model: join(ROOT, 'test/fixtures/models/moe-mixtral'), dropMlpChannels: 1 })), /not possible for mixtral: its MLPs are Mixture-of-Experts/);
  const gpt2 = await planChoices(join(ROOT, 'test/fixtures/models/tiny-gpt2'));
  assert.match(gpt2.unavailable.find((u) => u.kind === 'drop-mlp-channels')!.reason, /Conv1D/);
  const phi3 = await planChoices(join(ROOT, 'test/fixtures/models/phi3-longrope'));
  assert.deepEqual(phi3.available.find((c) => c.kind === 'drop-mlp-channels'), {
    kind: 'drop-mlp-channels', max: 127, metrics: [{ name: 'channel-taylor', needsText: true }, { name: 'channel-magnitude', needsText: false }],
  });
  assert.equal(parseAmount('drop-mlp-channels', 127, '25%'), 0.25);
  assert.equal(parseAmount('drop-mlp-channels', 127, '0.5'), 0.5);
  assert.equal(parseAmount('drop-mlp-channels', 127, '12'), 12);
  assert.equal(typeof parseAmount('drop-mlp-channels', 127, '128'), 'string');
  assert.equal(typeof parseAmount('drop-mlp-channels', 127, '2.5'), 'string');
});

test('CLI: plan --drop-mlp-channels → apply → the new folder loads and runs layers --metric block-influence', () => {
  const dir = tempDir();
  const model = join(ROOT, 'test/fixtures/models/phi3-longrope');
  const cli = (...args: string[]) => spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args], { encoding: 'utf8' });
  const planPath = join(dir, 'width.pruneplan.json');
  const planned = cli('plan', model, '--drop-mlp-channels', '0.25', '--metric', 'channel-taylor', '--text-file', TEXT, '--max-tokens', '24', '--out', planPath, '--json');
  assert.equal(planned.status, 0, planned.stderr);
  const plan = JSON.parse(planned.stdout) as PrunePlan;
  assert.equal(plan.metric.name, 'channel-taylor');
  assert.deepEqual(Object.values((plan.actions[0] as { channels: Record<string, number[]> }).channels).map((l) => l.length), [32, 32]);
  const applied = cli('apply', planPath, '--out', join(dir, 'out'), '--verify', '--text-file', TEXT, '--max-tokens', '24', '--json');
  assert.equal(applied.status, 0, applied.stderr);
  const result = JSON.parse(applied.stdout);
  assert.deepEqual(result.configChanges, ['intermediate_size']);
  assert.ok(result.perplexity.after > 1 && Number.isFinite(result.perplexity.after));
  const layers = cli('layers', join(dir, 'out'), '--metric', 'block-influence', '--text-file', TEXT, '--max-tokens', '24', '--json');
  assert.equal(layers.status, 0, layers.stderr);
  assert.equal(JSON.parse(layers.stdout).layers.length, 2);
  const refused = cli('plan', model, '--drop-mlp-channels', '128');
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /--drop-mlp-channels 128 means 128 of 128 channels per block/);
});
