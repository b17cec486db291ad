// Gradients through the whole model on the block engine (src/compute/autodiff/modelGradients.ts): the blocks'
// backward graphs in reverse and the head's chunked backward, against torch autograd on the plain-torch model
// (test/fixtures/autodiff/model-golden.json from make_model_golden.py). No python at test time.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ModelGradients } from '../../src/compute/autodiff/modelGradients';
import { BlockEngine } from '../../src/compute/engine/blockEngine';
import { ROOT } from './helpers';

interface GoldenModel { ids: number[]; objective: number; gradient: number[] }
const golden = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/autodiff/model-golden.json'), 'utf8')) as { context: number; target: number; models: Record<string, GoldenModel> };

/** max |a − b| over max |b|. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return worst / scale;
}

for (const name of Object.keys(golden.models)) {
  test(`${name}: d log p(continuation) / d input embeddings matches torch autograd (1e-4 relative), two rows at once`, async () => {
    const reference = golden.models[name]!;
    const engine = await BlockEngine.open(join(ROOT, 'test/fixtures/models', name));
    const gradients = await ModelGradients.open(engine);
    try {
      const seq = reference.ids.length;
      const { context } = golden;
      const embeddings = await engine.embed([reference.ids, reference.ids]);
      const row = Array.from({ length: seq }, (_, t) => (t >= context - 1 && t < seq - 1 ? reference.ids[t + 1]! : -1));
      const messages: string[] = [];
      const out = await gradients.inputGradient({ embeddings, batch: 2, seq, targets: Int32Array.from([...row, ...row]), onProgress: (m) => messages.push(m) });
      const hidden = engine.spec.hidden;
      for (let b = 0; b < 2; b++) {
        assert.ok(Math.abs(out.logProbs[b]! - reference.objective) < 1e-4 * Math.abs(reference.objective), `${name}: log p ${out.logProbs[b]} vs torch ${reference.objective}`);
        const mine = out.gradient.subarray(b * seq * hidden, (b + 1) * seq * hidden);
        const error = relativeError(mine, reference.gradient);
        assert.ok(error <= 1e-4, `${name} row ${b}: gradient relative error ${error}`);
      }
      assert.ok(messages.some((m) => m.startsWith('backward block 1 /')), messages.join('; '));
    } finally {
      await gradients.release();
      await engine.release();
    }
  });
}

test('the head backward sums its vocabulary chunks: gradients equal with one chunk and with many', async () => {
  const reference = golden.models['tiny-qwen2']!;
  const engine = await BlockEngine.open(join(ROOT, 'test/fixtures/models/tiny-qwen2'));
  const gradients = await ModelGradients.open(engine);
  try {
    const seq = reference.ids.length;
    const targets = Int32Array.from({ length: seq }, (_, t) => (t >= golden.context - 1 && t < seq - 1 ? reference.ids[t + 1]! : -1));
    const embeddings = await engine.embed([reference.ids]);
    // Many chunks: the fixture's 1024-token vocabulary split in chunks of 100 rows.
    const head = engine.head as unknown as { chunkRows: (rows: number) => number };
    const original = head.chunkRows.bind(engine.head);
    head.chunkRows = () => 100;
    const chunked = await gradients.inputGradient({ embeddings, batch: 1, seq, targets });
    head.chunkRows = original;
    assert.ok(relativeError(chunked.gradient, reference.gradient) <= 1e-4);
    assert.ok(Math.abs(chunked.logProbs[0]! - reference.objective) < 1e-4 * Math.abs(reference.objective));
  } finally {
    await gradients.release();
    await engine.release();
  }
});

test('a backward pass that does not fit in free memory is refused with the need and what is free', async () => {
  const reference = golden.models['tiny-qwen2']!;
  const engine = await BlockEngine.open(join(ROOT, 'test/fixtures/models/tiny-qwen2'));
  const gradients = await ModelGradients.open(engine);
  const saved = process.env.IMPORTANCE_LENS_MEMORY_BUDGET;
  try {
    const embeddings = await engine.embed([reference.ids]);
    process.env.IMPORTANCE_LENS_MEMORY_BUDGET = String(2 ** 20);
    assert.equal(gradients.rowsThatFit(reference.ids.length, 8), 1);
    await assert.rejects(
      gradients.inputGradient({ embeddings, batch: 1, seq: reference.ids.length, targets: new Int32Array(reference.ids.length).fill(-1) }),
      /needs about .* \(.*kept block boundaries.*backward activations.*\), but only 0\.00 GB is free/,
    );
  } finally {
    if (saved === undefined) delete process.env.IMPORTANCE_LENS_MEMORY_BUDGET;
    else process.env.IMPORTANCE_LENS_MEMORY_BUDGET = saved;
    await gradients.release();
    await engine.release();
  }
});
