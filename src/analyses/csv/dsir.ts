// DSIR (Xie et al. 2023, "Data Selection for Language Models via Importance Resampling"): texts as hashed
// unigram + bigram counts; a bag-of-buckets distribution is fitted to the target sample and to the raw rows, and a
// row's log importance weight is Σ_f count_f · (log p_target(f) − log p_raw(f)). Resampling draws k rows without
// replacement with probability ∝ exp(weight) by the Gumbel top-k trick.
import { seededRandom } from '../../compute/random';

export const BUCKETS = 10_000;
const WORD = /[\p{L}\p{N}]+/gu;

/** FNV-1a of a string (UTF-16 units), for hashing n-grams into buckets. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Calls `visit` with the bucket of every lowercased unigram and bigram of `text`. */
export function hashedNgrams(text: string, visit: (bucket: number) => void, buckets = BUCKETS): void {
  let previous: string | undefined;
  for (const match of text.toLowerCase().matchAll(WORD)) {
    const word = match[0];
    visit(fnv1a(word) % buckets);
    if (previous !== undefined) visit(fnv1a(`${previous} ${word}`) % buckets);
    previous = word;
  }
}

/** Counts of n-gram buckets over many texts. */
export class BucketCounts {
  readonly counts: Float64Array;
  total = 0;
  constructor(readonly buckets = BUCKETS) {
    this.counts = new Float64Array(buckets);
  }

  add(text: string): void {
    hashedNgrams(text, (b) => { this.counts[b]!++; this.total++; }, this.buckets);
  }

  /** log p(f) with add-one smoothing, so a bucket never seen in one sample does not give an infinite weight. */
  logProbabilities(): Float64Array {
    const denominator = Math.log(this.total + this.buckets);
    return Float64Array.from(this.counts, (c) => Math.log(c + 1) - denominator);
  }
}

/** log p_target(f) − log p_raw(f) per bucket. */
export function logRatios(target: BucketCounts, raw: BucketCounts): Float64Array {
  const t = target.logProbabilities();
  const r = raw.logProbabilities();
  return t.map((v, i) => v - r[i]!);
}

export function rowWeight(text: string, ratios: Float64Array): number {
  let weight = 0;
  hashedNgrams(text, (b) => { weight += ratios[b]!; }, ratios.length);
  return weight;
}

/** Indices of k rows drawn without replacement with probability ∝ exp(weight): the k largest weight + Gumbel noise. */
export function gumbelTopK(weights: Float64Array, k: number, seed: number): number[] {
  const random = seededRandom(seed);
  const keys = Float64Array.from(weights, (w) => w - Math.log(-Math.log(random() * (1 - 1e-12) + 1e-12)));
  const order = Array.from({ length: weights.length }, (_, i) => i).sort((a, b) => keys[b]! - keys[a]! || a - b);
  return order.slice(0, Math.min(k, weights.length)).sort((a, b) => a - b);
}
