// Phi-3's graphs (phi3.ts declares the family), following transformers' modeling_phi3: the Llama block with fused
// qkv_proj and gate_up_proj, partial RoPE, and LongRoPE's factors chosen in the graph from the window's length;
// Llama's head.
import { GraphBuilder } from '../onnxGraph';
import { buildLlamaHead } from './llamaGraph';
import { attention, blockModel, frame, linearOutIn, mergeHeads, positions, repeatKv, rmsNorm, silu, splitHeads, unflatten } from './ops';
import type { Phi3Spec } from './phi3';
import { applyRotary, defaultInvFreq, rotaryTables } from './rotary';
import { BLOCK_IO, type FamilyGraphs } from './types';

export const phi3Graph: FamilyGraphs<Phi3Spec> = {
  buildBlock(spec, roles) {
    const { hidden, heads, kvHeads, headDim, rotaryDim, intermediate } = spec;
    const g = new GraphBuilder();
    const f = frame(g, BLOCK_IO.hidden, hidden);
    const { ids, causalMask } = positions(g, f);
    const tables = rotaryTables(g, ids, invFreq(g, f.batchSeq, spec), spec.longRope?.attentionFactor ?? 1);
    const rope = (x: string) => applyRotary(g, x, tables, headDim, rotaryDim);

    const x = rmsNorm(g, f.flat, 'input_norm', spec.rmsEps);
    g.op('Identity', [x], {}, BLOCK_IO.linearInput('attn'));
    const [qFlat, kFlat, vFlat] = g.ops('Split', [linearOutIn(g, x, 'qkv'), g.constant('int64', [heads * headDim, kvHeads * headDim, kvHeads * headDim])], 3, { axis: -1 }) as [string, string, string];
    const q = splitHeads(g, f, qFlat, heads, headDim);
    const k = splitHeads(g, f, kFlat, kvHeads, headDim);
    const v = splitHeads(g, f, vFlat, kvHeads, headDim);
    const groups = heads / kvHeads;
    const { context, probabilities } = attention(g, rope(q), repeatKv(g, rope(k), kvHeads, groups, headDim), repeatKv(g, v, kvHeads, groups, headDim), headDim, causalMask);
    g.op('Identity', [probabilities], {}, BLOCK_IO.attention);
    const merged = mergeHeads(g, context, heads, headDim, BLOCK_IO.headMask);
    g.op('Identity', [merged], {}, BLOCK_IO.linearInput('attn_out'));
    const h = g.op('Add', [f.flat, linearOutIn(g, merged, 'o')]);

    const y = rmsNorm(g, h, 'post_norm', spec.rmsEps);
    g.op('Identity', [y], {}, BLOCK_IO.linearInput('mlp'));
    // Phi3MLP: gate, up = gate_up_proj(x).chunk(2); up · silu(gate).
    const [gate, up] = g.ops('Split', [linearOutIn(g, y, 'gate_up'), g.constant('int64', [intermediate, intermediate])], 2, { axis: -1 }) as [string, string];
    const gated = g.op('Mul', [up, silu(g, gate)]);
    g.op('Identity', [gated], {}, BLOCK_IO.linearInput('mlp_down'));
    unflatten(g, f, g.op('Add', [h, linearOutIn(g, gated, 'down')]), [hidden], BLOCK_IO.out);
    return blockModel(g, 'phi3_block', roles, { hidden, heads, attnOut: heads * headDim, intermediate });
  },

  buildHead: buildLlamaHead,
};

/**
 * inv_freq [1, rotaryDim/2]: plain RoPE, or LongRoPE's 1 / (ext · θ^(2i/d)) with ext = long_factor when the window
 * is longer than original_max_position_embeddings (transformers: max(position_ids) + 1 > original), else short_factor.
 */
function invFreq(g: GraphBuilder, batchSeq: string, spec: Phi3Spec): string {
  const base = defaultInvFreq(spec.rotaryDim, spec.ropeTheta);
  const shape = [1, spec.rotaryDim / 2];
  if (!spec.longRope) return g.constant('float', base, shape);
  const { shortFactor, longFactor, originalMaxPositions } = spec.longRope;
  const seq = g.op('Gather', [batchSeq, g.constant('int64', [1], [1])], { axis: 0 });
  const long = g.op('Greater', [seq, g.constant('int64', [originalMaxPositions], [1])]);
  return g.op('Where', [long, g.constant('float', base.map((b, i) => b / longFactor[i]!), shape), g.constant('float', base.map((b, i) => b / shortFactor[i]!), shape)]);
}
