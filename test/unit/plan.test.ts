// Pruning plans (src/plan): the pieces (writer, renumbering, OWL allocation, per-row sparsity against a brute-force
// selection) and plan → apply on the sample and the model fixtures of each family, read back like any checkpoint.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { activationLayers } from '../../src/analyses/activationLayers';
import { perplexity } from '../../src/analyses/perplexity';
import { encodeSafetensors } from '../fixtures/safetensorsWriter';
import { openCheckpoint } from '../../src/formats/open';
import { owlRatios, perOutput } from '../../src/plan/allocation';
import { applyPlan } from '../../src/plan/apply';
import { planPreview } from '../../src/plan/preview';
import { lowestScoring, contiguousAlternative } from '../../src/plan/layerSelection';
import type { LinearWeight } from '../../src/plan/linearWeights';
import { blockMapping, prunedConfig, renumberName } from '../../src/plan/renumber';
import { SafetensorsWriter } from '../../src/plan/safetensorsWriter';
import { writeSparsified } from '../../src/plan/sparsify';
import { validatePlan } from '../../src/plan/validate';
import { ROOT, tempDir } from './helpers';
import { hashDirectory, makePlan } from './planHelpers';

const SAMPLE = join(ROOT, 'samples', 'tiny-llama-kjv');
const TEXT = join(ROOT, 'samples', 'text', 'john-1.txt');
const FIXTURES = ['tiny-gpt2', 'tiny-qwen2', 'tiny-qwen2-bf16'].map((n) => join(ROOT, 'test', 'fixtures', 'models', n));

test('the streaming writer produces a file the reader reads back, zero-length tensors included', async () => {
  const dir = tempDir();
  const path = join(dir, 'w.safetensors');
  const a = Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
  const writer = await SafetensorsWriter.create(path, [
    { name: 'a', dtype: 'F32', shape: [2, 3], byteLength: 24 },
    { name: 'empty', dtype: 'F32', shape: [0], byteLength: 0 },
    { name: 'b', dtype: 'U8', shape: [3], byteLength: 3 },
  ], { format: 'pt' });
  await writer.write(a.subarray(0, 10));
  await writer.write(a.subarray(10));
  await writer.write(Buffer.from([7, 8, 9]));
  await writer.close();
  const { header } = await openCheckpoint(path);
  assert.deepEqual(header!.tensors.map((t) => [t.name, t.shape, t.byteLength]), [['a', [2, 3], 24], ['empty', [0], 0], ['b', [3], 3]]);
  const bytes = readFileSync(path);
  assert.equal(Number(bytes.readBigUInt64LE(0)) % 8, 0);
  assert.deepEqual(bytes.subarray(header!.tensors[0]!.byteOffset, header!.tensors[0]!.byteOffset + 24), a);
  await assert.rejects(SafetensorsWriter.create(path, [], {}), /EEXIST/);
});

test('renumbering: names across families, config layer lists', () => {
  assert.equal(renumberName('model.layers.3.self_attn.q_proj.weight', 3, 1), 'model.layers.1.self_attn.q_proj.weight');
  assert.equal(renumberName('transformer.h.11.mlp.c_fc.bias', 11, 9), 'transformer.h.9.mlp.c_fc.bias');
  assert.equal(renumberName('model.layers.1.mlp.experts.1.w1.weight', 1, 0), 'model.layers.0.mlp.experts.1.w1.weight');
  const mapping = blockMapping(4, new Set([1, 2]));
  assert.deepEqual([...mapping], [[0, 0], [3, 1]]);
  const { config, changed } = prunedConfig({ num_hidden_layers: 4, layer_types: ['a', 'b', 'c', 'd'], mlp_only_layers: [2, 3], max_window_layers: 2, hidden_size: 4 }, 'num_hidden_layers', 4, mapping);
  assert.deepEqual(config, { num_hidden_layers: 2, layer_types: ['a', 'd'], mlp_only_layers: [1], max_window_layers: 1, hidden_size: 4 });
  assert.deepEqual(changed.sort(), ['layer_types', 'max_window_layers', 'mlp_only_layers', 'num_hidden_layers']);
});

test('layer selection: lowest scores and the best contiguous block', () => {
  const scores = [0.9, 0.1, 0.3, 0.2, 0.5].map((score, index) => ({ index, score }));
  assert.deepEqual(lowestScoring(scores, 2), [1, 3]);
  assert.deepEqual(contiguousAlternative(scores, 2, null).layers, [1, 2]);
  assert.deepEqual(contiguousAlternative(scores, 2, [0.5, 0.4, 0.1, 0.3]).layers, [2, 3]);
});

