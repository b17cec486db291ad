// The building blocks of block graphs, shared by the family builders. Activations enter a block as
// [batch, seq, hidden]; linear layers run on them flattened to [batch·seq, features] as Gemm, which takes HF's
// [out, in] weights as they are stored (transB = 1): on onnxruntime's CPU provider that measured 53 ms for
// [256, 896]·[4864, 896]ᵀ against 70 ms for MatMul on a pre-transposed weight and 113 ms for MatMul∘Transpose,
// and it spares a JS transpose of every weight on every block.
import { value, type GraphBuilder } from '../onnxGraph';
import { BLOCK_IO, type BlockTensor } from './types';

/** The shapes a block graph needs over and over: [batch, seq] of its input and the flattening constant. */
export interface Frame {
  /** [2] int64: batch and seq of the block input. */
  batchSeq: string;
  /** The [batch·seq, hidden] view of the input. */
  flat: string;
}

export function frame(g: GraphBuilder, hidden: string, width: number): Frame {
  const batchSeq = g.op('Slice', [g.op('Shape', [hidden]), g.constant('int64', [0], [1]), g.constant('int64', [2], [1])]);
  return { batchSeq, flat: g.op('Reshape', [hidden, g.constant('int64', [-1, width])]) };
}

/** [batch·seq, …] -> [batch, seq, …tail]. */
export function unflatten(g: GraphBuilder, f: Frame, x: string, tail: number[], output?: string): string {
  return g.op('Reshape', [x, g.op('Concat', [f.batchSeq, g.constant('int64', tail, [tail.length])], { axis: 0 })], {}, output);
}

/** x·Wᵀ (+ b) for HF Linear weights [out, in]; x is [rows, in]. */
export function linearOutIn(g: GraphBuilder, x: string, weight: string, bias?: string): string {
  return g.op('Gemm', bias ? [x, weight, bias] : [x, weight], { transB: 1 });
}

/** x·W + b for GPT-2 Conv1D weights [in, out]. */
export function linearInOut(g: GraphBuilder, x: string, weight: string, bias: string): string {
  return g.op('Gemm', [x, weight, bias]);
}

/** LlamaRMSNorm over the last axis: x / sqrt(mean(x²) + eps) · w. */
export function rmsNorm(g: GraphBuilder, x: string, weight: string, eps: number): string {
  const meanSquare = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
  const inverse = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [meanSquare, g.constant('float', [eps])])])]);
  return g.op('Mul', [g.op('Mul', [x, inverse]), weight]);
}

export function layerNorm(g: GraphBuilder, x: string, weight: string, bias: string, eps: number): string {
  return g.op('LayerNormalization', [x, weight, bias], { axis: -1, epsilon: eps });
}

export function silu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [x])]);
}

/** GPT-2's gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluNew(g: GraphBuilder, x: string): string {
  const cube = g.op('Mul', [g.op('Mul', [x, x]), x]);
  const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [cube, g.constant('float', [0.044715])])]), g.constant('float', [Math.sqrt(2 / Math.PI)])]);
  const half = g.op('Mul', [x, g.constant('float', [0.5])]);
  return g.op('Mul', [half, g.op('Add', [g.op('Tanh', [inner]), g.constant('float', [1])])]);
}

/** [batch·seq, heads·dim] -> [batch, heads, seq, dim]. */
export function splitHeads(g: GraphBuilder, f: Frame, x: string, heads: number, dim: number): string {
  return g.op('Transpose', [unflatten(g, f, x, [heads, dim])], { perm: [0, 2, 1, 3] });
}

/**
 * [batch, heads, seq, dim] -> [batch·seq, heads·dim], each head's context scaled by its entry of `headMask`
 * ([heads], 1 keeps it): a masked query head contributes nothing to the output projection, which is what removing
 * its q rows and o columns does.
 */
