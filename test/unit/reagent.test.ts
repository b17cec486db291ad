// ReAGent (src/analyses/reagent.ts): its cost plan and --max-steps bound, a bounded run against the same masks scored
// by hand through full logits, the "step k / K" progress, the CLI's --max-steps; and the block engine's head run on
// the target positions only (what saliency's batches ask for) against the full head.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { reagentPlan, replacementMasks } from '../../src/analyses/reagent';
import { saliency } from '../../src/analyses/saliency';
import { LanguageModel } from '../../src/compute/languageModel';
import { TextTokenizer } from '../../src/compute/tokenizer';
import { InputError } from '../../src/errors';
import type { Progress } from '../../src/protocol/results';
import { DEFAULT_REAGENT_MAX_STEPS, REAGENT_STEP_MASKS } from '../../src/protocol/saliencyMethods';
import { DIST, ROOT } from './helpers';

const MODEL = join(ROOT, 'test/fixtures/models/tiny-qwen2');
const TEXT = 'The LORD is my shepherd; I shall not';

test('the plan: seeds × max(32, 4 × tokens) rows in steps of 64 within --max-steps; beyond it each seed keeps its first masks; too few is refused', () => {
  assert.deepEqual(reagentPlan(5, 2), { fullMasks: 32, masks: 32, steps: 1, rows: 64 });
  assert.deepEqual(reagentPlan(100, 2), { fullMasks: 400, masks: 400, steps: Math.ceil(800 / 64), rows: 800 });
  // 2 seeds of a 255-token text: 2 × 1 020 rows = 32 steps, over the default bound of 16.
  const cut = reagentPlan(255, 2);
  assert.equal(DEFAULT_REAGENT_MAX_STEPS * REAGENT_STEP_MASKS, 1024);
  assert.deepEqual({ ...cut, warning: undefined }, { fullMasks: 1020, masks: 512, steps: 16, rows: 1024, warning: undefined });
  assert.match(cut.warning!, /2 seeds × 1020 masks \(4 per token\) would take 32 steps of 64 forward rows; --max-steps 16 ran the first 512 masks of each seed.*raise --max-steps to 32/);
  assert.equal(reagentPlan(255, 2, 32).warning, undefined);
  assert.throws(() => reagentPlan(255, 100, 16), (e: unknown) => e instanceof InputError && /100 seeds within --max-steps 16 leave 10 masks per seed \(at least 16 are needed\); raise --max-steps to 25 or more, or use fewer --seeds/.test(e.message));
  assert.throws(() => reagentPlan(10, 1, 0), InputError);
});