test('OWL ratios average to the target, stay within ±λ, and give outlier-rich blocks less sparsity', () => {
  const outliers = [0.002, 0.004, 0.001, 0.003];
  const ratios = owlRatios(0.5, outliers, 0.08);
  assert.ok(Math.abs(ratios.reduce((s, r) => s + r, 0) / ratios.length - 0.5) < 1e-12);
  for (const r of ratios) assert.ok(r >= 0.42 - 1e-12 && r <= 0.58 + 1e-12, String(r));
  assert.ok(ratios[1]! < ratios[3]! && ratios[3]! < ratios[0]! && ratios[0]! < ratios[2]!);
  assert.deepEqual(owlRatios(0.3, [0.1, 0.1], 0.08), [0.3, 0.3]);
  assert.equal(perOutput(0.29, 100), 29);
});

for (const layout of ['out-in', 'in-out'] as const) {
  for (const dtype of ['F32', 'BF16'] as const) {
    test(`per-output sparsity (${layout}, ${dtype}) zeroes exactly the lowest scores of each output, ties in storage order`, async () => {
      const dir = tempDir();
      const [rows, cols] = [7, 12];
      const values = Float32Array.from({ length: rows * cols }, (_, i) => ((i * 7919) % 13) - 6 + (i % 5 === 0 ? 0 : 0.25 * (i % 3)));
      const raw = dtype === 'F32' ? Buffer.from(values.buffer) : Buffer.from(new Uint16Array(Array.from(new Uint32Array(values.buffer), (u) => u >>> 16)).buffer);
      const valuesOf = (buf: Buffer) => (dtype === 'F32' ? new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)) : Float32Array.from(new Uint16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)), (h) => new Float32Array(new Uint32Array([h << 16]).buffer)[0]!));
      const sourcePath = join(dir, 'src.bin');
      writeFileSync(sourcePath, raw);
      const [outputs, inputs] = layout === 'out-in' ? [rows, cols] : [cols, rows];
      const norms = Float64Array.from({ length: inputs }, (_, j) => 1 + (j % 4));
      const weight: LinearWeight = { tensor: { name: 'w', dtype, shape: [rows, cols], count: rows * cols, file: sourcePath, byteOffset: 0, byteLength: raw.length }, layer: 0, layout, outputs, inputs, norms };
      const outPath = join(dir, 'out.safetensors');
      const writer = await SafetensorsWriter.create(outPath, [{ name: 'w', dtype, shape: [rows, cols], byteLength: raw.length }], {});
      const handle = await open(sourcePath, 'r');
      const zeroed = await writeSparsified(weight, 0.5, handle, writer);
      await handle.close();
      await writer.close();
      const { header } = await openCheckpoint(outPath);
      const t = header!.tensors[0]!;
      const got = valuesOf(readFileSync(outPath).subarray(t.byteOffset, t.byteOffset + t.byteLength));
      const source = valuesOf(raw);
      // Brute force: per output, sort (score, storage index) and zero the first floor(0.5 × inputs).
      const at = (o: number, j: number) => (layout === 'out-in' ? o * inputs + j : j * outputs + o);
      let expectedZeroed = 0;
      for (let o = 0; o < outputs; o++) {
        const order = Array.from({ length: inputs }, (_, j) => j).sort((a, b) => Math.fround(Math.abs(source[at(o, a)]!) * norms[a]!) - Math.fround(Math.abs(source[at(o, b)]!) * norms[b]!) || at(o, a) - at(o, b));
        const drop = new Set(order.slice(0, Math.floor(0.5 * inputs)));
        for (let j = 0; j < inputs; j++) {
          const expected = drop.has(j) ? 0 : source[at(o, j)]!;
          assert.ok(Object.is(got[at(o, j)], expected) || (expected === 0 && got[at(o, j)] === 0), `output ${o} input ${j}: ${got[at(o, j)]} vs ${expected}`);
        }
        expectedZeroed += drop.size;
      }
      assert.equal(zeroed, expectedZeroed);
    });
  }
}

