// `saliency MODEL --text T [--target C] [--method occlusion|reagent|attention] [--seeds R]`: how much each token of
// the text supports the model's prediction of the target — the text's last token, or a given continuation C.
//   occlusion  leave-one-out: log p(target | text) − log p(target | text without token i); all variants in batches
//   reagent    ReAGent-style random replacement (reagent.ts): per seed, masks that replace ~30% of the tokens with
//              random vocabulary tokens; a token's score is the mean drop of log p(target) when it was replaced minus
//              when it was kept. Mean ± sd over seeds says how stable the explanation is. Its cost is planned and
//              bounded (--max-steps) before it starts.
//   ig, grad-input, grad  gradient methods on the block engine's backward graphs (gradientSaliency.ts); ig takes
//              --steps and reports its convergence delta
//   attention  attention rollout (Abnar & Zuidema): per block, head-averaged attention mixed half with identity,
//              rows renormalised, multiplied through the blocks; the flow from each token to the target positions
import { openModelRunner, type ModelRunner } from '../compute/modelRunner';
import { loadModelTokenizer } from '../compute/modelTokenizer';
import type { ModelTokenizer, TokenSpan } from '../compute/tokenizer';
import { InputError } from '../errors';
import type { Progress, SaliencyMethod, SaliencyResult, SaliencyToken } from '../protocol/results';
import { DEFAULT_IG_STEPS, SALIENCY_METHOD_INFO } from '../protocol/saliencyMethods';
import { observeBlocks, withProgress } from './blockPass';
import { gradientScores } from './gradientSaliency';
import { reagent, reagentPlan } from './reagent';
import { TargetScorer } from './targetScorer';
import { contextLength, DEFAULT_MAX_TOKENS, readText, type TextAnalysisInput } from './textInput';

export { SALIENCY_METHODS } from '../protocol/saliencyMethods';

/** A text analysis (model, text, token cap, providers) plus what saliency adds. */
export interface SaliencyInput extends TextAnalysisInput {
  target?: string;
  method: SaliencyMethod;
  seeds: number;
  /** Integrated gradients' steps (default DEFAULT_IG_STEPS). */
  steps?: number;
  /** ReAGent's cost bound in steps of REAGENT_STEP_MASKS forward rows (default DEFAULT_REAGENT_MAX_STEPS). */
  maxSteps?: number;
}

export async function* saliency(input: SaliencyInput, signal?: AbortSignal): AsyncGenerator<Progress, SaliencyResult> {
  if (!Number.isSafeInteger(input.seeds) || input.seeds < 1 || input.seeds > 1000) throw new InputError(`seeds must be an integer from 1 to 1000 (got ${input.seeds})`);
  const steps = input.steps ?? DEFAULT_IG_STEPS;
  if (!Number.isSafeInteger(steps) || steps < 1 || steps > 1000) throw new InputError(`steps must be an integer from 1 to 1000 (got ${steps})`);
  let delta: number | undefined;
  yield { message: `Building ${input.model}` };
  const model = await openModelRunner(input.model, input.providers, signal, input.residualStream);
  try {
    const text = await readText(input.text);
    const tokenizer = await loadModelTokenizer(model);
    const { spans, context, target } = await saliencyTokens(tokenizer, text, input.target);
    const limit = Math.min(input.maxTokens ?? DEFAULT_MAX_TOKENS, contextLength(model, Number.MAX_SAFE_INTEGER));
    if (context.length + target.length > limit) {
      throw new InputError(`text and target are ${context.length + target.length} tokens; saliency explains one window of at most ${limit} (the model's context and max tokens): shorten the text`);
    }
    if (input.method === 'occlusion' && context.length < 2) throw new InputError('occlusion needs at least two tokens of context (leaving out the only one leaves nothing to predict from)');
    // Planned before the model runs anything, so a bound that leaves too little is refused at once.
    const plan = input.method === 'reagent' ? reagentPlan(context.length, input.seeds, input.maxSteps) : undefined;
    const contextIds = context.map((s) => s.id);
    const targetIds = target.map((s) => s.id);
    const scorer = new TargetScorer(model, targetIds);
    // Gradient methods compute log p(target | text) in their own pass (no forward pass, and no head chunks of the
    // forward's size held beside the gradient's smaller ones).
    const gradient = SALIENCY_METHOD_INFO[input.method].gradient;
    let baseline = gradient ? NaN : (await scorer.score([contextIds]))[0]!;
    const perSeed: Float64Array[] = [];
    if (input.method === 'occlusion') {
      yield { message: `Leaving out each of ${context.length} tokens`, fraction: 0 };
      const variants = contextIds.map((_, i) => contextIds.filter((__, j) => j !== i));
      const scores = yield* withProgress((onProgress) => scorer.score(variants, signal, onProgress), 'Occlusion');
      perSeed.push(Float64Array.from(scores, (s) => baseline - s));
    } else if (plan) {
      const special = new Set(spans.filter((s) => s.special).map((s) => s.id));
      perSeed.push(...(yield* reagent(scorer, contextIds, baseline, input.seeds, plan, model.vocab, special, signal)));
    } else if (gradient) {
      const method = input.method as 'ig' | 'grad-input' | 'grad';
      yield { message: SALIENCY_METHOD_INFO[method].label, fraction: 0 };
      const out = yield* withProgress((onProgress) => gradientScores(model, contextIds, targetIds, method, steps, signal, onProgress), SALIENCY_METHOD_INFO[method].label);
      perSeed.push(out.scores);
      delta = out.delta;
      baseline = out.objective;
    } else {
      if (!model.canExposeAttention) throw new InputError(`${input.model}: attention rollout needs the attention probabilities, which only graphs built from a Hugging Face directory expose (use occlusion or reagent)`);
      yield { message: 'Attention rollout', fraction: 0 };
      perSeed.push(yield* withProgress((onProgress) => attentionRollout(model, contextIds, targetIds, signal, onProgress), 'Attention rollout'));
    }
    return {
      path: input.model,
      method: input.method,
      device: model.device,
      text,
      target: { text: input.target ?? target[0]!.text, tokens: targetIds.length, logProbability: baseline, fromText: input.target === undefined },
      seeds: perSeed.length,
      tokens: context.map((span, i) => ({ text: span.text, start: span.start, end: span.end, ...meanSd(perSeed.map((scores) => scores[i]!)) }) satisfies SaliencyToken),
      ...(input.method === 'ig' ? { steps, delta: delta! } : {}),
      ...(plan ? { masks: plan.masks } : {}),
      devicesSkipped: model.devicesSkipped,
      ...(model.devices ? { devices: model.devices } : {}),
      warnings: [
        ...(input.method !== 'reagent' && input.seeds > 1 ? [`${input.method} is deterministic: seeds do not apply (sd is 0)`] : []),
        ...(plan?.warning ? [plan.warning] : []),
      ],
    };
  } finally {
    await model.release();
  }
}

