// The LM head over vocabulary chunks: each chunk's rows of the head matrix are read (the next chunk's while the
// current one runs), the head graph gives the chunk's log-sum-exp and target logits, and a running log-sum-exp in
// float64 combines them. Full [rows, vocab] logits are assembled only when asked for (small models, tests). Many
// rows (ablation's L windows: 8 192 rows on the 7B shape) go through in groups of HEAD_ROW_BYTES of input, since
// the graph's final norm holds a few [rows, hidden] intermediates besides the chunk's logits.
import type { InferenceSession } from 'onnxruntime-node';
import { throwIfAborted } from '../../errors';
import type { TensorInfo } from '../../formats/types';
import { HEAD_IO } from '../families/types';
import { onnxruntime } from '../session';
import type { Scratch, WeightReader } from './weightReader';

/** One chunk's head rows and its logits stay under this many bytes each (whatever the vocabulary). */
export const HEAD_CHUNK_BYTES = 64 * 2 ** 20;

/**
 * Rows of input per pass over the vocabulary: [rows, hidden] float32 at most this. Each pass reads the head matrix
 * again (Llama-2-7B: 262 MB of BF16, a fraction of a second), and keeps the norm's intermediates to ~4 × this.
 */
export const HEAD_ROW_BYTES = 32 * 2 ** 20;

export interface HeadRequest {
  /** [rows] token whose log-probability each row predicts; −1: none. */
  targets?: Int32Array;
  logits?: boolean;
  /** Also return each row's log-sum-exp over the vocabulary (the backward pass of the head needs it). */
  lse?: boolean;
  signal?: AbortSignal;
  onChunk?: (chunk: number, chunks: number) => void;
  /** Head rows per chunk at most this many float32 bytes (default HEAD_CHUNK_BYTES); passes on few rows take less. */
  chunkBytes?: number;
}

export interface HeadOutput {
  /** [rows, vocab], when asked for. */
  logits?: Float32Array;
  /** [rows] log p(target) (NaN where no target), when targets were given. */
  logProbs?: Float64Array;
  /** [rows] log Σ exp over the whole vocabulary, when asked for. */
  lse?: Float64Array;
}

/** One vocabulary chunk's rows of the head matrix, valid until the generator has moved two chunks on. */
export interface HeadChunk {
  index: number;
  chunks: number;
  /** First vocabulary id of the chunk. */
  first: number;
  count: number;
  /** [count, hidden]. */
  weight: Float32Array;
}

export class HeadRunner {
  private buffers: Float32Array[] = [];
  /** Input bytes per pass (HEAD_ROW_BYTES); tests lower it to run several passes on tiny models. */
  rowBytes = HEAD_ROW_BYTES;

  constructor(
    private readonly session: InferenceSession,
    private readonly reader: WeightReader,
    private readonly scratch: Scratch,
    private readonly matrix: TensorInfo,
    /** The final norm's weights by role (inputs of the head graph). */
    readonly norm: Record<string, Float32Array>,
    readonly vocab: number,
    readonly hidden: number,
  ) {}

  release(): Promise<void> {
    return this.session.release();
  }

  /** Vocabulary rows per chunk for `rows` rows of input. */
  chunkRows(rows: number, bytes = HEAD_CHUNK_BYTES): number {
    return Math.max(1, Math.min(this.vocab, Math.floor(bytes / (4 * Math.max(this.hidden, rows)))));
  }

  /** Rows of input per pass over the vocabulary (HEAD_ROW_BYTES). */
  get rowsPerPass(): number {
    return Math.max(1, Math.floor(this.rowBytes / (4 * this.hidden)));
  }

  /**
   * Float32 bytes the head holds at most for `rows` rows: two chunks of head rows, a chunk's logits (twice, for exp)
   * and the final norm's intermediates of one pass's rows.
   */
  bytesFor(rows: number): number {
    const pass = Math.min(rows, this.rowsPerPass);
    const chunk = this.chunkRows(pass);
    return 2 * chunk * this.hidden * 4 + 2 * pass * chunk * 4 + 4 * pass * this.hidden * 4;
  }

  /** Bytes of head rows held now, for the engine's accounting. */
  get bytesHeld(): number {
    return this.buffers.reduce((s, b) => s + b.byteLength, 0);
  }

