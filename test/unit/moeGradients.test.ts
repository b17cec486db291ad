// Gradients through Mixture-of-Experts blocks (engine/moeRunner.ts backward, routing.ts routeBackward, the attention
// graph's backward with its two outputs' cotangents): d log p(continuation) / d input embeddings on the Mixtral,
// Qwen2-MoE and Qwen3-MoE fixtures against torch autograd on the plain-torch MoE reference
// (test/fixtures/autodiff/moe-gradient-golden.json from make_moe_gradient_golden.py; no python at test time), and
// against central finite differences of the engine's own forward. Weight gradients: moeWeightGradients.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gradientScores } from '../../src/analyses/gradientSaliency';
import { ModelGradients } from '../../src/compute/autodiff/modelGradients';
import { BlockEngine } from '../../src/compute/engine/blockEngine';
import { route, routeBackward } from '../../src/compute/engine/routing';
import { LanguageModel } from '../../src/compute/languageModel';
import { assertGradientRow, DIST, relativeError, ROOT } from './helpers';

interface GoldenModel { ids: number[]; objective: number; gradient: number[]; grad_input: number[] }
const golden = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/autodiff/moe-gradient-golden.json'), 'utf8')) as { context: number; target: number; models: Record<string, GoldenModel> };
const MODELS = join(ROOT, 'test/fixtures/models');

function targetsOf(ids: readonly number[], context: number): number[] {
  return Array.from({ length: ids.length }, (_, t) => (t >= context - 1 && t < ids.length - 1 ? ids[t + 1]! : -1));
}

for (const name of Object.keys(golden.models)) {
  test(`${name}: d log p(continuation) / d input embeddings and gradient × input match torch autograd (1e-4 relative), two rows at once`, async () => {
    const reference = golden.models[name]!;
    const engine = await BlockEngine.open(join(MODELS, name));
    const gradients = await ModelGradients.open(engine);
    try {
      const seq = reference.ids.length;
      const embeddings = await engine.embed([reference.ids, reference.ids]);
      const row = targetsOf(reference.ids, golden.context);
      const out = await gradients.inputGradient({ embeddings, batch: 2, seq, targets: Int32Array.from([...row, ...row]) });
      const hidden = engine.spec.hidden;
      for (let b = 0; b < 2; b++) {
        const mine = assertGradientRow(out, b, seq, hidden, reference, name);
        const gradInput = Array.from({ length: golden.context }, (_, t) => {
          let s = 0;
          for (let c = 0; c < hidden; c++) s += mine[t * hidden + c]! * embeddings[(b * seq + t) * hidden + c]!;
          return s;
        });
        const gi = relativeError(gradInput, reference.grad_input);
        assert.ok(gi <= 1e-4, `${name} row ${b}: gradient × input relative error ${gi}`);
      }
    } finally {
      await gradients.release();
      await engine.release();
    }
  });
}

test('token saliency grad-input and grad on the MoE fixtures match torch autograd (1e-4); the CLI runs --method ig on an MoE model', async () => {
  for (const name of Object.keys(golden.models)) {
    const reference = golden.models[name]!;
    const model = await LanguageModel.open(join(MODELS, name), ['cpu']);
    try {
      const context = reference.ids.slice(0, golden.context);
      const target = reference.ids.slice(golden.context);
      const gradInput = await gradientScores(model, context, target, 'grad-input', 1);
      assert.ok(relativeError(gradInput.scores, reference.grad_input) <= 1e-4, `${name} grad-input`);
      const hidden = model.engine.spec.hidden;
      const norms = Array.from({ length: golden.context }, (_, t) => Math.hypot(...reference.gradient.slice(t * hidden, (t + 1) * hidden)));
      const norm = await gradientScores(model, context, target, 'grad', 1);
      assert.ok(relativeError(norm.scores, norms) <= 1e-4, `${name} grad`);
    } finally {
      await model.release();
    }
  }
  const text = 'The Lord is my shepherd; I shall not want.';
  const run = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'saliency', join(MODELS, 'moe-qwen2'), '--text', text, '--method', 'ig', '--steps', '8', '--json'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { method: string; steps: number; delta: number; tokens: { text: string; start: number; end: number; score: number }[] };
  assert.equal(result.method, 'ig');
  assert.equal(result.steps, 8);
  assert.ok(Number.isFinite(result.delta));
  assert.ok(result.tokens.length > 0 && result.tokens.every((t) => Number.isFinite(t.score) && text.slice(t.start, t.end) === t.text));
  assert.ok(result.tokens.some((t) => t.score !== 0));
});

