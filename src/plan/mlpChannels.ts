// MLP width pruning (the MLP group of LLM-Pruner's block-wise pruning): intermediate channel j of a block is gate row j, up row j
// and down_proj column j (with the gate/up bias elements j where the MLP has biases), and removing all of them
// together leaves a smaller but exact MLP: down(act(gate·x) ⊙ up·x) simply loses the term of channel j.
// Layouts, read from the tensor names (arch/names.ts roles) and checked against config.json's intermediate_size:
//   Llama family (Llama, Qwen, Gemma 1–3, OLMo 2): gate_proj [I, H], up_proj [I, H], down_proj [H, I];
//   Phi-3: gate_up_proj [2I, H] fused [gate | up] along its outputs: rows j and I + j both go;
//   GPT-NeoX: non-gated dense_h_to_4h [I, H] (+ bias [I]) and dense_4h_to_h [H, I] (its bias [H] stays).
// Refused by name: GPT-2 (Conv1D [in, out] weights, width in n_inner), MoE families (each expert has its own width;
// the routed experts and the shared expert are not touched by this version) and GGUF files (transposed dims).
// config.json holds one intermediate_size, so every kept block loses the same number of channels.
// The group's layout (channelMember, channelOf, fusedHalf) is the one place that knows it: the plan's scores and
// slices, and LLM-Pruner's group Taylor (analyses/groupTaylor.ts), read it from here.
import { modelSpecFromConfig } from '../arch/modelSpec';
import { tensorRole } from '../arch/names';
import { MOE_MODEL_TYPES } from '../compute/families/moeSpec';
import { FileHandles, tensorChunks } from '../compute/tensorStream';
import { InputError, throwIfAborted } from '../errors';
import type { Progress } from '../protocol/results';
import type { Ranges, Slice } from './slice';
import type { SourceModel } from './source';

/** How a plan scores MLP channels: Σ|W| over the group (weights only, the default) or LLM-Pruner's group Taylor on a text. */
export const CHANNEL_METRICS = ['channel-magnitude', 'channel-taylor'] as const;
export type ChannelMetric = (typeof CHANNEL_METRICS)[number];

/** What a block tensor is to a channel: rows (gate/up, fused gate|up), elements (their biases) or columns (down). */
export type ChannelMember = 'rows' | 'fused-rows' | 'columns';

export interface MlpLayout {
  /** config.json's intermediate_size: the channels of every block. */
  intermediate: number;
  /** Checkpoint tensor name -> how its elements map to channels (every MLP tensor of every block that has one). */
  members: Map<string, ChannelMember>;
  /** Blocks that have an MLP. */
  blocks: Set<number>;
}

const int = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : null);

export function mlpLayout(source: SourceModel): MlpLayout {
  if (source.format === 'gguf') throw new InputError(`${source.path}: dropping MLP channels of a GGUF model is not supported in this version (plan on the Hugging Face checkpoint)`);
  const refused = refusal(source);
  if (refused) throw new InputError(`${source.directory}: dropping MLP channels is not possible for ${source.family}: ${refused}`);
  const intermediate = int(source.config.intermediate_size);
  if (!intermediate) throw new InputError(`${source.configPath}: dropping MLP channels needs intermediate_size (a positive integer) in config.json`);
  const members = new Map<string, ChannelMember>();
  const blocks = new Set<number>();
  for (const t of source.tensors) {
    const { layer } = tensorRole(t.name);
    const member = layer === null ? null : channelMember(t.name, t.shape, intermediate);
    if (member === null) continue;
    members.set(t.name, member);
    blocks.add(layer!);
  }
  for (const layer of blocks) {
    const has = (m: ChannelMember) => [...members].some(([name, kind]) => kind === m && tensorRole(name).layer === layer);
    if (!has('columns') || !(has('rows') || has('fused-rows'))) throw new InputError(`${source.directory}: block ${layer} lacks a separate up (or gate|up) projection or down projection; dropping MLP channels needs both`);
  }
  if (blocks.size === 0) throw new InputError(`${source.directory}: no MLP projections (gate_proj/up_proj/down_proj, gate_up_proj, dense_h_to_4h/dense_4h_to_h) found in its blocks`);
  return { intermediate, members, blocks };
}

