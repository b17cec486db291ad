// The Llama family's graphs (llama.ts declares the family), following transformers' modeling_llama: RMSNorm,
// rotary embeddings (rotate_half, inv_freq = θ^(−2i/d) in float32), grouped-query attention, SwiGLU, tied or
// untied head, optional q/k/v, o_proj and MLP biases, and the rope_scaling types linear, dynamic (NTK), llama3 and
// yarn as modeling_rope_utils computes them (and a GGUF file's per-frequency factors, how llama.cpp stores llama3
// scaling). Weights are graph inputs in HF's [out, in] layout.
// The block builder here is shared by the families whose block is a variant of Llama's (Qwen3: q/k norm; Gemma
// 1/2/3: (1 + w) norms, GeGLU, sandwich norms, soft-capping, sliding windows): they pass GatedBlockOptions.
import type { LlamaSpec, RopeScaling } from '../../arch/modelSpec';
import { GraphBuilder } from '../onnxGraph';
import { buildHeadGraph } from './headGraph';
import type { GatedBlockShape, GatedTensorOptions } from './llama';
import { attention, blockModel, frame, geluNew, linearOutIn, mergeHeads, positions, repeatKv, rmsNorm, silu, splitHeads, unflatten } from './ops';
import { BLOCK_IO, type BlockTensor, type FamilyGraphs } from './types';
import { rotaryTables as positionTables } from './rotary';

/** The rotary embedding of a block: base, max_position_embeddings (dynamic NTK) and rope_scaling. */
export interface Rope {
  theta: number;
  maxPositions: number;
  scaling?: RopeScaling;
}

/** How a Llama-variant block differs from Llama's (every option off: Llama's block). */
export interface GatedBlockOptions extends GatedTensorOptions {
  rope: Rope;
  /** RMSNorm weights are applied as (1 + w), Gemma's GemmaRMSNorm. */
  normPlusOne?: boolean;
  /** The gate's activation: silu (SwiGLU) or the tanh approximation of gelu (GeGLU, gelu_pytorch_tanh). */
  activation?: 'silu' | 'gelu_tanh';
  /** Multiplies q·kᵀ (default 1/√head_dim). */
  scale?: number;
  /** Attention scores become cap·tanh(scores/cap) (Gemma 2 attn_logit_softcapping). */
  attnSoftcap?: number;
  /** Sliding-window attention: a query reads the last `window` positions only. */
  window?: number;
}

/** RMSNorm with a role's weight, as w (Llama) or (1 + w) (Gemma). */
export function normWith(g: GraphBuilder, x: string, weight: string, eps: number, plusOne = false): string {
  return rmsNorm(g, x, plusOne ? g.op('Add', [weight, g.constant('float', [1])]) : weight, eps);
}

