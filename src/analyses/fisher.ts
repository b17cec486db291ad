// Fisher importance of each block: ½ Σ over the block's weights of F_ii·W_i², F the diagonal empirical Fisher,
// F_ii = mean over the text's predicted tokens t of (∂ℓ_t/∂W_i)², ℓ_t = −log p(token t | tokens before it). It is
// Optimal Brain Damage's estimate of the loss increase when the block's weights are removed, with the empirical
// Fisher as the Hessian's diagonal. Per-token gradients need one backward pass per token (token t's pass reads only
// the tokens up to t); the block's score is accumulated from each pass's weight gradients as the block goes by,
// Σ_i (g_t,i·W_i)², so no per-weight Fisher is held. Cost: one forward + backward of a prefix per predicted token.
// perTokenWeightGradients is that loop, shared with the Fisher-weighted delta (fisherDelta.ts).
import { ModelGradients, type GradientRequest } from '../compute/autodiff/modelGradients';
import { LanguageModel } from '../compute/languageModel';
import type { ModelRunner } from '../compute/runner';
import { InputError, throwIfAborted } from '../errors';
import type { Progress } from '../protocol/results';
import { withProgress } from './blockPass';
import type { TokenizedText } from './textInput';

/** The model's block engine, or a clear refusal for a runner that cannot give gradients (an exported .onnx). */
export function gradientEngine(model: ModelRunner, what: string): LanguageModel['engine'] {
  if (!(model instanceof LanguageModel)) {
    throw new InputError(`${model.path}: ${what} needs gradients, which the block engine computes from the graphs it builds; an exported .onnx decoder runs inference only — give the Hugging Face model directory`);
  }
  return model.engine;
}

/** Tokens the text predicts: every token of a window after its first. */
export const predictedTokens = (text: TokenizedText): number => text.windows.reduce((s, w) => s + w.length - 1, 0);

/**
 * One backward pass per predicted token t of the text, each handing every block's gradient of log p(token t | the
 * tokens before it in its window) to `onWeightGradient` (the sign is that of −ℓ_t; squares do not see it).
 */
export async function* perTokenWeightGradients(gradients: ModelGradients, engine: LanguageModel['engine'], text: TokenizedText, onWeightGradient: NonNullable<GradientRequest['onWeightGradient']>, signal?: AbortSignal): AsyncGenerator<Progress, void> {
  const predicted = predictedTokens(text);
  let done = 0;
  for (const window of text.windows) {
    const ids = window.map((s) => s.id);
    for (let t = 1; t < ids.length; t++) {
      throwIfAborted(signal);
      // Token t predicted from the prefix ids[0..t): the pass reads only the prefix.
      const prefix = ids.slice(0, t);
      const targets = Int32Array.from(prefix, (_, i) => (i === t - 1 ? ids[t]! : -1));
      const embeddings = await engine.embed([prefix], signal);
      const label = `Token ${done + 1}/${predicted}`;
      yield* withProgress((onProgress) => gradients.inputGradient({
        embeddings, batch: 1, seq: prefix.length, targets, onProgress, onWeightGradient, ...(signal ? { signal } : {}),
      }), label, done / predicted, (done + 1) / predicted);
      done++;
    }
  }
}

export async function* fisherScores(model: ModelRunner, text: TokenizedText, signal?: AbortSignal): AsyncGenerator<Progress, Float64Array> {
  const engine = gradientEngine(model, 'fisher');
  const predicted = predictedTokens(text);
  if (predicted < 1) throw new InputError('fisher needs a text of at least two tokens (one gradient per token after the first)');
  const sums = new Float64Array(engine.layers);
  const gradients = await ModelGradients.open(engine);
  try {
    yield* perTokenWeightGradients(gradients, engine, text, (layer, grads, weights) => {
      let total = 0;
      for (const [role, g] of Object.entries(grads)) {
        const w = weights[role]!;
        for (let i = 0; i < g.length; i++) {
          const x = g[i]! * w[i]!;
          total += x * x;
        }
      }
      sums[layer]! += total;
    }, signal);
  } finally {
    await gradients.release();
  }
  return sums.map((s) => s / (2 * predicted));
}
