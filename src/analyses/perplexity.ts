// `perplexity MODEL --text-file F`: exp(mean NLL) over every predicted position of the text's windows
// (docs/cli.md: positions 1..n−1 of each window). On the block engine the head gives log p(next token) per
// position from vocabulary chunks, so no [tokens, vocab] logits are made.
import { openModelRunner, type ForwardOptions, type ModelRunner } from '../compute/modelRunner';
import { throwIfAborted } from '../errors';
import type { PerplexityResult, Progress } from '../protocol/results';
import { withProgress } from './blockPass';
import { logProbsOf, nextTokenTargets } from './logits';
import { tokenizeText, windowBatches, type TextAnalysisInput, type TokenizedText } from './textInput';

export async function* perplexity(input: TextAnalysisInput, signal?: AbortSignal): AsyncGenerator<Progress, PerplexityResult> {
  yield { message: `Building ${input.model}` };
  const model = await openModelRunner(input.model, input.providers, signal, input.residualStream);
  try {
    const text = await tokenizeText(model, input.text, input.maxTokens);
    const { nll, predicted } = yield* textNll(model, text, {}, signal);
    return {
      path: input.model, device: model.device, tokens: text.spans.length, predicted, windows: text.windows.length, truncated: text.truncated,
      nll: nll / predicted, perplexity: Math.exp(nll / predicted), devicesSkipped: model.devicesSkipped, warnings: [],
      ...(model.devices ? { devices: model.devices } : {}),
    };
  } finally {
    await model.release();
  }
}

/** Total NLL and predicted-token count over the windows, optionally with blocks skipped, heads masked or weights edited (a plan run virtually). */
export async function* textNll(
  model: ModelRunner, text: TokenizedText, variant: Pick<ForwardOptions, 'skip' | 'headMask' | 'editBlock' | 'dropExperts'>, signal?: AbortSignal,
): AsyncGenerator<Progress, { nll: number; predicted: number }> {
  const { skip } = variant;
  let nll = 0;
  let predicted = 0;
  const windows = text.windows.length;
  for (const { first, rows } of windowBatches(model, text)) {
    throwIfAborted(signal);
    const targets = rows.map(nextTokenTargets);
    const span = rows.length === 1 ? `Window ${first + 1}/${windows}` : `Windows ${first + 1}–${first + rows.length}/${windows}`;
    const label = `${span}${skip === undefined ? '' : typeof skip === 'number' ? ` without block ${skip}` : ` without blocks ${skip.join(', ')}`}`;
    yield { message: label, fraction: first / windows };
    const out = yield* withProgress((onProgress) => model.forward(rows, {
      ...variant, targets, logits: false, onProgress, ...(signal ? { signal } : {}),
    }), label, first / windows, (first + rows.length) / windows);
    const logProbs = logProbsOf(out, model.vocab, targets);
    rows.forEach((ids, b) => {
      for (let t = 0; t + 1 < ids.length; t++) nll -= logProbs[b * out.seq + t]!;
      predicted += ids.length - 1;
    });
  }
  return { nll, predicted };
}
