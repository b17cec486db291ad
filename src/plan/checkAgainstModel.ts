// The second half of validating a plan: does it make sense for the checkpoint it names? Every check here runs
// before apply writes anything, and each error names the action and the index at fault.
import { InputError } from '../errors';
import { checkExperts, type ExpertLayout } from './experts';
import { checkChannelDrops, type MlpLayout } from './mlpChannels';
import { checkHeadDrops, headLayout, type HeadDrop, type HeadLayout } from './heads';
import type { SourceModel } from './source';
import type { PrunePlan } from './types';

export interface CheckedPlan {
  dropped: Set<number>;
  /** Source block -> sparsity ratio, for blocks that are kept and sparsified. */
  ratios: Map<number, number>;
  sparsityMetric: 'magnitude' | 'wanda' | null;
  /** Source block -> the heads it loses (drop-heads), with the head layout they refer to. */
  headDrops: Map<number, HeadDrop>;
  heads: HeadLayout | null;
  /** drop-experts: the expert layout and source block -> experts it loses. */
  experts: { layout: ExpertLayout; dropped: Map<number, number[]> } | null;
  /** drop-mlp-channels: the MLP layout and source block -> the intermediate channels it loses. */
  channels: { layout: MlpLayout; dropped: Map<number, number[]> } | null;
}

export function checkAgainstModel(plan: PrunePlan, source: SourceModel, where: string): CheckedPlan {
  const fail = (message: string): never => {
    throw new InputError(`${where}: ${message}`);
  };
  if (plan.model.fingerprint !== source.fingerprint) {
    fail(`model.fingerprint does not match ${source.path} (its config.json or tensors differ from the checkpoint the plan was made for); make a new plan for it`);
  }
  if (plan.model.layers !== source.layers) fail(`model.layers is ${plan.model.layers} but ${source.path} has ${source.layers} blocks`);
  const dropped = new Set<number>();
  const ratios = new Map<number, number>();
  let sparsityMetric: CheckedPlan['sparsityMetric'] = null;
  for (const [i, action] of plan.actions.entries()) {
    const at = `actions[${i}]`;
    switch (action.type) {
      case 'drop-layers':
        for (const [j, layer] of action.layers.entries()) {
          if (layer >= source.layers) fail(`${at}.layers[${j}]: block ${layer} does not exist (the model has blocks 0..${source.layers - 1})`);
          dropped.add(layer);
        }
        if (dropped.size >= source.layers) fail(`${at}.layers: drops all ${source.layers} blocks; at least one must remain`);
        break;
      case 'sparsity':
        if (action.metric === 'wanda' && !plan.metric.text) fail(`${at}.metric: wanda needs the text in metric.text to measure the layer inputs`);
        for (const [j, entry] of action.layers.entries()) {
          if (entry.layer >= source.layers) fail(`${at}.layers[${j}].layer: block ${entry.layer} does not exist (the model has blocks 0..${source.layers - 1})`);
          ratios.set(entry.layer, entry.ratio);
        }
        sparsityMetric = action.metric;
        break;
      case 'drop-heads':
        break;
      case 'drop-experts':
      case 'drop-mlp-channels':
        break;
    }
  }
  for (const [i, action] of plan.actions.entries()) {
    if (action.type !== 'sparsity') continue;
    for (const [j, entry] of action.layers.entries()) {
      if (dropped.has(entry.layer)) fail(`actions[${i}].layers[${j}]: block ${entry.layer} is sparsified but also dropped; remove one of the two`);
    }
  }
  let heads: HeadLayout | null = null;
  let headDrops = new Map<number, HeadDrop>();
  for (const [i, action] of plan.actions.entries()) {
    if (action.type !== 'drop-heads') continue;
    if (ratios.size > 0) fail(`actions[${i}]: drop-heads and sparsity in one plan are not supported; apply them as two plans, one after the other`);
    heads = headLayout(source);
    headDrops = checkHeadDrops(action, source.layers, heads, dropped, `actions[${i}]`, fail);
  }
  let experts: CheckedPlan['experts'] = null;
  for (const [i, action] of plan.actions.entries()) {
    if (action.type === 'drop-experts') experts = checkExperts(action.experts, source, dropped, `actions[${i}]`, fail);
  }
  let channels: CheckedPlan['channels'] = null;
  for (const [i, action] of plan.actions.entries()) {
    if (action.type !== 'drop-mlp-channels') continue;
    // Sparsity's per-row ratios and Wanda's input norms are for the full-width weights.
    if (ratios.size > 0) fail(`actions[${i}]: drop-mlp-channels and sparsity in one plan are not supported; apply them as two plans, one after the other`);
    channels = checkChannelDrops(action.channels, source, dropped, `actions[${i}]`, fail);
  }
  return { dropped, ratios, sparsityMetric, headDrops, heads, experts, channels };
}

