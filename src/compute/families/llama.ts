// The Llama family (Llama, Mistral, Qwen2) for the block engine, following transformers' modeling_llama: RMSNorm,
// rotary embeddings (rotate_half, inv_freq = θ^(−2i/d) in float32), grouped-query attention, SwiGLU, tied or
// untied head, optional q/k/v biases (Qwen2). Weights are graph inputs in HF's [out, in] layout.
import type { LlamaSpec } from '../../arch/modelSpec';
import { GraphBuilder, value } from '../onnxGraph';
import { attention, frame, linearOutIn, mergeHeads, positions, repeatKv, rmsNorm, silu, splitHeads, unflatten } from './ops';
import { BLOCK_IO, type BlockTensor, type Family, type LinearSite } from './types';
import { buildHeadGraph } from './head';

const LINEARS = {
  attn: ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'],
  attn_out: ['self_attn.o_proj'],
  mlp: ['mlp.gate_proj', 'mlp.up_proj'],
  mlp_down: ['mlp.down_proj'],
} as const;

export const llama: Family<LlamaSpec> = {
  blockTensors(spec, layer) {
    const { hidden, heads, kvHeads, headDim, intermediate } = spec;
    const p = `model.layers.${layer}.`;
    const t = (role: string, name: string, shape: number[]): BlockTensor => ({ role, name: p + name, shape });
    return [
      t('input_norm', 'input_layernorm.weight', [hidden]),
      t('q', 'self_attn.q_proj.weight', [heads * headDim, hidden]),
      t('k', 'self_attn.k_proj.weight', [kvHeads * headDim, hidden]),
      t('v', 'self_attn.v_proj.weight', [kvHeads * headDim, hidden]),
      ...(spec.qkvBias
        ? [t('q_bias', 'self_attn.q_proj.bias', [heads * headDim]), t('k_bias', 'self_attn.k_proj.bias', [kvHeads * headDim]), t('v_bias', 'self_attn.v_proj.bias', [kvHeads * headDim])]
        : []),
      t('o', 'self_attn.o_proj.weight', [hidden, heads * headDim]),
      t('post_norm', 'post_attention_layernorm.weight', [hidden]),
      t('gate', 'mlp.gate_proj.weight', [intermediate, hidden]),
      t('up', 'mlp.up_proj.weight', [intermediate, hidden]),
      t('down', 'mlp.down_proj.weight', [hidden, intermediate]),
    ];
  },

  buildBlock(spec, roles) {
    const { hidden, heads, kvHeads, headDim, intermediate } = spec;
    const g = new GraphBuilder();
    const f = frame(g, BLOCK_IO.hidden, hidden);
    const { ids, causalMask } = positions(g, f);
    const { cos, sin } = rotaryTables(g, ids, headDim, spec.ropeTheta);
    const rope = (x: string) => g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotateHalf(g, x, headDim), sin])]);

    const x = rmsNorm(g, f.flat, 'input_norm', spec.rmsEps);
    g.op('Identity', [x], {}, BLOCK_IO.linearInput('attn'));
    const bias = (name: string) => (spec.qkvBias ? name : undefined);
    const q = splitHeads(g, f, linearOutIn(g, x, 'q', bias('q_bias')), heads, headDim);
    const k = splitHeads(g, f, linearOutIn(g, x, 'k', bias('k_bias')), kvHeads, headDim);
    const v = splitHeads(g, f, linearOutIn(g, x, 'v', bias('v_bias')), kvHeads, headDim);
    const groups = heads / kvHeads;
    const { context, probabilities } = attention(g, rope(q), repeatKv(g, rope(k), kvHeads, groups, headDim), repeatKv(g, v, kvHeads, groups, headDim), headDim, causalMask);
    g.op('Identity', [probabilities], {}, BLOCK_IO.attention);
    const merged = mergeHeads(g, context, heads, headDim, BLOCK_IO.headMask);
    g.op('Identity', [merged], {}, BLOCK_IO.linearInput('attn_out'));
    const h = g.op('Add', [f.flat, linearOutIn(g, merged, 'o')]);

    const y = rmsNorm(g, h, 'post_norm', spec.rmsEps);
    g.op('Identity', [y], {}, BLOCK_IO.linearInput('mlp'));
    const gated = g.op('Mul', [silu(g, linearOutIn(g, y, 'gate')), linearOutIn(g, y, 'up')]);
    g.op('Identity', [gated], {}, BLOCK_IO.linearInput('mlp_down'));
    unflatten(g, f, g.op('Add', [h, linearOutIn(g, gated, 'down')]), [hidden], BLOCK_IO.out);
    return g.model(`${spec.modelType}_block`, [
      value(BLOCK_IO.hidden, 'float', ['batch', 'seq', hidden]),
      value(BLOCK_IO.headMask, 'float', [heads]),
      ...roles.map((r) => value(r.role, 'float', r.shape)),
    ], [
      value(BLOCK_IO.out, 'float', ['batch', 'seq', hidden]),
      value(BLOCK_IO.attention, 'float', ['batch', heads, 'seq', 'seq']),
      value(BLOCK_IO.linearInput('attn'), 'float', ['rows', hidden]),
      value(BLOCK_IO.linearInput('attn_out'), 'float', ['rows', heads * headDim]),
      value(BLOCK_IO.linearInput('mlp'), 'float', ['rows', hidden]),
      value(BLOCK_IO.linearInput('mlp_down'), 'float', ['rows', intermediate]),
    ]);
  },

  embedding: () => ({ tokens: 'model.embed_tokens.weight' }),
  finalNorm: (spec) => [{ role: 'final_norm', name: 'model.norm.weight', shape: [spec.hidden] }],
  // A checkpoint saved with a tied head has no lm_head tensor; transformers then uses the embedding, and so do we.
  head: (spec, has) => (spec.tiedEmbeddings || !has('lm_head.weight') ? 'model.embed_tokens.weight' : 'lm_head.weight'),
  buildHead: (spec, norm) => buildHeadGraph(spec.hidden, norm, (g, x) => rmsNorm(g, x, 'final_norm', spec.rmsEps)),

  linearSites(spec, layer) {
    const widths = { attn: spec.hidden, attn_out: spec.heads * spec.headDim, mlp: spec.hidden, mlp_down: spec.intermediate };
    return (Object.keys(LINEARS) as LinearSite['site'][]).map((site) => ({
      layer, site, width: widths[site],
      weights: LINEARS[site].map((l) => ({ name: `model.layers.${layer}.${l}.weight`, layout: 'out-in' as const })),
    }));
  },

  blockParameters(s) {
    return s.hidden * s.headDim * (s.heads * 2 + s.kvHeads * 2) + 3 * s.hidden * s.intermediate + 2 * s.hidden + (s.qkvBias ? s.headDim * (s.heads + 2 * s.kvHeads) : 0);
  },
};

/** cos and sin of position × inv_freq, [seq, headDim] (the two halves repeated), as HF's LlamaRotaryEmbedding. */
function rotaryTables(g: GraphBuilder, ids: string, headDim: number, theta: number): { cos: string; sin: string } {
  const inverse = Array.from({ length: headDim / 2 }, (_, i) => 1 / theta ** ((2 * i) / headDim));
  const invFreq = g.constant('float', inverse, [1, headDim / 2]);
  const positionsF = g.op('Unsqueeze', [g.op('Cast', [ids], { to: 1 }), g.constant('int64', [1], [1])]);
  const freqs = g.op('MatMul', [positionsF, invFreq]);
  const angles = g.op('Concat', [freqs, freqs], { axis: -1 });
  return { cos: g.op('Cos', [angles]), sin: g.op('Sin', [angles]) };
}

/** [x1, x2] -> [−x2, x1] over the last axis. */
function rotateHalf(g: GraphBuilder, x: string, headDim: number): string {
  const [first, second] = g.ops('Split', [x, g.constant('int64', [headDim / 2, headDim / 2])], 2, { axis: -1 }) as [string, string];
  return g.op('Concat', [g.op('Neg', [second]), first], { axis: -1 });
}
