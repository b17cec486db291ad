// Which blocks to drop. Two practices: the N blocks with the lowest score, each on its own (ShortGPT: lowest
// Block Influence), and the best contiguous block of N (Gromov et al.: the block l..l+N−1 whose input and output
// residual streams are closest in angular distance, since removing it joins those two streams). With no text the
// contiguous block is the window with the lowest score sum.
import { observeBlocks, withProgress } from '../analyses/blockPass';
import { cosineAt } from '../analyses/logits';
import { tokenizeText, type TextSource } from '../analyses/textInput';
import { openModelRunner } from '../compute/modelRunner';
import { throwIfAborted } from '../errors';
import type { Progress } from '../protocol/results';
import type { PlanAlternative } from './types';

export interface Scored {
  index: number;
  score: number;
}

/** The n lowest-scoring blocks, ascending by index; ties keep the later block (deeper blocks are dropped first in practice). */
export function lowestScoring(scores: readonly Scored[], n: number): number[] {
  const order = [...scores].sort((a, b) => a.score - b.score || b.index - a.index);
  return order.slice(0, n).map((s) => s.index).sort((a, b) => a - b);
}

/** Start of the window of n consecutive blocks with the lowest value (first wins on ties). */
export function bestWindow(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! < values[best]!) best = i;
  return best;
}

export function windowSums(scores: readonly Scored[], n: number): number[] {
  const byIndex = [...scores].sort((a, b) => a.index - b.index).map((s) => s.score);
  const sums: number[] = [];
  for (let start = 0; start + n <= byIndex.length; start++) sums.push(byIndex.slice(start, start + n).reduce((s, v) => s + v, 0));
  return sums;
}

/**
 * Mean over positions of arccos(cos(h_l, h_{l+n}))/π for every start l: the angular distance a contiguous block
 * of n covers. One forward pass per window of text, with the residual streams exposed.
 */
export async function* blockAngularDistances(model: string, text: TextSource, maxTokens: number, n: number, providers?: readonly string[], signal?: AbortSignal): AsyncGenerator<Progress, number[]> {
  yield { message: `Building ${model} for the contiguous-block distances` };
  const runner = await openModelRunner(model, providers, signal);
  try {
    const tokens = await tokenizeText(runner, text, maxTokens);
    const starts = runner.layers - n + 1;
    const sums = new Float64Array(Math.max(starts, 0));
    let positions = 0;
    for (const [w, window] of tokens.windows.entries()) {
      throwIfAborted(signal);
      const label = `Block distances: window ${w + 1}/${tokens.windows.length}`;
      yield { message: label, fraction: w / tokens.windows.length };
      const ids = window.map((s) => s.id);
      // Only the last n+1 residual streams are held: h_l is dropped once h_{l+n} has been compared with it.
      const recent = new Map<number, Float32Array>();
      yield* withProgress((onProgress) => observeBlocks(runner, [ids], {
        logits: false, onProgress, ...(signal ? { signal } : {}),
        onBlock: ({ layer, input, output }) => {
          recent.set(layer, input);
          const l = layer + 1 - n;
          if (l >= 0 && l < starts) for (let t = 0; t < ids.length; t++) sums[l] += Math.acos(cosineAt(recent.get(l)!, output, runner.hidden, t)) / Math.PI;
          recent.delete(l);
        },
      }), label, w / tokens.windows.length, (w + 1) / tokens.windows.length);
      positions += ids.length;
    }
    return Array.from(sums, (s) => s / positions);
  } finally {
    await runner.release();
  }
}

/** The contiguous-block alternative, from distances when there are some, else from score sums. */
export function contiguousAlternative(scores: readonly Scored[], n: number, distances: readonly number[] | null): PlanAlternative {
  const sums = windowSums(scores, n);
  const start = bestWindow(distances ?? sums);
  return {
    selection: 'contiguous-block',
    layers: Array.from({ length: n }, (_, i) => start + i),
    angularDistance: distances ? distances[start]! : null,
    scoreSum: sums[start]!,
  };
}
