// Plans through the analysis child process, as the editor runs them: what can be planned, a plan, its preview on
// paper, apply with and without a kept result, verification, cancel and malformed plans.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CancelledError, InputError } from '../../src/errors';
import { applyPlan } from '../../src/plan/apply';
import { AnalysisWorkerClient } from '../../src/worker/client';
import { DIST, ROOT, SAMPLE_DIR, tempDir } from './helpers';
import { hashDirectory, makePlan } from './planHelpers';
import { SAMPLE_CONFIG, sampleLayout } from '../fixtures/makeSample';
import { encodeSafetensors, type TensorSpec } from '../fixtures/safetensorsWriter';

const WORKER = join(DIST, 'worker.js');
const KJV = join(ROOT, 'samples', 'tiny-llama-kjv');
const TEXT = join(ROOT, 'samples', 'text', 'psalms-23.txt');

function worker(t: { after: (fn: () => void) => void }): AnalysisWorkerClient {
  const client = new AnalysisWorkerClient(WORKER);
  t.after(() => client.dispose());
  return client;
}

test('plan-choices lists what generatePlan accepts for the model, with limits and metrics', async (t) => {
  const client = worker(t);
  const { result } = await client.run({ analysis: 'plan-choices', model: KJV });
  assert.equal(result.runsOnText, true);
  const byKind = new Map(result.available.map((c) => [c.kind, c]));
  assert.deepEqual([...byKind.keys()], ['drop-layers', 'contiguous-block', 'sparsity', 'drop-heads', 'drop-query-heads', 'drop-mlp-channels']);
  assert.deepEqual(byKind.get('drop-mlp-channels'), { kind: 'drop-mlp-channels', max: 351, metrics: [{ name: 'channel-taylor', needsText: true }, { name: 'channel-magnitude', needsText: false }] });
  assert.equal(byKind.get('drop-layers')!.max, 3);
  assert.equal(byKind.get('drop-heads')!.max, 1, '2 KV heads: one group may go');
  assert.deepEqual(byKind.get('drop-layers')!.metrics.map((m) => m.name), ['block-influence', 'angular', 'ablation', 'wanda', 'taylor', 'fisher', 'weight-l2']);
  assert.deepEqual(byKind.get('sparsity')!.metrics, [{ name: 'wanda', needsText: true }, { name: 'magnitude', needsText: false }]);
  // head-l2 (generatePlan's default) first; LLM-Pruner's group Taylor on a text where gradients run.
  assert.deepEqual(byKind.get('drop-heads')!.metrics, [{ name: 'head-l2', needsText: false }, { name: 'head-taylor', needsText: true }]);
  assert.deepEqual(byKind.get('drop-query-heads')!.metrics.map((m) => m.name), ['head-l2', 'head-taylor']);
  assert.match(result.unavailable.find((u) => u.kind === 'drop-experts')!.reason, /no MoE experts/);
  // No tokenizer: weight-only metrics only.
  const random = (await client.run({ analysis: 'plan-choices', model: SAMPLE_DIR })).result;
  assert.equal(random.runsOnText, false);
  assert.deepEqual(random.available[0]!.metrics, [{ name: 'weight-l2', needsText: false }]);
});

test('plan, preview, apply and verify run in the worker; the original is untouched', async (t) => {
  const client = worker(t);
  const dir = tempDir();
  const before = hashDirectory(KJV);
  const progress: string[] = [];
  const planned = await client.run({ analysis: 'plan', model: KJV, dropLayers: 1, metric: 'block-influence', textFile: TEXT, planDirectory: dir, providers: ['cpu'] }, { onProgress: (p) => progress.push(p.message) });
  assert.equal(planned.result.device, 'cpu');
  assert.ok(progress.length >= 1, 'progress reached the host');
  const plan = planned.result.plan;
  const planPath = join(dir, 'drop1.pruneplan.json');
  writeFileSync(planPath, `${JSON.stringify(plan, null, 2)}\n`);
  const dropped = (plan.actions[0] as { layers: number[] }).layers[0]!;

  const preview = (await client.run({ analysis: 'plan-preview', plan: planPath })).result;
  assert.equal(JSON.parse(preview.config.before).num_hidden_layers, 4);
  assert.equal(JSON.parse(preview.config.after).num_hidden_layers, 3);
  assert.deepEqual(preview.configChanges, ['num_hidden_layers']);
  assert.equal(preview.weightMap.indexFile, null, 'a single-file checkpoint gets a generated weight map');
  const mapBefore = JSON.parse(preview.weightMap.before).weight_map as Record<string, string>;
  const mapAfter = JSON.parse(preview.weightMap.after).weight_map as Record<string, string>;
  assert.equal(Object.keys(mapBefore).length - Object.keys(mapAfter).length, 9, 'one block of 9 tensors goes');
  assert.ok(!('model.layers.3.mlp.up_proj.weight' in mapAfter), 'the last block is renumbered down');
  assert.deepEqual(preview.rows.map((r) => [r.layer, r.removed, r.after]), [0, 1, 2, 3].map((l) => [l, l === dropped, l === dropped ? null : l - (l > dropped ? 1 : 0)]));
  assert.ok(preview.rows.every((r) => r.configKey === 'num_hidden_layers' && r.score !== null && r.tensor?.file.endsWith('model.safetensors')));

  // Verify only: the plan runs on the source model in memory (src/plan/virtual.ts); nothing is written.
  const verified = (await client.run({ analysis: 'apply', plan: planPath, out: null, verify: { textFile: TEXT }, providers: ['cpu'] })).result;
  assert.equal(verified.kept, false);
  assert.equal(existsSync(verified.out), false);
  assert.ok(verified.verification!.perplexity.before > 1 && verified.verification!.perplexity.after > verified.verification!.perplexity.before);
  assert.equal(verified.verification!.device, 'cpu');

  const out = join(dir, 'pruned');
  const applied = (await client.run({ analysis: 'apply', plan: planPath, out })).result;
  assert.equal(applied.kept, true);
  assert.equal(applied.verification, null);
  assert.deepEqual(applied.parameters, { before: plan.predicted.parameters.before, after: plan.predicted.parameters.after });
  assert.ok(existsSync(join(out, 'config.json')) && existsSync(join(out, 'tokenizer.json')));
  assert.deepEqual(hashDirectory(KJV), before);
});

