// GPT-2's graphs (gpt2.ts declares the family), following transformers' modeling_gpt2: pre-LayerNorm blocks, fused
// c_attn, Conv1D weights stored [in, out] (Gemm without transpose), gelu_new, and the final LayerNorm + head.
import type { Gpt2Spec } from '../../arch/modelSpec';
import { GraphBuilder } from '../onnxGraph';
import { buildHeadGraph } from './headGraph';
import { attention, blockModel, frame, geluNew, layerNorm, linearInOut, mergeHeads, positions, splitHeads, unflatten } from './ops';
import { BLOCK_IO, type FamilyGraphs } from './types';

export const gpt2Graph: FamilyGraphs<Gpt2Spec> = {
  buildBlock(spec, roles) {
    const { hidden, heads, headDim, intermediate } = spec;
    const g = new GraphBuilder();
    const f = frame(g, BLOCK_IO.hidden, hidden);
    const { causalMask } = positions(g, f);
    const x = layerNorm(g, f.flat, 'ln1_w', 'ln1_b', spec.layerNormEps);
    g.op('Identity', [x], {}, BLOCK_IO.linearInput('attn'));
    const qkv = linearInOut(g, x, 'qkv', 'qkv_b');
    const [q, k, v] = g.ops('Split', [qkv, g.constant('int64', [hidden, hidden, hidden])], 3, { axis: -1 }).map((part) => splitHeads(g, f, part, heads, headDim)) as [string, string, string];
    const { context, probabilities } = attention(g, q, k, v, headDim, causalMask);
    g.op('Identity', [probabilities], {}, BLOCK_IO.attention);
    const merged = mergeHeads(g, context, heads, headDim, BLOCK_IO.headMask);
    g.op('Identity', [merged], {}, BLOCK_IO.linearInput('attn_out'));
    const h = g.op('Add', [f.flat, linearInOut(g, merged, 'proj', 'proj_b')]);
    const y = layerNorm(g, h, 'ln2_w', 'ln2_b', spec.layerNormEps);
    g.op('Identity', [y], {}, BLOCK_IO.linearInput('mlp'));
    const inner = geluNew(g, linearInOut(g, y, 'fc', 'fc_b'));
    g.op('Identity', [inner], {}, BLOCK_IO.linearInput('mlp_down'));
    unflatten(g, f, g.op('Add', [h, linearInOut(g, inner, 'out', 'out_b')]), [hidden], BLOCK_IO.out);
    return blockModel(g, 'gpt2_block', roles, { hidden, heads, attnOut: hidden, intermediate });
  },

  buildHead: (spec, norm) => buildHeadGraph(spec.hidden, norm, (g, x) => layerNorm(g, x, 'final_w', 'final_b', spec.layerNormEps)),
};
