// LLM-Pruner's channel-group importance (Ma et al. 2023, "LLM-Pruner: On the Structural Pruning of Large Language
// Models"): the structures that must go together — an attention head (its q/k/v rows and o_proj columns) or an MLP
// channel (its gate/up rows and down_proj column) — scored by the element-wise first-order Taylor term
// |W_k · ∂L/∂W_k| summed over each member's weights (q, k, v, o; gate, up, down), then aggregated over the members:
// sum (the paper's default), max, product, and last (the member that runs last: o_proj, down_proj). L is the mean
// next-token NLL over the text (taylor.ts's loop). Under GQA a query head's group is its q rows and o_proj columns
// (its K/V head stays with the other query heads that read it); a KV group's adds the group's k and v rows to all of
// its query heads' q rows and o_proj columns — what `plan --drop-query-heads` and `--drop-heads` remove.
// Biases of q/k/v rows and gate/up channels belong to their rows; o_proj's and down_proj's biases are not per head
// or channel and stay out. Norm weights are removed with no head, so they are in no group. On a Mixture-of-Experts
// model the MLP is the experts (run outside the block graph): heads are scored, and there are no MLP channels.
import { tensorRole } from '../arch/names';
import type { ModelRunner } from '../compute/runner';
import { InputError } from '../errors';
import type { Progress } from '../protocol/results';
import { gradientEngine } from './fisher';
import { lossGradients } from './taylor';
import type { TokenizedText } from './textInput';

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
  /** Per query head: members q rows, o_proj columns. */
  queryHeads: GroupAggregates[];
  /** Per KV group: members the group's q rows, k rows, v rows, o_proj columns. */
  kvGroups: GroupAggregates[];
  /** Per MLP channel: members gate row (where the MLP is gated), up row, down_proj column. */
  channels: GroupAggregates[];
}

