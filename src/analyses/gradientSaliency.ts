// The gradient methods of token saliency (saliency.ts dispatches here): the gradient of F = log p(target | text)
// with respect to each context token's embedding, from the block engine's backward graphs
// (src/compute/autodiff/modelGradients.ts).
//   grad        ‖∂F/∂e_i‖₂ (plain saliency; ≥ 0)
//   grad-input  Σ_d e_i,d · ∂F/∂e_i,d
//   ig          integrated gradients from the zero token embedding: Σ_d e_i,d · ∫₀¹ ∂F/∂e_i,d (α·e) dα, the integral
//               by Gauss–Legendre nodes on [0, 1] (Captum's default method), all context tokens on the path at once;
//               target tokens and GPT-2's learned positions stay as they are. delta = |Σ_i score_i − (F(e) − F(0))|,
//               Captum's convergence delta: how far the steps are from completeness.
// The input embedding is the token's row of the embedding table (what transformers' inputs_embeds is).
import { ModelGradients } from '../compute/autodiff/modelGradients';
import { LanguageModel } from '../compute/languageModel';
import type { ModelRunner } from '../compute/runner';
import { InputError, throwIfAborted } from '../errors';
import type { SaliencyMethod } from '../protocol/results';

/**
 * Path points per backward pass at most: each row keeps its L + 1 block boundaries through the pass (the backward
 * block runs themselves take one row at a time on large shapes, modelGradients.ts). Measured on the 0.5B shape, 256
 * tokens, CPU (docs/benchmarks.md): with the backward in sub-batches, four rows per pass peaked at 615 MB and two at
 * 510 MB for the same CPU seconds (~200 s; the forward alone 291 MB); before them, four at 1.17 GB.
 */
const MAX_ROWS_PER_PASS = 2;

export interface GradientScores {
  scores: Float64Array;
  /** F = log p(target | text), from the pass at α = 1. */
  objective: number;
  /** Integrated gradients only. */
  delta?: number;
}

/** Nodes and weights of the n-point Gauss–Legendre rule on [0, 1] (Newton's method on P_n, as numpy's leggauss). */
export function gaussLegendre(n: number): { nodes: Float64Array; weights: Float64Array } {
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let derivative = 0;
    for (let iteration = 0; iteration < 100; iteration++) {
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= n; k++) [p0, p1] = [p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k];
      if (n === 1) [p0, p1] = [1, x];
      derivative = (n * (x * p1 - p0)) / (x * x - 1);
      const step = p1 / derivative;
      x -= step;
      if (Math.abs(step) < 1e-15) break;
    }
    nodes[n - 1 - i] = (x + 1) / 2;
    weights[n - 1 - i] = 1 / ((1 - x * x) * derivative * derivative);
  }
  return { nodes, weights };
}

export async function gradientScores(
  model: ModelRunner, context: readonly number[], target: readonly number[], method: Extract<SaliencyMethod, 'ig' | 'grad-input' | 'grad'>, steps: number,
  signal?: AbortSignal, onProgress?: (message: string, fraction: number) => void,
): Promise<GradientScores> {
  if (!(model instanceof LanguageModel)) {
    throw new InputError(`${model.path}: ${method} needs gradients, which the block engine computes from the graphs it builds; an exported .onnx decoder runs inference only — give the Hugging Face model directory`);
  }
  const engine = model.engine;
  const { hidden } = engine.spec;
  // The last target token is predicted, never read: the input stops before it.
  const ids = [...context, ...target.slice(0, -1)];
  const seq = ids.length;
  const c = context.length;
  const targets = Int32Array.from({ length: seq }, (_, t) => (t >= c - 1 ? target[t - c + 1]! : -1));
  const embedded = await engine.embed([ids], signal);
  const positions = await engine.positionRows(seq, signal);
  const tokens = positions ? Float32Array.from(embedded, (x, i) => x - positions[i]!) : embedded;
  const gradients = await ModelGradients.open(engine);
  try {
    // α = 1 is the text itself; IG adds α = 0 (the baseline) and the nodes of the path.
    const { nodes, weights } = method === 'ig' ? gaussLegendre(steps) : { nodes: new Float64Array(0), weights: new Float64Array(0) };
    const alphas = [1, ...(method === 'ig' ? [0, ...nodes] : [])];
    const perPass = gradients.rowsThatFit(seq, Math.min(alphas.length, MAX_ROWS_PER_PASS));
    const scores = new Float64Array(c);
    const objectives: number[] = [];
    for (let start = 0; start < alphas.length; start += perPass) {
      throwIfAborted(signal);
      const batch = alphas.slice(start, start + perPass);
      const embeddings = new Float32Array(batch.length * seq * hidden);
      batch.forEach((alpha, b) => {
        const row = embeddings.subarray(b * seq * hidden, (b + 1) * seq * hidden);
        for (let i = 0; i < seq * hidden; i++) row[i] = (i < c * hidden ? alpha : 1) * tokens[i]! + (positions ? positions[i]! : 0);
      });
      const label = method === 'ig' ? `steps ${start + 1}–${start + batch.length} of ${alphas.length}, ` : '';
      const out = await gradients.inputGradient({
        embeddings, batch: batch.length, seq, targets: Int32Array.from({ length: batch.length * seq }, (_, i) => targets[i % seq]!),
        ...(signal ? { signal } : {}),
        ...(onProgress ? { onProgress: (m: string, f: number) => onProgress(`${label}${m}`, (start + f * batch.length) / alphas.length) } : {}),
      });
      batch.forEach((_, b) => {
        const index = start + b;
        objectives[index] = out.logProbs[b]!;
        const g = out.gradient.subarray(b * seq * hidden, (b + 1) * seq * hidden);
        if (method === 'ig' && index < 2) return;
        const weight = method === 'ig' ? weights[index - 2]! : 1;
        for (let i = 0; i < c; i++) {
          let sum = 0;
          for (let d = 0; d < hidden; d++) {
            const x = g[i * hidden + d]!;
            sum += method === 'grad' ? x * x : x * tokens[i * hidden + d]!;
          }
          scores[i]! += method === 'grad' ? Math.sqrt(sum) : weight * sum;
        }
      });
    }
    if (method !== 'ig') return { scores, objective: objectives[0]! };
    const total = scores.reduce((s, x) => s + x, 0);
    return { scores, objective: objectives[0]!, delta: Math.abs(total - (objectives[0]! - objectives[1]!)) };
  } finally {
    await gradients.release();
  }
}