export function mergeHeads(g: GraphBuilder, x: string, heads: number, dim: number, headMask: string): string {
  const masked = g.op('Mul', [x, g.op('Reshape', [headMask, g.constant('int64', [1, heads, 1, 1])])]);
  return g.op('Reshape', [g.op('Transpose', [masked], { perm: [0, 2, 1, 3] }), g.constant('int64', [-1, heads * dim])]);
}

/** GQA: each of the KV heads serves `groups` query heads. [b, kv, s, d] -> [b, kv·groups, s, d]. */
export function repeatKv(g: GraphBuilder, x: string, kvHeads: number, groups: number, dim: number): string {
  if (groups === 1) return x;
  const expanded = g.op('Expand', [g.op('Unsqueeze', [x, g.constant('int64', [2], [1])]), g.constant('int64', [1, 1, groups, 1, 1])]);
  return g.op('Reshape', [expanded, g.constant('int64', [0, kvHeads * groups, -1, dim])]);
}

/**
 * Positions 0..seq−1 [seq] int64 and the causal mask [seq, seq] (0 where query i may read key j, −1e9 elsewhere):
 * j ≤ i, and with a sliding window also i − j < window (transformers' sliding_window_overlay: kv > q − window).
 */
export function positions(g: GraphBuilder, f: Frame, window?: number): { ids: string; causalMask: string } {
  const seq = g.op('Gather', [f.batchSeq, g.constant('int64', [1])], { axis: 0 });
  const ids = g.op('Range', [g.constant('int64', [0]), seq, g.constant('int64', [1])]);
  const rows = g.op('Unsqueeze', [ids, g.constant('int64', [1], [1])]);
  const cols = g.op('Unsqueeze', [ids, g.constant('int64', [0], [1])]);
  const hidden = window === undefined
    ? g.op('Less', [rows, cols])
    : g.op('Or', [g.op('Less', [rows, cols]), g.op('Not', [g.op('Less', [g.op('Sub', [rows, cols]), g.constant('int64', [window])])])]);
  const causalMask = g.op('Where', [hidden, g.constant('float', [-1e9]), g.constant('float', [0])]);
  return { ids, causalMask };
}

/** Queries per step of the chunked attention: the scores held at once are [batch, heads, 256, keys]. */
export const ATTENTION_QUERY_CHUNK = 256;

let chunkedAttention = true;

/**
 * Builds with attention as one matrix product (no Loop): the block graphs that reverse mode differentiates
 * (src/compute/autodiff/) are built this way. Graph building is synchronous, so the setting cannot leak.
 */
export function withWholeAttention<T>(build: () => T): T {
  const before = chunkedAttention;
  chunkedAttention = false;
  try {
    return build();
  } finally {
    chunkedAttention = before;
  }
}

/**
/**
 * softmax(q·kᵀ·scale + mask)·v over [b, h, s, d] for a causal `mask` ([s, s], additive, nothing above the diagonal:
 * sliding windows may mask more); also the attention probabilities [b, h, s, s]. The scale (1/√d unless given:
 * Gemma 2/3 use query_pre_attn_scalar^−½) is applied to q ([s, d] per head) rather than to the scores. With
 * `softcap` the scaled scores become cap·tanh(scores / cap) before the mask is added (Gemma 2's attn_logit_softcapping).
 *
 * The context is computed ATTENTION_QUERY_CHUNK queries at a time in an ONNX Loop, each chunk against the keys up
 * to its last query only (causality: the keys after it would get probability 0), so the scores held at once are
 * [b, h, 256, ≤ s] instead of [b, h, s, s] — at 2 048 tokens on 32 heads 67 MB instead of 537 MB, and about half
 * the multiply-adds. `probabilities` [b, h, s, s] is a separate, whole path for graphs that output it; a session
 * that does not fetch it is built without it (pruneToOutputs), so only attention rollout pays for it. Inside
 * withWholeAttention the context is the one-matrix product instead (reverse mode has no rule for Loop).
 */
