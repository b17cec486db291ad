// The second half of validating a plan: does it make sense for the checkpoint it names? Every check here runs
// before apply writes anything, and each error names the action and the index at fault.
import { tensorRole } from '../arch/names';
import { InputError } from '../errors';
import type { SourceModel } from './source';
import type { PrunePlan } from './types';

export interface CheckedPlan {
  dropped: Set<number>;
  /** Source block -> sparsity ratio, for blocks that are kept and sparsified. */
  ratios: Map<number, number>;
  sparsityMetric: 'magnitude' | 'wanda' | null;
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
        checkHeadSplit(action.kvGroups, source, at, fail);
        fail(`${at}: "drop-heads" is a valid split, but apply does not carry it out in this version; remove the action`);
        break;
      case 'drop-experts':
        if (!source.tensors.some((t) => tensorRole(t.name).module === 'expert')) fail(`${at}: ${source.directory} has no MoE experts to drop`);
        fail(`${at}: "drop-experts" is part of the plan format but apply does not carry it out in this version; remove the action`);
    }
  }
  for (const [i, action] of plan.actions.entries()) {
    if (action.type !== 'sparsity') continue;
    for (const [j, entry] of action.layers.entries()) {
      if (dropped.has(entry.layer)) fail(`actions[${i}].layers[${j}]: block ${entry.layer} is sparsified but also dropped; remove one of the two`);
    }
  }
  return { dropped, ratios, sparsityMetric };
}

/** KV heads of the checkpoint: num_key_value_heads (GQA), else one per attention head. */
export function kvHeadsOf(config: Record<string, unknown>): number | null {
  const value = config.num_key_value_heads ?? config.num_attention_heads ?? config.n_head;
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : null;
}

/**
 * A head split must leave valid shapes: whole KV groups (a KV head with the query heads that share it), the same
 * number in every block (config.json holds one num_key_value_heads), and at least one group per block.
 */
function checkHeadSplit(kvGroups: Record<string, number[]>, source: SourceModel, at: string, fail: (message: string) => never): void {
  const kv = kvHeadsOf(source.config);
  if (kv === null) fail(`${at}: invalid head split: config.json gives no head count`);
  const counts = new Map<number, number>();
  for (let layer = 0; layer < source.layers; layer++) counts.set(layer, 0);
  for (const [key, groups] of Object.entries(kvGroups)) {
    const layer = Number(key);
    if (layer >= source.layers) fail(`${at}.kvGroups["${key}"]: block ${layer} does not exist (the model has blocks 0..${source.layers - 1})`);
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
