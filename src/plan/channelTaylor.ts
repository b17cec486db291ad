// The plan metric channel-taylor: LLM-Pruner's first-order Taylor importance of each MLP channel group on a text,
// element-wise with the sum aggregation (the paper's default): Σ over the group's weights (gate row, up row — both
// halves of Phi-3's fused gate_up_proj —, their bias elements, the down_proj column) of |W ⊙ ∂L/∂W|, L the mean
// next-token NLL on the text. The gradients come from the block engine (analyses/taylor.ts lossGradients); the
// group's elements are the ones apply removes (mlpChannels.ts channelOf), so the scores and the slices agree.
import { tokenizeText } from '../analyses/textInput';
import { lossGradients } from '../analyses/taylor';
import type { TokenizedText } from '../analyses/textInput';
import { gradientEngine } from '../analyses/fisher';
import { openModelRunner } from '../compute/modelRunner';
import type { ModelRunner } from '../compute/runner';
import { InputError } from '../errors';
import type { Progress } from '../protocol/results';
import type { TextSource } from '../protocol/worker';
import { channelOf, type MlpLayout } from './mlpChannels';
import type { SourceModel } from './source';

/** Per block, per channel: Σ |W ⊙ ∂L/∂W| over the channel's group; [] for a block without an MLP. */
export async function* channelTaylorOf(model: ModelRunner, layout: MlpLayout, text: TokenizedText, signal?: AbortSignal): AsyncGenerator<Progress, number[][]> {
  const engine = gradientEngine(model, 'channel-taylor');
  const sums: Float64Array[] = [];
  const predicted = yield* lossGradients(model, text, 'channel-taylor', (layer, grads, weights) => {
    const names = engine.tensorNames(layer);
    const into = new Float64Array(layout.intermediate);
    const shapes = new Map(engine.roles.map((r) => [r.role, r.shape]));
    for (const [role, g] of Object.entries(grads)) {
      const member = layout.members.get(names[role]!);
      if (!member) continue;
      const w = weights[role]!;
      const shape = shapes.get(role)!;
      const cols = shape.length === 2 ? shape[1]! : 1;
      for (let i = 0; i < g.length; i++) into[channelOf(member, i, cols, layout.intermediate)]! += Math.abs(w[i]! * g[i]!);
    }
    sums[layer] = into;
  }, signal);
  // ∂L/∂W = −(Σ ∂log p/∂W) / predicted; the sign drops with |·|.
  return Array.from({ length: sums.length }, (_, layer) => (layout.blocks.has(layer) ? Array.from(sums[layer] ?? [], (s) => s / predicted) : []));
}

export async function* channelTaylorScores(
  source: SourceModel, layout: MlpLayout, text: TextSource, maxTokens: number, providers: readonly string[] | undefined, signal?: AbortSignal,
): AsyncGenerator<Progress, { scores: number[][]; device: string }> {
  yield { message: `Building ${source.path}` };
  const model = await openModelRunner(source.path, providers, signal);
  try {
    const spec = (model as { spec?: { intermediate?: number } }).spec;
    if (spec?.intermediate !== undefined && spec.intermediate !== layout.intermediate) {
      throw new InputError(`${source.path}: the engine runs MLPs of ${spec.intermediate} channels, but config.json's intermediate_size is ${layout.intermediate}`);
    }
    const tokens = await tokenizeText(model, text, maxTokens);
    const scores = yield* channelTaylorOf(model, layout, tokens, signal);
    return { scores, device: model.device };
  } finally {
    await model.release();
  }
}