/** The text's tokens, split into the context that is scored and the target it explains: the text's last token, or the given continuation. */
export async function saliencyTokens(tokenizer: ModelTokenizer, text: string, targetText?: string): Promise<{ spans: TokenSpan[]; context: TokenSpan[]; target: TokenSpan[] }> {
  const spans = await tokenizer.encode(text);
  if (targetText === undefined) {
    if (spans.length < 2) throw new InputError(`the text has ${spans.length} token(s): saliency needs at least one token of context before the last token it explains`);
    return { spans, context: spans.slice(0, -1), target: spans.slice(-1) };
  }
  const target = (await tokenizer.encode(targetText)).filter((s) => !s.special);
  if (target.length === 0) throw new InputError('the --target continuation has no tokens');
  if (spans.length === 0) throw new InputError('the text has no tokens to explain the target with');
  return { spans, context: spans, target };
}

/** Rollout through the blocks as each finishes: only the running [seq, seq] product is held, not every block's attention. */
async function attentionRollout(model: ModelRunner, context: readonly number[], target: readonly number[], signal?: AbortSignal, onProgress?: (message: string, fraction: number) => void): Promise<Float64Array> {
  const ids = [...context, ...target];
  const seq = ids.length;
  const heads = model.heads;
  let rollout: Float64Array | undefined;
  await observeBlocks(model, [ids], {
    attention: true, logits: false, ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}),
    onBlock: ({ attention: probabilities }) => {
      const mixed = new Float64Array(seq * seq);
      for (let h = 0; h < heads; h++) for (let i = 0; i < seq * seq; i++) mixed[i]! += probabilities![h * seq * seq + i]! / heads / 2;
      for (let i = 0; i < seq; i++) {
        mixed[i * seq + i]! += 0.5;
        let row = 0;
        for (let j = 0; j < seq; j++) row += mixed[i * seq + j]!;
        for (let j = 0; j < seq; j++) mixed[i * seq + j]! /= row;
      }
      rollout = rollout ? multiply(mixed, rollout, seq) : mixed;
    },
  });
  // The positions whose outputs predict the target tokens: the last context token and the target's own but last.
  const scores = new Float64Array(context.length);
  for (let k = 0; k < target.length; k++) {
    const row = context.length - 1 + k;
    for (let j = 0; j < context.length; j++) scores[j]! += rollout![row * seq + j]! / target.length;
  }
  return scores;
}

/** a·b for [n, n] matrices. */
function multiply(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) {
    const x = a[i * n + k]!;
    if (x === 0) continue;
    for (let j = 0; j < n; j++) out[i * n + j]! += x * b[k * n + j]!;
  }
  return out;
}

function meanSd(values: number[]): { score: number; sd: number } {
  const mean = values.reduce((s, x) => s + x, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((s, x) => s + (x - mean) ** 2, 0) / (values.length - 1) : 0;
  return { score: mean, sd: Math.sqrt(variance) };
}
