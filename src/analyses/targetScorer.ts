// log p(target | context) for many contexts of one length (occlusion's leave-one-out variants, ReAGent's replaced
// texts), in batches sized to the runner: the block engine takes rows up to what its memory holds (each batch is one
// sweep of the weights, so fewer, larger batches read the checkpoint fewer times); an exported .onnx decoder returns
// [rows, seq, vocab] logits, so its batches are bounded by those.
import type { ModelRunner } from '../compute/runner';
import { throwIfAborted } from '../errors';
import { logProbsOf } from './logits';

/** Batches hold at most this many logits (floats), whatever the text length: 64 MB. */
const MAX_BATCH_LOGITS = 16 * 2 ** 20;
/** Rows per pass on the block engine: enough to amortise each block's weights, few enough to report progress. */
export const MAX_BATCH_ROWS = 64;

export class TargetScorer {
  constructor(private readonly model: ModelRunner, private readonly target: readonly number[]) {}

  /** Rows per forward pass for contexts of `contextLength` tokens. */
  batchSize(contextLength: number): number {
    const seq = contextLength + this.target.length;
    // The block engine's head makes no [rows, vocab] logits: its batches are bounded by activations instead.
    return this.model.rowsPerPass
      ? Math.min(MAX_BATCH_ROWS, this.model.rowsPerPass(seq))
      : Math.max(1, Math.floor(MAX_BATCH_LOGITS / (seq * this.model.vocab)));
  }

  async score(contexts: readonly (readonly number[])[], signal?: AbortSignal, onProgress?: (message: string, fraction: number) => void): Promise<number[]> {
    const vocab = this.model.vocab;
    const seq = (contexts[0]?.length ?? 0) + this.target.length;
    const batchSize = this.batchSize(seq - this.target.length);
    const scores: number[] = [];
    for (let start = 0; start < contexts.length; start += batchSize) {
      throwIfAborted(signal);
      const rows = contexts.slice(start, start + batchSize).map((c) => [...c, ...this.target]);
      const first = seq - this.target.length;
      // The target's tokens, each predicted from the position before it.
      const targets = rows.map(() => Array.from({ length: seq }, (_, t) => (t >= first - 1 && t < seq - 1 ? this.target[t - first + 1]! : -1)));
      const batch = `variants ${start + 1}–${start + rows.length} of ${contexts.length}`;
      const out = await this.model.forward(rows, {
        targets, logits: false, ...(signal ? { signal } : {}),
        ...(onProgress ? { onProgress: (message: string, f: number) => onProgress(`${batch}, ${message}`, (start + f * rows.length) / contexts.length) } : {}),
      });
      const logProbs = logProbsOf(out, vocab, targets);
      rows.forEach((_, b) => {
        let sum = 0;
        for (let k = 0; k < this.target.length; k++) sum += logProbs[b * seq + first + k - 1]!;
        scores.push(sum);
      });
    }
    return scores;
  }
}
