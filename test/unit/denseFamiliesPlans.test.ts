// Plans on the Qwen3 and Gemma 1/2/3 fixtures (test/fixtures/models/make_dense_fixtures.py): a plan verified
// without writing (plan/virtual.ts, the engine skipping or masking in memory) gives the perplexity of the
// checkpoint apply writes, for layer drops (ShortGPT), head drops and Wanda sparsity; and a Gemma 2/3 layer drop
// writes the layer_types the kept blocks had, since transformers (and the engine) would otherwise derive them anew
// from the renumbered indices.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { perplexity } from '../../src/analyses/perplexity';
import { applyPlan } from '../../src/plan/apply';
import { headLayout } from '../../src/plan/heads';
import type { SourceModel } from '../../src/plan/source';
import type { PlanRequest } from '../../src/plan/generate';
import { verifyVirtually } from '../../src/plan/virtual';
import { ROOT, tempDir } from './helpers';
import { makePlan } from './planHelpers';

const model = (name: string) => join(ROOT, 'test', 'fixtures', 'models', name);
const TEXT = join(ROOT, 'samples', 'text', 'john-1.txt');
const MAX_TOKENS = 64;

/** [name, request, the block a drop-layers plan is edited to drop (null: as chosen)]. */
const cases: [string, Omit<PlanRequest, 'planDirectory' | 'providers'>, number | null][] = [
  ['qwen3: drop one block (Block Influence)', { model: model('qwen3-head-dim'), dropLayers: 1, textFile: TEXT, maxTokens: MAX_TOKENS }, null],
  ['qwen3: drop a KV group', { model: model('qwen3-head-dim'), dropHeads: 1 }, null],
  ['gemma: drop one block', { model: model('gemma'), dropLayers: 1 }, null],
  ['gemma2: drop the sliding block 0 (the global block 1 stays global)', { model: model('gemma2'), dropLayers: 1 }, 0],
  ['gemma3: drop the sliding block 0 (the global block 1 keeps its RoPE base and scaling)', { model: model('gemma3-text'), dropLayers: 1 }, 0],
  ['gemma3: drop query heads', { model: model('gemma3-text'), dropQueryHeads: 1 }, null],
  ['gemma2: Wanda sparsity', { model: model('gemma2'), sparsity: 0.4, metric: 'wanda', textFile: TEXT, maxTokens: MAX_TOKENS }, null],
];

for (const [name, request, dropped] of cases) {
  test(`verifying without writing equals apply's checkpoint: ${name}`, async () => {
    const dir = tempDir();
    const planPath = join(dir, 'p.pruneplan.json');
    await makePlan(request, planPath);
    if (dropped !== null) {
      const plan = JSON.parse(readFileSync(planPath, 'utf8'));
      plan.actions[0].layers = [dropped];
      writeFileSync(planPath, JSON.stringify(plan));
    }
    const out = join(dir, 'pruned');
    const applied = await drain(applyPlan(planPath, out, { providers: ['cpu'] }));
    const input = { text: { file: TEXT }, maxTokens: MAX_TOKENS, providers: ['cpu'] };
    const written = await drain(perplexity({ model: out, ...input }));
    const { result, verification } = await drain(verifyVirtually(planPath, TEXT, { maxTokens: MAX_TOKENS, providers: ['cpu'] }));
    assert.ok(Math.abs(verification.perplexity.after - written.perplexity) <= 1e-5 * written.perplexity, `after: virtual ${verification.perplexity.after} vs written ${written.perplexity}`);
    assert.notEqual(verification.perplexity.after, verification.perplexity.before);
    assert.deepEqual([result.parameters, result.layers], [applied.parameters, applied.layers]);
    if (dropped !== null) {
      const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
      assert.deepEqual(config.layer_types, ['full_attention'], 'the kept block is global, as it was');
      assert.ok(applied.configChanges.some((c) => c.includes('layer_types')), JSON.stringify(applied.configChanges));
    }
  });
}

test('head plans read the attention shape as the engine family does: Qwen3 and Gemma head_dim defaults, and the shared reader otherwise', () => {
  const source = (config: Record<string, unknown>) => ({
    path: '/m', directory: '/m', format: 'safetensors', configPath: '/m/config.json', config, family: String(config.model_type),
    tensors: [{ name: 'model.layers.0.self_attn.q_proj.weight' }],
  }) as unknown as SourceModel;
  const qwen3 = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'models', 'qwen3-head-dim', 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(headLayout(source(qwen3)), { heads: 4, kvHeads: 2, headDim: 32, group: 2 });
  // Absent head_dim: Qwen3Config's default 128, not hidden / heads = 16.
  assert.equal(headLayout(source({ ...qwen3, head_dim: undefined })).headDim, 128);
  // A config no family runs: num_* keys, head_dim = hidden / heads, refused by name where KV heads do not group.
  const other = { model_type: 'unknown_lm', hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2 };
  assert.deepEqual(headLayout(source(other)), { heads: 4, kvHeads: 2, headDim: 16, group: 2 });
  assert.throws(() => headLayout(source({ ...other, num_key_value_heads: 3 })), /num_attention_heads 4 is not a multiple of num_key_value_heads 3/);
});
