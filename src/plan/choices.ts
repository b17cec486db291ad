// What generatePlan can do for a given model, asked before the editor asks the user anything: which kinds of plan
// apply (blocks, sparsity, heads under GQA, MoE experts, MLP width), how much each may remove, and which metrics score them.
// The limits are generatePlan's own checks, read off the same layouts, so the editor validates what the CLI would.
import { join, resolve } from 'node:path';
import { InputError } from '../errors';
import { pathKind } from '../formats/fileio';
import { TEXT_LAYER_METRICS } from '../protocol/layerMetrics';
import type { PlanChoice, PlanChoices, PlanKind } from '../protocol/plan';
import { MOE_MODEL_TYPES } from '../compute/families/moeSpec';
import { expertLayout } from './experts';
import { headLayout } from './heads';
import { linearWeights } from './linearWeights';
import { mlpLayout } from './mlpChannels';
import { openSource } from './source';


export async function planChoices(model: string): Promise<PlanChoices> {
  const source = await openSource(resolve(model));
  // A .gguf file carries its tokenizer; a Hugging Face directory has tokenizer.json.
  const runsOnText = source.format === 'gguf' || (await pathKind(join(source.directory, 'tokenizer.json'))) === 'file';
  const metrics = (weightOnly: string, onText: string[]) => [
    ...(runsOnText ? onText.map((name) => ({ name, needsText: true })) : []),
    { name: weightOnly, needsText: false },
  ];
  // Wanda is refused for MoE models (analyses/wanda.ts refuseWandaOnExperts): not offered for them.
  const moe = (MOE_MODEL_TYPES as readonly string[]).includes(source.family);
  const available: PlanChoice[] = [];
  const unavailable: { kind: PlanKind; reason: string }[] = [];
  /** Runs a layout check; an InputError (the model lacks what the kind needs) makes the kind unavailable. */
  const probe = (kinds: PlanKind[], check: () => PlanChoice[] | string) => {
    let outcome: PlanChoice[] | string;
    try {
      outcome = check();
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      outcome = error.message;
    }
    if (typeof outcome === 'string') unavailable.push(...kinds.map((kind) => ({ kind, reason: outcome as string })));
    else available.push(...outcome);
  };

  probe(['drop-layers', 'contiguous-block'], () => {
    if (source.layers < 2) return `the model has ${source.layers} block; at least one must remain`;
    const layerMetrics = metrics('weight-l2', TEXT_LAYER_METRICS.filter((m) => !(moe && m === 'wanda')));
    return [
      { kind: 'drop-layers', max: source.layers - 1, metrics: layerMetrics },
      { kind: 'contiguous-block', max: source.layers - 1, metrics: layerMetrics },
    ];
  });
  probe(['sparsity'], () => (linearWeights(source), [{ kind: 'sparsity', max: 0.99, metrics: metrics('magnitude', moe ? [] : ['wanda']) }]));
  probe(['drop-heads', 'drop-query-heads'], () => {
    const layout = headLayout(source);
    // head-l2 first: the default of generatePlan.
    const headMetrics = [{ name: 'head-l2', needsText: false }, ...(runsOnText ? [{ name: 'head-taylor', needsText: true }] : [])];
    const kinds: PlanChoice[] = [];
    if (layout.kvHeads > 1) kinds.push({ kind: 'drop-heads', max: layout.kvHeads - 1, metrics: headMetrics });
    else unavailable.push({ kind: 'drop-heads', reason: 'the model has one KV head: no group can go' });
    if (layout.group > 1) kinds.push({ kind: 'drop-query-heads', max: layout.group - 1, metrics: headMetrics });
    else unavailable.push({ kind: 'drop-query-heads', reason: 'each KV group has one query head: none can go' });
    return kinds;
  });
  probe(['drop-experts'], () => {
    const layout = expertLayout(source);
    const most = layout.experts - layout.perToken;
    if (most < 1) return `${layout.experts} experts with ${layout.perToken} routed per token: none can go`;
    return [{ kind: 'drop-experts', max: most, metrics: metrics('expert-l2', ['expert-drop', 'expert-share', 'expert-taylor']) }];
  });
  probe(['drop-mlp-channels'], () => {
    const { intermediate } = mlpLayout(source);
    if (intermediate < 2) return 'the MLP has one channel: none can go';
    return [{ kind: 'drop-mlp-channels', max: intermediate - 1, metrics: metrics('channel-magnitude', ['channel-taylor']) }];
  });
  return { model: source.path, family: source.family, layers: source.layers, runsOnText, available, unavailable };
}
