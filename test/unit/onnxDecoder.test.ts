// Exported .onnx decoders: the residual stream found from exporter names and exposed as outputs, checked against
// torch (test/fixtures/onnx-decoder/make_decoder.py exported tiny-qwen2 with torch.onnx.export and wrote
// reference.json), and against the graph built in code from the same weights.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { activationLayers } from '../../src/analyses/activationLayers';
import { saliency } from '../../src/analyses/saliency';
import { onnx } from 'onnx-proto';
import { openModelRunner } from '../../src/compute/modelRunner';
import { findResidualStream } from '../../src/compute/residualStream';
import { InputError } from '../../src/errors';
import { ROOT } from './helpers';

const DIR = join(ROOT, 'test', 'fixtures', 'onnx-decoder');
const ONNX = join(DIR, 'tiny-qwen2.onnx');
const reference = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8')) as { ids: number[]; logits: number[][]; hidden: number[][][] };

test('logits and the residual stream found in the exported graph match torch', async () => {
  const model = await openModelRunner(ONNX, ['cpu']);
  try {
    assert.equal(model.layers, reference.hidden.length - 1);
    const out = await model.forward([reference.ids], { hidden: true });
    let worst = 0;
    reference.logits.forEach((row, t) => row.forEach((x, v) => (worst = Math.max(worst, Math.abs(out.logits[t * model.vocab + v]! - x)))));
    assert.ok(worst <= 1e-3, `logits differ by up to ${worst}`);
    reference.hidden.forEach((state, l) => state.forEach((row, t) => row.forEach((x, i) => {
      assert.ok(Math.abs(out.hidden[l]![t * model.hidden + i]! - x) <= 1e-3 * Math.max(1, Math.abs(x)), `hidden ${l}[${t}][${i}]`);
    })));
  } finally {
    await model.release();
  }
});

test('a decoder exported with KV-cache inputs runs with an empty cache and gives the same logits and stream', async () => {
  const model = await openModelRunner(join(DIR, 'tiny-qwen2-kv.onnx'), ['cpu']);
  try {
    assert.equal(model.layers, reference.hidden.length - 1, 'present.* outputs are not taken for the residual stream');
    const out = await model.forward([reference.ids], { hidden: true });
    let worst = 0;
    reference.logits.forEach((row, t) => row.forEach((x, v) => (worst = Math.max(worst, Math.abs(out.logits[t * model.vocab + v]! - x)))));
    assert.ok(worst <= 1e-3, `logits differ by up to ${worst}`);
    const last = reference.hidden[reference.hidden.length - 1]!;
    last.forEach((row, t) => row.forEach((x, i) => assert.ok(Math.abs(out.hidden[model.layers]![t * model.hidden + i]! - x) <= 1e-3 * Math.max(1, Math.abs(x)))));
  } finally {
    await model.release();
  }
});

test('Block Influence from the .onnx equals Block Influence from the Hugging Face directory it was exported from', async () => {
  const text = { file: join(ROOT, 'samples', 'text', 'psalms-23.txt') };
  const fromOnnx = await drain(activationLayers({ model: ONNX, metric: 'block-influence', text, providers: ['cpu'] }));
  const fromDirectory = await drain(activationLayers({ model: join(ROOT, 'test', 'fixtures', 'models', 'tiny-qwen2'), metric: 'block-influence', text, providers: ['cpu'] }));
  fromOnnx.layers.forEach((l, i) => assert.ok(Math.abs(l.score - fromDirectory.layers[i]!.score) <= 1e-5, `block ${i}: ${l.score} vs ${fromDirectory.layers[i]!.score}`));
});

test('a residual stream named by the user replaces the heuristics, and unknown names are refused', async () => {
  const found = await openModelRunner(ONNX, ['cpu']);
  const text = { text: 'The LORD is my shepherd; I shall not want' };
  try {
    // Name the tensors the heuristics find: the same scores, and the same parameters per block.
    const names = ['/model/embed_tokens/Gather_output_0', '/model/layers.0/Add_1_output_0', '/model/layers.1/Add_1_output_0'];
    const layers = await drain(activationLayers({ model: ONNX, metric: 'block-influence', text, providers: ['cpu'], residualStream: names }));
    const all = await drain(activationLayers({ model: ONNX, metric: 'block-influence', text, providers: ['cpu'] }));
    assert.deepEqual(layers.layers, all.layers);
    assert.equal(found.layers, 2);
    assert.deepEqual(found.blockParameters, [46336, 46336], 'as many parameters per block as the Hugging Face directory has');
    // A stream for fewer blocks than the graph has is refused, not read as a smaller model.
    await assert.rejects(openModelRunner(ONNX, ['cpu'], undefined, names.slice(0, 2)), (e: unknown) => e instanceof InputError && /names 2 tensors .* graph has 2 blocks/.test(e.message));
  } finally {
    await found.release();
  }
  await assert.rejects(openModelRunner(ONNX, ['cpu'], undefined, ['/model/embed_tokens/Gather_output_0', 'no_such_tensor']), (e: unknown) => e instanceof InputError && /no tensor named 'no_such_tensor'/.test(e.message));
  await assert.rejects(openModelRunner(join(ROOT, 'test', 'fixtures', 'models', 'tiny-qwen2'), ['cpu'], undefined, ['a', 'b']), (e: unknown) => e instanceof InputError && /apply to exported \.onnx decoders/.test(e.message));
});

test('what an exported graph cannot do is refused with the reason; graphs that are no decoder are refused', async () => {
  const text = { text: 'The LORD is my shepherd' };
  await assert.rejects(drain(activationLayers({ model: ONNX, metric: 'ablation', text, providers: ['cpu'] })), (e: unknown) => e instanceof InputError && /cannot skip them/.test(e.message));
  await assert.rejects(drain(saliency({ model: ONNX, text, method: 'attention', seeds: 1, providers: ['cpu'] })), (e: unknown) => e instanceof InputError && /attention rollout needs/.test(e.message));
  const fixture = (name: string) => join(ROOT, 'test', 'fixtures', 'onnx', name);
  // Graphs without block names still open for their logits (onnxDecoderDefects.test.ts); these are no decoders.
  await assert.rejects(openModelRunner(fixture('silero_vad_v5.onnx'), ['cpu']), (e: unknown) => e instanceof InputError && /needs an input 'input' that a plain forward pass cannot fill/.test(e.message));
  await assert.rejects(openModelRunner(fixture('basic.onnx'), ['cpu']), (e: unknown) => e instanceof InputError && /basic\.onnx: onnxruntime cannot load the model/.test(e.message));
  // Block names but no token input: nothing carries the tokens' data into block 0.
  const basic = onnx.ModelProto.decode(readFileSync(fixture('basic.onnx')));
  assert.throws(() => findResidualStream(basic.graph!, 'basic.onnx'), (e: unknown) => e instanceof InputError && /expected one residual-stream tensor entering block 0, found 0/.test(e.message));
});