test('plan → apply on the sample: drop the lowest-BI block, renumbered, smaller, reloads, original untouched', async () => {
  const dir = tempDir();
  const before = hashDirectory(SAMPLE);
  const planPath = join(dir, 'sample.pruneplan.json');
  await makePlan({ model: SAMPLE, dropLayers: 1, textFile: TEXT }, planPath);
  const plan = validatePlan(JSON.parse(readFileSync(planPath, 'utf8')), planPath);
  assert.equal(plan.metric.name, 'block-influence');
  assert.deepEqual(plan.actions, [{ type: 'drop-layers', layers: [1], selection: 'lowest-score' }]);
  assert.ok(!isAbsolute(plan.model.path) && resolve(dir, plan.model.path) === SAMPLE, plan.model.path);
  const out = join(dir, 'pruned');
  const result = await drain(applyPlan(planPath, out, { providers: ['cpu'] }));
  assert.deepEqual(result.files, ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  assert.deepEqual(result.layers, { before: 4, after: 3 });
  assert.equal(result.parameters.after, plan.predicted.parameters.after);
  assert.ok(result.parameters.after < result.parameters.before);
  assert.deepEqual(hashDirectory(SAMPLE), before);
  const { header } = await openCheckpoint(out);
  const blocks = new Set(header!.tensors.map((t) => /layers\.(\d+)\./.exec(t.name)?.[1]).filter(Boolean));
  assert.deepEqual([...blocks].sort(), ['0', '1', '2']);
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).num_hidden_layers, 3);
  assert.equal(readFileSync(join(out, 'tokenizer.json'), 'utf8'), readFileSync(join(SAMPLE, 'tokenizer.json'), 'utf8'));
  // Source block 2 is now block 1, byte for byte.
  const { header: src } = await openCheckpoint(SAMPLE);
  const bytesOf = (file: string, t: { byteOffset: number; byteLength: number }) => readFileSync(file).subarray(t.byteOffset, t.byteOffset + t.byteLength);
  const s = src!.tensors.find((t) => t.name === 'model.layers.2.mlp.down_proj.weight')!;
  const o = header!.tensors.find((t) => t.name === 'model.layers.1.mlp.down_proj.weight')!;
  assert.deepEqual(bytesOf(o.file, o), bytesOf(s.file, s));
});

test('tiny-qwen2 (q/k/v biases, BF16 twin): drop-heads slices rows, bias elements and o_proj columns byte for byte', async () => {
  for (const fixture of FIXTURES.slice(1)) {
    const dir = tempDir();
    await makePlan({ model: fixture, dropHeads: 1 }, join(dir, 'h.pruneplan.json'));
    const plan = validatePlan(JSON.parse(readFileSync(join(dir, 'h.pruneplan.json'), 'utf8')), 'h');
    const action = plan.actions[0]!;
    assert.equal(action.type, 'drop-heads');
    const kept = 1 - (action.type === 'drop-heads' ? action.kvGroups['0']![0]! : 0);
    const result = await drain(applyPlan(join(dir, 'h.pruneplan.json'), join(dir, 'h'), { providers: ['cpu'] }));
    assert.equal(result.parameters.after, plan.predicted.parameters.after);
    // The editor's preview is what apply writes: config.json (heads, KV heads, head_dim), and a row per dropped group.
    const preview = await planPreview(join(dir, 'h.pruneplan.json'));
    assert.equal(preview.config.after, readFileSync(join(dir, 'h', 'config.json'), 'utf8'));
    assert.deepEqual(preview.configChanges, ['num_attention_heads', 'num_key_value_heads', 'head_dim']);
    assert.deepEqual(preview.rows.map((r) => [r.kind, r.layer, r.index, r.configKey]), [['kv-group', 0, 1 - kept, 'num_key_value_heads'], ['kv-group', 1, plan.actions[0]!.type === 'drop-heads' ? plan.actions[0]!.kvGroups['1']![0]! : -1, 'num_key_value_heads']]);
    assert.ok(preview.rows.every((r) => r.score !== null && /k_proj/.test(r.tensor!.name)));
    const { header: src } = await openCheckpoint(fixture);
    const { header: out } = await openCheckpoint(join(dir, 'h'));
    const get = (h: typeof src, name: string) => h!.tensors.find((t) => t.name === name)!;
    const bytes = (t: { file: string; byteOffset: number; byteLength: number }) => readFileSync(t.file).subarray(t.byteOffset, t.byteOffset + t.byteLength);
    const size = get(src, 'model.layers.0.self_attn.q_proj.weight').byteLength / get(src, 'model.layers.0.self_attn.q_proj.weight').count;
    // 4 heads of 16 in 2 groups: q keeps 32 rows of 64 columns, k/v 16 rows, biases the same elements, o 32 columns.
    const q = get(out, 'model.layers.0.self_attn.q_proj.weight');
    assert.deepEqual(q.shape, [32, 64]);
    assert.deepEqual(bytes(q), bytes(get(src, 'model.layers.0.self_attn.q_proj.weight')).subarray(kept * 32 * 64 * size, (kept + 1) * 32 * 64 * size));
    const kb = get(out, 'model.layers.0.self_attn.k_proj.bias');
    assert.deepEqual(bytes(kb), bytes(get(src, 'model.layers.0.self_attn.k_proj.bias')).subarray(kept * 16 * size, (kept + 1) * 16 * size));
    const o = get(out, 'model.layers.0.self_attn.o_proj.weight');
    assert.deepEqual(o.shape, [64, 32]);
    const srcO = bytes(get(src, 'model.layers.0.self_attn.o_proj.weight'));
    for (const row of [0, 17, 63]) assert.deepEqual(bytes(o).subarray(row * 32 * size, (row + 1) * 32 * size), srcO.subarray((row * 64 + kept * 32) * size, (row * 64 + kept * 32 + 32) * size));
  }
});

