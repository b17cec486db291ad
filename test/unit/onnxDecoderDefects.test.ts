// What real exported decoders carry besides weights, and the decoders the residual-stream heuristics cannot read
// (issue #14): test/fixtures/onnx-decoder/make_defect_decoders.py builds small decoders with an INT64-max and an
// FP16 −65504 Constant in every block, a constant named after its value, an FP16 variant and one without block
// names, and writes numpy's logits for them.
import assert from 'node:assert/strict';
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
import { ROOT } from './helpers';

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
