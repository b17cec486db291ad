// Running a model from an analysis: the forward pass goes on while its per-block progress ("block 17 / 32, 3.1 s")
// is yielded to the analysis's caller (the CLI and the panel), and blocks are observed as they finish, so an
// analysis reduces each block's tensors at once instead of keeping all of them. A runner that does not stream (an
// exported .onnx decoder) gives every residual stream at the end instead; observeBlocks hides the difference.
import type { BlockEvent, ForwardOptions, ForwardOutput, ModelRunner } from '../compute/runner';
import type { Progress } from '../protocol/results';

/**
 * Runs `run`, yielding the progress it reports as `label: message`, with fractions mapped into [from, to]; returns
 * what it returns (or throws what it throws).
 */
export async function* withProgress<T>(run: (onProgress: (message: string, fraction: number) => void) => Promise<T>, label: string, from = 0, to = 1): AsyncGenerator<Progress, T> {
  const queue: Progress[] = [];
  let wake: (() => void) | undefined;
  let outcome: { value: T } | { error: unknown } | undefined;
  const report = (message: string, fraction: number) => {
    queue.push({ message: `${label}: ${message}`, fraction: from + (to - from) * fraction });
    wake?.();
  };
  run(report).then((value) => (outcome = { value }), (error: unknown) => (outcome = { error })).finally(() => wake?.());
  for (;;) {
    while (queue.length > 0) yield queue.shift()!;
    if (outcome) break;
    await new Promise<void>((resolve) => {
      wake = resolve;
      if (queue.length > 0 || outcome) resolve();
    });
  }
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}

/**
 * One forward pass of `rows` with `onBlock` called for every block in order. Streaming runners call it as blocks
 * finish; others are asked for every residual stream (and attention, when wanted) and replayed.
 */
export async function observeBlocks(model: ModelRunner, rows: readonly (readonly number[])[], options: ForwardOptions & { onBlock: (event: BlockEvent) => void }): Promise<ForwardOutput> {
  if (model.streams) return model.forward(rows, options);
  const { onBlock, onProgress: _, signal: __, ...rest } = options;
  const out = await model.forward(rows, { ...rest, hidden: true });
  for (let l = 0; l < model.layers; l++) {
    onBlock({ layer: l, input: out.hidden[l]!, output: out.hidden[l + 1]!, ...(out.attention[l] ? { attention: out.attention[l] } : {}) });
  }
  return out;
}