export function attention(
  g: GraphBuilder, q: string, k: string, v: string, dim: number, causalMask: string, options: { scale?: number; softcap?: number } = {},
): { context: string; probabilities: string } {
  const scaled = g.op('Mul', [q, g.constant('float', [options.scale ?? 1 / Math.sqrt(dim)])]);
  const keysT = g.op('Transpose', [k], { perm: [0, 1, 3, 2] });
  const capped = (b: GraphBuilder, scores: string) => (options.softcap !== undefined ? softcap(b, scores, options.softcap) : scores);
  const probabilities = g.op('Softmax', [g.op('Add', [capped(g, g.op('MatMul', [scaled, keysT])), causalMask])], { axis: -1 });
  if (!chunkedAttention) return { context: g.op('MatMul', [probabilities, v]), probabilities };

  const chunk = g.constant('int64', [ATTENTION_QUERY_CHUNK], [1]);
  const zero = g.constant('int64', [0], [1]);
  const axis = (a: number) => g.constant('int64', [a], [1]);
  const seq = g.op('Gather', [g.op('Shape', [scaled]), axis(2)], { axis: 0 });
  const chunks = g.op('Div', [g.op('Add', [seq, g.constant('int64', [ATTENTION_QUERY_CHUNK - 1], [1])]), chunk]);
  const trips = g.op('Squeeze', [chunks, zero]);
  const none = g.op('Slice', [scaled, zero, zero, axis(2)]); // [b, h, 0, d]: the context so far
  const [context] = g.loop(trips, [none], (b, iteration, [sofar]) => {
    const start = b.op('Mul', [b.op('Unsqueeze', [iteration, zero]), chunk]);
    const end = b.op('Min', [b.op('Add', [start, chunk]), seq]);
    const queries = b.op('Slice', [scaled, start, end, axis(2)]);
    const keys = b.op('Slice', [keysT, zero, end, axis(3)]);
    const values = b.op('Slice', [v, zero, end, axis(2)]);
    const mask = b.op('Slice', [causalMask, b.op('Concat', [start, zero], { axis: 0 }), b.op('Concat', [end, end], { axis: 0 }), g.constant('int64', [0, 1])]);
    const weights = b.op('Softmax', [b.op('Add', [capped(b, b.op('MatMul', [queries, keys])), mask])], { axis: -1 });
    return [b.op('Concat', [sofar!, b.op('MatMul', [weights, values])], { axis: 2 })];
  });
  return { context: context!, probabilities };
}

/** cap · tanh(x / cap): Gemma 2's soft-capping of attention scores and of the final logits. */
export function softcap(g: GraphBuilder, x: string, cap: number): string {
  return g.op('Mul', [g.op('Tanh', [g.op('Div', [x, g.constant('float', [cap])])]), g.constant('float', [cap])]);
}

/**
 * The block graph as an ONNX model with the inputs and outputs every family declares (BLOCK_IO): the residual
 * stream and head mask in, the block's weights by role; the residual stream out, the attention probabilities and
 * the four linear-layer inputs Wanda reads (`attnOut`: the width entering the output projection).
 */
export function blockModel(g: GraphBuilder, name: string, roles: readonly BlockTensor[], s: { hidden: number; heads: number; attnOut: number; intermediate: number }): Uint8Array {
  return g.model(name, [
    value(BLOCK_IO.hidden, 'float', ['batch', 'seq', s.hidden]),
    value(BLOCK_IO.headMask, 'float', [s.heads]),
    ...roles.map((r) => value(r.role, 'float', r.shape)),
  ], [
    value(BLOCK_IO.out, 'float', ['batch', 'seq', s.hidden]),
    value(BLOCK_IO.attention, 'float', ['batch', s.heads, 'seq', 'seq']),
    value(BLOCK_IO.linearInput('attn'), 'float', ['rows', s.hidden]),
    value(BLOCK_IO.linearInput('attn_out'), 'float', ['rows', s.attnOut]),
    value(BLOCK_IO.linearInput('mlp'), 'float', ['rows', s.hidden]),
    value(BLOCK_IO.linearInput('mlp_down'), 'float', ['rows', s.intermediate]),
  ]);
}
