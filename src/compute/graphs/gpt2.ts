// GPT-2 as an ONNX graph, following transformers' modeling_gpt2: learned positions, pre-LayerNorm blocks, fused
// c_attn, Conv1D weights stored [in, out] (so no transpose), gelu_new, head tied to wte.
import type { Gpt2Spec } from '../../arch/modelSpec';
import type { GraphBuilder } from '../onnxGraph';
import type { DecoderGraph, LinearSite } from './decoder';
import { attention, blockGate, gatedAdd, geluNew, layerNorm, linear, mergeHeads, positions, splitHeads } from './layers';
import type { WeightSource } from './weights';

export async function buildGpt2(g: GraphBuilder, spec: Gpt2Spec, weights: WeightSource, inputIds: string, gates: string): Promise<DecoderGraph> {
  const { hidden, heads, headDim, intermediate, vocab } = spec;
  // HF GPT-2 checkpoints name tensors with or without the "transformer." prefix (GPT2Model vs GPT2LMHeadModel).
  const prefix = weights.has('transformer.wte.weight') ? 'transformer.' : '';
  const tensor = async (name: string, shape: number[]) => g.weight(`${prefix}${name}`, shape, await weights.get(`${prefix}${name}`, shape));

  const wte = await tensor('wte.weight', [vocab, hidden]);
  const wpe = await tensor('wpe.weight', [spec.maxPositions, hidden]);
  const { ids, causalMask } = positions(g, inputIds);
  let h = g.op('Add', [g.op('Gather', [wte, inputIds], { axis: 0 }), g.op('Gather', [wpe, ids], { axis: 0 })]);
  const hiddenStates = [h];
  const attentions: string[] = [];
  const linearSites: LinearSite[] = [];
  const site = (layer: number, name: LinearSite['site'], tensor: string, width: number, linear: string) =>
    linearSites.push({ layer, site: name, tensor, width, weights: [{ name: `${prefix}h.${layer}.${linear}.weight`, layout: 'in-out' }] });
  for (let l = 0; l < spec.layers; l++) {
    const p = `h.${l}`;
    const gate = blockGate(g, gates, l);
    const x = layerNorm(g, h, await tensor(`${p}.ln_1.weight`, [hidden]), await tensor(`${p}.ln_1.bias`, [hidden]), spec.layerNormEps);
    site(l, 'attn', x, hidden, 'attn.c_attn');
    const qkv = linear(g, x, await tensor(`${p}.attn.c_attn.weight`, [hidden, 3 * hidden]), await tensor(`${p}.attn.c_attn.bias`, [3 * hidden]));
    const [q, k, v] = g.ops('Split', [qkv, g.constant('int64', [hidden, hidden, hidden])], 3, { axis: -1 }).map((part) => splitHeads(g, part, heads, headDim)) as [string, string, string];
    const { context: perHead, probabilities } = attention(g, q, k, v, headDim, causalMask);
    attentions.push(probabilities);
    const context = mergeHeads(g, perHead, heads, headDim);
    site(l, 'attn_out', context, hidden, 'attn.c_proj');
    h = gatedAdd(g, h, linear(g, context, await tensor(`${p}.attn.c_proj.weight`, [hidden, hidden]), await tensor(`${p}.attn.c_proj.bias`, [hidden])), gate);
    const y = layerNorm(g, h, await tensor(`${p}.ln_2.weight`, [hidden]), await tensor(`${p}.ln_2.bias`, [hidden]), spec.layerNormEps);
    site(l, 'mlp', y, hidden, 'mlp.c_fc');
    const inner = geluNew(g, linear(g, y, await tensor(`${p}.mlp.c_fc.weight`, [hidden, intermediate]), await tensor(`${p}.mlp.c_fc.bias`, [intermediate])));
    site(l, 'mlp_down', inner, intermediate, 'mlp.c_proj');
    h = gatedAdd(g, h, linear(g, inner, await tensor(`${p}.mlp.c_proj.weight`, [intermediate, hidden]), await tensor(`${p}.mlp.c_proj.bias`, [hidden])), gate);
    hiddenStates.push(h);
  }
  const normed = layerNorm(g, h, await tensor('ln_f.weight', [hidden]), await tensor('ln_f.bias', [hidden]), spec.layerNormEps);
  return { logits: linear(g, normed, g.op('Transpose', [wte], { perm: [1, 0] })), hiddenStates, attentions, linearSites };
}
