// Directories, shard indexes, config.json and format detection: what `inspect` opens.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { inspect } from '../../src/analyses/inspect';
import { detectFromBytes } from '../../src/formats/detect';
import { InputError } from '../../src/errors';
import { encodeSafetensors } from '../fixtures/safetensorsWriter';
import { SAMPLE_CONFIG, sampleTensors } from '../fixtures/makeSample';
import { SAMPLE_DIR, tempDir, writeTemp } from './helpers';

const run = (path: string) => drain(inspect({ path }));
const u8 = (name: string, n: number) => ({ name, dtype: 'U8', shape: [n], data: Buffer.alloc(n, 1) });

test('the sample directory: parameters, architecture from config.json, per-layer shares', async () => {
  const result = await run(SAMPLE_DIR);
  const expected = sampleTensors().reduce((sum, t) => sum + t.data.length / 4, 0);
  assert.equal(result.parameters, expected);
  assert.equal(result.tensors.length, 2 + 9 * SAMPLE_CONFIG.num_hidden_layers + 1);
  assert.deepEqual(
    [result.architecture.family, result.architecture.layers, result.architecture.hidden, result.architecture.heads, result.architecture.kvHeads, result.architecture.intermediate, result.architecture.vocab, result.architecture.source],
    ['llama', 4, 64, 4, 2, 176, 256, 'config'],
  );
  assert.deepEqual(result.layers.map((l) => l.index), [0, 1, 2, 3, null]);
  assert.ok(Math.abs(result.layers.reduce((s, l) => s + l.share, 0) - 1) < 1e-12);
  assert.deepEqual(result.warnings, []);
});

test('a lone .safetensors file: architecture inferred from tensors, with a warning', async () => {
  const dir = tempDir();
  const file = writeTemp(dir, 'weights.safetensors', encodeSafetensors(sampleTensors()));
  const result = await run(file);
  assert.equal(result.architecture.source, 'tensors');
  assert.deepEqual([result.architecture.family, result.architecture.layers, result.architecture.hidden, result.architecture.vocab, result.architecture.intermediate], ['llama', 4, 64, 256, 176]);
  assert.match(result.warnings.join('\n'), /no config.json/);
});

test('config.json opens the model in its directory, or the config alone when there are no weights', async () => {
  const withWeights = await run(join(SAMPLE_DIR, 'config.json'));
  assert.equal(withWeights.tensors.length, 39);
  const dir = tempDir();
  const config = writeTemp(dir, 'config.json', JSON.stringify({ model_type: 'gpt2', n_layer: 12, n_embd: 768, n_head: 12, vocab_size: 50257 }));
  const alone = await run(config);
  assert.equal(alone.format, 'config');
  assert.deepEqual([alone.architecture.layers, alone.architecture.hidden, alone.architecture.heads, alone.architecture.kvHeads, alone.architecture.intermediate], [12, 768, 12, 12, 3072]);
  assert.match(alone.warnings.join(), /no weights next to/);
});

test('sharded checkpoints: every shard read, tensors attributed to their shard', async () => {
  const dir = tempDir();
  writeTemp(dir, 'model-00001-of-00002.safetensors', encodeSafetensors([u8('model.layers.0.mlp.up_proj.weight', 4)]));
  writeTemp(dir, 'model-00002-of-00002.safetensors', encodeSafetensors([u8('model.layers.1.mlp.up_proj.weight', 6)]));
  writeTemp(dir, 'model.safetensors.index.json', JSON.stringify({ metadata: { total_size: 10 }, weight_map: {
    'model.layers.0.mlp.up_proj.weight': 'model-00001-of-00002.safetensors',
    'model.layers.1.mlp.up_proj.weight': 'model-00002-of-00002.safetensors',
  } }));
  const result = await run(dir);
  assert.equal(result.files.length, 2);
  assert.equal(result.parameters, 10);
  assert.ok(result.tensors.find((t) => t.layer === 1)!.file.endsWith('model-00002-of-00002.safetensors'));
});

test('hostile shard indexes are refused with what is wrong', async () => {
  const cases: [string, unknown, RegExp][] = [
    ['path traversal', { weight_map: { w: '../../etc/passwd' } }, /is not a file name in the same directory/],
    ['missing shard', { weight_map: { w: 'nowhere.safetensors' } }, /shard 'nowhere.safetensors' named in weight_map is missing/],
    ['no weight_map', { metadata: {} }, /expected an object with a "weight_map"/],
  ];
  for (const [what, index, message] of cases) {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
    await assert.rejects(run(dir), (e: unknown) => e instanceof InputError && message.test(e.message), what);
  }
  const dir = tempDir();
  writeTemp(dir, 'a.safetensors', encodeSafetensors([u8('x', 1)]));
  writeTemp(dir, 'model.safetensors.index.json', JSON.stringify({ weight_map: { x: 'a.safetensors', y: 'a.safetensors' } }));
  await assert.rejects(run(dir), /1 tensor\(s\) listed in weight_map are in no shard, e.g. 'y'/);
});

