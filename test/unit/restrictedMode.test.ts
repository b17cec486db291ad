// Restricted Mode (an untrusted workspace): which requests may run, and which inputs are PyTorch pickles.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AnalysisRequest } from '../../src/protocol/worker';
import { pickleInputs, restrictedModeDecision } from '../../src/worker/restrictedMode';
import { ROOT, SAMPLE_DIR, tempDir } from './helpers';

const MODEL = SAMPLE_DIR;
const TEXT = { text: 'In the beginning' };

function reason(request: AnalysisRequest, pickles: string[] = []): string | null {
  const decision = restrictedModeDecision(request, { pickles, planRunsModel: null });
  return decision.allowed ? null : decision.reason;
}

test('headers and weight statistics run; anything that executes a model is refused, saying what and why', () => {
  const allowed: AnalysisRequest[] = [
    { analysis: 'inspect', path: MODEL },
    { analysis: 'stats', path: MODEL },
    { analysis: 'histogram', path: MODEL, tensor: 'model.norm.weight' },
    { analysis: 'layers', path: MODEL, metric: 'weight-l2' },
    { analysis: 'delta', base: MODEL, tuned: MODEL },
    { analysis: 'csv', mode: 'inspect', path: 'a.csv' },
    { analysis: 'csv', mode: 'columns', path: 'a.csv', target: 'y' },
    { analysis: 'csv', mode: 'rows', path: 'a.csv', textColumn: 't', targetFile: 't.txt' },
    { analysis: 'plan', model: MODEL, dropLayers: 1 },
    { analysis: 'plan', model: MODEL, dropLayers: 1, metric: 'weight-l2' },
    { analysis: 'plan', model: MODEL, dropHeads: 1, metric: 'head-l2' },
    { analysis: 'plan', model: MODEL, sparsity: 0.5, metric: 'magnitude' },
    { analysis: 'plan-choices', model: MODEL },
    { analysis: 'plan-preview', plan: 'p.pruneplan.json' },
    { analysis: 'apply', plan: 'p.pruneplan.json', out: '/tmp/out' },
  ];
  for (const request of allowed) assert.equal(reason(request), null, JSON.stringify(request));

  const refused: [AnalysisRequest, RegExp][] = [
    [{ analysis: 'layers', path: MODEL, metric: 'block-influence', text: TEXT }, /^Layer importance by block-influence runs a model/],
    [{ analysis: 'layers', path: MODEL, metric: 'angular', text: TEXT }, /angular runs a model/],
    [{ analysis: 'layers', path: MODEL, metric: 'ablation', text: TEXT }, /ablation runs a model/],
    [{ analysis: 'layers', path: MODEL, metric: 'wanda', text: TEXT }, /wanda runs a model/],
    [{ analysis: 'perplexity', model: MODEL, text: TEXT }, /^Perplexity runs a model/],
    [{ analysis: 'saliency', model: MODEL, text: TEXT, method: 'occlusion', seeds: 1 }, /^Token saliency runs a model/],
    [{ analysis: 'csv', mode: 'columns', path: 'a.csv', target: 'y', model: '/x/forest.onnx' }, /^Column importance with forest\.onnx runs a model/],
    [{ analysis: 'plan', model: MODEL, dropLayers: 1, metric: 'block-influence', textFile: 't.txt' }, /^A pruning plan by block-influence/],
    [{ analysis: 'plan', model: MODEL, sparsity: 0.5, metric: 'wanda', textFile: 't.txt' }, /^A pruning plan by wanda/],
    [{ analysis: 'plan', model: MODEL, dropLayers: 1, textFile: 't.txt' }, /^A pruning plan on a text/],
    [{ analysis: 'plan', model: MODEL, dropHeads: 1, metric: 'head-taylor', textFile: 't.txt' }, /^A pruning plan by head-taylor runs a model/],
    [{ analysis: 'apply', plan: 'p.pruneplan.json', out: null, verify: { textFile: 't.txt' } }, /^Verifying a pruned model runs a model/],
    [{ analysis: 'delta', base: MODEL, tuned: MODEL, fisherText: TEXT }, /^Weighing a fine-tune's change by the base's Fisher on a text runs a model/],
  ];
  for (const [request, expected] of refused) {
    const why = reason(request);
    assert.match(why ?? '', expected, JSON.stringify(request));
    assert.match(why!, /Restricted Mode \(an untrusted workspace\) runs only checkpoint headers and weight statistics\. Trust the workspace/);
  }
});

test('a pickle input is refused even for a header read, naming the file', () => {
  const why = reason({ analysis: 'inspect', path: '/m/pytorch_model.bin' }, ['/m/pytorch_model.bin']);
  assert.match(why ?? '', /^pytorch_model\.bin is a PyTorch pickle \(\.bin\/\.pt\/\.pth\); .*decoding pickles is not one of them\. Trust the workspace to read it/);
});

test('pickleInputs finds pickles by content: files, model folders, their config.json, pickle shard indexes', async () => {
  const dir = tempDir();
  const pickled = join(dir, 'pickled');
  mkdirSync(pickled);
  copyFileSync(join(ROOT, 'test', 'fixtures', 'pytorch', 'module.pt'), join(pickled, 'pytorch_model.bin'));
  writeFileSync(join(pickled, 'config.json'), '{"model_type": "llama"}');
  const legacy = join(ROOT, 'test', 'fixtures', 'pytorch', 'legacy.pt');
  const index = join(dir, 'pytorch_model.bin.index.json');
  writeFileSync(index, JSON.stringify({ weight_map: { a: 'pytorch_model-00001-of-00002.bin' } }));
  // A "model.bin" that is really safetensors is no pickle.
  const renamed = join(dir, 'model.bin');
  copyFileSync(join(SAMPLE_DIR, 'model.safetensors'), renamed);

  assert.deepEqual(await pickleInputs({ analysis: 'inspect', path: pickled }), [join(pickled, 'pytorch_model.bin')]);
  assert.deepEqual(await pickleInputs({ analysis: 'stats', path: join(pickled, 'config.json') }), [join(pickled, 'pytorch_model.bin')]);
  assert.deepEqual(await pickleInputs({ analysis: 'layers', path: legacy, metric: 'weight-l2' }), [legacy]);
  assert.deepEqual(await pickleInputs({ analysis: 'delta', base: SAMPLE_DIR, tuned: join(pickled, 'pytorch_model.bin') }), [join(pickled, 'pytorch_model.bin')]);
  assert.deepEqual(await pickleInputs({ analysis: 'inspect', path: index }), [index]);
  // saliency --compare reads every compared checkpoint too.
  assert.deepEqual(await pickleInputs({ analysis: 'saliency', model: SAMPLE_DIR, compare: [SAMPLE_DIR + '-missing', pickled], text: { text: 'a b' }, method: 'occlusion', seeds: 1 }), [join(pickled, 'pytorch_model.bin')]);
  assert.deepEqual(await pickleInputs({ analysis: 'inspect', path: renamed }), []);
  assert.deepEqual(await pickleInputs({ analysis: 'inspect', path: SAMPLE_DIR }), []);
  assert.deepEqual(await pickleInputs({ analysis: 'inspect', path: join(dir, 'missing') }), [], 'a missing path is left to the analysis to report');
});
