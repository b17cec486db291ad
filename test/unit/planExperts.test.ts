// drop-experts on a tiny Mixtral-layout checkpoint made here, structural and byte-level (forward passes of pruned
// models and text-scored expert plans: moePlans.test.ts): dropped experts' tensors are gone, the rest renumbered,
// router rows follow the experts they score, config's expert count updated; composes with drop-layers; bad splits
// refused.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { openCheckpoint } from '../../src/formats/open';
import { applyPlan } from '../../src/plan/apply';
import { planChoices } from '../../src/plan/choices';
import { planPreview } from '../../src/plan/preview';
import { encodeSafetensors, normalF32, seededRandom, type TensorSpec } from '../fixtures/safetensorsWriter';
import { tempDir } from './helpers';
import { hashDirectory, makePlan } from './planHelpers';

const [HIDDEN, INTER, EXPERTS, LAYERS, VOCAB] = [8, 6, 4, 2, 16];

function tinyMixtral(dir: string): string {
  const random = seededRandom(7);
  const t = (name: string, shape: number[]): TensorSpec => ({ name, dtype: 'F32', shape, data: normalF32(shape.reduce((a, b) => a * b, 1), 1, random) });
  const tensors = [t('model.embed_tokens.weight', [VOCAB, HIDDEN])];
  for (let l = 0; l < LAYERS; l++) {
    const p = `model.layers.${l}`;
    tensors.push(t(`${p}.input_layernorm.weight`, [HIDDEN]), t(`${p}.post_attention_layernorm.weight`, [HIDDEN]));
    for (const m of ['q', 'k', 'v', 'o']) tensors.push(t(`${p}.self_attn.${m}_proj.weight`, [HIDDEN, HIDDEN]));
    tensors.push(t(`${p}.block_sparse_moe.gate.weight`, [EXPERTS, HIDDEN]));
    for (let e = 0; e < EXPERTS; e++) {
      tensors.push(t(`${p}.block_sparse_moe.experts.${e}.w1.weight`, [INTER, HIDDEN]), t(`${p}.block_sparse_moe.experts.${e}.w2.weight`, [HIDDEN, INTER]), t(`${p}.block_sparse_moe.experts.${e}.w3.weight`, [INTER, HIDDEN]));
    }
  }
  tensors.push(t('model.norm.weight', [HIDDEN]), t('lm_head.weight', [VOCAB, HIDDEN]));
  const model = join(dir, 'tiny-mixtral');
  mkdirSync(model);
  writeFileSync(join(model, 'model.safetensors'), encodeSafetensors(tensors, { format: 'pt' }));
  writeFileSync(join(model, 'config.json'), JSON.stringify({
    architectures: ['MixtralForCausalLM'], model_type: 'mixtral', hidden_size: HIDDEN, intermediate_size: INTER, num_hidden_layers: LAYERS,
    num_attention_heads: 2, num_key_value_heads: 2, num_local_experts: EXPERTS, num_experts_per_tok: 2, vocab_size: VOCAB,
  }, null, 2));
  return model;
}

const bytesOf = (t: { file: string; byteOffset: number; byteLength: number }) => readFileSync(t.file).subarray(t.byteOffset, t.byteOffset + t.byteLength);

