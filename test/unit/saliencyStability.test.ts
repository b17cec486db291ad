// Explanation stability across checkpoints (src/analyses/saliencyStability.ts, `saliency --compare`): per token
// mean, sd and SNR over three checkpoints of tiny-qwen2 (the base and two seeded "fine-tunes") and the pairwise
// Spearman / Kendall τ-b / top-k overlap against torch autograd and scipy (test/fixtures/stability/
// stability-golden.json from make_stability_golden.py); the same on the real stories260K against a perturbed copy
// the test writes to a temp folder (reference computed at test time); sd = 0; refusals naming both checkpoints;
// progress per checkpoint and cancel; the CLI's JSON (the first model's fields unchanged) and table.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { saliency } from '../../src/analyses/saliency';
import { saliencyStability } from '../../src/analyses/saliencyStability';
import { seededRandom } from '../../src/compute/random';
import { CancelledError, InputError } from '../../src/errors';
import { openCheckpoint } from '../../src/formats/open';
import { AnalysisWorkerClient } from '../../src/worker/client';
import { kendallTauB, spearman, topKOverlap } from '../../src/protocol/ranks';
import type { Progress, SaliencyMethod, SaliencyStability } from '../../src/protocol/results';
import { DIST, needsReference, needsShared, PYTHON, ROOT, tempDir } from './helpers';

interface GoldenStability {
  scores: number[][];
  tokens: { mean: number; sd: number; snr: number | null; mean_over_sd: number | null }[];
  pairs: { a: number; b: number; spearman: number; kendall: number; top_k: number }[];
  rank_agreement: number;
  kendall: number;
  top_k_overlap: number;
}
const golden = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/stability/stability-golden.json'), 'utf8')) as {
  text: string; target: string; top_k: number; checkpoints: string[]; tokens: string[]; methods: Record<'grad-input' | 'occlusion', GoldenStability>;
};
const checkpoints = golden.checkpoints.map((c) => join(ROOT, c));

/** |actual − expected| ≤ tolerance × scale, scale the largest |value| of the series it belongs to. */
function close(actual: number | null, expected: number | null, tolerance: number, scale: number, label: string): void {
  if (expected === null || actual === null) return assert.equal(actual, expected, label);
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(scale, 1e-12), `${label}: ${actual} vs reference ${expected}`);
}

function assertMatches(actual: SaliencyStability, reference: GoldenStability, tolerance: number, label: string): void {
  const scale = Math.max(...reference.scores.flat().map(Math.abs));
  assert.equal(actual.checkpoints.length, reference.scores.length);
  actual.tokens.forEach((t, i) => {
    t.scores.forEach((s, c) => close(s, reference.scores[c]![i]!, tolerance, scale, `${label} token ${i} checkpoint ${c}`));
    close(t.mean, reference.tokens[i]!.mean, tolerance, scale, `${label} token ${i} mean`);
    close(t.sd, reference.tokens[i]!.sd, tolerance, scale, `${label} token ${i} sd`);
    // |mean|/sd is a ratio of the two checked above: its own definition, and the reference's within the error they
    // carry (sd of two close checkpoints is a difference of near-equal scores, so its relative error is larger).
    const ref = reference.tokens[i]!;
    if (t.sd > 0) close(t.meanOverSd, Math.abs(t.mean) / t.sd, 1e-12, t.meanOverSd!, `${label} token ${i} |mean|/sd`);
    if (ref.mean_over_sd !== null && ref.sd > 0) {
      const carried = ref.mean_over_sd * tolerance * scale * (1 / ref.sd + 1 / Math.max(Math.abs(ref.mean), 1e-300)) * 2;
      close(t.meanOverSd, ref.mean_over_sd, 1, Math.max(carried, 1e-9 * ref.mean_over_sd), `${label} token ${i} |mean|/sd vs reference`);
    } else assert.equal(t.meanOverSd, ref.mean_over_sd, `${label} token ${i} |mean|/sd`);
    if (t.snr !== null) close(Math.sqrt(t.snr), t.meanOverSd, 1e-12, t.meanOverSd!, `${label} snr = (|mean|/sd)²`);
    else assert.equal(reference.tokens[i]!.snr, null);
  });
  actual.pairs.forEach((p, k) => {
    const r = reference.pairs[k]!;
    assert.deepEqual([p.a, p.b], [r.a, r.b]);
    close(p.spearman, r.spearman, 1e-9, 1, `${label} pair ${k} Spearman`);
    close(p.kendall, r.kendall, 1e-9, 1, `${label} pair ${k} Kendall`);
    close(p.topK, r.top_k, 1e-12, 1, `${label} pair ${k} top-k`);
  });
  close(actual.rankAgreement, reference.rank_agreement, 1e-9, 1, `${label} rank agreement`);
  close(actual.kendall, reference.kendall, 1e-9, 1, `${label} Kendall`);
  close(actual.topKOverlap, reference.top_k_overlap, 1e-12, 1, `${label} top-k overlap`);
}

