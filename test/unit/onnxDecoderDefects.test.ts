// What real exported decoders carry besides weights, and the decoders the residual-stream heuristics cannot read
// (issue #14): test/fixtures/onnx-decoder/make_defect_decoders.py builds small decoders with an INT64-max and an
// FP16 −65504 Constant in every block, a constant named after its value, an FP16 variant and one without block
// names, and writes numpy's logits for them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { activationLayers } from '../../src/analyses/activationLayers';
import { inspect } from '../../src/analyses/inspect';
import { perplexity } from '../../src/analyses/perplexity';
import { stats } from '../../src/analyses/stats';
import { layerOf } from '../../src/arch/names';
import { openModelRunner } from '../../src/compute/modelRunner';
import { InputError } from '../../src/errors';
import { DIST, ROOT } from './helpers';

const DIR = join(ROOT, 'test', 'fixtures', 'onnx-decoder');
const CONSTANTS = join(DIR, 'decoder-constants.onnx');
const FP16 = join(DIR, 'decoder-fp16.onnx');
const UNNAMED = join(DIR, 'decoder-unnamed.onnx');
const STREAM = ['/model/embed_tokens/Gather_output_0', '/model/layers.0/Max_output_0', '/model/layers.1/Max_output_0'];
interface Reference {
  ids: number[]; vocab: number; hidden: number; parameters: number; blockParameters: number[];
  float32: { logits: number[][]; hidden: number[][][] }; float16: { logits: number[][] };
}
const reference = JSON.parse(readFileSync(join(DIR, 'defect-reference.json'), 'utf8')) as Reference;
const text = { text: 'The LORD is my shepherd; I shall not want. He maketh me to lie down in green pastures.' };

function worstLogit(logits: ArrayLike<number>, expected: number[][], vocab: number): number {
  let worst = 0;
  expected.forEach((row, t) => row.forEach((x, v) => (worst = Math.max(worst, Math.abs(logits[t * vocab + v]! - x) / Math.max(1, Math.abs(x))))));
  return worst;
}

test('INT64-max and FP16 −65504 constants in every block are not weights: parameters and block L2 are the weights\' alone', async () => {
  const inspected = await drain(inspect({ path: CONSTANTS }));
  assert.equal(inspected.parameters, reference.parameters);
  assert.deepEqual(inspected.layers.filter((l) => l.index !== null).map((l) => [l.index, l.params]), reference.blockParameters.map((p, i) => [i, p]));
  const max = inspected.tensors.find((t) => t.name === '/model/layers.1/Constant_output_0')!;
  assert.deepEqual([max.graphConstant, max.layer], [true, null]);
  const fill = inspected.tensors.find((t) => t.name === '/model/layers.0/Constant_3_output_0')!;
  assert.deepEqual([fill.dtype, fill.graphConstant, fill.layer], ['F16', true, null]);
  assert.match(inspected.warnings.join('\n'), /graph constants .* not weights/);
  const weights = await drain(stats({ path: CONSTANTS, providers: ['cpu'] }));
  assert.equal(weights.parameters, reference.parameters);
  for (const layer of weights.layers) assert.ok(layer.l2 < 1e3, `block ${layer.index}: L2 ${layer.l2}`);
  assert.ok(!weights.tensors.some((t) => t.name.includes('Constant')), 'constants are left out of the statistics');
});

test('a number in a constant\'s name is no layer number', async () => {
  assert.equal(layerOf('/model/constants/TensorProto.INT64/1D/9223372036854775807'), null);
  assert.equal(layerOf('model.layers.99999999999.mlp.weight'), null);
  assert.equal(layerOf('model.layers.7.mlp.weight'), 7);
  const inspected = await drain(inspect({ path: CONSTANTS }));
  assert.ok(inspected.layers.every((l) => l.index === null || l.index < 2), `blocks ${inspected.layers.map((l) => l.index).join(', ')}`);
  assert.equal(inspected.tensors.find((t) => t.name.endsWith('/9223372036854775807'))!.layer, null);
});

