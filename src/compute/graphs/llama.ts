// The Llama family (Llama, Mistral, Qwen2) as an ONNX graph, following transformers' modeling_llama: RMSNorm,
// rotary embeddings (rotate_half, inv_freq = θ^(−2i/d) in float32), grouped-query attention, SwiGLU, tied or
// untied head, optional q/k/v biases (Qwen2).
import type { LlamaSpec } from '../../arch/modelSpec';
import type { GraphBuilder } from '../onnxGraph';
import { attention, blockGate, gatedAdd, linear, mergeHeads, positions, repeatKv, rmsNorm, silu, splitHeads } from './layers';
import { transposed, type WeightSource } from './weights';
import type { DecoderGraph, LinearSite } from './decoder';

export async function buildLlama(g: GraphBuilder, spec: LlamaSpec, weights: WeightSource, inputIds: string, gates: string): Promise<DecoderGraph> {
  const { hidden, heads, kvHeads, headDim, intermediate, vocab } = spec;
  const matrix = async (name: string, out: number, inDim: number) => g.weight(name, [inDim, out], transposed(await weights.get(name, [out, inDim]), out, inDim));
  const vector = async (name: string, size: number) => g.weight(name, [size], await weights.get(name, [size]));

  const embedding = g.weight('model.embed_tokens.weight', [vocab, hidden], await weights.get('model.embed_tokens.weight', [vocab, hidden]));
  let h = g.op('Gather', [embedding, inputIds], { axis: 0 });
  const { ids, causalMask } = positions(g, inputIds);
  const { cos, sin } = rotaryTables(g, ids, headDim, spec.ropeTheta);
  const rope = (x: string) => g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotateHalf(g, x, headDim), sin])]);

  const hiddenStates = [h];
  const attentions: string[] = [];
  const linearSites: LinearSite[] = [];
  const site = (layer: number, name: LinearSite['site'], tensor: string, width: number, linears: string[]) =>
    linearSites.push({ layer, site: name, tensor, width, weights: linears.map((l) => ({ name: `model.layers.${layer}.${l}.weight`, layout: 'out-in' as const })) });
  for (let l = 0; l < spec.layers; l++) {
    const p = `model.layers.${l}`;
    const gate = blockGate(g, gates, l);
    const x = rmsNorm(g, h, await vector(`${p}.input_layernorm.weight`, hidden), spec.rmsEps);
    site(l, 'attn', x, hidden, ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj']);
    const bias = async (name: string, size: number) => (spec.qkvBias ? vector(`${p}.self_attn.${name}.bias`, size) : undefined);
    const q = splitHeads(g, linear(g, x, await matrix(`${p}.self_attn.q_proj.weight`, heads * headDim, hidden), await bias('q_proj', heads * headDim)), heads, headDim);
    const k = splitHeads(g, linear(g, x, await matrix(`${p}.self_attn.k_proj.weight`, kvHeads * headDim, hidden), await bias('k_proj', kvHeads * headDim)), kvHeads, headDim);
    const v = splitHeads(g, linear(g, x, await matrix(`${p}.self_attn.v_proj.weight`, kvHeads * headDim, hidden), await bias('v_proj', kvHeads * headDim)), kvHeads, headDim);
    const groups = heads / kvHeads;
    const { context, probabilities } = attention(g, rope(q), repeatKv(g, rope(k), kvHeads, groups, headDim), repeatKv(g, v, kvHeads, groups, headDim), headDim, causalMask);
    attentions.push(probabilities);
    const merged = mergeHeads(g, context, heads, headDim);
    site(l, 'attn_out', merged, heads * headDim, ['self_attn.o_proj']);
    h = gatedAdd(g, h, linear(g, merged, await matrix(`${p}.self_attn.o_proj.weight`, hidden, heads * headDim)), gate);

    const y = rmsNorm(g, h, await vector(`${p}.post_attention_layernorm.weight`, hidden), spec.rmsEps);
    site(l, 'mlp', y, hidden, ['mlp.gate_proj', 'mlp.up_proj']);
    const up = linear(g, y, await matrix(`${p}.mlp.up_proj.weight`, intermediate, hidden));
    const gated = g.op('Mul', [silu(g, linear(g, y, await matrix(`${p}.mlp.gate_proj.weight`, intermediate, hidden))), up]);
    site(l, 'mlp_down', gated, intermediate, ['mlp.down_proj']);
    h = gatedAdd(g, h, linear(g, gated, await matrix(`${p}.mlp.down_proj.weight`, hidden, intermediate)), gate);
    hiddenStates.push(h);
  }
  const normed = rmsNorm(g, h, await vector('model.norm.weight', hidden), spec.rmsEps);
  // A checkpoint saved with a tied head has no lm_head tensor; transformers then uses the embedding, and so do we.
  const tied = spec.tiedEmbeddings || !weights.has('lm_head.weight');
  const head = tied ? g.op('Transpose', [embedding], { perm: [1, 0] }) : await matrix('lm_head.weight', vocab, hidden);
  return { logits: linear(g, normed, head), hiddenStates, attentions, linearSites };
}

/** cos and sin of position × inv_freq, [seq, headDim] (the two halves repeated), as HF's LlamaRotaryEmbedding. */
function rotaryTables(g: GraphBuilder, ids: string, headDim: number, theta: number): { cos: string; sin: string } {
  const inverse = new Float32Array(headDim / 2).map((_, i) => 1 / theta ** ((2 * i) / headDim));
  const invFreq = g.weight('rope.inv_freq', [1, headDim / 2], inverse);
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