/**
 * What a block tensor is to the MLP's channels, from its name (arch/names.ts roles): rows (gate_proj, up_proj,
 * dense_h_to_4h, and their biases' elements), fused-rows (Phi-3's gate_up_proj, [gate | up]) or columns (down_proj,
 * dense_4h_to_h); null for any other tensor and for the down projection's bias (not per channel). Its shape is
 * checked against `intermediate` (a clear InputError otherwise).
 */
export function channelMember(name: string, shape: readonly number[], intermediate: number): ChannelMember | null {
  const { module } = tensorRole(name);
  if (module !== 'mlp.gate' && module !== 'mlp.up' && module !== 'mlp.down') return null;
  const bias = name.endsWith('.bias');
  if (module === 'mlp.down' && bias) return null;
  const fused = /gate_up_proj\./.test(name);
  const rows = fused ? 2 * intermediate : intermediate;
  const expected = module === 'mlp.down' ? `[hidden, ${intermediate}]` : bias ? `[${rows}]` : `[${rows}, hidden]`;
  const fits = module === 'mlp.down'
    ? shape.length === 2 && shape[1] === intermediate
    : bias ? shape.length === 1 && shape[0] === rows : shape.length === 2 && shape[0] === rows;
  if (!fits) throw new InputError(`tensor '${name}' has shape ${JSON.stringify(shape)}; ${expected} was expected from config.json's intermediate_size ${intermediate}`);
  return module === 'mlp.down' ? 'columns' : fused ? 'fused-rows' : 'rows';
}

/** Why the family cannot lose MLP channels (null: it can), by its engine spec where the engine parses the config. */
function refusal(source: SourceModel): string | null {
  if ((MOE_MODEL_TYPES as readonly string[]).includes(source.family) || source.tensors.some((t) => ['expert', 'router'].includes(tensorRole(t.name).module))) {
    return 'its MLPs are Mixture-of-Experts (each expert and the shared expert have their own width); drop experts instead';
  }
  try {
    if (modelSpecFromConfig(source.config, source.configPath).kind === 'gpt2') return 'GPT-2 stores its MLP as Conv1D [in, out] and its width as n_inner; this version slices Hugging Face Linear [out, in] layouts';
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
  }
  return null;
}

/** The channel count a --drop-mlp-channels amount stands for: a fraction in (0, 1) of the width, or a count. */
export function channelCount(amount: number, intermediate: number): number {
  if (!Number.isFinite(amount) || amount <= 0) throw new InputError(`plan: --drop-mlp-channels must be a fraction in (0, 1) or a count from 1 to ${intermediate - 1} (got ${amount})`);
  const n = amount < 1 ? Math.round(amount * intermediate) : amount;
  if (!Number.isSafeInteger(n) || n < 1 || n >= intermediate) {
    throw new InputError(`plan: --drop-mlp-channels ${amount} means ${n} of ${intermediate} channels per block; give a count from 1 to ${intermediate - 1}, or a fraction that rounds into that range`);
  }
  return n;
}

/** Checks a drop-mlp-channels action; returns block -> channels it drops (every kept MLP block drops as many). */
export function checkChannelDrops(
  channels: Record<string, number[]>, source: SourceModel, droppedLayers: ReadonlySet<number>, at: string, fail: (message: string) => never,
): { layout: MlpLayout; dropped: Map<number, number[]> } {
  const layout = mlpLayout(source);
  const dropped = new Map<number, number[]>();
  for (const [key, list] of Object.entries(channels)) {
    const layer = Number(key);
    if (!layout.blocks.has(layer)) fail(`${at}.channels["${key}"]: block ${layer} ${layer >= source.layers ? `does not exist (the model has blocks 0..${source.layers - 1})` : 'has no MLP'}`);
    if (droppedLayers.has(layer)) fail(`${at}.channels["${key}"]: block ${layer} is dropped by drop-layers; leave it out of channels`);
    for (const c of list) if (c >= layout.intermediate) fail(`${at}.channels["${key}"]: block ${layer} has MLP channels 0..${layout.intermediate - 1}, not ${c}`);
    dropped.set(layer, list);
  }
  const counts = [...layout.blocks].filter((l) => !droppedLayers.has(l)).sort((a, b) => a - b).map((l) => [l, dropped.get(l)?.length ?? 0] as const);
  if (new Set(counts.map(([, n]) => n)).size > 1) {
    fail(`${at}.channels: every block must drop the same number of MLP channels, since config.json holds one intermediate_size (${counts.map(([l, n]) => `block ${l} drops ${n}`).join(', ')})`);
  }
  if ((counts[0]?.[1] ?? 0) >= layout.intermediate) fail(`${at}.channels: drops all ${layout.intermediate} MLP channels of a block; at least one must remain`);
  return { layout, dropped };
}

