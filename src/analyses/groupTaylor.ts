// LLM-Pruner's channel-group importance (Ma et al. 2023, "LLM-Pruner: On the Structural Pruning of Large Language
// Models"): the structures that must go together — an attention head (its q/k/v rows and o_proj columns) or an MLP
// channel (its gate/up rows and down_proj column) — scored by the element-wise first-order Taylor term
// |W_k · ∂L/∂W_k| summed over each member's weights (q, k, v, o; gate, up, down), then aggregated over the members:
// sum (the paper's default), max, product, and last (the member that runs last: o_proj, down_proj). L is the mean
// next-token NLL over the text (taylor.ts's loop). Under GQA a query head's group is its q rows and o_proj columns
// (its K/V head stays with the other query heads that read it); a KV group's adds the group's k and v rows to all of
// its query heads' q rows and o_proj columns — what `plan --drop-query-heads` and `--drop-heads` remove.
// Biases of q/k/v rows and gate/up channels belong to their rows; o_proj's and down_proj's biases are not per head
// or channel and stay out. Norm weights are removed with no head, so they are in no group. The MLP channel group is
// plan/mlpChannels.ts's (the elements `plan --drop-mlp-channels` removes), so it covers every layout that plan does:
// Llama's gate/up/down, Phi-3's fused gate_up_proj (rows c: gate, I + c: up) and GPT-NeoX's non-gated
// dense_h_to_4h/dense_4h_to_h with biases. Blocks that fuse q|k|v (Phi-3, GPT-NeoX) get no head groups (empty
// lists): heads are scored on separate q/k/v projections. GPT-2 (Conv1D [in, out]) is refused. On a
// Mixture-of-Experts model the MLP is the experts (run outside the block graph): heads are scored, there are no MLP
// channels, and the backward computes no expert weight gradients (lossGradients' withoutMoeWeights).
import { tensorRole } from '../arch/names';
import type { ModelRunner } from '../compute/runner';
import { InputError } from '../errors';
import type { Progress } from '../protocol/results';
import { gradientEngine } from './fisher';
import { lossGradients } from './taylor';
import type { TokenizedText } from './textInput';
import { channelMember, channelOf, fusedHalf, type ChannelMember } from '../plan/mlpChannels';

/** The LLM-Pruner aggregations of a group's member importances. */
export interface GroupAggregates {
  sum: number;
  max: number;
  product: number;
  /** The importance of the member that runs last (o_proj columns, down_proj column). */
  last: number;
}

export interface BlockGroupTaylor {
  layer: number;
  /** Per query head: members q rows, o_proj columns; empty where the block fuses q|k|v. */
  queryHeads: GroupAggregates[];
  /** Per KV group: members the group's q rows, k rows, v rows, o_proj columns; empty where the block fuses q|k|v. */
  kvGroups: GroupAggregates[];
  /** Per MLP channel: members gate row (where the MLP is gated; Phi-3: fused row c), up row (Phi-3: fused row I + c), down_proj column. */
  channels: GroupAggregates[];
}

/** Where each member's weights are, by role, read from the block's tensor names and checked against the spec. */
interface GroupLayout {
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  /** False where the block fuses q|k|v (Phi-3, GPT-NeoX): head groups are scored on separate q/k/v projections only. */
  headGroups: boolean;
  /** Attention role → what it is: rows of q/k/v (weight or bias), or columns of o. */
  attention: Map<string, { member: 'q' | 'k' | 'v' | 'o'; bias: boolean; cols: number }>;
  /** MLP role → how its elements map to channels (plan/mlpChannels.ts) and which member: gate, up, down, or a fused gate|up. */
  mlp: Map<string, { member: ChannelMember; part: 'gate' | 'up' | 'down' | 'gate|up'; cols: number }>;
}

const ATTENTION = { 'attn.q': 'q', 'attn.k': 'k', 'attn.v': 'v', 'attn.o': 'o' } as const;