test('moe-qwen3: d log p / d input embeddings agrees with central finite differences of the engine forward, routing unchanged', async () => {
  const engine = await BlockEngine.open(join(MODELS, 'moe-qwen3'));
  const gradients = await ModelGradients.open(engine);
  try {
    const ids = [5, 17, 99, 3, 250, 42, 7, 311, 64, 128, 9, 500];
    const seq = ids.length;
    const targets = Int32Array.from(targetsOf(ids, 6));
    const x = await engine.embed([ids]);
    const { gradient } = await gradients.inputGradient({ embeddings: x, batch: 1, seq, targets });
    let rms = 0;
    for (const v of x) rms += v * v;
    rms = Math.sqrt(rms / x.length);
    let state = 12345;
    const d = Float32Array.from(x, () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 2 * rms);
    const eps = 1e-3;
    // The routing choice is piecewise constant: the difference is only a derivative where no token changes experts.
    const routingOf = async (input: Float32Array): Promise<string> => {
      const chosen: number[] = [];
      let h = input;
      for await (const block of engine.sweep(Array.from({ length: engine.layers }, (_, l) => l))) {
        const out = await engine.runBlock(block, h, 1, seq);
        chosen.push(...(out.routing?.chosen ?? []));
        h = out.hidden;
      }
      return chosen.join(',');
    };
    const plus = Float32Array.from(x, (v, i) => v + eps * d[i]!);
    const minus = Float32Array.from(x, (v, i) => v - eps * d[i]!);
    const plain = await routingOf(x);
    assert.equal(await routingOf(plus), plain);
    assert.equal(await routingOf(minus), plain);
    const logP = async (input: Float32Array) => (await gradients.inputGradient({ embeddings: input, batch: 1, seq, targets })).logProbs[0]!;
    const numeric = ((await logP(plus)) - (await logP(minus))) / (2 * eps);
    let analytic = 0;
    for (let i = 0; i < d.length; i++) analytic += gradient[i]! * d[i]!;
    assert.ok(Math.abs(numeric) > 1e-2, `the direction must move log p (finite difference ${numeric})`);
    assert.ok(Math.abs(analytic - numeric) <= 2e-2 * Math.abs(numeric), `∇F·d ${analytic} vs finite difference ${numeric}`);
  } finally {
    await gradients.release();
    await engine.release();
  }
});

test('routeBackward: the router logits cotangent equals finite differences of the applied weights, with and without renormalisation', () => {
  const experts = 5;
  const topK = 2;
  const logits = Float32Array.of(0.3, -1.2, 0.9, 0.1, -0.4, 1.5, 0.2, -0.7, 0.6, 0.0);
  const rows = 2;
  const dWeights = Float32Array.of(0.7, -1.1, 0.25, 2.0);
  for (const norm of [false, true]) {
    const routing = route(logits, rows, experts, topK, norm);
    const analytic = routeBackward(logits, routing, norm, dWeights);
    const f = (l: Float32Array) => {
      // The choice held fixed: the weights of the same experts at perturbed logits (float64 softmax).
      let s = 0;
      for (let r = 0; r < rows; r++) {
        const row = Array.from(l.subarray(r * experts, (r + 1) * experts), Number);
        const max = Math.max(...row);
        const e = row.map((v) => Math.exp(v - max));
        const sum = e.reduce((a, b) => a + b, 0);
        const picked = [0, 1].map((k) => e[routing.chosen[r * topK + k]!]! / sum);
        const total = picked[0]! + picked[1]!;
        picked.forEach((p, k) => (s += dWeights[r * topK + k]! * (norm ? p / total : p)));
      }
      return s;
    };
    const h = 1e-3;
    for (let i = 0; i < logits.length; i++) {
      const up = Float32Array.from(logits);
      const down = Float32Array.from(logits);
      up[i]! += h;
      down[i]! -= h;
      const numeric = (f(up) - f(down)) / (2 * h);
      assert.ok(Math.abs(analytic[i]! - numeric) < 1e-4, `norm ${norm}, logit ${i}: ${analytic[i]} vs ${numeric}`);
    }
  }
});
