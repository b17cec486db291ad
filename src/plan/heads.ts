// Attention-head pruning that keeps shapes valid under GQA: a KV group (one K/V head and the heads/kvHeads query
// heads that read it) is dropped whole, so every remaining query head still has its K/V head and the ratio
// heads/kvHeads is unchanged. q/k/v lose the group's rows (and bias elements), o_proj the group's columns; config.json
// gets the new num_attention_heads / num_key_value_heads and an explicit head_dim (HF would otherwise derive it
// from hidden_size / num_attention_heads, which no longer holds). Llama-family layouts only: GPT-2 fuses q|k|v and
// derives its head size from n_embd. An engine family may refuse head drops outright (its headPruningRefused: OLMo 2,
// whose q/k norms span all heads).
import { modelSpecFromConfig, type ModelSpec } from '../arch/modelSpec';
import { tensorRole } from '../arch/names';
import { configFields } from '../compute/families/configFields';
import { declarationOf } from '../compute/families/declarations';
import { FileHandles, tensorChunks } from '../compute/tensorStream';
import { InputError, throwIfAborted } from '../errors';
import type { Progress } from '../protocol/results';
import type { Ranges, Slice } from './slice';
import type { SourceModel } from './source';

export interface HeadLayout {
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Query heads per KV group. */
  group: number;
}

const int = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : null);

export function headLayout(source: SourceModel): HeadLayout {
  // Head scores and slices read [out, in] rows of q/k/v and columns of o_proj; a GGUF file's are transposed in
  // its dims order and its q/k rows permuted within each head.
  if (source.format === 'gguf') throw new InputError(`${source.path}: dropping heads of a GGUF model is not supported in this version (drop layers or sparsify it, or plan on the Hugging Face checkpoint)`);
  const c = source.config;
  const { spec, refused } = engineFamily(c, source.configPath);
  if (refused) throw new InputError(`${source.directory}: dropping heads is not possible for ${source.family}: ${refused}`);
  const hidden = int(c.hidden_size);
  if (!hidden || !int(c.num_attention_heads) || source.tensors.every((t) => tensorRole(t.name).module !== 'attn.q')) {
    throw new InputError(`${source.directory}: dropping heads needs a Llama-family checkpoint (separate q/k/v projections, num_attention_heads and hidden_size in config.json); ${source.family} is not one`);
  }
  // The attention shape is read once: the engine family's spec where one runs the config (its head_dim defaults:
  // Qwen3 128, Gemma 256), else the shared reader with the plain default hidden / heads.
  const { heads, kvHeads, headDim } = spec && 'kvHeads' in spec ? spec : configFields(c, source.configPath).attentionShape(hidden);
  return { heads, kvHeads, headDim, group: heads / kvHeads };
}

/** The engine family's spec for a config it parses, and its reason to refuse head drops (others take the checks above). */
function engineFamily(config: Record<string, unknown>, configPath: string): { spec?: ModelSpec; refused?: string } {
  try {
    const spec = modelSpecFromConfig(config, configPath);
    const refused = declarationOf(spec).headPruningRefused;
    return refused ? { spec, refused } : { spec };
  } catch (error) {
    if (error instanceof InputError) return {};
    throw error;
  }
}

/** What one block loses: whole KV groups, and query heads within the groups it keeps (source indices). */
export interface HeadDrop {
  kvGroups: readonly number[];
  queryHeads: readonly number[];
}

/** Kept KV groups and kept query heads (ascending: new head j reads new group floor(j / kept per group)). */
export function keptHeads(layout: HeadLayout, drop: HeadDrop): { groups: number[]; queries: number[] } {
  const groups = Array.from({ length: layout.kvHeads }, (_, g) => g).filter((g) => !drop.kvGroups.includes(g));
  const queries = groups.flatMap((g) => Array.from({ length: layout.group }, (_, i) => g * layout.group + i)).filter((h) => !drop.queryHeads.includes(h));
  return { groups, queries };
}

/** Merged [start, end) ranges of `width` units per kept index. */
function keptRanges(kept: readonly number[], width: number): Ranges {
  const ranges: [number, number][] = [];
  for (const k of kept) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] === k * width) last[1] += width;
    else ranges.push([k * width, (k + 1) * width]);
  }
  return ranges;
}

/**
 * Checks a drop-heads action against the head layout: indices in range, query heads only from kept groups, and
 * the same shape everywhere — every block keeps the same number of groups and every kept group the same number
 * of query heads (config.json holds one num_attention_heads and one num_key_value_heads). Returns the drops.
 */
