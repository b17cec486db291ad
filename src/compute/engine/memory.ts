// How much memory a block-engine job needs, and how much this machine (or container) has free, so a job that
// cannot fit is refused before it starts, with both figures, instead of being killed by the OS half-way.
// The need is the engine's own buffers (two blocks' float32 weights, for prefetch, and their raw bytes; one head
// chunk and its logits), plus activations per batch row: the residual stream, the MLP's widest intermediates and
// attention's scores and probabilities for one chunk of queries (ops.ts attention; the whole [heads, seq, seq] when a
// caller fetches the probabilities). Independent of the number of blocks by design.
import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { InputError } from '../../errors';
import { ATTENTION_QUERY_CHUNK } from '../families/ops';

/**
 * A block run's activations are kept near this by running a batch in sub-batches (BlockEngine.rowsPerRun): large
 * enough that a Gemm sees ≥ 256 rows on every real shape, small beside the weights of the blocks that need it.
 */
export const RUN_ACTIVATION_BYTES = 256 * 2 ** 20;

export interface BlockShape {
  hidden: number;
  heads: number;
  /** Widest linear output in a block (the MLP's intermediate size, or q|k|v fused). */
  widest: number;
}

/**
 * Float32 bytes of one batch row of `seq` tokens inside a block (what onnxruntime allocates while it runs): scores,
 * masked scores and probabilities of one query chunk, plus, when the probabilities are fetched, the whole ones.
 */
export function activationBytesPerRow(shape: BlockShape, seq: number, attentionFetched = false): number {
  const stream = seq * shape.hidden * 4;
  const chunked = shape.heads * Math.min(seq, ATTENTION_QUERY_CHUNK) * seq * 4 * 3;
  const whole = attentionFetched ? shape.heads * seq * seq * 4 * 3 : 0;
  const mlp = seq * shape.widest * 4 * 4;
  return stream * 8 + chunked + whole + mlp;
}

/** Bytes free for a job: MemAvailable, or the cgroup's limit less its usage if smaller; IMPORTANCE_LENS_MEMORY_BUDGET overrides. */
export function freeBytes(): number {
  const override = Number(process.env.IMPORTANCE_LENS_MEMORY_BUDGET);
  if (Number.isFinite(override) && override > 0) return override;
  let free = freemem();
  try {
    const available = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (available) free = Number(available[1]) * 1024;
  } catch {
    // not Linux: os.freemem() it is
  }
  try {
    const max = readFileSync('/sys/fs/cgroup/memory.max', 'utf8').trim();
    const current = Number(readFileSync('/sys/fs/cgroup/memory.current', 'utf8').trim());
    if (max !== 'max' && Number.isFinite(current)) free = Math.min(free, Number(max) - current);
  } catch {
    // no cgroup v2 limit
  }
  return free;
}

export const gb = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(2)} GB`;

/** Throws an InputError naming the need (and its parts) and what is free when `parts` do not fit. */
export function ensureFits(where: string, parts: Record<string, number>, free = freeBytes()): void {
  const need = Object.values(parts).reduce((s, b) => s + b, 0);
  if (need <= free) return;
  const detail = Object.entries(parts).map(([what, bytes]) => `${what} ${gb(bytes)}`).join(', ');
  throw new InputError(`${where}: this job needs about ${gb(need)} of memory (${detail}), but only ${gb(free)} is free; use fewer tokens (--max-tokens) or a machine with more memory`);
}