function groupLayout(model: ModelRunner): GroupLayout {
  const engine = gradientEngine(model, 'channel-group Taylor');
  if (engine.spec.kind === 'gpt2') throw new InputError(`${model.path}: GPT-2 fuses q, k and v (c_attn) and stores Conv1D [in, out] weights; channel-group Taylor reads Hugging Face Linear [out, in] layouts`);
  const spec = engine.spec as unknown as Record<string, unknown>;
  const heads = engine.spec.heads;
  const kvHeads = typeof spec.kvHeads === 'number' ? spec.kvHeads : heads;
  const headDim = engine.spec.headDim;
  // An MoE block's MLP (router, experts) is not a role of its graph: no channel groups there.
  const intermediate = engine.moe ? 0 : engine.spec.intermediate;
  const names = engine.tensorNames(0);
  const headGroups = !engine.roles.some((r) => tensorRole(names[r.role]!).module === 'attn.qkv');
  const attention: GroupLayout['attention'] = new Map();
  const mlp: GroupLayout['mlp'] = new Map();
  for (const r of engine.roles) {
    const name = names[r.role]!;
    const { module } = tensorRole(name);
    const cols = r.shape.length === 2 ? r.shape[1]! : 1;
    const channels = engine.moe ? null : channelMember(name, r.shape, intermediate);
    if (channels) {
      mlp.set(r.role, { member: channels, cols, part: channels === 'columns' ? 'down' : channels === 'fused-rows' ? 'gate|up' : module === 'mlp.gate' ? 'gate' : 'up' });
      continue;
    }
    if (!headGroups || !(module in ATTENTION)) continue;
    const member = ATTENTION[module as keyof typeof ATTENTION];
    const bias = r.shape.length === 1;
    const rows = { q: heads * headDim, k: kvHeads * headDim, v: kvHeads * headDim, o: engine.spec.hidden }[member];
    const width = { q: engine.spec.hidden, k: engine.spec.hidden, v: engine.spec.hidden, o: heads * headDim }[member];
    // o_proj's bias belongs to no head.
    if (bias && member === 'o') continue;
    const expected = bias ? [rows] : [rows, width];
    if (r.shape.join() !== expected.join()) {
      throw new InputError(`${model.path}: ${name} is [${r.shape.join(', ')}], not the [out, in] = [${expected.join(', ')}] of a Llama-family ${member} projection; channel-group Taylor reads Llama-family layouts`);
    }
    attention.set(r.role, { member, bias, cols });
  }
  for (const needed of headGroups ? ['q', 'k', 'v', 'o'] as const : []) {
    if (![...attention.values()].some((m) => m.member === needed && !m.bias)) throw new InputError(`${model.path}: no separate ${needed} projection in the blocks; channel-group Taylor reads Llama-family layouts`);
  }
  const parts = new Set([...mlp.values()].map((m) => m.part));
  if (!engine.moe && (!parts.has('down') || !(parts.has('up') || parts.has('gate|up')))) {
    throw new InputError(`${model.path}: no separate up (or gate|up) projection and down projection in the blocks; channel-group Taylor needs both for its MLP channels`);
  }
  return { heads, kvHeads, headDim, intermediate, headGroups, attention, mlp };
}

function aggregate(members: number[], last: number): GroupAggregates {
  return { sum: members.reduce((a, b) => a + b, 0), max: Math.max(...members), product: members.reduce((a, b) => a * b, 1), last };
}

export async function* groupTaylorScores(model: ModelRunner, text: TokenizedText, signal?: AbortSignal): AsyncGenerator<Progress, BlockGroupTaylor[]> {
  const layout = groupLayout(model);
  const { heads, kvHeads, headDim, intermediate } = layout;
  const perBlock: { q: Float64Array; k: Float64Array; v: Float64Array; o: Float64Array; gate: Float64Array | null; up: Float64Array; down: Float64Array }[] = [];
  const gated = [...layout.mlp.values()].some((m) => m.part === 'gate' || m.part === 'gate|up');
  const roles = [...layout.attention.keys(), ...layout.mlp.keys()];
  const predicted = yield* lossGradients(model, text, 'channel-group Taylor', (layer, sums, weights) => {
    // An MoE block's MLP tensors would come in calls of their own (keyed by tensor name): no group has them.
    if (!roles.some((role) => role in sums)) return;
    const parts = {
      q: new Float64Array(heads), k: new Float64Array(kvHeads), v: new Float64Array(kvHeads), o: new Float64Array(heads),
      gate: gated ? new Float64Array(intermediate) : null, up: new Float64Array(intermediate), down: new Float64Array(intermediate),
    };
    for (const [role, { member, bias, cols }] of layout.attention) {
      const g = sums[role]!;
      const w = weights[role]!;
      const into = parts[member];
      // Rows of q/k/v are heads·headDim + d; columns of o are heads·headDim + d.
      if (member === 'o') {
        for (let i = 0; i < g.length; i++) into[Math.floor((i % cols) / headDim)]! += Math.abs(w[i]! * g[i]!);
      } else {
        const width = bias ? 1 : cols;
        for (let i = 0; i < g.length; i++) into[Math.floor(Math.floor(i / width) / headDim)]! += Math.abs(w[i]! * g[i]!);
      }
    }
    // MLP channels as the plan slices them (mlpChannels.ts channelOf); a fused gate|up splits into its two members.
    for (const [role, { member, part, cols }] of layout.mlp) {
      const g = sums[role]!;
      const w = weights[role]!;
      for (let i = 0; i < g.length; i++) {
        const into = part === 'gate|up' ? parts[fusedHalf(i, cols, intermediate)]! : parts[part]!;
        into[channelOf(member, i, cols, intermediate)]! += Math.abs(w[i]! * g[i]!);
      }
    }
    perBlock[layer] = parts;
  }, signal, { withoutMoeWeights: true });
  const group = heads / kvHeads;
  return perBlock.map((p, layer) => {
    const scale = (a: Float64Array | null) => (a ? Array.from(a, (x) => x / predicted) : null);
    const [q, k, v, o, gate, up, down] = [scale(p.q)!, scale(p.k)!, scale(p.v)!, scale(p.o)!, scale(p.gate), scale(p.up)!, scale(p.down)!];
    const inGroup = (list: number[], g: number) => list.slice(g * group, (g + 1) * group).reduce((a, b) => a + b, 0);
    return {
      layer,
      queryHeads: layout.headGroups ? q.map((qh, h) => aggregate([qh, o[h]!], o[h]!)) : [],
      kvGroups: layout.headGroups ? k.map((kg, g) => aggregate([inGroup(q, g), kg, v[g]!, inGroup(o, g)], inGroup(o, g))) : [],
      channels: up.map((u, c) => aggregate([...(gate ? [gate[c]!] : []), u, down[c]!], down[c]!)),
    };
  });
}