  /**
   * The head matrix in chunks of chunkRows(rows) vocabulary rows, each next chunk read while the caller works on
   * the current one (two buffers, kept for the next call; allocated at the size first asked for, grown if needed).
   */
  async *chunks(rows: number, signal?: AbortSignal, bytes = HEAD_CHUNK_BYTES): AsyncGenerator<HeadChunk> {
    const { vocab, hidden } = this;
    const size = this.chunkRows(rows, bytes);
    if (this.buffers.length === 0 || this.buffers[0]!.length < size * hidden) this.buffers = [new Float32Array(size * hidden), new Float32Array(size * hidden)];
    const chunks = Math.ceil(vocab / size);
    const load = (c: number) => {
      const count = Math.min(size, vocab - c * size);
      const out = this.buffers[c % 2]!.subarray(0, count * hidden);
      return this.reader.readRows(this.matrix, hidden, c * size, count, out, this.scratch, signal).then(() => out);
    };
    let pending = load(0);
    try {
      for (let c = 0; c < chunks; c++) {
        throwIfAborted(signal);
        const weight = await pending;
        if (c + 1 < chunks) pending = load(c + 1);
        yield { index: c, chunks, first: c * size, count: weight.length / hidden, weight };
      }
    } finally {
      pending.catch(() => undefined);
    }
  }

  /** The head on `rows` rows, in passes of at most rowsPerPass rows (each pass one sweep over the vocabulary). */
  async run(final: Float32Array, rows: number, request: HeadRequest): Promise<HeadOutput> {
    const per = this.rowsPerPass;
    if (rows <= per) return this.pass(final, rows, request);
    const { vocab, hidden } = this;
    const passes = Math.ceil(rows / per);
    const logits = request.logits ? new Float32Array(rows * vocab) : undefined;
    const logProbs = request.targets ? new Float64Array(rows) : undefined;
    const lse = request.lse ? new Float64Array(rows) : undefined;
    for (let p = 0; p < passes; p++) {
      const first = p * per;
      const count = Math.min(per, rows - first);
      const out = await this.pass(final.subarray(first * hidden, (first + count) * hidden), count, {
        ...request,
        ...(request.targets ? { targets: request.targets.subarray(first, first + count) } : {}),
        ...(request.onChunk ? { onChunk: (c: number, chunks: number) => request.onChunk!(p * chunks + c, passes * chunks) } : {}),
      });
      if (logits) logits.set(out.logits!, first * vocab);
      if (logProbs) logProbs.set(out.logProbs!, first);
      if (lse) lse.set(out.lse!, first);
    }
    return { ...(logits ? { logits } : {}), ...(logProbs ? { logProbs } : {}), ...(lse ? { lse } : {}) };
  }

  /** One pass over the vocabulary for `rows` rows. */
  private async pass(final: Float32Array, rows: number, request: HeadRequest): Promise<HeadOutput> {
    const { Tensor } = onnxruntime();
    const { vocab, hidden } = this;
    const lse = new Float64Array(rows).fill(-Infinity);
    const picked = new Float64Array(rows).fill(NaN);
    const logits = request.logits ? new Float32Array(rows * vocab) : undefined;
    const local = new BigInt64Array(rows);
    const fetches = [HEAD_IO.lse, ...(request.targets ? [HEAD_IO.picked] : []), ...(logits ? [HEAD_IO.logits] : [])];
    const feeds: Record<string, InstanceType<typeof Tensor>> = { [HEAD_IO.hidden]: new Tensor('float32', final, [rows, hidden]) };
    for (const [role, values] of Object.entries(this.norm)) feeds[role] = new Tensor('float32', values, [values.length]);
    for await (const { index: c, chunks, first, count, weight } of this.chunks(rows, request.signal, request.chunkBytes)) {
      const targets = request.targets;
      if (targets) for (let r = 0; r < rows; r++) local[r] = BigInt(targets[r]! >= first && targets[r]! < first + count ? targets[r]! - first : 0);
      feeds[HEAD_IO.weight] = new Tensor('float32', weight, [count, hidden]);
      feeds[HEAD_IO.targets] = new Tensor('int64', local, [rows]);
      const out = await this.session.run(feeds, fetches);
      const chunkLse = out[HEAD_IO.lse]!.data as Float32Array;
      for (let r = 0; r < rows; r++) {
        const a = lse[r]!;
        const b = chunkLse[r]!;
        const m = Math.max(a, b);
        lse[r] = m === -Infinity ? -Infinity : m + Math.log(Math.exp(a - m) + Math.exp(b - m));
      }
      if (targets) {
        const values = out[HEAD_IO.picked]!.data as Float32Array;
        for (let r = 0; r < rows; r++) if (targets[r]! >= first && targets[r]! < first + count) picked[r] = values[r]!;
      }
      if (logits) {
        const values = out[HEAD_IO.logits]!.data as Float32Array;
        for (let r = 0; r < rows; r++) logits.set(values.subarray(r * count, (r + 1) * count), r * vocab + first);
      }
      request.onChunk?.(c, chunks);
    }
    return {
      ...(logits ? { logits } : {}),
      ...(request.targets ? { logProbs: Float64Array.from(picked, (p, r) => (request.targets![r]! >= 0 ? p - lse[r]! : NaN)) } : {}),
      ...(request.lse ? { lse } : {}),
    };
  }
}
