// Verifying a plan without writing it (plan/virtual.ts) gives the perplexity of what apply writes: the same text
// through the written checkpoint (perplexity analysis) and through the source with the plan run in memory.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { perplexity } from '../../src/analyses/perplexity';
import { applyAndVerify } from '../../src/plan/verify';
import { applyPlan } from '../../src/plan/apply';
import { verifyVirtually } from '../../src/plan/virtual';
import type { PlanRequest } from '../../src/plan/generate';
import { ROOT, tempDir } from './helpers';
import { makePlan } from './planHelpers';

const KJV = join(ROOT, 'samples', 'tiny-llama-kjv');
const GPT2 = join(ROOT, 'test', 'fixtures', 'models', 'tiny-gpt2');
const TEXT = join(ROOT, 'samples', 'text', 'john-1.txt');
const MAX_TOKENS = 96;

const cases: [string, Omit<PlanRequest, 'planDirectory' | 'providers'>][] = [
  ['drop one block', { model: KJV, dropLayers: 1 }],
  ['drop a KV group', { model: KJV, dropHeads: 1 }],
  ['drop query heads', { model: KJV, dropQueryHeads: 1 }],
  ['magnitude sparsity', { model: KJV, sparsity: 0.5 }],
  ['Wanda sparsity, OWL', { model: KJV, sparsity: 0.4, metric: 'wanda', textFile: TEXT, maxTokens: 64, allocation: 'owl' }],
  ['GPT-2 Conv1D sparsity', { model: GPT2, sparsity: 0.5 }],
  ['GPT-2 drop one block', { model: GPT2, dropLayers: 1 }],
];

for (const [name, request] of cases) {
  test(`verifying without writing equals apply's checkpoint: ${name}`, async () => {
    const dir = tempDir();
    const planPath = join(dir, 'p.pruneplan.json');
    await makePlan(request, planPath);
    const out = join(dir, 'pruned');
    const applied = await drain(applyPlan(planPath, out, { providers: ['cpu'] }));
    const input = { text: { file: TEXT }, maxTokens: MAX_TOKENS, providers: ['cpu'] };
    const written = await drain(perplexity({ model: out, ...input }));
    const source = await drain(perplexity({ model: request.model, ...input }));
    const { result, verification } = await drain(verifyVirtually(planPath, TEXT, { maxTokens: MAX_TOKENS, providers: ['cpu'] }));
    assert.ok(Math.abs(verification.perplexity.after - written.perplexity) <= 1e-5 * written.perplexity, `after: virtual ${verification.perplexity.after} vs written ${written.perplexity}`);
    assert.ok(Math.abs(verification.perplexity.before - source.perplexity) <= 1e-9 * source.perplexity);
    assert.notEqual(verification.perplexity.after, verification.perplexity.before);
    assert.deepEqual([result.parameters, result.bytes, result.layers, result.zeroed], [applied.parameters, applied.bytes, applied.layers, applied.zeroed]);
  });
}

test('the editor\'s verify-only apply runs virtually: nothing is written', async () => {
  const dir = tempDir();
  const planPath = join(dir, 'p.pruneplan.json');
  await makePlan({ model: KJV, dropLayers: 1 }, planPath);
  const outcome = await drain(applyAndVerify({ analysis: 'apply', plan: planPath, out: null, verify: { textFile: TEXT, maxTokens: MAX_TOKENS }, providers: ['cpu'] }));
  assert.equal(outcome.kept, false);
  assert.equal(outcome.out, '');
  assert.ok(!existsSync(join(dir, 'pruned')));
  assert.ok(outcome.verification!.perplexity.after > outcome.verification!.perplexity.before);
});
