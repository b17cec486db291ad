// Pruning plans on the MoE fixtures: layer drops (ShortGPT), expert drops scored on a text by the experts analysis
// (Δ NLL when dropped, routing share) and head drops, each verified without writing and equal to the perplexity of
// the checkpoint apply writes; Wanda refused by name for MoE models.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { layers } from '../../src/analyses/layers';
import { perplexity } from '../../src/analyses/perplexity';
import { InputError } from '../../src/errors';
import { applyPlan } from '../../src/plan/apply';
import { planChoices } from '../../src/plan/choices';
import type { PlanRequest } from '../../src/plan/generate';
import { verifyVirtually } from '../../src/plan/virtual';
import { ROOT, tempDir } from './helpers';
import { MOE_FIXTURES, moeGolden } from './moeGolden';
import { makePlan } from './planHelpers';

const JOHN = join(ROOT, 'samples', 'text', 'john-1.txt');
const MAX_TOKENS = 96;
const model = (name: string) => join(MOE_FIXTURES, name);

const cases: [string, Omit<PlanRequest, 'planDirectory' | 'providers'>][] = [
  ['mixtral: drop one block by Block Influence', { model: model('moe-mixtral'), dropLayers: 1, metric: 'block-influence', textFile: JOHN, maxTokens: 64 }],
  ['qwen2-moe: drop one expert by Δ NLL', { model: model('moe-qwen2'), dropExperts: 1, textFile: JOHN, maxTokens: 64 }],
  ['qwen3-moe: drop two experts by routing share', { model: model('moe-qwen3'), dropExperts: 2, metric: 'expert-share', textFile: JOHN, maxTokens: 64 }],
  ['mixtral: drop one expert by weight norm', { model: model('moe-mixtral'), dropExperts: 1 }],
  ['qwen3-moe: drop a KV group', { model: model('moe-qwen3'), dropHeads: 1 }],
  ['qwen2-moe: drop query heads', { model: model('moe-qwen2'), dropQueryHeads: 1 }],
  ['mixtral: magnitude sparsity (attention; experts stay dense)', { model: model('moe-mixtral'), sparsity: 0.5 }],
];

for (const [name, request] of cases) {
  test(`MoE plan verified without writing equals apply's checkpoint: ${name}`, async () => {
    const dir = tempDir();
    const planPath = join(dir, 'p.pruneplan.json');
    await makePlan(request, planPath);
    const out = join(dir, 'pruned');
    const applied = await drain(applyPlan(planPath, out, { providers: ['cpu'] }));
    const input = { text: { file: JOHN }, maxTokens: MAX_TOKENS, providers: ['cpu'] };
    const written = await drain(perplexity({ model: out, ...input }));
    const { result, verification } = await drain(verifyVirtually(planPath, JOHN, { maxTokens: MAX_TOKENS, providers: ['cpu'] }));
    assert.ok(Math.abs(verification.perplexity.after - written.perplexity) <= 1e-5 * written.perplexity, `after: virtual ${verification.perplexity.after} vs written ${written.perplexity}`);
    assert.notEqual(verification.perplexity.after, verification.perplexity.before);
    assert.deepEqual([result.parameters, result.bytes, result.layers], [applied.parameters, applied.bytes, applied.layers]);
  });
}

test('expert-drop plans drop, per MoE block, the expert whose removal costs least on the text (torch reference)', async () => {
  const g = moeGolden.models['moe-qwen3']!;
  const dir = tempDir();
  const textFile = join(dir, 'psalm.txt');
  writeFileSync(textFile, moeGolden.text.text);
  const planPath = join(dir, 'p.pruneplan.json');
  await makePlan({ model: model('moe-qwen3'), dropExperts: 1, textFile, maxTokens: g.ids.length }, planPath);
  const plan = JSON.parse(readFileSync(planPath, 'utf8'));
  assert.equal(plan.metric.name, 'expert-drop');
  assert.equal(plan.metric.text.maxTokens, g.ids.length);
  const expected = Object.fromEntries(g.experts.map((b) => [String(b.index), [b.experts.reduce((lo, e) => (e.score < lo.score ? e : lo)).index]]));
  assert.deepEqual(plan.actions[0].experts, expected);
  for (const s of plan.metric.scores) {
    const want = g.experts.find((b) => b.index === s.layer)!.experts[s.group]!.score;
    assert.ok(Math.abs(s.score - want) <= 1e-4, `block ${s.layer} expert ${s.group}: ${s.score} vs ${want}`);
  }
});

