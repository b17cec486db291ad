// A plan carried out on paper, from the headers alone: config.json and the weight map before and after (the
// editor's preview diff), and one row per part it removes with its score and where it is defined (the plan panel).
// The checks are apply's, so a plan that previews is one that applies, and a malformed one fails here the same way.
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { tensorRole } from '../arch/names';
import type { PlanPreview, PlanRow } from '../protocol/plan';
import { parsePlanText, readPlanFile } from './validate';
import { plannedConfigText } from './configText';
import { checkAgainstModel, type CheckedPlan } from './checkAgainstModel';
import { expertOf } from './experts';
import { indexText, plannedEntries, plannedLayout, type PlannedLayout } from './layout';
import { openSource, type SourceModel } from './source';
import type { PrunePlan } from './types';

/** An index file above this is shown as a generated weight map instead of read whole. */
const MAX_INDEX_BYTES = 16 * 2 ** 20;

/** `text`: the plan document as an editor holds it (unsaved edits included); else the file is read. */
export async function planPreview(planPath: string, text?: string): Promise<PlanPreview> {
  const plan = text === undefined ? await readPlanFile(planPath) : parsePlanText(text, planPath);
  const source = await openSource(resolve(dirname(planPath), plan.model.path));
  const checked = checkAgainstModel(plan, source, planPath);
  const layout = plannedLayout(source, checked);
  const index = source.indexFile ? join(source.directory, source.indexFile) : null;
  const indexBefore = index && (await stat(index)).size <= MAX_INDEX_BYTES ? await readFile(index, 'utf8') : null;
  return {
    plan,
    model: source.path,
    configPath: source.configPath,
    config: { before: source.configText, after: plannedConfigText(source.configText, source.config, layout.config) },
    weightMap: {
      indexFile: indexBefore === null ? null : index,
      before: indexBefore ?? indexText(source.tensors.map((t) => ({ name: t.name, shard: basename(t.file), byteLength: t.byteLength }))),
      after: indexText(plannedEntries(layout)),
    },
    configChanges: layout.configChanges,
    rows: planRows(plan, source, checked, layout),
  };
}

function planRows(plan: PrunePlan, source: SourceModel, checked: CheckedPlan, layout: PlannedLayout): PlanRow[] {
  const scores = plan.metric.scores;
  const scored = (layer: number, part: { group?: number; head?: number }, applies: boolean) => {
    const s = applies ? scores.find((e) => e.layer === layer && e.group === part.group && e.head === part.head) : undefined;
    return { score: s?.score ?? null, rank: s?.rank ?? null };
  };
  const tensorOf = (layer: number, match: (name: string) => boolean) => {
    const t = source.tensors.find((x) => tensorRole(x.name).layer === layer && match(x.name));
    return t ? { name: t.name, file: t.file } : null;
  };
  const module = (m: string) => (name: string) => tensorRole(name).module === m;
  const base = { index: null, after: null, removed: true, ratio: null, channels: null };
  const rows: PlanRow[] = [];
  // Per-block scores belong to the action they were made for: sparsity's outlier ratios, else the layer metric.
  const sparsity = plan.actions.find((a) => a.type === 'sparsity');
  for (const action of plan.actions) {
    switch (action.type) {
      case 'drop-layers':
        for (let layer = 0; layer < source.layers; layer++) {
          rows.push({
            ...base, kind: 'layer', layer, after: layout.mapping.get(layer) ?? null, removed: checked.dropped.has(layer),
            ...scored(layer, {}, !sparsity), configKey: source.layerKey, tensor: tensorOf(layer, () => true),
          });
        }
        break;
      case 'sparsity':
        for (const entry of action.layers) {
          if (checked.dropped.has(entry.layer)) continue;
          rows.push({
            ...base, kind: 'sparsity', layer: entry.layer, after: layout.mapping.get(entry.layer) ?? null, removed: false, ratio: entry.ratio,
            ...scored(entry.layer, {}, true), configKey: null, tensor: tensorOf(entry.layer, module('attn.q')),
          });
        }
        break;
      case 'drop-heads': {
        const heads = plan.metric.name.startsWith('head-');
        for (const [layer, groups] of numbered(action.kvGroups)) {
          for (const group of groups) rows.push({ ...base, kind: 'kv-group', layer, index: group, ...scored(layer, { group }, heads), configKey: 'num_key_value_heads', tensor: tensorOf(layer, module('attn.k')) });
        }
        for (const [layer, queries] of numbered(action.queryHeads ?? {})) {
          for (const head of queries) rows.push({ ...base, kind: 'query-head', layer, index: head, ...scored(layer, { head }, heads), configKey: 'num_attention_heads', tensor: tensorOf(layer, module('attn.q')) });
        }
        break;
      }
      case 'drop-experts': {
        const experts = plan.metric.name.startsWith('expert-');
        const countKey = checked.experts?.layout.countKey ?? 'num_local_experts';
        for (const [layer, dropped] of numbered(action.experts)) {
          for (const expert of dropped) rows.push({ ...base, kind: 'expert', layer, index: expert, ...scored(layer, { group: expert }, experts), configKey: countKey, tensor: tensorOf(layer, (name) => expertOf(name) === expert) });
        }
        break;
      }
      case 'drop-mlp-channels': {
        const width = checked.channels?.layout.intermediate ?? 0;
        for (const [layer, channels] of numbered(action.channels)) {
          if (channels.length === 0) continue;
          rows.push({
            ...base, kind: 'mlp-channels', layer, ratio: channels.length / width, score: null, rank: null, channels: droppedChannels(scores, layer, channels, width),
            configKey: 'intermediate_size', tensor: tensorOf(layer, module('mlp.down')),
          });
        }
        break;
      }
    }
  }
  return rows;
}

/** A block's dropped channels with the span of their scores and ranks, when metric.scores lists all of them. */
function droppedChannels(scores: PrunePlan['metric']['scores'], layer: number, channels: number[], width: number): NonNullable<PlanRow['channels']> {
  const byChannel = new Map(scores.filter((e) => e.layer === layer && e.group !== undefined && e.head === undefined).map((e) => [e.group!, e]));
  const listed = channels.map((c) => byChannel.get(c)).filter((e) => e !== undefined);
  if (listed.length < channels.length || listed.length === 0) return { dropped: channels.length, width, score: null, rank: null };
  const span = (values: number[]): [number, number] => [Math.min(...values), Math.max(...values)];
  return { dropped: channels.length, width, score: span(listed.map((e) => e.score)), rank: span(listed.map((e) => e.rank)) };
}

function numbered(perLayer: Record<string, number[]>): [number, number[]][] {
  return Object.entries(perLayer).map(([key, list]) => [Number(key), list] as [number, number[]]).sort((a, b) => a[0] - b[0]);
}
