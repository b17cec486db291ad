// Gradients through the whole model on the block engine (src/compute/autodiff/modelGradients.ts): the blocks'
// backward graphs in reverse and the head's chunked backward, against torch autograd on the plain-torch model
// (test/fixtures/autodiff/model-golden.json from make_model_golden.py). No python at test time.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ModelGradients } from '../../src/compute/autodiff/modelGradients';
import { BlockEngine } from '../../src/compute/engine/blockEngine';
import { assertGradientRow, relativeError, ROOT } from './helpers';

interface GoldenModel { ids: number[]; objective: number; gradient: number[] }
const golden = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/autodiff/model-golden.json'), 'utf8')) as { context: number; target: number; models: Record<string, GoldenModel> };

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
        assertGradientRow(out, b, seq, hidden, reference, name);
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

// The families without a torch-autograd golden (their forward passes are checked against torch in their own tests):
// the backward graphs, built by the same rules for their ops (q/k norms, (1 + w) norms, soft-capping, sliding-window
// masks per block variant, partial rotary, parallel residuals, fused projections), against central finite differences
// of the engine's own forward along a random direction: (F(x + εd) − F(x − εd)) / 2ε = ∇F · d.
for (const name of ['qwen3-head-dim', 'gemma', 'gemma2', 'gemma3-text', 'phi3-longrope', 'gpt-neox-parallel', 'olmo2']) {
  test(`${name}: d log p / d input embeddings agrees with finite differences of the forward pass`, async () => {
    const engine = await BlockEngine.open(join(ROOT, 'test/fixtures/models', name));
    const gradients = await ModelGradients.open(engine);
    try {
      const ids = [5, 17, 99, 3, 250, 42, 7, 311, 64, 128, 9, 500];
      const seq = ids.length;
      const targets = Int32Array.from({ length: seq }, (_, t) => (t >= 5 && t < seq - 1 ? ids[t + 1]! : -1));
      const x = await engine.embed([ids]);
      const { gradient, logProbs } = await gradients.inputGradient({ embeddings: x, batch: 1, seq, targets });
      // A fixed direction of unit RMS per coordinate, scaled to the embeddings' size.
      let rms = 0;
      for (const v of x) rms += v * v;
      rms = Math.sqrt(rms / x.length);
      let state = 12345;
      const d = Float32Array.from(x, () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 2 * rms);
      const eps = 1e-2;
      const shifted = async (sign: number) => (await gradients.inputGradient({ embeddings: Float32Array.from(x, (v, i) => v + sign * eps * d[i]!), batch: 1, seq, targets })).logProbs[0]!;
      const numeric = ((await shifted(1)) - (await shifted(-1))) / (2 * eps);
      let analytic = 0;
      for (let i = 0; i < d.length; i++) analytic += gradient[i]! * d[i]!;
      assert.ok(Number.isFinite(logProbs[0]!));
      assert.ok(Math.abs(numeric) > 1e-2, `${name}: the direction must move log p (finite difference ${numeric})`);
      assert.ok(Math.abs(analytic - numeric) <= 2e-2 * Math.max(Math.abs(numeric), 1e-3), `${name}: ∇F·d ${analytic} vs finite difference ${numeric}`);
    } finally {
      await gradients.release();
      await engine.release();
    }
  });
}
