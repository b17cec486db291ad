// Token saliency by gradients (src/analyses/gradientSaliency.ts): gradient × input, gradient norm and integrated
// gradients against torch autograd on tiny-qwen2 and tiny-gpt2 (test/fixtures/autodiff/model-golden.json, from
// make_model_golden.py); IG's completeness within its reported delta; the CLI's --method ig|grad-input|grad and
// --steps; refusals; the backward's sub-batches of rows (a low run budget) against the same references.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { gaussLegendre, gradientScores } from '../../src/analyses/gradientSaliency';
import { saliency } from '../../src/analyses/saliency';
import { taylorScores } from '../../src/analyses/taylor';
import { LanguageModel } from '../../src/compute/languageModel';
import { DIST, ROOT } from './helpers';

interface GoldenModel { ids: number[]; objective: number; objective_baseline: number; grad_input: number[]; grad_norm: number[]; ig: number[]; ig_delta: number; taylor: number[] }
const golden = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/autodiff/model-golden.json'), 'utf8')) as { context: number; ig_steps: number; models: Record<string, GoldenModel> };

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, label: string): void {
  assert.equal(actual.length, expected.length, label);
  const scale = Math.max(...Array.from(expected, Math.abs));
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) <= tolerance * scale, `${label}[${i}]: ${actual[i]} vs torch ${expected[i]}`);
}

test('Gauss–Legendre nodes and weights on [0, 1] integrate polynomials of degree 2n − 1 exactly', () => {
  for (const n of [1, 2, 5, 20]) {
    const { nodes, weights } = gaussLegendre(n);
    assert.ok(Math.abs(weights.reduce((s, w) => s + w, 0) - 1) < 1e-12);
    for (let k = 0; k <= 2 * n - 1; k++) {
      const integral = nodes.reduce((s, x, i) => s + weights[i]! * x ** k, 0);
      assert.ok(Math.abs(integral - 1 / (k + 1)) < 1e-12, `n ${n}, x^${k}: ${integral}`);
    }
    for (let i = 1; i < n; i++) assert.ok(nodes[i]! > nodes[i - 1]!);
  }
});

for (const name of Object.keys(golden.models)) {
  test(`${name}: grad-input, grad and ig (${golden.ig_steps} steps) match torch autograd; IG completeness is the reported delta`, async () => {
    const reference = golden.models[name]!;
    const model = await LanguageModel.open(join(ROOT, 'test/fixtures/models', name), ['cpu']);
    try {
      const context = reference.ids.slice(0, golden.context);
      const target = reference.ids.slice(golden.context);
      const gradInput = await gradientScores(model, context, target, 'grad-input', 1);
      assertClose(gradInput.scores, reference.grad_input, 1e-4, `${name} grad-input`);
      const norm = await gradientScores(model, context, target, 'grad', 1);
      assertClose(norm.scores, reference.grad_norm, 1e-4, `${name} grad`);
      const progress: string[] = [];
      const ig = await gradientScores(model, context, target, 'ig', golden.ig_steps, undefined, (m) => progress.push(m));
      assertClose(ig.scores, reference.ig, 1e-4, `${name} ig`);
      const gap = Math.abs(ig.scores.reduce((s, x) => s + x, 0) - (reference.objective - reference.objective_baseline));
      assert.ok(Math.abs(ig.delta! - reference.ig_delta) <= 1e-4 * Math.max(1, reference.ig_delta), `${name}: delta ${ig.delta} vs torch ${reference.ig_delta}`);
      assert.ok(gap <= ig.delta! + 1e-4 * Math.abs(reference.objective), `${name}: completeness gap ${gap} beyond the reported delta ${ig.delta}`);
      assert.ok(progress.some((m) => /backward block/.test(m)), progress.join('; '));
    } finally {
      await model.release();
    }
  });
}

