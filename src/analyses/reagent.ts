// ReAGent-style random replacement (saliency --method reagent): per seed, masks that replace ~30% of the context
// tokens with random vocabulary tokens; a token's score is the mean drop of log p(target) over the masks that
// replaced it minus the mean over the masks that kept it. Every seed's masks go into one list scored in steps of
// REAGENT_STEP_MASKS rows, one batched pass each: the engine streams the weights once per pass, so many small
// batches (one per seed) would each cost a full read of the checkpoint.
// Cost: seeds × masks forward rows of the text, masks = max(32, 4 × tokens) per seed; that is bounded by maxSteps
// steps (DEFAULT_REAGENT_MAX_STEPS) before anything runs, and where the full count exceeds it each seed keeps the
// first masks of its own sequence (a prefix of the untruncated run's), with a warning that says so.
import { seededRandom } from '../compute/random';
import { InputError, throwIfAborted } from '../errors';
import type { Progress } from '../protocol/results';
import { DEFAULT_REAGENT_MAX_STEPS, REAGENT_STEP_MASKS } from '../protocol/saliencyMethods';
import { withProgress } from './blockPass';
import type { TargetScorer } from './targetScorer';

const REPLACE_PROBABILITY = 0.3;
/** Fewer masks per seed than this estimate nothing: a 30% mask leaves a token replaced in ~5 of them. */
const MIN_MASKS = 16;

export interface ReagentPlan {
  /** Masks per seed the method asks for: max(32, 4 × tokens). */
  fullMasks: number;
  /** Masks per seed that will run (fullMasks, or fewer to stay within maxSteps). */
  masks: number;
  /** Steps of at most REAGENT_STEP_MASKS forward rows each. */
  steps: number;
  /** Forward rows in all: seeds × masks. */
  rows: number;
  /** Set when masks < fullMasks: what was cut and how to run the full count. */
  warning?: string;
}

/** The work ReAGent will do on `tokens` context tokens with `seeds` seeds, within `maxSteps` steps; refuses a plan that leaves too few masks. */
export function reagentPlan(tokens: number, seeds: number, maxSteps = DEFAULT_REAGENT_MAX_STEPS): ReagentPlan {
  if (!Number.isSafeInteger(maxSteps) || maxSteps < 1) throw new InputError(`max steps must be a positive integer (got ${maxSteps})`);
  const fullMasks = Math.max(32, 4 * tokens);
  const stepsFor = (masks: number) => Math.ceil((seeds * masks) / REAGENT_STEP_MASKS);
  if (stepsFor(fullMasks) <= maxSteps) return { fullMasks, masks: fullMasks, steps: stepsFor(fullMasks), rows: seeds * fullMasks };
  const masks = Math.floor((maxSteps * REAGENT_STEP_MASKS) / seeds);
  if (masks < MIN_MASKS) {
    throw new InputError(`reagent: ${seeds} seeds within --max-steps ${maxSteps} leave ${masks} masks per seed (at least ${MIN_MASKS} are needed); ` +
      `raise --max-steps to ${Math.ceil((seeds * MIN_MASKS) / REAGENT_STEP_MASKS)} or more, or use fewer --seeds`);
  }
  return {
    fullMasks, masks, steps: stepsFor(masks), rows: seeds * masks,
    warning: `reagent: ${seeds} seeds × ${fullMasks} masks (4 per token) would take ${stepsFor(fullMasks)} steps of ${REAGENT_STEP_MASKS} forward rows; ` +
      `--max-steps ${maxSteps} ran the first ${masks} masks of each seed (scores are noisier: see the sd); raise --max-steps to ${stepsFor(fullMasks)} for the full count`,
  };
}

/** A seed's first `count` masks (true = replaced) and the texts they make, from the seed's own random sequence. */
export function replacementMasks(ids: readonly number[], seed: number, count: number, vocab: number, special: ReadonlySet<number>): { replaced: boolean[][]; variants: number[][] } {
  const random = seededRandom(0x5a11e ^ Math.imul(seed, 0x9e3779b1));
  const replaced: boolean[][] = [];
  const variants: number[][] = [];
  for (let m = 0; m < count; m++) {
    const mask = ids.map(() => random() < REPLACE_PROBABILITY);
    replaced.push(mask);
    variants.push(ids.map((id, i) => {
      if (!mask[i]) return id;
      let replacement: number;
      do replacement = Math.floor(random() * vocab);
      while (special.has(replacement) || replacement === id);
      return replacement;
    }));
  }
  return { replaced, variants };
}

/** Per token: mean drop over the masks that replaced it − mean drop over those that kept it (0 for a side with none). */
export function replacementScores(replaced: readonly (readonly boolean[])[], drops: readonly number[], tokens: number): Float64Array {
  return Float64Array.from({ length: tokens }, (_, i) => {
    let inSum = 0;
    let inCount = 0;
    let outSum = 0;
    let outCount = 0;
    replaced.forEach((mask, m) => {
      if (mask[i]) {
        inSum += drops[m]!;
        inCount++;
      } else {
        outSum += drops[m]!;
        outCount++;
      }
    });
    return (inCount > 0 ? inSum / inCount : 0) - (outCount > 0 ? outSum / outCount : 0);
  });
}

/** Each seed's scores, running `plan`'s steps in order with "step k / K" progress. */
export async function* reagent(
  scorer: TargetScorer, ids: readonly number[], baseline: number, seeds: number, plan: ReagentPlan, vocab: number, special: ReadonlySet<number>, signal?: AbortSignal,
): AsyncGenerator<Progress, Float64Array[]> {
  const perSeed = Array.from({ length: seeds }, (_, seed) => replacementMasks(ids, seed, plan.masks, vocab, special));
  const variants = perSeed.flatMap((s) => s.variants);
  const passes = Math.ceil(REAGENT_STEP_MASKS / Math.max(1, scorer.batchSize(ids.length)));
  yield {
    message: `ReAGent: ${seeds} seed${seeds === 1 ? '' : 's'} × ${plan.masks} masks = ${plan.rows} forward rows of ${ids.length} tokens, ` +
      `${plan.steps} step${plan.steps === 1 ? '' : 's'} of ≤ ${REAGENT_STEP_MASKS} rows (${passes === 1 ? 'one pass' : `${passes} passes`} each)`,
    fraction: 0,
  };
  const drops: number[] = [];
  for (let k = 0; k < plan.steps; k++) {
    throwIfAborted(signal);
    const step = variants.slice(k * REAGENT_STEP_MASKS, (k + 1) * REAGENT_STEP_MASKS);
    const scores = yield* withProgress((onProgress) => scorer.score(step, signal, onProgress), `Step ${k + 1} / ${plan.steps}`, k / plan.steps, (k + 1) / plan.steps);
    for (const s of scores) drops.push(baseline - s);
  }
  return perSeed.map((s, seed) => replacementScores(s.replaced, drops.slice(seed * plan.masks, (seed + 1) * plan.masks), ids.length));
}