test('a bounded run scores the first masks of each seed: the same numbers as those masks scored by hand through full logits', async () => {
  const progress: Progress[] = [];
  const result = await drain(saliency({ model: MODEL, text: { text: TEXT }, target: ' want', method: 'reagent', seeds: 2, maxSteps: 1, providers: ['cpu'] }), (p) => progress.push(p));
  const tokens = result.tokens.length;
  assert.ok(2 * Math.max(32, 4 * tokens) > REAGENT_STEP_MASKS, 'the full count needs more than one step');
  assert.equal(result.masks, 32);
  assert.equal(result.seeds, 2);
  assert.equal(result.warnings.filter((w) => /^reagent:/.test(w)).length, 1, result.warnings.join('\n'));
  assert.match(result.warnings[0]!, /--max-steps 1 ran the first 32 masks of each seed/);
  assert.ok(progress.some((p) => /2 seeds × 32 masks = 64 forward rows of \d+ tokens, 1 step of ≤ 64 rows/.test(p.message)), 'the cost is announced before the run');
  assert.ok(progress.some((p) => /^Step 1 \/ 1: variants 1–64 of 64, block 1 \//.test(p.message)), progress.map((p) => p.message).join('\n'));

  const lm = await LanguageModel.open(MODEL, ['cpu']);
  try {
    const tokenizer = await TextTokenizer.load(MODEL);
    const spans = await tokenizer.encode(TEXT);
    const ids = spans.map((s) => s.id);
    const target = (await tokenizer.encode(' want')).map((s) => s.id);
    const special = new Set(spans.filter((s) => s.special).map((s) => s.id));
    const vocab = lm.spec.vocab;
    // log p(target | context): the sum over the target's tokens, each from the whole logits row before it, in float64.
    const logp = async (context: readonly number[]) => {
      const out = await lm.forward([[...context, ...target]]);
      return target.reduce((sum, token, k) => {
        const at = context.length - 1 + k;
        const row = Array.from(out.logits.subarray(at * vocab, (at + 1) * vocab));
        const max = Math.max(...row);
        return sum + row[token]! - max - Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
      }, 0);
    };
    const base = await logp(ids);
    assert.ok(Math.abs(result.target.logProbability - base) < 1e-4);
    const perSeed: number[][] = [];
    for (let seed = 0; seed < 2; seed++) {
      const { replaced, variants } = replacementMasks(ids, seed, 32, vocab, special);
      // The bounded run's masks are the first of the untruncated run's.
      const full = replacementMasks(ids, seed, 4 * tokens, vocab, special);
      assert.deepEqual(variants, full.variants.slice(0, 32));
      const drops: number[] = [];
      for (const v of variants) drops.push(base - (await logp(v)));
      perSeed.push(ids.map((_, i) => {
        const inside = drops.filter((_, m) => replaced[m]![i]);
        const outside = drops.filter((_, m) => !replaced[m]![i]);
        const mean = (xs: number[]) => (xs.length > 0 ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);
        return mean(inside) - mean(outside);
      }));
    }
    result.tokens.forEach((t, i) => {
      const [a, b] = [perSeed[0]![i]!, perSeed[1]![i]!];
      assert.ok(Math.abs(t.score - (a + b) / 2) < 1e-4, `token ${i}: ${t.score} vs ${(a + b) / 2} by hand`);
      assert.ok(Math.abs(t.sd - Math.abs(a - b) / Math.SQRT2) < 1e-4, `token ${i} sd: ${t.sd} vs ${Math.abs(a - b) / Math.SQRT2}`);
    });
  } finally {
    await lm.release();
  }
});

test('the head on the target positions only gives the full head\'s log-probabilities there, NaN elsewhere', async () => {
  const lm = await LanguageModel.open(MODEL, ['cpu']);
  try {
    const rows = [[5, 9, 17, 30, 2, 11], [7, 7, 40, 3, 19, 1]];
    const targets = [[-1, -1, -1, -1, 12, -1], [-1, -1, 8, -1, 21, -1]];
    const sparse = await lm.forward(rows, { targets, logits: false });
    const full = await lm.forward(rows, { targets: rows.map((r) => r.map((_, t) => (t + 1 < r.length ? r[t + 1]! : 0))), logits: true });
    const vocab = lm.spec.vocab;
    targets.flat().forEach((token, p) => {
      if (token < 0) return assert.ok(Number.isNaN(sparse.logProbs![p]!), `position ${p} has no target`);
      const row = Array.from(full.logits.subarray(p * vocab, (p + 1) * vocab));
      const max = Math.max(...row);
      const expected = row[token]! - max - Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
      assert.ok(Math.abs(sparse.logProbs![p]! - expected) < 1e-5, `position ${p}: ${sparse.logProbs![p]} vs ${expected}`);
    });
  } finally {
    await lm.release();
  }
});

test('CLI: saliency --max-steps bounds ReAGent (masks and the warning in the JSON); it is for reagent only', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [join(DIST, 'cli.js'), 'saliency', MODEL, '--text', TEXT, ...args], { encoding: 'utf8' });
  const bounded = cli('--method', 'reagent', '--seeds', '2', '--max-steps', '1', '--json');
  assert.equal(bounded.status, 0, bounded.stderr);
  const doc = JSON.parse(bounded.stdout) as { method: string; masks: number; seeds: number; warnings: string[]; tokens: { score: number; sd: number }[] };
  assert.equal(doc.method, 'reagent');
  assert.equal(doc.masks, 32);
  assert.match(doc.warnings.join('\n'), /--max-steps 1 ran the first 32 masks/);
  const text = cli('--method', 'reagent', '--seeds', '1', '--max-steps', '1');
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /random replacement: \d+ masks per seed/);
  const wrong = cli('--method', 'occlusion', '--max-steps', '3');
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /--max-steps applies to --method reagent only/);
  const tooFew = cli('--method', 'reagent', '--seeds', '9', '--max-steps', '2');
  assert.equal(tooFew.status, 2);
  assert.match(tooFew.stderr, /9 seeds within --max-steps 2 leave 14 masks per seed/);
});
