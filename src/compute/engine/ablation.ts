// Layer ablation on the block engine without L full passes: the residual stream entering block l is what the
// plain pass computes anyway, so "block l skipped" starts from it and runs only blocks l+1..L−1. Ablations share
// block passes: at block j the batch holds the plain row (until the last ablation of the group has branched off)
// and one row per ablated block l < j, so one sweep reads each block's weights once for a whole group of
// ablations. Cost per window and group [a, b): L − a block-weight reads and Σ_j rows(j) ≤ L + L(L−1)/2 row
// passes; with memory for all L rows' residual streams (activations are one sub-batch's: runRows), one sweep does
// every ablation (docs/engine.md).
import { throwIfAborted } from '../../errors';
import type { BlockEngine } from './blockEngine';

export interface AblationOptions {
  signal?: AbortSignal;
  onProgress?: (message: string, fraction: number) => void;
  /** At most this many ablations per sweep (default: as many as fit in memory). */
  group?: number;
}

/**
 * Σ over positions t < n−1 of −log p(ids[t+1]) with block l skipped, for every block l, on one window of ids.
 */
export async function ablationNll(engine: BlockEngine, ids: readonly number[], options: AblationOptions = {}): Promise<Float64Array> {
  const { signal } = options;
  const layers = engine.layers;
  const seq = ids.length;
  const width = seq * engine.spec.hidden;
  // Rows in flight: the group's ablations + the plain row, each kept as its stream entering and leaving the block;
  // the block runs them in sub-batches (BlockEngine.runRows), so one run's activations are all onnxruntime holds.
  const group = Math.max(1, Math.min(options.group ?? layers, engine.rowsThatFit(seq, 2, layers + 1) - 1));
  engine.ensureFits(group + 1, seq, 2);
  const nll = new Float64Array(layers);
  const targets = new Int32Array(group * seq);
  const start = performance.now();
  let plain = await engine.embed([ids], signal);
  for (let a = 0; a < layers; a += group) {
    const b = Math.min(layers, a + group);
    let ablated: Float32Array[] = [];
    const sweep = engine.sweep(Array.from({ length: layers - a }, (_, i) => a + i), signal);
    try {
      for (let j = a; j < layers; j++) {
        throwIfAborted(signal);
        const block = (await sweep.next()).value!;
        const outputs = await engine.runRows(block, j < b ? [plain, ...ablated] : ablated, seq);
        if (j < b) {
          // Block j skipped: the stream leaving it is the one entering it.
          ablated = [...outputs.slice(1), plain];
          plain = outputs[0]!;
        } else {
          ablated = outputs;
        }
        options.onProgress?.(`ablation block ${j + 1} / ${layers} (${ablated.length} ablated rows), ${((performance.now() - start) / 1000).toFixed(1)} s`, (a * layers + (j + 1) * (b - a)) / (layers * layers));
      }
    } finally {
      await sweep.return(undefined);
    }
    const final = new Float32Array(ablated.length * width);
    ablated.forEach((row, r) => final.set(row, r * width));
    ablated = [];
    const rowTargets = targets.subarray(0, (b - a) * seq);
    for (let r = 0; r < b - a; r++) for (let t = 0; t < seq; t++) rowTargets[r * seq + t] = t + 1 < seq ? ids[t + 1]! : -1;
    const { logProbs } = await engine.runHead(final, (b - a) * seq, { targets: rowTargets, ...(signal ? { signal } : {}) });
    for (let r = 0; r < b - a; r++) {
      let sum = 0;
      for (let t = 0; t + 1 < seq; t++) sum -= logProbs![r * seq + t]!;
      nll[a + r] = sum;
    }
  }
  return nll;
}