for (const fixture of FIXTURES) {
  const name = fixture.split('/').pop()!;
  test(`${name}: plan → apply for drop-layers (weight-l2) and magnitude sparsity; originals byte-identical`, async () => {
    const dir = tempDir();
    const before = hashDirectory(fixture);
    await makePlan({ model: fixture, dropLayers: 1 }, join(dir, 'd.pruneplan.json'));
    const dropped = await drain(applyPlan(join(dir, 'd.pruneplan.json'), join(dir, 'd'), { providers: ['cpu'] }));
    assert.deepEqual(dropped.layers, { before: 2, after: 1 });
    await makePlan({ model: fixture, sparsity: 0.5, allocation: 'uniform' }, join(dir, 's.pruneplan.json'));
    const sparse = await drain(applyPlan(join(dir, 's.pruneplan.json'), join(dir, 's'), { providers: ['cpu'] }));
    assert.equal(sparse.parameters.after, sparse.parameters.before);
    assert.equal(sparse.bytes.after, sparse.bytes.before);
    assert.ok(sparse.zeroed > 0 && sparse.warnings.some((w) => /zeros are stored/.test(w)));
    assert.deepEqual(hashDirectory(fixture), before);
    for (const out of ['d', 's']) assert.ok((await openCheckpoint(join(dir, out))).header!.tensors.length > 0);
  });
}

test('a sharded checkpoint keeps its shards: index rewritten, a shard left empty is not written, same model as unsharded', async () => {
  const dir = tempDir();
  const source = FIXTURES[1]!;
  const sharded = join(dir, 'sharded');
  mkdirSync(sharded);
  const { header } = await openCheckpoint(source);
  const shardOf = (name: string) => (/layers\.1\./.test(name) ? 'model-00002-of-00003.safetensors' : /layers\.0\.|embed/.test(name) ? 'model-00001-of-00003.safetensors' : 'model-00003-of-00003.safetensors');
  const weightMap: Record<string, string> = {};
  for (const shard of ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']) {
    const tensors = header!.tensors.filter((t) => shardOf(t.name) === shard);
    for (const t of tensors) weightMap[t.name] = shard;
    writeFileSync(join(sharded, shard), encodeSafetensors(tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: readFileSync(t.file).subarray(t.byteOffset, t.byteOffset + t.byteLength) }))));
  }
  writeFileSync(join(sharded, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(source, name), join(sharded, name));

  const planPath = join(dir, 'p.pruneplan.json');
  await makePlan({ model: sharded, dropLayers: 1 }, planPath);
  const plan = JSON.parse(readFileSync(planPath, 'utf8'));
  plan.actions[0].layers = [1];
  writeFileSync(planPath, JSON.stringify(plan));
  const result = await drain(applyPlan(planPath, join(dir, 'out'), { providers: ['cpu'] }));
  assert.deepEqual(result.files, ['config.json', 'model-00001-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json', 'tokenizer.json', 'tokenizer_config.json']);
  const index = JSON.parse(readFileSync(join(dir, 'out', 'model.safetensors.index.json'), 'utf8'));
  // The editor's preview diff: the index on disk against exactly the index apply wrote, and the config.
  const preview = await planPreview(planPath);
  assert.equal(preview.weightMap.indexFile, join(sharded, 'model.safetensors.index.json'));
  assert.equal(preview.weightMap.before, readFileSync(join(sharded, 'model.safetensors.index.json'), 'utf8'));
  assert.equal(preview.weightMap.after, readFileSync(join(dir, 'out', 'model.safetensors.index.json'), 'utf8'));
  assert.equal(preview.config.after, readFileSync(join(dir, 'out', 'config.json'), 'utf8'));
  assert.ok(Object.values(index.weight_map).every((s) => s !== 'model-00002-of-00003.safetensors'));
  assert.equal(index.metadata.total_size, result.bytes.after);
  assert.equal(Object.keys(index.weight_map).length, (await openCheckpoint(join(dir, 'out'))).header!.tensors.length);
  const text = { file: join(ROOT, 'samples', 'text', 'psalms-23.txt') };
  const pruned = await drain(perplexity({ model: join(dir, 'out'), text, providers: ['cpu'] }));
  const skipped = await drain(activationLayers({ model: source, metric: 'ablation', text, providers: ['cpu'] }));
  assert.ok(Math.abs(pruned.perplexity - skipped.layers[1]!.score) <= 1e-4 * pruned.perplexity, `${pruned.perplexity} vs ablation ${skipped.layers[1]!.score}`);
});
