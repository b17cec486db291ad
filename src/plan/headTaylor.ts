// The plan metric head-taylor: LLM-Pruner's channel-group Taylor importance of each KV group and query head on a
// text (analyses/groupTaylor.ts, the sum aggregation), for `plan --drop-heads` / `--drop-query-heads`. The model is
// run from the plan's source; its head counts must be the ones the plan slices by (headLayout, from config.json).
import { groupTaylorScores } from '../analyses/groupTaylor';
import { tokenizeText } from '../analyses/textInput';
import { openModelRunner } from '../compute/modelRunner';
import { InputError } from '../errors';
import type { Progress } from '../protocol/results';
import type { TextSource } from '../protocol/worker';
import type { HeadLayout } from './heads';
import type { SourceModel } from './source';

/** What scores heads in a plan: head-l2 (weights only, the default) or head-taylor (gradients on a text). */
export const HEAD_METRICS = ['head-l2', 'head-taylor'] as const;
export type HeadMetric = (typeof HEAD_METRICS)[number];

export async function* headTaylorScores(
  source: SourceModel, layout: HeadLayout, text: TextSource, maxTokens: number, providers: readonly string[] | undefined, signal?: AbortSignal,
): AsyncGenerator<Progress, { scores: { groups: number[]; queries: number[] }[]; device: string }> {
  yield { message: `Building ${source.path}` };
  const model = await openModelRunner(source.path, providers, signal);
  try {
    const tokens = await tokenizeText(model, text, maxTokens);
    const blocks = yield* groupTaylorScores(model, tokens, signal);
    const scores = blocks.map((b) => {
      if (b.queryHeads.length !== layout.heads || b.kvGroups.length !== layout.kvHeads) {
        throw new InputError(`${source.path}: block ${b.layer} runs ${b.queryHeads.length} query heads on ${b.kvGroups.length} KV heads, but config.json says ${layout.heads} on ${layout.kvHeads}`);
      }
      return { groups: b.kvGroups.map((g) => g.sum), queries: b.queryHeads.map((h) => h.sum) };
    });
    return { scores, device: model.device };
  } finally {
    await model.release();
  }
}
