// Attention-head pruning that keeps shapes valid under GQA: a KV group (one K/V head and the heads/kvHeads query
// heads that read it) is dropped whole, so every remaining query head still has its K/V head and the ratio
// heads/kvHeads is unchanged. q/k/v lose the group's rows (and bias elements), o_proj the group's columns; config.json
// gets the new num_attention_heads / num_key_value_heads and an explicit head_dim (HF would otherwise derive it
// from hidden_size / num_attention_heads, which no longer holds). Llama-family layouts only: GPT-2 fuses q|k|v and
// derives its head size from n_embd.
import { tensorRole } from '../arch/names';
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
  const c = source.config;
  const heads = int(c.num_attention_heads);
  const hidden = int(c.hidden_size);
  if (!heads || !hidden || source.tensors.every((t) => tensorRole(t.name).module !== 'attn.q')) {
    throw new InputError(`${source.directory}: dropping heads needs a Llama-family checkpoint (separate q/k/v projections, num_attention_heads and hidden_size in config.json); ${source.family} is not one`);
  }
  const kvHeads = int(c.num_key_value_heads) ?? heads;
  const headDim = int(c.head_dim) ?? hidden / heads;
  if (!Number.isInteger(headDim) || heads % kvHeads !== 0) throw new InputError(`${source.configPath}: heads ${heads}, KV heads ${kvHeads}, hidden ${hidden} do not make whole heads and groups`);
  return { heads, kvHeads, headDim, group: heads / kvHeads };
}

/** Kept ranges, in units of rows of q (group·headDim per group) or of k/v (headDim per group). */
function keptRanges(kept: readonly number[], width: number): Ranges {
  return kept.map((g) => [g * width, (g + 1) * width] as const);
}

/** The slice of every attention tensor of the blocks that lose groups. */
export function headSlices(source: SourceModel, layout: HeadLayout, dropped: ReadonlyMap<number, readonly number[]>): Map<string, Slice> {
  const slices = new Map<string, Slice>();
  for (const tensor of source.tensors) {
    const { layer, module } = tensorRole(tensor.name);
    const drop = layer === null ? undefined : dropped.get(layer);
    if (!drop || drop.length === 0) continue;
    const kept = Array.from({ length: layout.kvHeads }, (_, g) => g).filter((g) => !drop.includes(g));
    const bias = tensor.name.endsWith('.bias');
    const expect = (rows: number, axis: 0 | 1, width: number) => {
      const extent = tensor.shape[axis];
      if (extent !== rows) throw new InputError(`tensor '${tensor.name}' has shape ${JSON.stringify(tensor.shape)}; ${rows} along axis ${axis} was expected from config.json's head counts`);
      slices.set(tensor.name, { axis, ranges: keptRanges(kept, width) });
    };
    if (module === 'attn.q') expect(layout.heads * layout.headDim, 0, layout.group * layout.headDim);
    else if (module === 'attn.k' || module === 'attn.v') expect(layout.kvHeads * layout.headDim, 0, layout.headDim);
    else if (module === 'attn.o' && !bias) expect(layout.heads * layout.headDim, 1, layout.group * layout.headDim);
    else if (module === 'attn.qkv') throw new InputError(`tensor '${tensor.name}' fuses q, k and v; dropping heads from fused projections is not supported`);
  }
  return slices;
}

export function headConfig(config: Record<string, unknown>, layout: HeadLayout, droppedPerBlock: number): Record<string, unknown> {
  const kvHeads = layout.kvHeads - droppedPerBlock;
  return { ...config, num_attention_heads: kvHeads * layout.group, num_key_value_heads: kvHeads, head_dim: layout.headDim };
}

/**
 * Weight-only importance of each KV group: the L2 norm of its q, k and v rows and its o_proj columns (lowest =
 * candidate to drop). scores[layer][group].
 */
export async function* kvGroupScores(source: SourceModel, layout: HeadLayout, signal?: AbortSignal): AsyncGenerator<Progress, number[][]> {
  const squares = Array.from({ length: source.layers }, () => new Float64Array(layout.kvHeads));
  const handles = new FileHandles();
  try {
    for (const tensor of source.tensors) {
      const { layer, module } = tensorRole(tensor.name);
      if (layer === null || !tensor.name.endsWith('.weight') || !['attn.q', 'attn.k', 'attn.v', 'attn.o'].includes(module) || tensor.shape.length !== 2) continue;
      throwIfAborted(signal);
      yield { message: `Head norms: ${tensor.name}`, fraction: layer / source.layers };
      const cols = tensor.shape[1]!;
      const perGroup = (module === 'attn.q' || module === 'attn.o' ? layout.group : 1) * layout.headDim;
      const sums = squares[layer]!;
      for await (const { values, count, offset } of tensorChunks(tensor, handles, signal)) {
        for (let i = 0; i < count; i++) {
          const k = offset + i;
          const index = module === 'attn.o' ? k % cols : Math.floor(k / cols);
          const g = Math.floor(index / perGroup);
          if (g < layout.kvHeads) sums[g]! += values[i]! * values[i]!;
        }
      }
    }
  } finally {
    await handles.close();
  }
  return squares.map((s) => Array.from(s, Math.sqrt));
}
