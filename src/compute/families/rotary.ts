// Rotary position embeddings for the families that rotate only part of each head (Phi-4-mini's
// partial_rotary_factor, GPT-NeoX's rotary_pct) or choose their frequencies by the text's length (Phi-3's
// LongRoPE), as transformers' apply_rotary_pos_emb in modeling_phi3 / modeling_gpt_neox: cos and sin cover the
// first `rotaryDim` features of a head, rotate_half acts within them, the remaining features pass unchanged.
// The Llama family picks its own inv_freq (every rope_scaling type, llamaGraph.ts) and makes its tables here too.
import type { GraphBuilder } from '../onnxGraph';

/** inv_freq = 1 / θ^(2i/d) for i < d/2 (transformers' default rope init, before any scaling). */
export function defaultInvFreq(rotaryDim: number, theta: number): number[] {
  return Array.from({ length: rotaryDim / 2 }, (_, i) => 1 / theta ** ((2 * i) / rotaryDim));
}

/**
 * cos and sin [seq, rotaryDim] of position × inv_freq (the halves repeated, HF's cat(freqs, freqs)), times
 * `scaling`. `invFreq` is a graph value of shape [1, rotaryDim/2], so a family may pick it at run time.
 */
export function rotaryTables(g: GraphBuilder, ids: string, invFreq: string, scaling: number): { cos: string; sin: string } {
  const positions = g.op('Unsqueeze', [g.op('Cast', [ids], { to: 1 }), g.constant('int64', [1], [1])]);
  const freqs = g.op('MatMul', [positions, invFreq]);
  const angles = g.op('Concat', [freqs, freqs], { axis: -1 });
  const cos = g.op('Cos', [angles]);
  const sin = g.op('Sin', [angles]);
  if (scaling === 1) return { cos, sin };
  const factor = g.constant('float', [scaling]);
  return { cos: g.op('Mul', [cos, factor]), sin: g.op('Mul', [sin, factor]) };
}

/** RoPE on [batch, heads, seq, headDim]: the first rotaryDim features rotated (rotate_half), the rest kept. */
export function applyRotary(g: GraphBuilder, x: string, tables: { cos: string; sin: string }, headDim: number, rotaryDim: number): string {
  const rotate = (part: string) => {
    const [first, second] = g.ops('Split', [part, g.constant('int64', [rotaryDim / 2, rotaryDim / 2])], 2, { axis: -1 }) as [string, string];
    const half = g.op('Concat', [g.op('Neg', [second]), first], { axis: -1 });
    return g.op('Add', [g.op('Mul', [part, tables.cos]), g.op('Mul', [half, tables.sin])]);
  };
  if (rotaryDim === headDim) return rotate(x);
  const [rotated, passed] = g.ops('Split', [x, g.constant('int64', [rotaryDim, headDim - rotaryDim])], 2, { axis: -1 }) as [string, string];
  return g.op('Concat', [rotate(rotated), passed], { axis: -1 });
}