/** SAMPLE_CONFIG's Llama at hidden 512 and 8 blocks, weights zero (apply does not look at them). */
function largeModel(dir: string): string {
  const config = { ...SAMPLE_CONFIG, hidden_size: 512, intermediate_size: 1408, num_hidden_layers: 8 };
  const tensors = sampleLayout(config).map(({ name, shape }): TensorSpec => ({ name, dtype: 'F32', shape, data: Buffer.alloc(shape.reduce((a, b) => a * b, 1) * 4) }));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(tensors));
  return dir;
}

test('cancel stops a plan and an apply; apply leaves no folder behind', async (t) => {
  const client = worker(t);
  const dir = tempDir();
  // Cancelled at its first progress report (the worker sends the first one at once).
  const controller = new AbortController();
  const running = client.run({ analysis: 'plan', model: KJV, dropLayers: 1, metric: 'ablation', textFile: TEXT, planDirectory: dir, providers: ['cpu'] }, { signal: controller.signal, onProgress: () => controller.abort() });
  await assert.rejects(running, CancelledError);

  // An apply that writes ~90 MB over 73 tensors: the cancel, sent when the first progress arrives, lands while it
  // writes even on a loaded machine (the sample's 4 MB could be written before the cancel crossed the pipe).
  const model = largeModel(tempDir());
  const plan = (await client.run({ analysis: 'plan', model, dropLayers: 1, metric: 'weight-l2', planDirectory: dir })).result.plan;
  const planPath = join(dir, 'p.pruneplan.json');
  writeFileSync(planPath, JSON.stringify(plan));
  const applying = new AbortController();
  const apply = client.run({ analysis: 'apply', plan: planPath, out: join(dir, 'out') }, { signal: applying.signal, onProgress: () => applying.abort() });
  await assert.rejects(apply, CancelledError);
  // The worker stays up and the folder holds only the plan (no result, no temporary directory).
  await client.run({ analysis: 'plan-choices', model: KJV });
  assert.deepEqual(readdirSync(dir), ['p.pruneplan.json']);
});

test('an apply returned from at a yield (how the worker cancels between steps) removes its temporary folder', async () => {
  const dir = tempDir();
  const planPath = join(dir, 'p.pruneplan.json');
  await makePlan({ model: KJV, dropLayers: 1, metric: 'weight-l2' }, planPath);
  const applying = applyPlan(planPath, join(dir, 'out'));
  const first = await applying.next();
  assert.match(first.done ? '' : first.value.message, /^Writing model\.safetensors/);
  assert.equal(readdirSync(dir).length, 2, 'the plan and the temporary folder');
  await applying.return(undefined as never);
  assert.deepEqual(readdirSync(dir), ['p.pruneplan.json']);
});

test('malformed plans fail in preview and apply with the validator\'s message, and nothing is written', async (t) => {
  const client = worker(t);
  const dir = tempDir();
  const plan = (await client.run({ analysis: 'plan', model: KJV, dropLayers: 1, metric: 'weight-l2', planDirectory: dir })).result.plan;
  const planPath = join(dir, 'bad.pruneplan.json');
  const unknownLayer = { ...plan, actions: [{ type: 'drop-layers', layers: [7], selection: 'manual' }] };
  writeFileSync(planPath, JSON.stringify(unknownLayer));
  await assert.rejects(client.run({ analysis: 'plan-preview', plan: planPath }), (e: unknown) => e instanceof InputError && /actions\[0\]\.layers\[0\]: block 7 does not exist/.test(e.message));
  await assert.rejects(client.run({ analysis: 'apply', plan: planPath, out: join(dir, 'out') }), InputError);
  // An editor's unsaved text is checked instead of the file.
  await assert.rejects(client.run({ analysis: 'plan-preview', plan: planPath, text: JSON.stringify({ ...plan, model: 3 }) }), /model: expected an object, found 3/);
  await assert.rejects(client.run({ analysis: 'plan-preview', plan: planPath, text: '{' }), /is not valid JSON/);
  assert.deepEqual(readdirSync(dir), ['bad.pruneplan.json']);
});
