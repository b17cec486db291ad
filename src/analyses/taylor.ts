// First-order Taylor importance of each block (LLM-Pruner, Ma et al. 2023): the loss change a weight's removal
// causes, to first order, is |W ⊙ ∂L/∂W|; a block's score is the sum over every weight of the block (its linear
// layers, norms and biases; on an MoE model also its router and every expert, handed over expert by expert). L is the mean next-token NLL over the text. Gradients come from the block engine's
// backward graphs (src/compute/autodiff/modelGradients.ts), block by block, last block first. All windows of the
// text in one batch give the text's gradient at once; a text that needs several batches keeps every block's
// gradient sum until the last batch (a float32 copy of the block weights). lossGradients is that loop, shared with
// LLM-Pruner's channel-group scores (groupTaylor.ts).
import { ModelGradients, type GradientRequest } from '../compute/autodiff/modelGradients';
import type { ModelRunner } from '../compute/runner';
import { InputError, throwIfAborted } from '../errors';
import type { Progress } from '../protocol/results';
import { withProgress } from './blockPass';
import { gradientEngine, predictedTokens } from './fisher';
import type { TokenizedText } from './textInput';

/** Windows per backward pass at most (memory permitting). */
const MAX_ROWS = 16;

/**
 * Every block's Σ over the text's predicted tokens of ∂log p/∂W, handed to `onBlock` with the block's weights
 * (both valid only during the call), last block first: ∂L/∂W = −sums / predicted tokens. An MoE block comes in
 * several calls, each with some of its tensors (ModelGradients' onWeightGradient): the scores add up over them;
 * `withoutMoeWeights` leaves those MLP calls out. Returns the number of predicted tokens.
 */
export async function* lossGradients(
  model: ModelRunner, text: TokenizedText, what: string,
  onBlock: (layer: number, sums: Record<string, Float32Array>, weights: Record<string, Float32Array>) => void, signal?: AbortSignal,
  options?: Pick<GradientRequest, 'withoutMoeWeights'>,
): AsyncGenerator<Progress, number> {
  const engine = gradientEngine(model, what);
  const predicted = predictedTokens(text);
  if (predicted < 1) throw new InputError(`${what} needs a text of at least two tokens (the loss is the NLL of each token after the first)`);
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
    // Several batches: Σ ∂(Σ log p)/∂W per block over the batches, handed over with the last batch.
    const sums = batches.length > 1 ? new Map<number, Record<string, Float32Array>>() : undefined;
    for (const [b, { first, rows }] of batches.entries()) {
      throwIfAborted(signal);
      const seq = rows[0]!.length;
      const targets = Int32Array.from({ length: rows.length * seq }, (_, i) => (i % seq < seq - 1 ? rows[Math.floor(i / seq)]![(i % seq) + 1]! : -1));
      const embeddings = await engine.embed(rows, signal);
      const label = `Windows ${first + 1}–${first + rows.length}/${text.windows.length}`;
      yield* withProgress((onProgress) => gradients.inputGradient({
        embeddings, batch: rows.length, seq, targets, onProgress, ...(signal ? { signal } : {}), ...options,
        // Several batches: the last one hands over every expert, so that an expert routed to only in an earlier
        // batch still gets its sum handed over (with its weights).
        ...(sums && b === batches.length - 1 ? { everyExpert: true } : {}),
        onWeightGradient: (layer, grads, weights) => {
          if (!sums) {
            onBlock(layer, grads, weights);
            return;
          }
          // An MoE block comes in parts (its graph's roles, its MLP's tensors): sums by key, each part handed on alone.
          const sum = sums.get(layer) ?? {};
          sums.set(layer, sum);
          for (const [key, g] of Object.entries(grads)) {
            const into = sum[key];
            if (!into) sum[key] = Float32Array.from(g);
            else for (let i = 0; i < g.length; i++) into[i]! += g[i]!;
          }
          // The weights are re-read for the last batch; the block is handed over there.
          if (b === batches.length - 1) onBlock(layer, Object.fromEntries(Object.keys(grads).map((key) => [key, sum[key]!])), weights);
        },
      }), label, b / batches.length, (b + 1) / batches.length);
    }
  } finally {
    await gradients.release();
  }
  return predicted;
}

export async function* taylorScores(model: ModelRunner, text: TokenizedText, signal?: AbortSignal): AsyncGenerator<Progress, Float64Array> {
  const totals = new Float64Array(model.layers);
  const predicted = yield* lossGradients(model, text, 'taylor', (layer, sums, weights) => {
    let total = 0;
    for (const [role, g] of Object.entries(sums)) {
      const w = weights[role]!;
      for (let i = 0; i < g.length; i++) total += Math.abs(w[i]! * g[i]!);
    }
    totals[layer]! += total;
  }, signal);
  // ∂L/∂W = −(Σ ∂log p/∂W) / predicted; the sign drops with |·|.
  return totals.map((t) => t / predicted);
}