test('Wanda is refused for MoE models by name, and not offered; taylor, fisher and head-taylor are offered', async () => {
  const dir = tempDir();
  await assert.rejects(makePlan({ model: model('moe-mixtral'), sparsity: 0.5, metric: 'wanda', textFile: JOHN, maxTokens: 32 }, join(dir, 'w.pruneplan.json')),
    (e: unknown) => e instanceof InputError && /Wanda is not supported for Mixture-of-Experts models \(model_type mixtral\)/.test(e.message));
  await assert.rejects(drain(layers({ path: model('moe-qwen2'), metric: 'wanda', text: { file: JOHN }, maxTokens: 32, providers: ['cpu'] })),
    (e: unknown) => e instanceof InputError && /Wanda is not supported for Mixture-of-Experts models \(model_type qwen2_moe\)/.test(e.message));
  const choices = await planChoices(model('moe-qwen3'));
  const metricsOf = (kind: string) => choices.available.find((c) => c.kind === kind)!.metrics.map((m) => m.name);
  assert.deepEqual(metricsOf('sparsity'), ['magnitude']);
  assert.ok(!metricsOf('drop-layers').includes('wanda'));
  // The weight-gradient metrics run on MoE models (moeWeightGradients.test.ts): offered.
  assert.ok(metricsOf('drop-layers').includes('taylor') && metricsOf('drop-layers').includes('fisher'));
  assert.deepEqual(metricsOf('drop-heads'), ['head-l2', 'head-taylor']);
  assert.deepEqual(metricsOf('drop-experts'), ['expert-drop', 'expert-share', 'expert-taylor', 'expert-l2']);
});

test('dropping blocks of a Qwen-MoE with decoder_sparse_step 2: the pattern is written out as mlp_only_layers, and the pruned model runs as verified', async () => {
  const { copyFileSync, mkdirSync } = await import('node:fs');
  const { encodeSafetensors, normalF32, seededRandom } = await import('../fixtures/safetensorsWriter');
  const { openCheckpoint } = await import('../../src/formats/open');
  const src = model('moe-qwen3');
  const dir = tempDir();
  const stepped = join(dir, 'stepped');
  mkdirSync(stepped);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(src, f), join(stepped, f));
  // Block 0 becomes dense (step 2: only block 1 routes): its experts and router go, a gated MLP of 128 comes in.
  const { header } = await openCheckpoint(src);
  const bytes = readFileSync(join(src, 'model.safetensors'));
  const random = seededRandom(9);
  const tensors: { name: string; dtype: string; shape: number[]; data: Buffer }[] = header!.tensors.filter((t) => !t.name.startsWith('model.layers.0.mlp.')).map((t) => ({ name: t.name, dtype: 'F32', shape: t.shape, data: bytes.subarray(t.byteOffset, t.byteOffset + t.byteLength) }));
  for (const [name, shape] of [['gate_proj', [128, 64]], ['up_proj', [128, 64]], ['down_proj', [64, 128]]] as const) {
    tensors.push({ name: `model.layers.0.mlp.${name}.weight`, dtype: 'F32', shape: [...shape], data: normalF32(shape[0] * shape[1], 0.15, random) });
  }
  writeFileSync(join(stepped, 'model.safetensors'), encodeSafetensors(tensors, { format: 'pt' }));
  const config = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8'));
  writeFileSync(join(stepped, 'config.json'), JSON.stringify({ ...config, decoder_sparse_step: 2 }, null, 2));

  for (const drop of [0, 1]) {
    const planPath = join(dir, `drop${drop}.pruneplan.json`);
    await makePlan({ model: stepped, dropLayers: 1 }, planPath);
    const plan = JSON.parse(readFileSync(planPath, 'utf8'));
    plan.actions[0].layers = [drop];
    writeFileSync(planPath, JSON.stringify(plan, null, 2));
    const out = join(dir, `pruned${drop}`);
    await drain(applyPlan(planPath, out, { providers: ['cpu'] }));
    const written = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    assert.deepEqual([written.decoder_sparse_step, written.mlp_only_layers], [1, drop === 0 ? [] : [0]], `drop ${drop}`);
    const ppl = await drain(perplexity({ model: out, text: { file: JOHN }, maxTokens: MAX_TOKENS, providers: ['cpu'] }));
    const { verification } = await drain(verifyVirtually(planPath, JOHN, { maxTokens: MAX_TOKENS, providers: ['cpu'] }));
    assert.ok(Math.abs(verification.perplexity.after - ppl.perplexity) <= 1e-5 * ppl.perplexity, `drop ${drop}: virtual ${verification.perplexity.after} vs written ${ppl.perplexity}`);
  }
});
