// Permutation importance (Breiman; scikit-learn's permutation_importance): the drop in a fitted model's score on
// held-out rows when one feature's column is shuffled, repeated with different shuffles: mean ± sd.
import { seededRandom } from '../../compute/random';
import { throwIfAborted } from '../../errors';
import { spearman as rankCorrelation } from '../../protocol/ranks';

export type Predict = (x: Float64Array, rows: number) => Promise<Float64Array>;

export interface Permuted {
  baseline: number;
  mean: number[];
  sd: number[];
  /** Per feature, the drop of each repeat. */
  drops: number[][];
}

/** Accuracy for class indices, R² for values. */
export function score(task: 'classification' | 'regression', predicted: Float64Array, y: Float64Array): number {
  const n = y.length;
  if (task === 'classification') {
    let right = 0;
    for (let i = 0; i < n; i++) if (predicted[i] === y[i]) right++;
    return n > 0 ? right / n : 0;
  }
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i]!;
  mean /= Math.max(1, n);
  let sse = 0;
  let sst = 0;
  for (let i = 0; i < n; i++) {
    sse += (y[i]! - predicted[i]!) ** 2;
    sst += (y[i]! - mean) ** 2;
  }
  return sst > 0 ? 1 - sse / sst : 0;
}

export async function permutationImportance(
  predict: Predict, x: Float64Array, rows: number, features: number, y: Float64Array,
  task: 'classification' | 'regression', repeats: number, seed: number, signal?: AbortSignal, only?: ReadonlySet<number>,
): Promise<Permuted> {
  const baseline = score(task, await predict(x, rows), y);
  const random = seededRandom(seed);
  const all: number[][] = [];
  const shuffled = Float64Array.from(x);
  const order = new Int32Array(rows);
  for (let f = 0; f < features; f++) {
    if (only && !only.has(f)) {
      all.push(new Array<number>(repeats).fill(NaN)); // not permuted: NaN, reported as null
      continue;
    }
    const drops: number[] = [];
    for (let r = 0; r < repeats; r++) {
      throwIfAborted(signal);
      for (let i = 0; i < rows; i++) order[i] = i;
      for (let i = rows - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        const t = order[i]!; order[i] = order[j]!; order[j] = t;
      }
      for (let i = 0; i < rows; i++) shuffled[i * features + f] = x[order[i]! * features + f]!;
      drops.push(baseline - score(task, await predict(shuffled, rows), y));
    }
    for (let i = 0; i < rows; i++) shuffled[i * features + f] = x[i * features + f]!;
    all.push(drops);
  }
  return { baseline, ...summarise(all), drops: all };
}

/** Mean and (population) sd of each feature's drops over repeats. */
export function summarise(drops: number[][]): { mean: number[]; sd: number[] } {
  const mean = drops.map((d) => d.reduce((s, v) => s + v, 0) / d.length);
  const sd = drops.map((d, f) => Math.sqrt(d.reduce((s, v) => s + (v - mean[f]!) ** 2, 0) / d.length));
  return { mean, sd };
}

/** Spearman's rank correlation (average ranks for ties; src/protocol/ranks.ts); null with fewer than 3 pairs or a constant side. */
export function spearman(a: number[], b: number[]): number | null {
  return a.length < 3 ? null : rankCorrelation(a, b);
}
