// Top-k routing of a Mixture-of-Experts block as transformers computes it (modeling_mixtral, modeling_qwen2_moe,
// modeling_qwen3_moe): softmax over the router's logits, the k most probable experts best first, their weights
// divided by their sum where the family renormalises. Experts can be left out as a pruned checkpoint leaves them
// out (their router rows gone): softmax and top-k then run over the others. Softmax in float64 here (transformers:
// float32); equal probabilities go to the lower expert index.

/** Per token (row) of a block: the experts chosen, best first, and the weights their outputs are scaled by. */
export interface Routing {
  experts: number;
  topK: number;
  /** [rows · topK] expert ids. */
  chosen: Int32Array;
  /** [rows · topK] routing weights as applied (renormalised when the family does). */
  weights: Float32Array;
}

/** The routing of `rows` tokens from router logits [rows, experts] (transformers: softmax in float32, topk, renormalise). */
export function route(logits: Float32Array, rows: number, experts: number, topK: number, normTopK: boolean, drop: readonly number[] = []): Routing {
  const dropped = new Set(drop);
  const chosen = new Int32Array(rows * topK);
  const weights = new Float32Array(rows * topK);
  const p = new Float64Array(experts);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let e = 0; e < experts; e++) if (!dropped.has(e)) max = Math.max(max, logits[r * experts + e]!);
    // p[e] < 0 marks an expert that is dropped or already chosen.
    let sum = 0;
    for (let e = 0; e < experts; e++) {
      p[e] = dropped.has(e) ? -1 : Math.exp(logits[r * experts + e]! - max);
      if (!dropped.has(e)) sum += p[e]!;
    }
    let picked = 0;
    for (let k = 0; k < topK; k++) {
      let best = -1;
      for (let e = 0; e < experts; e++) if (p[e]! >= 0 && (best < 0 || p[e]! > p[best]!)) best = e;
      chosen[r * topK + k] = best;
      weights[r * topK + k] = p[best]! / sum;
      picked += p[best]! / sum;
      p[best] = -1;
    }
    if (normTopK) for (let k = 0; k < topK; k++) weights[r * topK + k] = weights[r * topK + k]! / picked;
  }
  return { experts, topK, chosen, weights };
}
