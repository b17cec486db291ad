// `perplexity MODEL --text-file F`: exp(mean NLL) over every predicted position of the text's windows
// (DESIGN.md §4: positions 1..n−1 of each window).
import { openModelRunner, type ModelRunner } from '../compute/modelRunner';
import { throwIfAborted } from '../errors';
import type { PerplexityResult, Progress } from '../protocol/results';
import { negativeLogLikelihood } from './logits';
import { tokenizeText, type TextAnalysisInput, type TokenizedText } from './textInput';

export async function* perplexity(input: TextAnalysisInput, signal?: AbortSignal): AsyncGenerator<Progress, PerplexityResult> {
  yield { message: `Building ${input.model}` };
  const model = await openModelRunner(input.model, input.providers, signal, input.residualStream);
  try {
    const text = await tokenizeText(model, input.text, input.maxTokens);
    const { nll, predicted } = yield* textNll(model, text, undefined, signal);
    return {
      path: input.model, device: model.device, tokens: text.spans.length, predicted, windows: text.windows.length, truncated: text.truncated,
      nll: nll / predicted, perplexity: Math.exp(nll / predicted), devicesSkipped: model.devicesSkipped, warnings: [],
    };
  } finally {
    await model.release();
  }
}

/** Total NLL and predicted-token count over the windows, optionally with one block skipped. */
export async function* textNll(model: ModelRunner, text: TokenizedText, skip: number | undefined, signal?: AbortSignal): AsyncGenerator<Progress, { nll: number; predicted: number }> {
  let nll = 0;
  let predicted = 0;
  for (const [w, window] of text.windows.entries()) {
    throwIfAborted(signal);
    yield { message: `Window ${w + 1}/${text.windows.length}${skip === undefined ? '' : ` without block ${skip}`}`, fraction: w / text.windows.length };
    const ids = window.map((s) => s.id);
    const out = await model.forward([ids], skip === undefined ? {} : { skip });
    nll += negativeLogLikelihood(out.logits, model.vocab, out.seq, 0, ids);
    predicted += ids.length - 1;
  }
  return { nll, predicted };
}
