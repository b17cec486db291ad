// Pruning plans for a GGUF model (plan/source.ts reads its metadata as the config): made from the GGUF they choose
// what the same model as safetensors chooses, verifying them without writing gives the same perplexities, a
// dropped block of stories260K gives torch's ablation perplexity, and what cannot be done is refused by name.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { InputError } from '../../src/errors';
import { applyPlan } from '../../src/plan/apply';
import { planChoices } from '../../src/plan/choices';
import { generatePlan, type PlanRequest } from '../../src/plan/generate';
import { verifyVirtually } from '../../src/plan/virtual';
import { needsShared, ROOT, tempDir, writeTemp } from './helpers';
import { makePlan } from './planHelpers';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'models');
const HF = join(FIXTURES, 'llama-rope-linear');
const GGUF = join(FIXTURES, 'gguf', 'llama-rope-linear.f32.gguf');
const TEXT = join(ROOT, 'samples', 'text', 'psalms-23.txt');
const MAX_TOKENS = 48;

const cases: [string, Omit<PlanRequest, 'model' | 'planDirectory' | 'providers'>][] = [
  ['drop one block by Block Influence', { dropLayers: 1, textFile: TEXT, maxTokens: MAX_TOKENS }],
  ['magnitude sparsity', { sparsity: 0.5, metric: 'magnitude' }],
  ['Wanda sparsity, OWL', { sparsity: 0.4, metric: 'wanda', textFile: TEXT, maxTokens: MAX_TOKENS }],
];

for (const [name, request] of cases) {
  test(`a plan for the llama GGUF equals the safetensors model's and verifies the same: ${name}`, async () => {
    const dir = tempDir();
    const verify = async (model: string) => {
      const planPath = join(dir, `${model === GGUF ? 'gguf' : 'hf'}.pruneplan.json`);
      await makePlan({ ...request, model }, planPath);
      const plan = JSON.parse(readFileSync(planPath, 'utf8')) as { model: { family: string; layers: number }; actions: unknown[] };
      const { result, verification } = await drain(verifyVirtually(planPath, TEXT, { maxTokens: MAX_TOKENS, providers: ['cpu'] }));
      return { plan, result, verification };
    };
    const hf = await verify(HF);
    const gguf = await verify(GGUF);
    assert.deepEqual(gguf.plan.actions, hf.plan.actions, 'the same blocks, ratios');
    assert.deepEqual([gguf.plan.model.family, gguf.plan.model.layers], ['llama', 2]);
    assert.deepEqual(gguf.verification.perplexity, hf.verification.perplexity, 'perplexity before and after, run in memory');
    assert.notEqual(gguf.verification.perplexity.after, gguf.verification.perplexity.before);
    assert.deepEqual([gguf.result.layers, gguf.result.zeroed], [hf.result.layers, hf.result.zeroed]);
    assert.equal(gguf.result.files.length, 0, 'nothing written');
  });
}

test('stories260K.gguf: dropping its lowest Block Influence block verifies to torch\'s ablation perplexity', async (t) => {
  const path = needsShared(t, 'models/stories260K/stories260K.gguf');
  if (!path) return;
  const golden = JSON.parse(readFileSync(join(FIXTURES, 'gguf-golden.json'), 'utf8')).stories260K as { text: string; block_influence: number[]; ablation_perplexity: number[]; perplexity: number };
  const dir = tempDir();
  const text = writeTemp(dir, 'story.txt', golden.text);
  const planPath = join(dir, 'p.pruneplan.json');
  await makePlan({ model: path, dropLayers: 1, textFile: text }, planPath);
  const plan = JSON.parse(readFileSync(planPath, 'utf8')) as { actions: { layers: number[] }[] };
  const lowest = golden.block_influence.indexOf(Math.min(...golden.block_influence));
  assert.deepEqual(plan.actions[0]!.layers, [lowest]);
  const { verification } = await drain(verifyVirtually(planPath, text, { providers: ['cpu'] }));
  const expected = golden.ablation_perplexity[lowest]!;
  assert.ok(Math.abs(verification.perplexity.after - expected) <= 1e-4 * expected, `after ${verification.perplexity.after} vs torch ${expected}`);
  assert.ok(Math.abs(verification.perplexity.before - golden.perplexity) <= 1e-4 * golden.perplexity);
});

test('GGUF plans: the choices offered, and writing, heads and quantised sparsity refused by name', async () => {
  const choices = await planChoices(GGUF);
  assert.equal(choices.runsOnText, true, 'the file carries its tokenizer');
  assert.deepEqual(choices.available.map((c) => c.kind).sort(), ['contiguous-block', 'drop-layers', 'sparsity']);
  assert.match(choices.unavailable.find((u) => u.kind === 'drop-heads')!.reason, /dropping heads of a GGUF model is not supported/);

  const dir = tempDir();
  const planPath = join(dir, 'p.pruneplan.json');
  await makePlan({ model: GGUF, dropLayers: 1 }, planPath);
  await assert.rejects(drain(applyPlan(planPath, join(dir, 'out'))), (e: unknown) => e instanceof InputError && /writing a pruned GGUF is not supported.*apply PLAN --verify --text-file F/.test(e.message));
  await assert.rejects(drain(generatePlan({ model: GGUF, dropHeads: 1 })), /dropping heads of a GGUF model/);
  await assert.rejects(drain(generatePlan({ model: join(FIXTURES, 'gguf', 'llama-rope-linear.q8_0.gguf'), sparsity: 0.5 })), /blk\.0\.attn_q\.weight' is Q8_0; sparsity supports F32, F16 and BF16/);
});
