// First-order Taylor importance of each routed expert of an MoE model (LLM-Pruner's |W ⊙ ∂L/∂W| summed over a
// structure, here an expert's gate/up/down weights), L the mean next-token NLL over the text: the experts
// analysis's `taylor` column and the drop-experts plan metric `expert-taylor`. The gradients are taylor.ts's loop
// (lossGradients), which hands an MoE block's MLP tensors by name as the MoE backward streams them
// (engine/moeRunner.ts); an expert no token is routed to gets 0.
import type { ModelRunner } from '../compute/runner';
import type { Progress } from '../protocol/results';
import { gradientEngine } from './fisher';
import { lossGradients } from './taylor';
import type { TokenizedText } from './textInput';

/** Per block, per routed expert: Σ |W ⊙ ∂L/∂W| over the expert's weights; an empty array for a block without experts. */
export async function* expertTaylorScores(model: ModelRunner, text: TokenizedText, signal?: AbortSignal): AsyncGenerator<Progress, Float64Array[]> {
  const engine = gradientEngine(model, 'expert Taylor');
  const moe = engine.moe;
  const owners = Array.from({ length: engine.layers }, (_, l) => moe?.expertOfTensor(l) ?? new Map<string, number>());
  const totals = Array.from({ length: engine.layers }, (_, l) => new Float64Array(moe?.experts(l) ?? 0));
  const predicted = yield* lossGradients(model, text, 'expert Taylor', (layer, sums, weights) => {
    for (const [name, g] of Object.entries(sums)) {
      const expert = owners[layer]!.get(name);
      if (expert === undefined) continue;
      const w = weights[name]!;
      let total = 0;
      for (let i = 0; i < g.length; i++) total += Math.abs(w[i]! * g[i]!);
      totals[layer]![expert]! += total;
    }
  }, signal);
  // ∂L/∂W = −(Σ ∂log p/∂W) / predicted; the sign drops with |·|.
  return totals.map((t) => t.map((v) => v / predicted));
}
