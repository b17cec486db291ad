// The building blocks of decoder graphs, shared by the GPT-2 and Llama builders. Tensors are [batch, seq, hidden]
// (activations) and [batch, heads, seq, headDim] (attention). Every block's additions to the residual stream are
// multiplied by that block's entry of the `block_gate` input: 1 runs the block, 0 skips it (residual passes
// through), so one session serves the plain forward pass and every layer ablation.
import type { GraphBuilder } from '../onnxGraph';

/** x·W (+ b) with W given as [in, out]. */
export function linear(g: GraphBuilder, x: string, weight: string, bias?: string): string {
  const y = g.op('MatMul', [x, weight]);
  return bias ? g.op('Add', [y, bias]) : y;
}

/** LlamaRMSNorm: x / sqrt(mean(x²) + eps) · w. */
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

/** [batch, seq, heads·dim] -> [batch, heads, seq, dim]. */
export function splitHeads(g: GraphBuilder, x: string, heads: number, dim: number): string {
  return g.op('Transpose', [g.op('Reshape', [x, g.constant('int64', [0, 0, heads, dim])])], { perm: [0, 2, 1, 3] });
}

/** [batch, heads, seq, dim] -> [batch, seq, heads·dim]. */
export function mergeHeads(g: GraphBuilder, x: string, heads: number, dim: number): string {
  return g.op('Reshape', [g.op('Transpose', [x], { perm: [0, 2, 1, 3] }), g.constant('int64', [0, 0, heads * dim])]);
}

/** GQA: each of the KV heads serves `groups` query heads. [b, kv, s, d] -> [b, kv·groups, s, d]. */
export function repeatKv(g: GraphBuilder, x: string, kvHeads: number, groups: number, dim: number): string {
  if (groups === 1) return x;
  const expanded = g.op('Expand', [g.op('Unsqueeze', [x, g.constant('int64', [2], [1])]), g.constant('int64', [1, 1, groups, 1, 1])]);
  return g.op('Reshape', [expanded, g.constant('int64', [0, kvHeads * groups, -1, dim])]);
}

export interface Positions {
  /** [seq] int64 0..seq-1. */
  ids: string;
  /** [seq, seq] float: 0 on and below the diagonal, −1e9 above (causal). */
  causalMask: string;
}

export function positions(g: GraphBuilder, inputIds: string): Positions {
  const seq = g.op('Gather', [g.op('Shape', [inputIds]), g.constant('int64', [1])], { axis: 0 });
  const ids = g.op('Range', [g.constant('int64', [0]), seq, g.constant('int64', [1])]);
  const rows = g.op('Unsqueeze', [ids, g.constant('int64', [1], [1])]);
  const cols = g.op('Unsqueeze', [ids, g.constant('int64', [0], [1])]);
  const future = g.op('Less', [rows, cols]);
  const causalMask = g.op('Where', [future, g.constant('float', [-1e9]), g.constant('float', [0])]);
  return { ids, causalMask };
}

/** softmax(q·kᵀ/√d + mask)·v over [b, h, s, d]; also the attention probabilities [b, h, s, s]. */
export function attention(g: GraphBuilder, q: string, k: string, v: string, dim: number, causalMask: string): { context: string; probabilities: string } {
  const scores = g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), g.constant('float', [1 / Math.sqrt(dim)])]);
  const probabilities = g.op('Softmax', [g.op('Add', [scores, causalMask])], { axis: -1 });
  return { context: g.op('MatMul', [probabilities, v]), probabilities };
}

/** residual + gate·update: the gated residual add of every block. */
export function gatedAdd(g: GraphBuilder, residual: string, update: string, gate: string): string {
  return g.op('Add', [residual, g.op('Mul', [update, gate])]);
}

/** The scalar gate of block `index` from the [layers] `block_gate` input. */
export function blockGate(g: GraphBuilder, gates: string, index: number): string {
  return g.op('Gather', [gates, g.constant('int64', [index])], { axis: 0 });
}
