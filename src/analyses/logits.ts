// Reductions over a forward pass's outputs, in float64: log-probabilities of chosen tokens and cosines between
// residual-stream vectors.
import type { ForwardOutput } from '../compute/runner';

/** log softmax(logits[row])[token], for a [rows, vocab] slab starting at `offset` rows. */
export function logProbability(logits: Float32Array, vocab: number, row: number, token: number): number {
  const base = row * vocab;
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) if (logits[base + v]! > max) max = logits[base + v]!;
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(logits[base + v]! - max);
  return logits[base + token]! - max - Math.log(sum);
}

/** Sum of −log p(ids[t+1] | ids[..t]) over t, for one row of a batch. */
export function negativeLogLikelihood(logits: Float32Array, vocab: number, seq: number, batchRow: number, ids: readonly number[]): number {
  let nll = 0;
  for (let t = 0; t + 1 < ids.length; t++) nll -= logProbability(logits, vocab, batchRow * seq + t, ids[t + 1]!);
  return nll;
}

/** cos(a[i], b[i]) for vectors of `width` at row `row`. */
export function cosineAt(a: Float32Array, b: Float32Array, width: number, row: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = row * width, end = i + width; i < end; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb))) : 1;
}

/**
 * [batch, seq] log p(targets[b][t]) (NaN where the target is −1): the runner's own, when it computed them in its
 * chunked head (the block engine), else from the [batch, seq, vocab] logits it returned.
 */
export function logProbsOf(out: Pick<ForwardOutput, 'logits' | 'logProbs' | 'batch' | 'seq'>, vocab: number, targets: readonly (readonly number[])[]): Float64Array {
  if (out.logProbs) return out.logProbs;
  const result = new Float64Array(out.batch * out.seq).fill(NaN);
  targets.forEach((row, b) => row.forEach((token, t) => {
    if (token >= 0) result[b * out.seq + t] = logProbability(out.logits, vocab, b * out.seq + t, token);
  }));
  return result;
}

/** Each window's next-token targets: ids[t+1] at position t, −1 at the last. */
export function nextTokenTargets(ids: readonly number[]): number[] {
  return ids.map((_, t) => (t + 1 < ids.length ? ids[t + 1]! : -1));
}
