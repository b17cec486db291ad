// Parameter counts shared by the gated-MLP families (Llama, Qwen3, Gemma 1/2/3, the MoE experts) and by the config hover
// (src/config/derived.ts). A leaf module: the family files and the hover both import it, so neither imports the
// other through it.

/**
 * Parameters of the attention (q, k, v, o and their biases) and of one gated MLP (gate, up, down and their biases)
 * of a Llama-style block. The config hover and the forward engine's families both count with this.
 */
export function gatedBlockParameters(s: {
  hidden: number; intermediate: number; heads: number; kvHeads: number; headDim: number; qkvBias: boolean; oBias: boolean; mlpBias: boolean;
}): { attention: number; mlp: number } {
  const q = s.heads * s.headDim;
  const kv = s.kvHeads * s.headDim;
  return {
    attention: s.hidden * q + 2 * s.hidden * kv + q * s.hidden + (s.qkvBias ? q + 2 * kv : 0) + (s.oBias ? s.hidden : 0),
    mlp: 3 * s.hidden * s.intermediate + (s.mlpBias ? 2 * s.intermediate + s.hidden : 0),
  };
}