for (const method of ['grad-input', 'occlusion'] as const) {
  test(`${method} over three tiny-qwen2 checkpoints: scores, mean, sd, SNR and rank agreement match torch and scipy`, async () => {
    const progress: Progress[] = [];
    const result = await drain(
      saliencyStability({ model: checkpoints[0]!, compare: checkpoints.slice(1), text: { text: golden.text }, target: golden.target, method, seeds: 1, providers: ['cpu'], topK: golden.top_k }),
      (p) => progress.push(p),
    );
    const stability = result.stability!;
    assert.deepEqual(stability.tokens.map((t) => t.text), golden.tokens);
    assert.deepEqual(stability.checkpoints.map((c) => c.path), checkpoints);
    assertMatches(stability, golden.methods[method], 1e-4, method);
    assert.equal(result.rankAgreement, stability.rankAgreement);
    assert.equal(stability.topK, golden.top_k);
    // The first checkpoint's own result, as a plain run gives it.
    const plain = await drain(saliency({ model: checkpoints[0]!, text: { text: golden.text }, target: golden.target, method, seeds: 1, providers: ['cpu'] }));
    assert.deepEqual(result.tokens.map(({ text, start, end, score, seedSd }) => ({ text, start, end, score, sd: seedSd })), plain.tokens);
    result.tokens.forEach((token, i) => assert.deepEqual([token.mean, token.sd, token.snr, token.scores], [stability.tokens[i]!.mean, stability.tokens[i]!.sd, stability.tokens[i]!.snr, stability.tokens[i]!.scores]));
    for (const n of [1, 2, 3]) assert.ok(progress.some((p) => p.message.startsWith(`checkpoint ${n} / 3: `)), `no progress for checkpoint ${n}: ${progress.map((p) => p.message).join('; ')}`);
    const fractions = progress.filter((p) => p.fraction !== undefined).map((p) => p.fraction!);
    assert.ok(fractions.every((f) => f >= 0 && f <= 1));
    assert.ok(fractions.some((f) => f >= 2 / 3), 'the last checkpoint reports the last third');
  });
}