export function checkHeadDrops(
  action: { kvGroups: Record<string, number[]>; queryHeads?: Record<string, number[]> },
  layers: number, layout: HeadLayout, droppedLayers: ReadonlySet<number>, at: string, fail: (message: string) => never,
): Map<number, HeadDrop> {
  const drops = new Map<number, HeadDrop>();
  for (let l = 0; l < layers; l++) if (!droppedLayers.has(l)) drops.set(l, { kvGroups: [], queryHeads: [] });
  for (const [field, map, limit, unit] of [['kvGroups', action.kvGroups, layout.kvHeads, 'KV groups'], ['queryHeads', action.queryHeads ?? {}, layout.heads, 'query heads']] as const) {
    for (const [key, list] of Object.entries(map)) {
      const layer = Number(key);
      if (layer >= layers) fail(`${at}.${field}["${key}"]: block ${layer} does not exist (the model has blocks 0..${layers - 1})`);
      if (droppedLayers.has(layer)) fail(`${at}.${field}["${key}"]: block ${layer} is dropped by drop-layers; leave it out of ${field}`);
      for (const i of list) if (i >= limit) fail(`${at}.${field}["${key}"]: invalid head split: block ${layer} has ${unit} 0..${limit - 1}, not ${i}`);
      drops.set(layer, { ...drops.get(layer)!, [field]: list });
    }
  }
  const shapes = new Map<string, number[]>();
  for (const [layer, drop] of drops) {
    for (const h of drop.queryHeads) {
      const g = Math.floor(h / layout.group);
      if (drop.kvGroups.includes(g)) fail(`${at}.queryHeads["${layer}"]: invalid head split: query head ${h} is in KV group ${g}, which kvGroups already drops`);
    }
    const { groups, queries } = keptHeads(layout, drop);
    if (groups.length === 0) fail(`${at}.kvGroups: invalid head split: block ${layer} drops all ${layout.kvHeads} KV groups; at least one KV group must remain per block`);
    const perGroup = groups.map((g) => queries.filter((h) => Math.floor(h / layout.group) === g).length);
    if (new Set(perGroup).size > 1) fail(`${at}.queryHeads["${layer}"]: invalid head split: its KV groups would keep ${perGroup.join(', ')} query heads; every group must keep the same number`);
    if (perGroup[0] === 0) fail(`${at}.queryHeads["${layer}"]: invalid head split: a KV group would keep no query head`);
    const shape = `${groups.length} KV groups of ${perGroup[0]} query heads`;
    shapes.set(shape, [...(shapes.get(shape) ?? []), layer]);
  }
  if (shapes.size > 1) {
    fail(`${at}: invalid head split: every block must keep the same number of heads, since config.json holds one num_attention_heads and num_key_value_heads (${[...shapes].map(([shape, ls]) => `block${ls.length > 1 ? 's' : ''} ${ls.join(', ')}: ${shape}`).join('; ')})`);
  }
  return drops;
}

/** The slice of every attention tensor of the blocks that lose heads. */
export function headSlices(source: SourceModel, layout: HeadLayout, drops: ReadonlyMap<number, HeadDrop>): Map<string, Slice> {
  const slices = new Map<string, Slice>();
  for (const tensor of source.tensors) {
    const { layer, module } = tensorRole(tensor.name);
    const drop = layer === null ? undefined : drops.get(layer);
    if (!drop || (drop.kvGroups.length === 0 && drop.queryHeads.length === 0)) continue;
    const { groups, queries } = keptHeads(layout, drop);
    const bias = tensor.name.endsWith('.bias');
    const expect = (rows: number, axis: 0 | 1, kept: number[]) => {
      const extent = tensor.shape[axis];
      if (extent !== rows) throw new InputError(`tensor '${tensor.name}' has shape ${JSON.stringify(tensor.shape)}; ${rows} along axis ${axis} was expected from config.json's head counts`);
      slices.set(tensor.name, { axis, ranges: keptRanges(kept, layout.headDim) });
    };
    if (module === 'attn.q') expect(layout.heads * layout.headDim, 0, queries);
    else if (module === 'attn.k' || module === 'attn.v') expect(layout.kvHeads * layout.headDim, 0, groups);
    else if (module === 'attn.o' && !bias) expect(layout.heads * layout.headDim, 1, queries);
    else if (module === 'attn.qkv') throw new InputError(`tensor '${tensor.name}' fuses q, k and v; dropping heads from fused projections is not supported`);
  }
  return slices;
}

/** config.json with the head counts every block now has (checkHeadDrops made them equal). */
export function headConfig(config: Record<string, unknown>, layout: HeadLayout, drop: HeadDrop): Record<string, unknown> {
  const { groups, queries } = keptHeads(layout, drop);
  return { ...config, num_attention_heads: queries.length, num_key_value_heads: groups.length, head_dim: layout.headDim };
}

/**
 * Weight-only head importance (lowest = candidate to drop): a query head's is the L2 norm of its q rows and o_proj
 * columns; a KV group's adds its k and v rows to its query heads'. scores[layer].
 */
export async function* headScores(source: SourceModel, layout: HeadLayout, signal?: AbortSignal): AsyncGenerator<Progress, { groups: number[]; queries: number[] }[]> {
  const query = Array.from({ length: source.layers }, () => new Float64Array(layout.heads));
  const kv = Array.from({ length: source.layers }, () => new Float64Array(layout.kvHeads));
  const handles = new FileHandles();
  try {
    for (const tensor of source.tensors) {
      const { layer, module } = tensorRole(tensor.name);
      if (layer === null || !tensor.name.endsWith('.weight') || !['attn.q', 'attn.k', 'attn.v', 'attn.o'].includes(module) || tensor.shape.length !== 2) continue;
      throwIfAborted(signal);
      yield { message: `Head norms: ${tensor.name}`, fraction: layer / source.layers };
      const cols = tensor.shape[1]!;
      const sums = module === 'attn.k' || module === 'attn.v' ? kv[layer]! : query[layer]!;
      for await (const { values, count, offset } of tensorChunks(tensor, handles, signal)) {
        for (let i = 0; i < count; i++) {
          const k = offset + i;
          const head = Math.floor((module === 'attn.o' ? k % cols : Math.floor(k / cols)) / layout.headDim);
          if (head < sums.length) sums[head]! += values[i]! * values[i]!;
        }
      }
    }
  } finally {
    await handles.close();
  }
  return query.map((q, layer) => ({
    queries: Array.from(q, Math.sqrt),
    groups: Array.from(kv[layer]!, (s, g) => Math.sqrt(s + q.subarray(g * layout.group, (g + 1) * layout.group).reduce((a, b) => a + b, 0))),
  }));
}
