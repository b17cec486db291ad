// The checks every model family's reference test makes against its golden file (a plain-torch forward written by
// a committed script): the tokenizer's ids, the logits at chosen positions (≤ 1e-3), and — through the analyses, as
// the CLI runs them — perplexity (NLL ≤ 1e-4 relative), Block Influence (≤ 1e-4) and ablation (≤ 1e-4 relative).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { drain } from '../../src/analyses';
import { activationLayers } from '../../src/analyses/activationLayers';
import { perplexity } from '../../src/analyses/perplexity';
import { LanguageModel } from '../../src/compute/languageModel';
import { TextTokenizer } from '../../src/compute/tokenizer';
import { ROOT } from './helpers';

/** The fields every family golden file has per model. */
export interface FamilyGolden {
  /** The fixture directory, relative to the repository. */
  path: string;
  ids: number[];
  logit_positions: number[];
  logits: number[][];
  nll: number;
  block_influence: number[];
  ablation_perplexity: number[];
}

/** Ids and logits of the engine against the golden; `also` checks more on the open model (parameters, batching). */
export async function assertForwardMatches(text: string, g: FamilyGolden, also?: (model: LanguageModel, logits: Float32Array) => Promise<void> | void): Promise<void> {
  const directory = join(ROOT, g.path);
  const spans = await (await TextTokenizer.load(directory)).encode(text);
  assert.deepEqual(spans.map((s) => s.id), g.ids);
  const model = await LanguageModel.open(directory, ['cpu']);
  try {
    const out = await model.forward([g.ids]);
    const vocab = model.spec.vocab;
    let worst = 0;
    g.logit_positions.forEach((t, r) => g.logits[r]!.forEach((x, v) => (worst = Math.max(worst, Math.abs(out.logits[t * vocab + v]! - x)))));
    assert.ok(worst <= 1e-3, `logits differ by up to ${worst}`);
    await also?.(model, out.logits);
  } finally {
    await model.release();
  }
}

/** Perplexity, Block Influence and ablation through the analyses on one window of the whole text; returns the request it used. */
export async function assertTextMetricsMatch(text: string, g: FamilyGolden): Promise<{ model: string; text: { text: string }; maxTokens: number; providers: string[] }> {
  const input = { model: join(ROOT, g.path), text: { text }, maxTokens: g.ids.length, providers: ['cpu'] };
  const ppl = await drain(perplexity(input));
  assert.equal(ppl.predicted, g.ids.length - 1, 'one window of all the tokens');
  assert.ok(Math.abs(ppl.nll - g.nll) <= 1e-4 * Math.abs(g.nll), `nll ${ppl.nll} vs torch ${g.nll}`);
  const bi = await drain(activationLayers({ ...input, metric: 'block-influence' }));
  bi.layers.forEach((l) => assert.ok(Math.abs(l.score - g.block_influence[l.index]!) <= 1e-4, `BI ${l.index}: ${l.score} vs torch ${g.block_influence[l.index]}`));
  const ablation = await drain(activationLayers({ ...input, metric: 'ablation' }));
  ablation.layers.forEach((l) => {
    const expected = g.ablation_perplexity[l.index]!;
    assert.ok(Math.abs(l.score - expected) <= 1e-4 * expected, `ablation ${l.index}: ${l.score} vs torch ${expected}`);
  });
  return input;
}
