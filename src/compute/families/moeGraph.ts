// The Mixture-of-Experts families' graphs (Mixtral, Qwen2-MoE, Qwen3-MoE; moeSpec.ts declares them: config parsing,
// tensor names, parameter counts). Attention is the Llama family's (RoPE and its scalings from llamaGraph.ts;
// Qwen2-MoE's q/k/v biases, Qwen3-MoE's per-head q/k
// RMSNorm before RoPE). The block graph stops after attention: it outputs the residual stream after attention and
// the normed MLP input, and the engine runs the MLP (router, each expert on only the rows routed to it, shared
// expert, or a dense MLP) outside it (engine/moeRunner.ts), because running every expert densely for every token
// costs up to num_experts / num_experts_per_tok times too much (64x for 128 experts, top-2). Reference:
// test/fixtures/models/moe_reference.py.
import { GraphBuilder, value } from '../onnxGraph';
import { buildLlamaHead, llamaRope, rotaryTables, rotateHalf } from './llamaGraph';
import type { MoeSpec } from './moeSpec';
import { attention, frame, linearOutIn, mergeHeads, positions, repeatKv, rmsNorm, splitHeads, unflatten } from './ops';
import { BLOCK_IO, type FamilyGraphs } from './types';

export const moeGraph: FamilyGraphs<MoeSpec> = {
  /** Attention only: hidden_out is the residual stream after attention, mlp_input the post-attention norm of it. */
  buildBlock(spec, roles) {
    const { hidden, heads, kvHeads, headDim } = spec;
    const g = new GraphBuilder();
    const f = frame(g, BLOCK_IO.hidden, hidden);
    const { ids, causalMask } = positions(g, f);
    const { cos, sin } = rotaryTables(g, f.batchSeq, ids, headDim, llamaRope(spec));
    const rope = (x: string) => g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotateHalf(g, x, headDim), sin])]);
    const x = rmsNorm(g, f.flat, 'input_norm', spec.rmsEps);
    const bias = (name: string) => (spec.qkvBias ? name : undefined);
    // Qwen3-MoE normalises each head's q and k over head_dim: split into heads first ([b, h, s, d]), norm the last axis.
    const heads4 = (name: string, width: number, norm?: string) => {
      const split = splitHeads(g, f, linearOutIn(g, x, name, bias(`${name}_bias`)), width, headDim);
      return norm ? rmsNorm(g, split, norm, spec.rmsEps) : split;
    };
    const q = heads4('q', heads, spec.qkNorm ? 'q_norm' : undefined);
    const k = heads4('k', kvHeads, spec.qkNorm ? 'k_norm' : undefined);
    const v = heads4('v', kvHeads);
    const groups = heads / kvHeads;
    const { context, probabilities } = attention(g, rope(q), repeatKv(g, rope(k), kvHeads, groups, headDim), repeatKv(g, v, kvHeads, groups, headDim), headDim, causalMask);
    g.op('Identity', [probabilities], {}, BLOCK_IO.attention);
    const merged = mergeHeads(g, context, heads, headDim, BLOCK_IO.headMask);
    const h = g.op('Add', [f.flat, linearOutIn(g, merged, 'o', spec.oBias ? 'o_bias' : undefined)]);
    g.op('Identity', [rmsNorm(g, h, 'post_norm', spec.rmsEps)], {}, BLOCK_IO.mlpInput);
    unflatten(g, f, h, [hidden], BLOCK_IO.out);
    return g.model(`${spec.modelType}_attention_block`, [
      value(BLOCK_IO.hidden, 'float', ['batch', 'seq', hidden]),
      value(BLOCK_IO.headMask, 'float', [heads]),
      ...roles.map((r) => value(r.role, 'float', r.shape)),
    ], [
      value(BLOCK_IO.out, 'float', ['batch', 'seq', hidden]),
      value(BLOCK_IO.mlpInput, 'float', ['rows', hidden]),
      value(BLOCK_IO.attention, 'float', ['batch', heads, 'seq', 'seq']),
    ]);
  },

  buildHead: buildLlamaHead,
};