/** Where each member's weights are, by role, read from the block's tensor names and checked against the spec. */
interface GroupLayout {
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  /** Role → what it is: rows of q/k/v/gate/up (weight or bias), or columns of o/down. */
  roles: Map<string, { member: 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down'; bias: boolean; cols: number }>;
}

const MEMBERS = { 'attn.q': 'q', 'attn.k': 'k', 'attn.v': 'v', 'attn.o': 'o', 'mlp.gate': 'gate', 'mlp.up': 'up', 'mlp.down': 'down' } as const;

function groupLayout(model: ModelRunner): GroupLayout {
  const engine = gradientEngine(model, 'channel-group Taylor');
  const spec = engine.spec as unknown as Record<string, unknown>;
  const heads = engine.spec.heads;
  const kvHeads = typeof spec.kvHeads === 'number' ? spec.kvHeads : heads;
  const headDim = engine.spec.headDim;
  // An MoE block's MLP (router, experts) is not a role of its graph: no channel groups there.
  const intermediate = engine.moe ? 0 : engine.spec.intermediate;
  const names = engine.tensorNames(0);
  const roles: GroupLayout['roles'] = new Map();
  for (const r of engine.roles) {
    const { module } = tensorRole(names[r.role]!);
    if (module === 'attn.qkv') throw new InputError(`${model.path}: ${names[r.role]} fuses q, k and v; channel-group Taylor scores separate q/k/v/o projections (Llama-family layouts)`);
    if (!(module in MEMBERS)) continue;
    const member = MEMBERS[module as keyof typeof MEMBERS];
    const bias = r.shape.length === 1;
    const rows = { q: heads * headDim, k: kvHeads * headDim, v: kvHeads * headDim, o: engine.spec.hidden, gate: intermediate, up: intermediate, down: engine.spec.hidden }[member];
    const cols = { q: engine.spec.hidden, k: engine.spec.hidden, v: engine.spec.hidden, o: heads * headDim, gate: engine.spec.hidden, up: engine.spec.hidden, down: intermediate }[member];
    // o_proj's and down_proj's biases belong to no head or channel.
    if (bias && (member === 'o' || member === 'down')) continue;
    const expected = bias ? [rows] : [rows, cols];
    if (r.shape.join() !== expected.join()) {
      throw new InputError(`${model.path}: ${names[r.role]} is [${r.shape.join(', ')}], not the [out, in] = [${expected.join(', ')}] of a Llama-family ${member} projection; channel-group Taylor reads Llama-family layouts`);
    }
    roles.set(r.role, { member, bias, cols });
  }
  for (const needed of ['q', 'k', 'v', 'o', ...(engine.moe ? [] : ['up', 'down'] as const)] as const) {
    if (![...roles.values()].some((m) => m.member === needed && !m.bias)) throw new InputError(`${model.path}: no separate ${needed} projection in the blocks; channel-group Taylor reads Llama-family layouts`);
  }
  return { heads, kvHeads, headDim, intermediate, roles };
}

function aggregate(members: number[], last: number): GroupAggregates {
  return { sum: members.reduce((a, b) => a + b, 0), max: Math.max(...members), product: members.reduce((a, b) => a * b, 1), last };
}

export async function* groupTaylorScores(model: ModelRunner, text: TokenizedText, signal?: AbortSignal): AsyncGenerator<Progress, BlockGroupTaylor[]> {
  const layout = groupLayout(model);
  const { heads, kvHeads, headDim, intermediate } = layout;
  const perBlock: { q: Float64Array; k: Float64Array; v: Float64Array; o: Float64Array; gate: Float64Array | null; up: Float64Array; down: Float64Array }[] = [];
  const gated = [...layout.roles.values()].some((m) => m.member === 'gate');
  const predicted = yield* lossGradients(model, text, 'channel-group Taylor', (layer, sums, weights) => {
    // An MoE block's MLP tensors come in calls of their own (keyed by tensor name): no group has them.
    if (![...layout.roles.keys()].some((role) => role in sums)) return;
    const parts = {
      q: new Float64Array(heads), k: new Float64Array(kvHeads), v: new Float64Array(kvHeads), o: new Float64Array(heads),
      gate: gated ? new Float64Array(intermediate) : null, up: new Float64Array(intermediate), down: new Float64Array(intermediate),
    };
    for (const [role, { member, bias, cols }] of layout.roles) {
      const g = sums[role]!;
      const w = weights[role]!;
      const into = parts[member]!;
      // Rows of q/k/v are heads·headDim + d; of gate/up, channels. Columns of o are heads·headDim + d; of down, channels.
      const unit = member === 'q' || member === 'k' || member === 'v' || member === 'o' ? headDim : 1;
      if (member === 'o' || member === 'down') {
        for (let i = 0; i < g.length; i++) into[Math.floor((i % cols) / unit)]! += Math.abs(w[i]! * g[i]!);
      } else {
        const width = bias ? 1 : cols;
        for (let i = 0; i < g.length; i++) into[Math.floor(Math.floor(i / width) / unit)]! += Math.abs(w[i]! * g[i]!);
      }
    }
    perBlock[layer] = parts;
    // No group has an MoE block's MLP tensors: their weight gradients are not computed (only the input cotangent).
  }, signal, { withoutMoeWeights: true });
  const group = heads / kvHeads;
  return perBlock.map((p, layer) => {
    const scale = (a: Float64Array | null) => (a ? Array.from(a, (x) => x / predicted) : null);
    const [q, k, v, o, gate, up, down] = [scale(p.q)!, scale(p.k)!, scale(p.v)!, scale(p.o)!, scale(p.gate), scale(p.up)!, scale(p.down)!];
    const inGroup = (list: number[], g: number) => list.slice(g * group, (g + 1) * group).reduce((a, b) => a + b, 0);
    return {
      layer,
      queryHeads: q.map((qh, h) => aggregate([qh, o[h]!], o[h]!)),
      kvGroups: k.map((kg, g) => aggregate([inGroup(q, g), kg, v[g]!, inGroup(o, g)], inGroup(o, g))),
      channels: up.map((u, c) => aggregate([...(gate ? [gate[c]!] : []), u, down[c]!], down[c]!)),
    };
  });
}
