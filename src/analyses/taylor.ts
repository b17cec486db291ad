// First-order Taylor importance of each block (LLM-Pruner, Ma et al. 2023): the loss change a weight's removal
// causes, to first order, is |W ⊙ ∂L/∂W|; a block's score is the sum over every weight of the block (its linear
// layers, norms and biases; on an MoE model also its router and every expert, handed over expert by expert). L is the mean next-token NLL over the text. Gradients come from the block engine's
// backward graphs (src/compute/autodiff/modelGradients.ts), block by block, last block first. The
// text's batches run in one block-major pass, which sums each block's gradient over the batches before handing it
// over: one block's gradient sum is held at a time, whatever the text's length. lossGradients is that pass, shared
// with LLM-Pruner's channel-group scores (groupTaylor.ts, plan/headTaylor.ts, plan/channelTaylor.ts) and the
// experts' (expertTaylor.ts).
import { ModelGradients, type GradientBatch, type GradientOptions } from '../compute/autodiff/modelGradients';
import type { ModelRunner } from '../compute/runner';
import { InputError, throwIfAborted } from '../errors';
import type { Progress } from '../protocol/results';
import { withProgress } from './blockPass';
import { gradientEngine, predictedTokens } from './fisher';
import type { TokenizedText } from './textInput';

/** Windows per batch at most: a batch is what one block run (forward, or backward in sub-batches) takes at once. */
const MAX_ROWS = 16;

/**
 * The text's windows in batches: windows of one length share a batch, up to `rowsPerBatch` rows. Batches only set
 * how rows are grouped into block runs: the pass holds every batch's block boundaries whatever the grouping.
 */
export function gradientBatches(windows: readonly (readonly number[])[], rowsPerBatch = MAX_ROWS): { first: number; rows: number[][] }[] {
  const batches: { first: number; rows: number[][] }[] = [];
  windows.forEach((ids, w) => {
    const last = batches[batches.length - 1];
    if (last && last.rows[0]!.length === ids.length && last.rows.length < rowsPerBatch) last.rows.push([...ids]);
    else batches.push({ first: w, rows: [[...ids]] });
  });
  return batches;
}

/**
 * Every block's Σ over the text's predicted tokens of ∂log p/∂W, handed to `onBlock` with the block's weights
 * (both valid only during the call), last block first: ∂L/∂W = −sums / predicted tokens. An MoE block comes in
 * several calls, each with some of its tensors (ModelGradients' onWeightGradient): the scores add up over them.
 * All batches run in one block-major pass (ModelGradients.inputGradients), so the sums are one block's at a time;
 * a text whose block boundaries do not fit in memory is refused before any work. Options: `withoutMoeWeights`
 * leaves an MoE block's MLP calls out (ModelGradients' option); `rowsPerBatch`, rows per batch at most (tests force
 * a small split). Returns the number of predicted tokens.
 */
export async function* lossGradients(
  model: ModelRunner, text: TokenizedText, what: string,
  onBlock: (layer: number, sums: Record<string, Float32Array>, weights: Record<string, Float32Array>) => void, signal?: AbortSignal,
  options: Pick<GradientOptions, 'withoutMoeWeights'> & { rowsPerBatch?: number } = {},
): AsyncGenerator<Progress, number> {
  const { rowsPerBatch = MAX_ROWS, withoutMoeWeights } = options;
  const engine = gradientEngine(model, what);
  const predicted = predictedTokens(text);
  if (predicted < 1) throw new InputError(`${what} needs a text of at least two tokens (the loss is the NLL of each token after the first)`);
  const groups = gradientBatches(text.windows.map((window) => window.map((s) => s.id)), rowsPerBatch);
  const gradients = await ModelGradients.open(engine);
  try {
    gradients.ensureFits(groups.map(({ rows }) => ({ batch: rows.length, seq: rows[0]!.length })), true);
    const batches: GradientBatch[] = [];
    for (const { rows } of groups) {
      throwIfAborted(signal);
      const seq = rows[0]!.length;
      const targets = Int32Array.from({ length: rows.length * seq }, (_, i) => (i % seq < seq - 1 ? rows[Math.floor(i / seq)]![(i % seq) + 1]! : -1));
      batches.push({ embeddings: await engine.embed(rows, signal), batch: rows.length, seq, targets });
    }
    const label = `${text.windows.length} window${text.windows.length === 1 ? '' : 's'} in ${batches.length} batch${batches.length === 1 ? '' : 'es'}`;
    yield* withProgress((onProgress) => gradients.inputGradients(batches, { onProgress, onWeightGradient: onBlock, ...(withoutMoeWeights ? { withoutMoeWeights } : {}), ...(signal ? { signal } : {}) }), label);
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
