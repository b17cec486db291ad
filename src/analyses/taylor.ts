// First-order Taylor importance of each block (LLM-Pruner, Ma et al. 2023): the loss change a weight's removal
// causes, to first order, is |W ⊙ ∂L/∂W|; a block's score is the sum over every weight of the block (its linear
// layers, norms and biases). L is the mean next-token NLL over the text. Gradients come from the block engine's
// backward graphs (src/compute/autodiff/modelGradients.ts), block by block, last block first. All windows of the
// text in one batch give the text's gradient at once; a text that needs several batches keeps every block's
// gradient sum until the last batch (a float32 copy of the block weights).
import { ModelGradients } from '../compute/autodiff/modelGradients';
import type { ModelRunner } from '../compute/runner';
import { InputError, throwIfAborted } from '../errors';
import type { Progress } from '../protocol/results';
import { withProgress } from './blockPass';
import { gradientEngine, predictedTokens } from './fisher';
import type { TokenizedText } from './textInput';

/** Windows per backward pass at most (memory permitting). */
const MAX_ROWS = 16;

export async function* taylorScores(model: ModelRunner, text: TokenizedText, signal?: AbortSignal): AsyncGenerator<Progress, Float64Array> {
  const engine = gradientEngine(model, 'taylor');
  const predicted = predictedTokens(text);
  if (predicted < 1) throw new InputError('taylor needs a text of at least two tokens (the loss is the NLL of each token after the first)');
  const scores = new Float64Array(engine.layers);
  const gradients = await ModelGradients.open(engine);
  try {
    // Windows of one length share a batch, as many as a backward pass with weight gradients fits.
    const batches: { first: number; rows: number[][] }[] = [];
    text.windows.forEach((window, w) => {
      const ids = window.map((s) => s.id);
      const last = batches[batches.length - 1];
      if (last && last.rows[0]!.length === ids.length && last.rows.length < gradients.rowsThatFit(ids.length, MAX_ROWS, true)) last.rows.push(ids);
      else batches.push({ first: w, rows: [ids] });
    });
    // Several batches: Σ ∂(Σ log p)/∂W per block over the batches, then |W ⊙ mean| at the end.
    const sums = batches.length > 1 ? new Map<number, Record<string, Float32Array>>() : undefined;
    for (const [b, { first, rows }] of batches.entries()) {
      throwIfAborted(signal);
      const seq = rows[0]!.length;
      const targets = Int32Array.from({ length: rows.length * seq }, (_, i) => (i % seq < seq - 1 ? rows[Math.floor(i / seq)]![(i % seq) + 1]! : -1));
      const embeddings = await engine.embed(rows, signal);
      const label = `Windows ${first + 1}–${first + rows.length}/${text.windows.length}`;
      yield* withProgress((onProgress) => gradients.inputGradient({
        embeddings, batch: rows.length, seq, targets, onProgress, ...(signal ? { signal } : {}),
        onWeightGradient: (layer, grads, weights) => {
          if (!sums) {
            scores[layer] = taylorOf(grads, weights, predicted);
            return;
          }
          const sum = sums.get(layer);
          if (!sum) sums.set(layer, Object.fromEntries(Object.entries(grads).map(([role, g]) => [role, Float32Array.from(g)])));
          else for (const [role, g] of Object.entries(grads)) for (let i = 0; i < g.length; i++) sum[role]![i]! += g[i]!;
          // The weights are re-read for the last batch; |W ⊙ Σ g| is taken there.
          if (b === batches.length - 1) scores[layer] = taylorOf(sums.get(layer)!, weights, predicted);
        },
      }), label, b / batches.length, (b + 1) / batches.length);
    }
  } finally {
    await gradients.release();
  }
  return scores;
}

/** Σ |W ⊙ ∂L/∂W| over a block's weights, with ∂L/∂W = −(Σ ∂log p/∂W) / predicted (the sign drops with |·|). */
function taylorOf(grads: Record<string, Float32Array>, weights: Record<string, Float32Array>, predicted: number): number {
  let total = 0;
  for (const [role, g] of Object.entries(grads)) {
    const w = weights[role]!;
    for (let i = 0; i < g.length; i++) total += Math.abs(w[i]! * g[i]!);
  }
  return total / predicted;
}