test('unsupported and missing inputs get InputErrors that name the path', async () => {
  const dir = tempDir();
  await assert.rejects(run(join(dir, 'missing.safetensors')), (e: unknown) => e instanceof InputError && /no such file/.test(e.message));
  await assert.rejects(run(writeTemp(dir, 'm.gguf', Buffer.from('GGUF\x03\x00\x00\x00'))), /too short for a GGUF file/);
  await assert.rejects(run(tempDir()), /holds no checkpoint/);
  await assert.rejects(run(writeTemp(dir, 'data.csv', 'a,b\n1,2\n')), /CSV dataset/);
});

test('format detection reads magic bytes before extensions', () => {
  const st = encodeSafetensors([u8('x', 1)]);
  assert.equal(detectFromBytes(st.subarray(0, 16), st.length, 'weights.bin'), 'safetensors');
  assert.equal(detectFromBytes(Buffer.from('GGUF\x03\x00\x00\x00'), 100, 'x.safetensors'), 'gguf');
  assert.equal(detectFromBytes(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0]), 100, 'pytorch_model.bin'), 'pytorch-zip');
  assert.equal(detectFromBytes(Buffer.from([0x80, 0x02, 0x8a, 0x0a]), 100, 'old.pt'), 'pytorch-legacy');
  assert.equal(detectFromBytes(Buffer.from('a,b\n'), 4, 'data.csv'), 'csv');
  assert.equal(detectFromBytes(Buffer.from([1, 2]), 2, 'broken.safetensors'), 'safetensors');
});

test('PEFT adapter directories: rank, alpha, scale, targets, A/B pairs, base architecture when local', async () => {
  const root = tempDir();
  const base = join(root, 'base');
  mkdirSync(base);
  writeFileSync(join(base, 'config.json'), JSON.stringify(SAMPLE_CONFIG));
  const adapterDir = join(root, 'adapter');
  mkdirSync(adapterDir);
  writeFileSync(join(adapterDir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'], base_model_name_or_path: '../base' }));
  const f32 = (name: string, shape: number[]) => ({ name, dtype: 'F32', shape, data: Buffer.alloc(shape[0]! * shape[1]! * 4) });
  const tensors = [0, 1].flatMap((l) => ['q_proj', 'v_proj'].flatMap((m) => [
    f32(`base_model.model.model.layers.${l}.self_attn.${m}.lora_A.weight`, [8, 64]),
    f32(`base_model.model.model.layers.${l}.self_attn.${m}.lora_B.weight`, [m === 'q_proj' ? 64 : 32, 8]),
  ]));
  writeFileSync(join(adapterDir, 'adapter_model.safetensors'), encodeSafetensors(tensors));
  for (const path of [adapterDir, join(adapterDir, 'adapter_config.json'), join(adapterDir, 'adapter_model.safetensors')]) {
    const result = await run(path);
    assert.deepEqual(result.adapter && { ...result.adapter, configPath: undefined }, {
      configPath: undefined, peftType: 'LORA', r: 8, alpha: 16, scale: 2, targetModules: ['q_proj', 'v_proj'], baseModel: '../base', pairs: 4,
    }, path);
    assert.equal(result.architecture.source, 'config', 'architecture from the local base model');
    assert.equal(result.architecture.kvHeads, 2);
    assert.deepEqual(result.tensors.filter((t) => t.layer === 1).map((t) => t.module), ['attn.q', 'attn.q', 'attn.v', 'attn.v']);
    assert.deepEqual(result.warnings, []);
  }
  writeFileSync(join(adapterDir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 8, use_rslora: true, target_modules: 'all-linear', base_model_name_or_path: 'meta-llama/Llama-3.2-1B' }));
  const hub = await run(adapterDir);
  assert.deepEqual([hub.adapter?.scale, hub.adapter?.targetModules, hub.architecture.source, hub.architecture.layers], [4, ['all-linear'], 'tensors', 2]);
});

test('model directories: safetensors before pickles, training leftovers ignored, alternatives must be chosen', async () => {
  const { locateModelDirectory } = await import('../../src/formats/huggingface');
  const dir = tempDir();
  for (const name of ['training_args.bin', 'optimizer.pt', 'rng_state.pth']) writeTemp(dir, name, 'x');
  await assert.rejects(locateModelDirectory(dir), /holds no checkpoint/);
  writeTemp(dir, 'pytorch_model.bin', 'x');
  assert.deepEqual((await locateModelDirectory(dir)).weights, { kind: 'files', paths: [join(dir, 'pytorch_model.bin')], format: 'pytorch' });
  writeTemp(dir, 'pytorch_model.bin.index.json', '{}');
  assert.equal((await locateModelDirectory(dir)).weights.format, 'pytorch');
  assert.equal((await locateModelDirectory(dir)).weights.kind, 'index');
  writeTemp(dir, 'model.safetensors', 'x');
  assert.deepEqual((await locateModelDirectory(dir)).weights, { kind: 'files', paths: [join(dir, 'model.safetensors')], format: 'safetensors' });
  const ggufDir = tempDir();
  writeTemp(ggufDir, 'model-Q4_K_M.gguf', 'x');
  assert.equal((await locateModelDirectory(ggufDir)).weights.format, 'gguf');
  writeTemp(ggufDir, 'model-Q8_0.gguf', 'x');
  await assert.rejects(locateModelDirectory(ggufDir), /holds 2 GGUF files \(model-Q4_K_M.gguf, model-Q8_0.gguf\); open one of them/);
});
