// GPT-NeoX / Pythia's graphs (gptNeox.ts declares the family), following transformers' modeling_gpt_neox: the fused
// query_key_value laid out per head, RoPE on the first rotaryDim features of each head, gelu (erf or tanh), and
// the parallel or sequential residual; the final LayerNorm + head.
import { GraphBuilder } from '../onnxGraph';
import type { GptNeoxSpec } from './gptNeox';
import { buildHeadGraph } from './headGraph';
import { attention, blockModel, frame, geluNew, layerNorm, linearOutIn, mergeHeads, positions, unflatten } from './ops';
import { applyRotary, defaultInvFreq, rotaryTables } from './rotary';
import { BLOCK_IO, type FamilyGraphs } from './types';

export const gptNeoxGraph: FamilyGraphs<GptNeoxSpec> = {
  buildBlock(spec, roles) {
    const { hidden, heads, headDim, rotaryDim, intermediate } = spec;
    const g = new GraphBuilder();
    const f = frame(g, BLOCK_IO.hidden, hidden);
    const { ids, causalMask } = positions(g, f);
    const tables = rotaryTables(g, ids, g.constant('float', defaultInvFreq(rotaryDim, spec.ropeTheta), [1, rotaryDim / 2]), 1);
    const bias = (name: string) => (spec.attentionBias ? name : undefined);

    const x = layerNorm(g, f.flat, 'ln1_w', 'ln1_b', spec.layerNormEps);
    g.op('Identity', [x], {}, BLOCK_IO.linearInput('attn'));
    // [rows, 3·hidden] -> [batch, seq, heads, 3·headDim] -> [batch, heads, seq, 3·headDim], then q | k | v per head.
    const perHead = g.op('Transpose', [unflatten(g, f, linearOutIn(g, x, 'qkv', bias('qkv_b')), [heads, 3 * headDim])], { perm: [0, 2, 1, 3] });
    const [q, k, v] = g.ops('Split', [perHead, g.constant('int64', [headDim, headDim, headDim])], 3, { axis: -1 }) as [string, string, string];
    const rope = (t: string) => applyRotary(g, t, tables, headDim, rotaryDim);
    const { context, probabilities } = attention(g, rope(q), rope(k), v, headDim, causalMask);
    g.op('Identity', [probabilities], {}, BLOCK_IO.attention);
    const merged = mergeHeads(g, context, heads, headDim, BLOCK_IO.headMask);
    g.op('Identity', [merged], {}, BLOCK_IO.linearInput('attn_out'));
    const attended = linearOutIn(g, merged, 'dense', bias('dense_b'));

    // Parallel: the MLP reads the block input; sequential: the input plus the attention output.
    const mlpInput = spec.parallelResidual ? f.flat : g.op('Add', [f.flat, attended]);
    const y = layerNorm(g, mlpInput, 'ln2_w', 'ln2_b', spec.layerNormEps);
    g.op('Identity', [y], {}, BLOCK_IO.linearInput('mlp'));
    const inner = linearOutIn(g, y, 'fc', 'fc_b');
    const activated = spec.gelu === 'erf' ? geluErf(g, inner) : geluNew(g, inner);
    g.op('Identity', [activated], {}, BLOCK_IO.linearInput('mlp_down'));
    const mlp = linearOutIn(g, activated, 'out', 'out_b');
    const result = spec.parallelResidual ? g.op('Add', [g.op('Add', [mlp, attended]), f.flat]) : g.op('Add', [mlp, mlpInput]);
    unflatten(g, f, result, [hidden], BLOCK_IO.out);
    return blockModel(g, 'gpt_neox_block', roles, { hidden, heads, attnOut: hidden, intermediate });
  },

  buildHead: (spec, norm) => buildHeadGraph(spec.hidden, norm, (g, x) => layerNorm(g, x, 'final_w', 'final_b', spec.layerNormEps)),
};

/** transformers' GELUActivation: 0.5·x·(1 + erf(x / √2)). */
function geluErf(g: GraphBuilder, x: string): string {
  const erf = g.op('Erf', [g.op('Mul', [x, g.constant('float', [Math.SQRT1_2])])]);
  return g.op('Mul', [g.op('Mul', [x, g.constant('float', [0.5])]), g.op('Add', [erf, g.constant('float', [1])])]);
}