test('an FP16 decoder runs, with the residual stream found or named, and gives numpy\'s logits', async () => {
  for (const residualStream of [undefined, STREAM]) {
    const model = await openModelRunner(FP16, ['cpu'], undefined, residualStream);
    try {
      assert.deepEqual([model.layers, model.vocab, model.hidden], [2, reference.vocab, reference.hidden]);
      const out = await model.forward([reference.ids], { hidden: true });
      assert.ok(out.logits instanceof Float32Array);
      const worst = worstLogit(out.logits, reference.float16.logits, model.vocab);
      assert.ok(worst <= 2e-2, `logits differ by up to ${worst} (relative)`);
      assert.equal(out.hidden.length, 3);
      assert.ok(out.hidden.every((h) => h instanceof Float32Array && h.length === reference.ids.length * reference.hidden));
    } finally {
      await model.release();
    }
  }
});

test('perplexity runs on a decoder whose blocks cannot be found; block analyses on it say why they cannot', async () => {
  const unnamed = await drain(perplexity({ model: UNNAMED, text, providers: ['cpu'] }));
  const named = await drain(perplexity({ model: CONSTANTS, text, providers: ['cpu'] }));
  assert.ok(Number.isFinite(unnamed.perplexity) && unnamed.perplexity > 1);
  assert.ok(Math.abs(unnamed.perplexity - named.perplexity) <= 1e-6 * named.perplexity, `${unnamed.perplexity} vs ${named.perplexity}`);
  await assert.rejects(drain(activationLayers({ model: UNNAMED, metric: 'block-influence', text, providers: ['cpu'] })),
    (e: unknown) => e instanceof InputError && /no node names like \/model\/layers\.0/.test(e.message) && /--residual-stream/.test(e.message));
});

test('--residual-stream must name the input of block 0 and every block\'s output; the blocks get their parameters', async () => {
  await assert.rejects(openModelRunner(CONSTANTS, ['cpu'], undefined, STREAM.slice(0, 2)),
    (e: unknown) => e instanceof InputError && /names 2 tensors.*graph has 2 blocks.*3 names/.test(e.message));
  const layers = await drain(activationLayers({ model: CONSTANTS, metric: 'block-influence', text, providers: ['cpu'], residualStream: STREAM }));
  assert.deepEqual(layers.layers.map((l) => [l.index, l.params]).sort(), reference.blockParameters.map((p, i) => [i, p]));
  // Without block names the count cannot be checked against the graph; config.json beside the model (2 layers) says it.
  await assert.rejects(openModelRunner(UNNAMED, ['cpu'], undefined, ['/model/embed_tokens/Gather_output_0', '/blka/Max_output_0']),
    (e: unknown) => e instanceof InputError && /names 2 tensors/.test(e.message));
  const model = await openModelRunner(UNNAMED, ['cpu'], undefined, ['/model/embed_tokens/Gather_output_0', '/blka/Max_output_0', '/blkb/Max_output_0']);
  try {
    const out = await model.forward([reference.ids], { hidden: true });
    reference.float32.hidden.forEach((state, l) => state.forEach((row, t) => row.forEach((x, i) => {
      assert.ok(Math.abs(out.hidden[l]![t * model.hidden + i]! - x) <= 1e-4 * Math.max(1, Math.abs(x)), `hidden ${l}[${t}][${i}]`);
    })));
    assert.ok(worstLogit(out.logits, reference.float32.logits, model.vocab) <= 1e-4);
  } finally {
    await model.release();
  }
});

test('CLI: block-influence with --residual-stream on an FP16 decoder exits 0 (it exited 1); a short stream exits 2 with one line', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args], { encoding: 'utf8', env: { ...process.env, IMPORTANCE_LENS_PROVIDERS: 'cpu' } });
  const textFile = join(ROOT, 'samples', 'text', 'psalms-23.txt');
  const ok = cli('layers', FP16, '--metric', 'block-influence', '--text-file', textFile, '--residual-stream', STREAM.join(','), '--json');
  assert.equal(ok.status, 0, ok.stderr);
  const doc = JSON.parse(ok.stdout) as { layers: Array<{ index: number; params: number }> };
  assert.deepEqual(doc.layers.map((l) => [l.index, l.params]).sort(), reference.blockParameters.map((p, i) => [i, p]));
  const short = cli('layers', FP16, '--metric', 'block-influence', '--text-file', textFile, '--residual-stream', STREAM.slice(0, 2).join(','));
  assert.equal(short.status, 2);
  assert.match(short.stderr, /^importance-lens: .*decoder-fp16\.onnx: --residual-stream names 2 tensors[^\n]*\n$/);
  const perplexityOfUnnamed = cli('perplexity', UNNAMED, '--text-file', textFile, '--json');
  assert.equal(perplexityOfUnnamed.status, 0, perplexityOfUnnamed.stderr);
});