/** A Llama-variant block as an ONNX graph (see GatedBlockOptions). */
export function buildGatedBlock(spec: GatedBlockShape, roles: readonly BlockTensor[], options: GatedBlockOptions): Uint8Array {
  const { hidden, heads, kvHeads, headDim, intermediate } = spec;
  const norm = (x: string, weight: string) => normWith(g, x, weight, spec.rmsEps, options.normPlusOne);
  const g = new GraphBuilder();
  const f = frame(g, BLOCK_IO.hidden, hidden);
  const { ids, causalMask } = positions(g, f, options.window);
  const { cos, sin } = rotaryTables(g, f.batchSeq, ids, headDim, options.rope);
  const rope = (x: string) => g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotateHalf(g, x, headDim), sin])]);

  const x = norm(f.flat, 'input_norm');
  g.op('Identity', [x], {}, BLOCK_IO.linearInput('attn'));
  const bias = (name: string) => (spec.qkvBias ? name : undefined);
  // q/k norm acts per head on [batch, heads, seq, head_dim], before RoPE (Qwen3Attention, Gemma3Attention).
  const qkNorm = (x: string, weight: string) => (options.qkNorm ? norm(x, weight) : x);
  const q = qkNorm(splitHeads(g, f, linearOutIn(g, x, 'q', bias('q_bias')), heads, headDim), 'q_norm');
  const k = qkNorm(splitHeads(g, f, linearOutIn(g, x, 'k', bias('k_bias')), kvHeads, headDim), 'k_norm');
  const v = splitHeads(g, f, linearOutIn(g, x, 'v', bias('v_bias')), kvHeads, headDim);
  const groups = heads / kvHeads;
  const { context, probabilities } = attention(g, rope(q), repeatKv(g, rope(k), kvHeads, groups, headDim), repeatKv(g, v, kvHeads, groups, headDim), headDim, causalMask, {
    ...(options.scale !== undefined ? { scale: options.scale } : {}),
    ...(options.attnSoftcap !== undefined ? { softcap: options.attnSoftcap } : {}),
  });
  g.op('Identity', [probabilities], {}, BLOCK_IO.attention);
  const merged = mergeHeads(g, context, heads, headDim, BLOCK_IO.headMask);
  g.op('Identity', [merged], {}, BLOCK_IO.linearInput('attn_out'));
  const attended = linearOutIn(g, merged, 'o', spec.oBias ? 'o_bias' : undefined);
  const h = g.op('Add', [f.flat, options.sandwichNorms ? norm(attended, 'post_norm') : attended]);

  const y = norm(h, options.sandwichNorms ? 'pre_ffw_norm' : 'post_norm');
  g.op('Identity', [y], {}, BLOCK_IO.linearInput('mlp'));
  const mlpBias = (name: string) => (spec.mlpBias ? name : undefined);
  const gate = linearOutIn(g, y, 'gate', mlpBias('gate_bias'));
  const gated = g.op('Mul', [options.activation === 'gelu_tanh' ? geluNew(g, gate) : silu(g, gate), linearOutIn(g, y, 'up', mlpBias('up_bias'))]);
  g.op('Identity', [gated], {}, BLOCK_IO.linearInput('mlp_down'));
  const down = linearOutIn(g, gated, 'down', mlpBias('down_bias'));
  unflatten(g, f, g.op('Add', [h, options.sandwichNorms ? norm(down, 'post_ffw_norm') : down]), [hidden], BLOCK_IO.out);
  return blockModel(g, `${spec.modelType}_block`, roles, { hidden, heads, attnOut: heads * headDim, intermediate });
}

/** The llama family's spec fields as the shared builder reads them (Qwen3 reuses this with its q/k norm). */
export const llamaRope = (spec: Pick<LlamaSpec, 'ropeTheta' | 'maxPositions' | 'ropeScaling'>): Rope => ({
  theta: spec.ropeTheta, maxPositions: spec.maxPositions, ...(spec.ropeScaling ? { scaling: spec.ropeScaling } : {}),
});

/** The Llama layout's final RMSNorm and (tied or own) head, shared by its variants. */
export const buildLlamaHead = (spec: { hidden: number; rmsEps: number }, norm: readonly BlockTensor[]) =>
  buildHeadGraph(spec.hidden, norm, (g, x) => rmsNorm(g, x, 'final_norm', spec.rmsEps));

export const llamaGraph: FamilyGraphs<LlamaSpec> = {
  buildBlock: (spec, roles) => buildGatedBlock(spec, roles, { rope: llamaRope(spec) }),
  buildHead: buildLlamaHead,
};

/**
 * The rotary frequencies inv_freq [headDim/2] and the factor cos and sin are multiplied by, for every rope_scaling
 * type but dynamic (whose frequencies depend on the text's length and are computed in the graph), following
 * transformers' modeling_rope_utils.
 */