/** Merged [start, end) ranges of the kept channels, shifted by `offset`. */
function keptRanges(kept: readonly number[], offset: number): [number, number][] {
  const ranges: [number, number][] = [];
  for (const k of kept) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] === k + offset) last[1] += 1;
    else ranges.push([k + offset, k + offset + 1]);
  }
  return ranges;
}

/** The slice of every MLP tensor of the blocks that lose channels. */
export function channelSlices(layout: MlpLayout, dropped: ReadonlyMap<number, readonly number[]>): Map<string, Slice> {
  const slices = new Map<string, Slice>();
  for (const [name, member] of layout.members) {
    const drop = dropped.get(tensorRole(name).layer!);
    if (!drop || drop.length === 0) continue;
    const kept = Array.from({ length: layout.intermediate }, (_, c) => c).filter((c) => !drop.includes(c));
    const ranges: Ranges = member === 'fused-rows' ? [...keptRanges(kept, 0), ...keptRanges(kept, layout.intermediate)] : keptRanges(kept, 0);
    slices.set(name, { axis: member === 'columns' ? 1 : 0, ranges });
  }
  return slices;
}

/** The channel of element `i` (flat, row-major) of a member tensor with `cols` columns (1 for a bias). */
export function channelOf(member: ChannelMember, i: number, cols: number, intermediate: number): number {
  if (member === 'columns') return i % cols;
  const row = Math.floor(i / cols);
  return member === 'fused-rows' ? row % intermediate : row;
}

/** Of a fused [gate | up] tensor (Phi-3's gate_up_proj), which half element `i` is in: rows c are gate, I + c up. */
export function fusedHalf(i: number, cols: number, intermediate: number): 'gate' | 'up' {
  return Math.floor(i / cols) < intermediate ? 'gate' : 'up';
}

/**
 * Gradient-free channel importance: Σ|W| over the channel's group (gate and up rows, their bias elements, the
 * down_proj column). scores[layer][channel]; [] for a block without an MLP.
 */
export async function* channelMagnitudeScores(source: SourceModel, layout: MlpLayout, signal?: AbortSignal): AsyncGenerator<Progress, number[][]> {
  const sums = Array.from({ length: source.layers }, () => new Float64Array(layout.intermediate));
  const handles = new FileHandles();
  try {
    for (const t of source.tensors) {
      const member = layout.members.get(t.name);
      if (!member) continue;
      const layer = tensorRole(t.name).layer!;
      throwIfAborted(signal);
      yield { message: `Channel magnitudes: ${t.name}`, fraction: layer / source.layers };
      const cols = t.shape.length === 2 ? t.shape[1]! : 1;
      const into = sums[layer]!;
      for await (const { values, count, offset } of tensorChunks(t, handles, signal)) {
        for (let i = 0; i < count; i++) into[channelOf(member, offset + i, cols, layout.intermediate)]! += Math.abs(values[i]!);
      }
    }
  } finally {
    await handles.close();
  }
  return sums.map((s, layer) => (layout.blocks.has(layer) ? Array.from(s) : []));
}

/**
 * The dropped channels of one block, removed in memory for a plan verified without writing: their down_proj columns
 * set to zero. That alone is exact: channel j reaches the block's output only through down_proj column j, whatever
 * its gate, up and biases compute, so the output is the sliced MLP's (summed in another order).
 */
export function zeroDroppedChannels(layout: MlpLayout, dropped: readonly number[], weights: ReadonlyMap<string, Float32Array>): void {
  for (const [name, values] of weights) {
    if (layout.members.get(name) !== 'columns') continue;
    const cols = layout.intermediate;
    for (let row = 0; row < values.length / cols; row++) for (const c of dropped) values[row * cols + c] = 0;
  }
}
