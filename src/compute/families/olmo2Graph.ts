// OLMo 2's graphs (olmo2.ts declares the family), following transformers' modeling_olmo2: post-norms on what each
// branch adds, q_norm / k_norm over the whole projections before RoPE, SwiGLU; Llama's head.
import { GraphBuilder } from '../onnxGraph';
import { buildLlamaHead } from './llamaGraph';
import type { Olmo2Spec } from './olmo2';
import { attention, blockModel, frame, linearOutIn, mergeHeads, positions, repeatKv, rmsNorm, silu, splitHeads, unflatten } from './ops';
import { applyRotary, defaultInvFreq, rotaryTables } from './rotary';
import { BLOCK_IO, type FamilyGraphs } from './types';

export const olmo2Graph: FamilyGraphs<Olmo2Spec> = {
  buildBlock(spec, roles) {
    const { hidden, heads, kvHeads, headDim, intermediate } = spec;
    const g = new GraphBuilder();
    const f = frame(g, BLOCK_IO.hidden, hidden);
    const { ids, causalMask } = positions(g, f);
    const tables = rotaryTables(g, ids, g.constant('float', defaultInvFreq(headDim, spec.ropeTheta), [1, headDim / 2]), 1);
    const rope = (x: string) => applyRotary(g, x, tables, headDim, headDim);
    const bias = (name: string) => (spec.attentionBias ? name : undefined);

    // The projections read the residual stream itself (no input norm).
    g.op('Identity', [f.flat], {}, BLOCK_IO.linearInput('attn'));
    const q = splitHeads(g, f, rmsNorm(g, linearOutIn(g, f.flat, 'q', bias('q_bias')), 'q_norm', spec.rmsEps), heads, headDim);
    const k = splitHeads(g, f, rmsNorm(g, linearOutIn(g, f.flat, 'k', bias('k_bias')), 'k_norm', spec.rmsEps), kvHeads, headDim);
    const v = splitHeads(g, f, linearOutIn(g, f.flat, 'v', bias('v_bias')), kvHeads, headDim);
    const groups = heads / kvHeads;
    const { context, probabilities } = attention(g, rope(q), repeatKv(g, rope(k), kvHeads, groups, headDim), repeatKv(g, v, kvHeads, groups, headDim), headDim, causalMask);
    g.op('Identity', [probabilities], {}, BLOCK_IO.attention);
    const merged = mergeHeads(g, context, heads, headDim, BLOCK_IO.headMask);
    g.op('Identity', [merged], {}, BLOCK_IO.linearInput('attn_out'));
    const h = g.op('Add', [f.flat, rmsNorm(g, linearOutIn(g, merged, 'o', bias('o_bias')), 'post_attn_norm', spec.rmsEps)]);

    g.op('Identity', [h], {}, BLOCK_IO.linearInput('mlp'));
    const gated = g.op('Mul', [silu(g, linearOutIn(g, h, 'gate')), linearOutIn(g, h, 'up')]);
    g.op('Identity', [gated], {}, BLOCK_IO.linearInput('mlp_down'));
    unflatten(g, f, g.op('Add', [h, rmsNorm(g, linearOutIn(g, gated, 'down'), 'post_ff_norm', spec.rmsEps)]), [hidden], BLOCK_IO.out);
    return blockModel(g, 'olmo2_block', roles, { hidden, heads, attnOut: heads * headDim, intermediate });
  },

  buildHead: buildLlamaHead,
};
