// GPT-2 for the block engine, following transformers' modeling_gpt2: learned positions (added to the gathered
// token rows by the engine), pre-LayerNorm blocks, fused c_attn, Conv1D weights stored [in, out] (Gemm without
// transpose), gelu_new, head tied to wte.
import type { Gpt2Spec } from '../../arch/modelSpec';
import { GraphBuilder } from '../onnxGraph';
import { buildHeadGraph } from './head';
import { attention, blockModel, frame, geluNew, layerNorm, linearInOut, mergeHeads, positions, splitHeads, unflatten } from './ops';
import { BLOCK_IO, type BlockTensor, type Family } from './types';

/** HF GPT-2 checkpoints name tensors with or without the "transformer." prefix (GPT2Model vs GPT2LMHeadModel). */
const prefixOf = (has: (name: string) => boolean) => (has('transformer.wte.weight') ? 'transformer.' : '');

export const gpt2: Family<Gpt2Spec> = {
  blockTensors(spec, layer, has) {
    const { hidden, intermediate } = spec;
    const p = `${prefixOf(has)}h.${layer}.`;
    const t = (role: string, name: string, shape: number[]): BlockTensor => ({ role, name: p + name, shape });
    return [
      t('ln1_w', 'ln_1.weight', [hidden]), t('ln1_b', 'ln_1.bias', [hidden]),
      t('qkv', 'attn.c_attn.weight', [hidden, 3 * hidden]), t('qkv_b', 'attn.c_attn.bias', [3 * hidden]),
      t('proj', 'attn.c_proj.weight', [hidden, hidden]), t('proj_b', 'attn.c_proj.bias', [hidden]),
      t('ln2_w', 'ln_2.weight', [hidden]), t('ln2_b', 'ln_2.bias', [hidden]),
      t('fc', 'mlp.c_fc.weight', [hidden, intermediate]), t('fc_b', 'mlp.c_fc.bias', [intermediate]),
      t('out', 'mlp.c_proj.weight', [intermediate, hidden]), t('out_b', 'mlp.c_proj.bias', [hidden]),
    ];
  },

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

  embedding: (_, has) => ({ tokens: `${prefixOf(has)}wte.weight`, positions: `${prefixOf(has)}wpe.weight` }),
  finalNorm: (spec, has) => [
    { role: 'final_w', name: `${prefixOf(has)}ln_f.weight`, shape: [spec.hidden] },
    { role: 'final_b', name: `${prefixOf(has)}ln_f.bias`, shape: [spec.hidden] },
  ],
  head: (_, has) => `${prefixOf(has)}wte.weight`,
  buildHead: (spec, norm) => buildHeadGraph(spec.hidden, norm, (g, x) => layerNorm(g, x, 'final_w', 'final_b', spec.layerNormEps)),

  linearSites(spec, layer, has) {
    const w = (name: string) => [{ name: `${prefixOf(has)}h.${layer}.${name}.weight`, layout: 'in-out' as const }];
    return [
      { layer, site: 'attn', width: spec.hidden, weights: w('attn.c_attn') },
      { layer, site: 'attn_out', width: spec.hidden, weights: w('attn.c_proj') },
      { layer, site: 'mlp', width: spec.hidden, weights: w('mlp.c_fc') },
      { layer, site: 'mlp_down', width: spec.intermediate, weights: w('mlp.c_proj') },
    ];
  },

  blockParameters: (s) => 4 * s.hidden * s.hidden + 4 * s.hidden + 2 * s.hidden * s.intermediate + s.intermediate + s.hidden + 4 * s.hidden,
};