test('drop-experts: plan by expert-l2, apply renumbers experts and slices router rows', async () => {
  const dir = tempDir();
  const model = tinyMixtral(dir);
  const before = hashDirectory(model);
  const planPath = join(dir, 'experts.pruneplan.json');
  await makePlan({ model, dropExperts: 1 }, planPath);
  const plan = JSON.parse(readFileSync(planPath, 'utf8'));
  assert.equal(plan.metric.name, 'expert-l2');
  assert.equal(plan.metric.scores.length, LAYERS * EXPERTS);
  const drop: Record<string, number[]> = plan.actions[0].experts;
  assert.deepEqual(Object.keys(drop), ['0', '1']);
  const result = await drain(applyPlan(planPath, join(dir, 'out'), { providers: ['cpu'] }));
  assert.equal(result.parameters.after, plan.predicted.parameters.after);
  assert.equal(result.parameters.before - result.parameters.after, LAYERS * (3 * INTER * HIDDEN + HIDDEN));
  assert.deepEqual(hashDirectory(model), before);
  const config = JSON.parse(readFileSync(join(dir, 'out', 'config.json'), 'utf8'));
  assert.equal(config.num_local_experts, EXPERTS - 1);
  // The editor: drop-experts offered up to experts − routed per token; the preview rows name each dropped expert.
  assert.equal((await planChoices(model)).available.find((c) => c.kind === 'drop-experts')?.max, EXPERTS - 2);
  const preview = await planPreview(planPath);
  assert.equal(preview.config.after, readFileSync(join(dir, 'out', 'config.json'), 'utf8'));
  assert.deepEqual(preview.rows.map((r) => [r.kind, r.layer, r.index, r.configKey]), [0, 1].map((l) => ['expert', l, drop[String(l)]![0], 'num_local_experts']));
  assert.ok(preview.rows.every((r) => r.tensor!.name.includes(`.experts.${r.index}.`) && r.score !== null));
  const { header: src } = await openCheckpoint(model);
  const { header: out } = await openCheckpoint(join(dir, 'out'));
  const get = (h: typeof src, name: string) => h!.tensors.find((t) => t.name === name);
  for (let l = 0; l < LAYERS; l++) {
    const kept = Array.from({ length: EXPERTS }, (_, e) => e).filter((e) => !drop[String(l)]!.includes(e));
    kept.forEach((e, i) => {
      const name = (x: number) => `model.layers.${l}.block_sparse_moe.experts.${x}.w2.weight`;
      assert.deepEqual(bytesOf(get(out, name(i))!), bytesOf(get(src, name(e))!), `block ${l} expert ${e} -> ${i}`);
    });
    assert.equal(get(out, `model.layers.${l}.block_sparse_moe.experts.${EXPERTS - 1}.w1.weight`), undefined);
    const router = get(out, `model.layers.${l}.block_sparse_moe.gate.weight`)!;
    assert.deepEqual(router.shape, [EXPERTS - 1, HIDDEN]);
    const srcRouter = bytesOf(get(src, `model.layers.${l}.block_sparse_moe.gate.weight`)!);
    assert.deepEqual(bytesOf(router), Buffer.concat(kept.map((e) => srcRouter.subarray(e * HIDDEN * 4, (e + 1) * HIDDEN * 4))));
  }
});

test('drop-experts composes with drop-layers, and bad expert splits are refused before writing', async () => {
  const dir = tempDir();
  const model = tinyMixtral(dir);
  const planPath = join(dir, 'experts.pruneplan.json');
  await makePlan({ model, dropExperts: 1 }, planPath);
  const base = JSON.parse(readFileSync(planPath, 'utf8'));
  const combined = { ...base, actions: [{ type: 'drop-layers', layers: [0], selection: 'manual' }, { type: 'drop-experts', experts: { 1: [0] } }] };
  writeFileSync(planPath, JSON.stringify(combined));
  const result = await drain(applyPlan(planPath, join(dir, 'both'), { providers: ['cpu'] }));
  assert.deepEqual(result.layers, { before: 2, after: 1 });
  const { header: src } = await openCheckpoint(model);
  const { header: out } = await openCheckpoint(join(dir, 'both'));
  const source = src!.tensors.find((t) => t.name === 'model.layers.1.block_sparse_moe.experts.3.w1.weight')!;
  const moved = out!.tensors.find((t) => t.name === 'model.layers.0.block_sparse_moe.experts.2.w1.weight')!;
  assert.deepEqual(bytesOf(moved), bytesOf(source));

  for (const [experts, error] of [
    [{ 0: [9], 1: [0] }, /block 0 has experts 0\.\.3, not 9/],
    [{ 0: [1] }, /every MoE block must drop the same number of experts.*block 1 drops 0/],
    [{ 0: [0, 1, 2], 1: [0, 1, 2] }, /leaves 1 experts per block but num_experts_per_tok is 2/],
  ] as const) {
    writeFileSync(planPath, JSON.stringify({ ...base, actions: [{ type: 'drop-experts', experts }] }));
    await assert.rejects(drain(applyPlan(planPath, join(dir, 'never'), { providers: ['cpu'] })), error);
  }
});
