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

/**
 * The vector–Jacobian product of route()'s weights with respect to the router logits: `dWeights` [rows · topK] is
 * the cotangent of each chosen expert's weight (the output's cotangent · that expert's output), the result
 * [rows, experts] the logits' cotangent. The choice itself is piecewise constant (zero gradient almost everywhere),
 * so only the chosen weights carry one: through the renormalisation w_k = p_k / Σ_j p_j when the family
 * renormalises, then through the softmax over every expert (dropped experts are not supported: gradients run on
 * the whole model).
 */
export function routeBackward(logits: Float32Array, routing: Routing, normTopK: boolean, dWeights: Float32Array): Float32Array {
  const { experts, topK, chosen, weights } = routing;
  const rows = chosen.length / topK;
  const dLogits = new Float32Array(rows * experts);
  const p = new Float64Array(experts);
  const dp = new Float64Array(experts);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let e = 0; e < experts; e++) max = Math.max(max, logits[r * experts + e]!);
    let sum = 0;
    for (let e = 0; e < experts; e++) sum += p[e] = Math.exp(logits[r * experts + e]! - max);
    for (let e = 0; e < experts; e++) p[e]! /= sum;
    dp.fill(0);
    // Renormalised: w_k = p_k / S, S = Σ_j p_j (chosen), so ∂/∂p_k = (dw_k − Σ_j dw_j w_j) / S.
    let picked = 0;
    let dot = 0;
    for (let k = 0; k < topK; k++) {
      picked += p[chosen[r * topK + k]!]!;
      dot += dWeights[r * topK + k]! * weights[r * topK + k]!;
    }
    for (let k = 0; k < topK; k++) {
      const e = chosen[r * topK + k]!;
      dp[e] = normTopK ? (dWeights[r * topK + k]! - dot) / picked : dWeights[r * topK + k]!;
    }
    // Softmax: ∂/∂logit_e = p_e (dp_e − Σ_j p_j dp_j).
    let mean = 0;
    for (let e = 0; e < experts; e++) mean += p[e]! * dp[e]!;
    for (let e = 0; e < experts; e++) dLogits[r * experts + e] = p[e]! * (dp[e]! - mean);
  }
  return dLogits;
}