test('rank statistics: Spearman and Kendall τ-b with ties as scipy gives them; top-k overlap', (t) => {
  const cases: [number[], number[]][] = [
    [[1, 2, 2, 3, 5, 4], [2, 1, 3, 3, 6, 6]],
    [[0.5, 0.1, 0.1, 0.1, 0.9], [1, 2, 3, 4, 5]],
    [[3, 1, 2], [1, 2, 3]],
  ];
  assert.equal(kendallTauB([1, 2, 3], [1, 2, 3]), 1);
  assert.equal(kendallTauB([1, 2, 3], [3, 2, 1]), -1);
  assert.equal(kendallTauB([1, 1, 1], [1, 2, 3]), null);
  assert.equal(topKOverlap([5, 4, 3, 2, 1], [1, 2, 3, 4, 5], 2), 0);
  assert.equal(topKOverlap([5, 4, 3, 2, 1], [4, 5, 1, 2, 3], 2), 1);
  assert.equal(topKOverlap([1, 1, 1, 0], [0, 1, 1, 1], 2), 0.5, 'ties go to the earlier token: {0, 1} vs {1, 2}');
  if (!needsReference(t, ['scipy'])) return;
  const script = 'import json,sys\nfrom scipy.stats import spearmanr, kendalltau\nprint(json.dumps([[float(spearmanr(a,b)[0]), float(kendalltau(a,b)[0])] for a,b in json.loads(sys.argv[1])]))';
  const run = spawnSync(PYTHON, ['-c', script, JSON.stringify(cases)], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const expected = JSON.parse(run.stdout) as [number, number][];
  cases.forEach(([a, b], i) => {
    assert.ok(Math.abs(spearman(a, b)! - expected[i]![0]) < 1e-12, `case ${i} Spearman ${spearman(a, b)} vs ${expected[i]![0]}`);
    assert.ok(Math.abs(kendallTauB(a, b)! - expected[i]![1]) < 1e-12, `case ${i} Kendall ${kendallTauB(a, b)} vs ${expected[i]![1]}`);
  });
});

test('a byte-identical copy: sd 0, SNR unbounded (null) where the mean is not 0, the rankings agree exactly', async () => {
  const dir = tempDir();
  const copy = join(dir, 'copy');
  cpSync(checkpoints[0]!, copy, { recursive: true });
  const result = await drain(saliencyStability({ model: checkpoints[0]!, compare: [copy], text: { text: golden.text }, target: golden.target, method: 'grad-input', seeds: 1, providers: ['cpu'] }));
  const s = result.stability!;
  for (const token of s.tokens) {
    assert.equal(token.sd, 0);
    assert.equal(token.snr, token.mean === 0 ? 0 : null);
    assert.equal(token.meanOverSd, token.snr === null ? null : 0);
  }
  assert.equal(s.rankAgreement, 1);
  assert.equal(s.kendall, 1);
  assert.equal(s.topKOverlap, 1);
});

test('refusals name both checkpoints: another architecture, another vocabulary, a checkpoint given twice, no second checkpoint', async () => {
  const base = { text: { text: golden.text }, target: golden.target, method: 'grad-input' as const, seeds: 1, providers: ['cpu'] };
  const gpt2 = join(ROOT, 'test/fixtures/models/tiny-gpt2');
  await assert.rejects(drain(saliencyStability({ ...base, model: checkpoints[0]!, compare: [gpt2] })), (e: Error) => {
    assert.ok(e instanceof InputError);
    assert.ok(e.message.includes(checkpoints[0]!) && e.message.includes(gpt2), e.message);
    assert.match(e.message, /different architectures \(model type: qwen2 vs gpt2\)/);
    return true;
  });
  // The same weights with two vocabulary entries swapped (neither in the text): another tokenizer.
  const dir = tempDir();
  const swapped = join(dir, 'swapped');
  cpSync(checkpoints[1]!, swapped, { recursive: true });
  const tokenizer = JSON.parse(readFileSync(join(swapped, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
  const [x, y] = Object.entries(tokenizer.model.vocab).filter(([, id]) => id === 700 || id === 701);
  tokenizer.model.vocab[x![0]] = y![1];
  tokenizer.model.vocab[y![0]] = x![1];
  writeFileSync(join(swapped, 'tokenizer.json'), JSON.stringify(tokenizer));
  await assert.rejects(drain(saliencyStability({ ...base, model: checkpoints[0]!, compare: [swapped] })), (e: Error) => {
    assert.ok(e instanceof InputError);
    assert.ok(e.message.includes(checkpoints[0]!) && e.message.includes(swapped), e.message);
    assert.match(e.message, /different vocabularies \(token id 700: .* vs .*\): .*share their tokenizer/);
    return true;
  });
  await assert.rejects(drain(saliencyStability({ ...base, model: checkpoints[0]!, compare: [checkpoints[0]!] })), /is given twice/);
  await assert.rejects(drain(saliencyStability({ ...base, model: checkpoints[0]!, compare: [] })), /at least one more checkpoint/);
});

test('cancel between checkpoints: the run stops with CancelledError', async () => {
  const controller = new AbortController();
  const run = saliencyStability({ model: checkpoints[0]!, compare: checkpoints.slice(1), text: { text: golden.text }, target: golden.target, method: 'occlusion', seeds: 1, providers: ['cpu'] }, controller.signal);
  await assert.rejects(drain(run, (p) => {
    if (p.message.startsWith('checkpoint 2 / 3: ') && !p.message.includes('checking')) controller.abort();
  }), CancelledError);
});

/** A copy of a GGUF file with every F32 weight scaled by 1 + 0.1·(u − ½), u uniform from a fixed seed: a "fine-tune". */
async function perturbedGguf(source: string, out: string): Promise<void> {
  const { header } = await openCheckpoint(source);
  const bytes = readFileSync(source);
  const random = seededRandom(17);
  let changed = 0;
  for (const tensor of header!.tensors) {
    if (tensor.dtype !== 'F32' || tensor.shape.length < 2) continue;
    const values = new Float32Array(bytes.buffer, bytes.byteOffset + tensor.byteOffset, tensor.byteLength / 4);
    for (let i = 0; i < values.length; i++) values[i]! *= 1 + 0.1 * (random() - 0.5);
    changed++;
  }
  assert.ok(changed > 0, 'no F32 matrices to perturb');
  writeFileSync(out, bytes);
}

test('stories260K (real, ../shared) against a perturbed copy in a temp folder: grad-input and occlusion stability match torch and scipy', async (t) => {
  const path = needsShared(t, 'models/stories260K/stories260K.gguf');
  if (!path || !needsReference(t, ['torch', 'numpy', 'scipy'])) return;
  const dir = tempDir();
  const original = join(dir, 'stories260K.gguf');
  copyFileSync(path, original);
  const tuned = join(dir, 'stories260K-perturbed.gguf');
  await perturbedGguf(path, tuned);
  const text = 'Once upon a time, there was a big red ball'; // its last token "all" at log p −1.1: not saturated, so float32 gradients are not a cancellation
  const run = spawnSync(PYTHON, [join(ROOT, 'test/fixtures/stability/stability_gguf_reference.py'), text, original, tuned], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const reference = JSON.parse(run.stdout) as { context_ids: number[]; methods: Record<'grad-input' | 'occlusion', GoldenStability> };
  for (const method of ['grad-input', 'occlusion'] as const) {
    const result = await drain(saliencyStability({ model: original, compare: [tuned], text: { text }, method, seeds: 1, providers: ['cpu'] }));
    assert.equal(result.stability!.tokens.length, reference.context_ids.length);
    assertMatches(result.stability!, reference.methods[method], 1e-4, `stories260K ${method}`);
    assert.ok(result.stability!.tokens.some((tk) => tk.sd > 0), 'the perturbed copy changes the explanation');
  }
});

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('CLI: saliency --compare keeps the first model\'s JSON, gives tokens[] mean/sd/snr/scores over the checkpoints, adds rankAgreement and stability; the table; exit 2 naming both', () => {
  const common = ['--text', golden.text, '--target', golden.target, '--method', 'grad-input'];
  const plain = cli('saliency', checkpoints[0]!, ...common, '--json');
  assert.equal(plain.code, 0, plain.stderr);
  const compared = cli('saliency', checkpoints[0]!, '--compare', checkpoints[1]!, checkpoints[2]!, ...common, '--top-k', '3', '--json');
  assert.equal(compared.code, 0, compared.stderr);
  const a = JSON.parse(plain.stdout);
  const b = JSON.parse(compared.stdout);
  for (const key of Object.keys(a)) if (key !== 'tokens') assert.deepEqual(b[key], a[key], key);
  // tokens[]: the contract's fields over the checkpoints, the first model's own score and its sd over seeds kept.
  assert.equal(b.tokens.length, a.tokens.length);
  b.tokens.forEach((token: Record<string, unknown>, i: number) => {
    const own = a.tokens[i];
    assert.deepEqual([token.text, token.start, token.end, token.score, token.seedSd], [own.text, own.start, own.end, own.score, own.sd], `token ${i}`);
    const across = b.stability.tokens[i];
    assert.deepEqual([token.mean, token.sd, token.snr, token.scores], [across.mean, across.sd, across.snr, across.scores], `token ${i} over the checkpoints`);
  });
  assert.equal(typeof b.rankAgreement, 'number');
  assert.equal(b.stability.topK, 3);
  assert.equal(b.stability.checkpoints.length, 3);
  for (const token of b.stability.tokens) for (const key of ['text', 'start', 'end', 'mean', 'sd', 'snr', 'scores']) assert.ok(key in token, key);
  assert.deepEqual(b.stability.pairs.map((p: { a: number; b: number }) => [p.a, p.b]), [[0, 1], [0, 2], [1, 2]]);
  // Repeated --compare is the same list.
  const repeated = cli('saliency', checkpoints[0]!, '--compare', checkpoints[1]!, '--compare', checkpoints[2]!, ...common, '--top-k', '3', '--json');
  assert.deepEqual(JSON.parse(repeated.stdout).stability, b.stability);
  const table = cli('saliency', checkpoints[0]!, ...common, '--compare', checkpoints[1]!);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /stability over 2 checkpoints/);
  assert.match(table.stdout, /rank agreement: mean Spearman ρ [-0-9.]+, Kendall τ-b [-0-9.]+, top-5 overlap/);
  assert.match(table.stdout, /#1 vs #2/);
  const gpt2 = join(ROOT, 'test/fixtures/models/tiny-gpt2');
  const refused = cli('saliency', checkpoints[0]!, '--compare', gpt2, ...common);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /^importance-lens: .*different architectures/);
  assert.ok(refused.stderr.includes(gpt2) && refused.stderr.includes(checkpoints[0]!));
  const noCompare = cli('saliency', checkpoints[0]!, ...common, '--top-k', '3');
  assert.equal(noCompare.code, 2);
  assert.match(noCompare.stderr, /--top-k applies with --compare only/);
});

test('through the analysis process: the job reports progress per checkpoint, returns the stability, and cancels', async (t) => {
  const client = new AnalysisWorkerClient(join(DIST, 'worker.js'));
  t.after(() => client.dispose());
  const request = { analysis: 'saliency' as const, model: checkpoints[0]!, compare: checkpoints.slice(1), text: { text: golden.text }, target: golden.target, method: 'grad-input' as SaliencyMethod, seeds: 1, providers: ['cpu'] };
  const progress: string[] = [];
  const { result } = await client.run(request, { onProgress: (p) => progress.push(p.message) });
  assert.equal(result.stability!.checkpoints.length, 3);
  assertMatches(result.stability!, golden.methods['grad-input'], 1e-4, 'worker grad-input');
  assert.ok(progress.some((m) => /^checkpoint \d \/ 3: /.test(m)), progress.join('; '));
  const controller = new AbortController();
  await assert.rejects(client.run({ ...request, method: 'occlusion' }, { signal: controller.signal, onProgress: () => controller.abort() }), CancelledError);
});