export function ropeFrequencies(headDim: number, theta: number, maxPositions: number, scaling?: RopeScaling): { invFreq: number[]; attentionScaling: number } {
  const half = headDim / 2;
  const base = Array.from({ length: half }, (_, i) => 1 / theta ** ((2 * i) / headDim));
  if (!scaling || scaling.type === 'dynamic') return { invFreq: base, attentionScaling: 1 };
  if (scaling.type === 'linear') return { invFreq: base.map((f) => f / scaling.factor), attentionScaling: 1 };
  if (scaling.type === 'factors') return { invFreq: base.map((f, i) => f / scaling.factors[i]!), attentionScaling: 1 };
  if (scaling.type === 'llama3') {
    const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions: old } = scaling;
    const lowWavelen = old / lowFreqFactor;
    const highWavelen = old / highFreqFactor;
    return {
      invFreq: base.map((f) => {
        const wavelen = (2 * Math.PI) / f;
        if (wavelen > lowWavelen) return f / factor;
        if (wavelen < highWavelen) return f;
        const smooth = (old / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        return ((1 - smooth) * f) / factor + smooth * f;
      }),
      attentionScaling: 1,
    };
  }
  // yarn, as transformers 5's _compute_yarn_parameters: the ramp is placed by original_max_position_embeddings
  // (default max_position_embeddings); an explicit factor is used as given, and only without one is the factor
  // max / original. (transformers 4.50-4.57 replaced an explicit factor by max / original whenever the original
  // was given; the two agree when factor = max / original.)
  const original = scaling.originalMaxPositions ?? maxPositions;
  const factor = scaling.factor ?? maxPositions / original;
  const mscale = (scale: number, m = 1) => (scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1);
  const attentionScaling = scaling.attentionFactor ??
    (scaling.mscale && scaling.mscaleAllDim ? mscale(factor, scaling.mscale) / mscale(factor, scaling.mscaleAllDim) : mscale(factor));
  const correctionDim = (rotations: number) => (headDim * Math.log(original / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
  let low = correctionDim(scaling.betaFast);
  let high = correctionDim(scaling.betaSlow);
  if (scaling.truncate) [low, high] = [Math.floor(low), Math.ceil(high)];
  low = Math.max(low, 0);
  high = Math.min(high, headDim - 1);
  if (low === high) high += 0.001;
  return {
    invFreq: base.map((f, i) => {
      const extrapolation = 1 - Math.min(1, Math.max(0, (i - low) / (high - low)));
      return (f / factor) * (1 - extrapolation) + f * extrapolation;
    }),
    attentionScaling,
  };
}

/**
 * cos and sin of position × inv_freq, [seq, headDim] (the two halves repeated), times the attention scaling, as
 * HF's LlamaRotaryEmbedding. Dynamic NTK recomputes inv_freq for the text's length when it exceeds
 * max_position_embeddings (_compute_dynamic_ntk_parameters with seq_len = the window's length; transformers keeps
 * the largest length seen in a stateful cache, a forward pass here is stateless).
 */
export function rotaryTables(g: GraphBuilder, batchSeq: string, ids: string, headDim: number, rope: Rope): { cos: string; sin: string } {
  const { theta, maxPositions, scaling: ropeScaling } = rope;
  const { invFreq: inverse, attentionScaling } = ropeFrequencies(headDim, theta, maxPositions, ropeScaling);
  let invFreq: string;
  if (ropeScaling?.type === 'dynamic') {
    const f = ropeScaling.factor;
    const seq = g.op('Cast', [g.op('Gather', [batchSeq, g.constant('int64', [1], [1])], { axis: 0 })], { to: 1 });
    const length = g.op('Max', [seq, g.constant('float', [maxPositions], [1])]);
    const ratio = g.op('Sub', [g.op('Mul', [length, g.constant('float', [f / maxPositions], [1])]), g.constant('float', [f - 1], [1])]);
    const base = g.op('Mul', [g.constant('float', [theta], [1]), g.op('Pow', [ratio, g.constant('float', [headDim / (headDim - 2)], [1])])]);
    const exponents = g.constant('float', Array.from({ length: headDim / 2 }, (_, i) => (2 * i) / headDim), [1, headDim / 2]);
    invFreq = g.op('Reciprocal', [g.op('Pow', [base, exponents])]);
  } else {
    invFreq = g.constant('float', inverse, [1, headDim / 2]);
  }
  return positionTables(g, ids, invFreq, attentionScaling);
}

/** [x1, x2] -> [−x2, x1] over the last axis. */
export function rotateHalf(g: GraphBuilder, x: string, headDim: number): string {
  const [first, second] = g.ops('Split', [x, g.constant('int64', [headDim / 2, headDim / 2])], 2, { axis: -1 }) as [string, string];
  return g.op('Concat', [g.op('Neg', [second]), first], { axis: -1 });
}
