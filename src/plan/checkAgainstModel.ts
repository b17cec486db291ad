// The second half of validating a plan: does it make sense for the checkpoint it names? Every check here runs
// before apply writes anything, and each error names the action and the index at fault.
import { InputError } from '../errors';
import { checkExperts, type ExpertLayout } from './experts';
import { headLayout, type HeadLayout } from './heads';
import type { SourceModel } from './source';
import type { PrunePlan } from './types';

export interface CheckedPlan {
  dropped: Set<number>;
  /** Source block -> sparsity ratio, for blocks that are kept and sparsified. */
  ratios: Map<number, number>;
  sparsityMetric: 'magnitude' | 'wanda' | null;
  /** Source block -> KV groups it loses (drop-heads), with the head layout they refer to. */
  kvGroups: Map<number, number[]>;
  heads: HeadLayout | null;
  /** drop-experts: the expert layout and source block -> experts it loses. */
  experts: { layout: ExpertLayout; dropped: Map<number, number[]> } | null;
}

export function checkAgainstModel(plan: PrunePlan, source: SourceModel, where: string): CheckedPlan {
  const fail = (message: string): never => {
    throw new InputError(`${where}: ${message}`);
  };
  if (plan.model.fingerprint !== source.fingerprint) {
    fail(`model.fingerprint does not match ${source.directory} (its config.json or tensors differ from the checkpoint the plan was made for); make a new plan for it`);
  }
  if (plan.model.layers !== source.layers) fail(`model.layers is ${plan.model.layers} but ${source.directory} has ${source.layers} blocks`);
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
  const kvGroups = new Map<number, number[]>();
  for (const [i, action] of plan.actions.entries()) {
    if (action.type !== 'drop-heads') continue;
    if (ratios.size > 0) fail(`actions[${i}]: drop-heads and sparsity in one plan are not supported; apply them as two plans, one after the other`);
    heads = headLayout(source);
    checkHeadSplit(action.kvGroups, source, heads.kvHeads, dropped, `actions[${i}]`, fail);
    for (const [key, groups] of Object.entries(action.kvGroups)) if (groups.length > 0) kvGroups.set(Number(key), groups);
  }
  let experts: CheckedPlan['experts'] = null;
  for (const [i, action] of plan.actions.entries()) {
    if (action.type === 'drop-experts') experts = checkExperts(action.experts, source, dropped, `actions[${i}]`, fail);
  }
  return { dropped, ratios, sparsityMetric, kvGroups, heads, experts };
}

/**
 * A head split must leave valid shapes: whole KV groups (a KV head with the query heads that share it), the same
 * number in every block (config.json holds one num_key_value_heads), and at least one group per block.
 */
function checkHeadSplit(kvGroups: Record<string, number[]>, source: SourceModel, kv: number, dropped: ReadonlySet<number>, at: string, fail: (message: string) => never): void {
  const counts = new Map<number, number>();
  for (let layer = 0; layer < source.layers; layer++) if (!dropped.has(layer)) counts.set(layer, 0);
  for (const [key, groups] of Object.entries(kvGroups)) {
    const layer = Number(key);
    if (layer >= source.layers) fail(`${at}.kvGroups["${key}"]: block ${layer} does not exist (the model has blocks 0..${source.layers - 1})`);
    if (dropped.has(layer)) fail(`${at}.kvGroups["${key}"]: block ${layer} is dropped by drop-layers; leave it out of kvGroups`);
    for (const group of groups) if (group >= kv) fail(`${at}.kvGroups["${key}"]: invalid head split: block ${layer} has KV groups 0..${kv - 1}, not ${group}`);
    counts.set(layer, groups.length);
  }
  const distinct = new Set(counts.values());
  if (distinct.size > 1) {
    const list = [...counts].map(([l, n]) => `block ${l} drops ${n}`).join(', ');
    fail(`${at}.kvGroups: invalid head split: every block must drop the same number of KV groups, since config.json holds one num_key_value_heads (${list})`);
  }
  if ([...distinct][0] === kv) fail(`${at}.kvGroups: invalid head split: drops all ${kv} KV groups; at least one KV group must remain per block`);
}
