// What a checked plan makes of a checkpoint, from the headers alone: every kept tensor with its new name, shape and
// shard, the new config.json and the shard index. apply writes exactly this; the editor's preview diff shows it.
import { basename } from 'node:path';
import { tensorRole } from '../arch/names';
import type { TensorInfo } from '../formats/types';
import type { CheckedPlan } from './checkAgainstModel';
import { renumberExpert, routerSlices } from './experts';
import { headConfig, headSlices } from './heads';
import { channelSlices } from './mlpChannels';
import { blockMapping, prunedConfig, renumberName } from './renumber';
import { elementBytes, slicedShape, type Slice } from './slice';
import type { SourceModel } from './source';

export interface PlannedTensor {
  tensor: TensorInfo;
  name: string;
  shape: number[];
  byteLength: number;
}

export interface PlannedLayout {
  /** Source block -> new block (dropped blocks are absent). */
  mapping: Map<number, number>;
  /** Tensors that lose rows or columns (heads, router rows, MLP channels), by source name. */
  slices: Map<string, Slice>;
  /** Output shard file name -> its tensors, in the order they are written. */
  shards: Map<string, PlannedTensor[]>;
  config: Record<string, unknown>;
  configChanges: string[];
}

export function plannedLayout(source: SourceModel, checked: CheckedPlan): PlannedLayout {
  const mapping = blockMapping(source.layers, checked.dropped);
  const slices = checked.heads ? headSlices(source, checked.heads, checked.headDrops) : new Map<string, Slice>();
  if (checked.experts) for (const [name, slice] of routerSlices(source, checked.experts.layout, checked.experts.dropped)) slices.set(name, slice);
  if (checked.channels) for (const [name, slice] of channelSlices(checked.channels.layout, checked.channels.dropped)) slices.set(name, slice);

  // The source's shards, less dropped tensors, with renumbered names.
  const shards = new Map<string, PlannedTensor[]>();
  for (const tensor of [...source.tensors].sort((a, b) => (a.file === b.file ? a.byteOffset - b.byteOffset : a.file < b.file ? -1 : 1))) {
    const { layer } = tensorRole(tensor.name);
    if (layer !== null && checked.dropped.has(layer)) continue;
    const renamed = layer === null ? tensor.name : renumberName(tensor.name, layer, mapping.get(layer)!);
    const name = layer === null || !checked.experts ? renamed : renumberExpert(renamed, checked.experts.dropped.get(layer) ?? []);
    if (name === null) continue;
    const shard = basename(tensor.file);
    if (!shards.has(shard)) shards.set(shard, []);
    const slice = slices.get(tensor.name);
    const shape = slice ? slicedShape(tensor, slice) : tensor.shape;
    const byteLength = slice ? shape.reduce((a, b) => a * b, 1) * elementBytes(tensor) : tensor.byteLength;
    shards.get(shard)!.push({ tensor, name, shape, byteLength });
  }

  const pruned = prunedConfig(source.config, source.layerKey, source.layers, mapping);
  const configChanges = pruned.changed;
  let config = pruned.config;
  if (checked.heads && checked.headDrops.size > 0) {
    config = headConfig(config, checked.heads, [...checked.headDrops.values()][0]!);
    configChanges.push('num_attention_heads', 'num_key_value_heads', 'head_dim');
  }
  if (checked.experts && checked.experts.dropped.size > 0) {
    const { layout, dropped } = checked.experts;
    config = { ...config, [layout.countKey]: layout.experts - [...dropped.values()][0]!.length };
    configChanges.push(layout.countKey);
  }
  const channelDrops = checked.channels ? [...checked.channels.dropped.values()] : [];
  if (checked.channels && channelDrops.length > 0 && channelDrops[0]!.length > 0) {
    config = { ...config, intermediate_size: checked.channels.layout.intermediate - channelDrops[0]!.length };
    configChanges.push('intermediate_size');
  }
  return { mapping, slices, shards, config, configChanges };
}

/** A shard index document as Hugging Face writes one: total tensor bytes and the weight map sorted by name. */
export function indexText(entries: Iterable<{ name: string; shard: string; byteLength: number }>): string {
  const list = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const total = list.reduce((s, e) => s + e.byteLength, 0);
  return `${JSON.stringify({ metadata: { total_size: total }, weight_map: Object.fromEntries(list.map((e) => [e.name, e.shard])) }, null, 2)}\n`;
}

/** The planned tensors as index entries. */
export function plannedEntries(layout: PlannedLayout): { name: string; shard: string; byteLength: number }[] {
  return [...layout.shards].flatMap(([shard, tensors]) => tensors.map((t) => ({ name: t.name, shard, byteLength: t.byteLength })));
}