test('saliency --method ig through the analysis: same JSON shape plus steps and delta; more steps, smaller delta on GPT-2', async () => {
  const model = join(ROOT, 'test/fixtures/models/tiny-gpt2');
  const text = 'The LORD is my shepherd; I shall not';
  const coarse = await drain(saliency({ model, text: { text }, target: ' want', method: 'ig', seeds: 1, steps: 2, providers: ['cpu'] }));
  const fine = await drain(saliency({ model, text: { text }, target: ' want', method: 'ig', seeds: 1, steps: 24, providers: ['cpu'] }));
  assert.equal(fine.method, 'ig');
  assert.equal(fine.steps, 24);
  assert.ok(fine.delta! < coarse.delta!, `delta with 24 steps ${fine.delta} vs 2 steps ${coarse.delta}`);
  for (const t of fine.tokens) {
    assert.equal(text.slice(t.start, t.end), t.text);
    assert.equal(t.sd, 0);
    assert.ok(Number.isFinite(t.score));
  }
  const plain = await drain(saliency({ model, text: { text }, target: ' want', method: 'grad', seeds: 1, providers: ['cpu'] }));
  assert.equal(plain.delta, undefined);
  assert.ok(plain.tokens.every((t) => t.score >= 0));
  assert.deepEqual(plain.tokens.map((t) => t.text), fine.tokens.map((t) => t.text));
  // The gradient pass's own log p(target | text) is the forward's (occlusion's baseline).
  const forward = await drain(saliency({ model, text: { text }, target: ' want', method: 'occlusion', seeds: 1, providers: ['cpu'] }));
  for (const r of [fine, plain]) assert.ok(Math.abs(r.target.logProbability - forward.target.logProbability) <= 1e-5, `${r.method}: log p ${r.target.logProbability} vs forward ${forward.target.logProbability}`);
});

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('CLI: saliency --method grad-input|ig --json follows the contract; --steps is for ig only', () => {
  const model = join(ROOT, 'test/fixtures/models/tiny-qwen2');
  const ig = cli('saliency', model, '--text', 'The LORD is my shepherd', '--target', ' I', '--method', 'ig', '--steps', '4', '--json');
  assert.equal(ig.code, 0, ig.stderr);
  const doc = JSON.parse(ig.stdout);
  assert.equal(doc.method, 'ig');
  assert.equal(doc.steps, 4);
  assert.equal(typeof doc.delta, 'number');
  for (const t of doc.tokens) for (const key of ['text', 'start', 'end', 'score', 'sd']) assert.ok(key in t, key);
  const gi = cli('saliency', model, '--text', 'The LORD is my shepherd', '--method', 'grad-input');
  assert.equal(gi.code, 0, gi.stderr);
  assert.match(gi.stdout, /grad-input saliency/);
  const wrong = cli('saliency', model, '--text', 'The LORD', '--method', 'grad', '--steps', '4');
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /--steps applies to --method ig only/);
  const unknown = cli('saliency', model, '--text', 'The LORD', '--method', 'integrated');
  assert.match(unknown.stderr, /one of occlusion, reagent, attention, ig, grad-input, grad/);
});

test('tiny-qwen2: backward runs in sub-batches of one row (a low run budget) give the same IG and Taylor as torch', async () => {
  const name = 'tiny-qwen2';
  const reference = golden.models[name]!;
  const model = await LanguageModel.open(join(ROOT, 'test/fixtures/models', name), ['cpu']);
  try {
    // One row per forward and backward block run: IG's path points and Taylor's windows each run alone.
    model.engine.runActivationBytes = 1;
    const context = reference.ids.slice(0, golden.context);
    const target = reference.ids.slice(golden.context);
    const ig = await gradientScores(model, context, target, 'ig', golden.ig_steps);
    assertClose(ig.scores, reference.ig, 1e-4, `${name} ig, one row per run`);
    // Two equal windows in one batch: the mean NLL's gradient is one window's, summed over the two sub-batches.
    const spans = reference.ids.map((id) => ({ id, text: '', start: 0, end: 0, special: false }));
    const taylor = await drain(taylorScores(model, { text: '', spans: [...spans, ...spans], windows: [spans, spans], truncated: false }));
    const expected = reference.taylor;
    taylor.forEach((s, l) => assert.ok(Math.abs(s - expected[l]!) <= 1e-4 * expected[l]!, `block ${l}: ${s} vs torch ${expected[l]}`));
  } finally {
    await model.release();
  }
});
