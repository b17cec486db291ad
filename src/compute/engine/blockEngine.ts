// The block-streaming forward engine: a decoder run one block at a time, with one onnxruntime session per block
// shape whose weights are graph inputs — per attention variant, for families whose layers differ (Gemma 2/3), and
// per set of outputs a caller fetches (the graph is pruned to them). Before each block runs, its weights are read
// from the checkpoint into float32 buffers allocated once per shape (two sets: the next block is read and decoded
// while the current one runs on onnxruntime's threads). The embedding reads only the rows of the window's tokens;
// the head runs in vocabulary chunks (headRunner.ts). A batch runs in sub-batches of rowsPerRun rows, so the
// activations onnxruntime allocates stay ~RUN_ACTIVATION_BYTES however many rows a caller passes (ablation passes
// L + 1). So memory is two blocks' weights + one run's activations + the callers' residual streams + one head
// chunk, whatever the number of blocks, and any checkpoint the readers decode runs, however large.
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { ModelSpec } from '../../arch/modelSpec';
import { InputError, throwIfAborted } from '../../errors';
import type { TensorInfo } from '../../formats/types';
import { familyOf } from '../families';
import { BLOCK_IO, type BlockTensor, type Family, type LinearSite } from '../families/types';
import { pruneToOutputs } from '../onnxGraph';
import { createSession, createWithFallback, onnxruntime, parseProviders, type ProviderName, type SessionTuning } from '../session';
import { HeadRunner, type HeadOutput, type HeadRequest } from './headRunner';
import { activationBytesPerRow, ensureFits, freeBytes, RUN_ACTIVATION_BYTES, type BlockShape } from './memory';
import { openModelSource } from './modelSource';
import { MoeRunner, type MoeRequest } from './moeRunner';
import type { Routing } from './routing';
import { newScratch, WeightReader, type Scratch } from './weightReader';

/** One block's weights in memory, valid until the sweep that yielded it has moved two blocks on. */
export interface LoadedBlock {
  layer: number;
  /** By role (graph input). */
  values: Record<string, Float32Array>;
  /** The same buffers by checkpoint tensor name (for callers that edit weights before the block runs). */
  byName: Map<string, Float32Array>;
}

export interface BlockRequest {
  attention?: boolean;
  linearInputs?: boolean;
  /** [heads] 1 keeps a query head, 0 masks it. */
  headMask?: Float32Array;
  /** MoE families: experts to drop from this block's router; `parts` asks for the MLP's input and the stream before it. */
  moe?: Omit<MoeRequest, 'signal'> & { parts?: boolean };
}

export interface BlockOutput {
  hidden: Float32Array;
  attention?: Float32Array;
  /** In the order of linearSites(layer). */
  linearInputs?: Float32Array[];
  /** MoE blocks with routed experts: each token's experts and weights. */
  routing?: Routing;
  /** MoE families, when asked: the residual stream after attention and the normed MLP input ([batch·seq, hidden]). */
  mlpParts?: { residual: Float32Array; input: Float32Array };
}

/**
 * Blocks whose float32 weights are at most this are read ahead (two sets of buffers: the next block decodes while
 * the current one runs). Larger blocks (7B-class: 800 MB) keep one set, so the weights held stay one block's.
 */
export const READ_AHEAD_MAX_BLOCK_BYTES = 512 * 2 ** 20;

/** Block sessions allocate per intermediate (see SessionTuning.lowMemory): their runs are the engine's largest. */
const BLOCK_SESSION: SessionTuning = { lowMemory: true };

export class BlockEngine {
  private slots: Record<string, Float32Array>[] = [];
  private readonly onesMask: Float32Array;
  /** Block sessions by the outputs they compute (comma-joined), made on first use; the hidden-only one at open. */
  private readonly sessions = new Map<string, Promise<InferenceSession>>();
  /** Whether the next block's weights are read while the current one runs (see READ_AHEAD_MAX_BLOCK_BYTES). */
  readonly readAhead: boolean;
  /** A block run's activation budget (rowsPerRun); tests lower it to run sub-batches on tiny models. */
  runActivationBytes = RUN_ACTIVATION_BYTES;

  private constructor(
    /** What the model was opened from: its Hugging Face directory or its .gguf file. */
    readonly path: string,
    /** The directory the model is in (the Hugging Face directory itself). */
    readonly directory: string,
    readonly spec: ModelSpec,
    readonly family: Family,
    private readonly reader: WeightReader,
    private readonly scratch: Scratch,
    private readonly blockTensors: readonly (readonly TensorInfo[])[],
    /** The block graph's weight inputs, in order (the same for every block). */
    readonly roles: readonly BlockTensor[],
    /** The whole block graph by variant ('' for families whose blocks all run one graph); sessions are pruned from it. */
    private readonly models: ReadonlyMap<string, Uint8Array>,
    /** The first variant's session for the default outputs, made (and its provider found) at open. */
    session: InferenceSession,
    private readonly embedding: { tokens: TensorInfo; positions?: TensorInfo; scale: number },
    readonly head: HeadRunner,
    readonly device: ProviderName,
    readonly headDevice: ProviderName,
    readonly devicesSkipped: string[],
    /** MoE families: the block's MLP, run after the attention graph. */
    readonly moe?: MoeRunner,
  ) {
    this.onesMask = new Float32Array(spec.heads).fill(1);
    this.readAhead = this.blockBytes <= READ_AHEAD_MAX_BLOCK_BYTES;
    this.sessions.set(sessionKey([...models.keys()][0]!, defaultFetches(family)), Promise.resolve(session));
  }

  /** A Hugging Face model directory or a .gguf file (modelSource.ts). */
  static async open(path: string, providers?: readonly string[], signal?: AbortSignal): Promise<BlockEngine> {
    const { spec, header, view, directory } = await openModelSource(path);
    const reader = new WeightReader(header, path, view);
    // Sessions made so far, released if a later step fails (a failed open must not leak native memory).
    const made: InferenceSession[] = [];
    try {
      const family = familyOf(spec);
      const has = reader.has;
      const perBlock = Array.from({ length: spec.layers }, (_, l) => family.blockTensors(spec, l, has));
      const blockTensors = perBlock.map((tensors) => tensors.map((t) => reader.tensor(t.name, t.shape)));
      const roles = perBlock[0] ?? [];
      const names = family.embedding(spec, has);
      const tokens = reader.tensor(names.tokens, [spec.vocab, spec.hidden]);
      const embedding = {
        tokens,
        ...(names.positions ? { positions: reader.tensor(names.positions, [spec.maxPositions, spec.hidden]) } : {}),
        scale: family.embeddingScale?.(spec, tokens.dtype) ?? 1,
      };
      const normTensors = family.finalNorm(spec, has);
      const scratch = newScratch();
      const norm: Record<string, Float32Array> = {};
      const normValues = normTensors.map((t) => new Float32Array(t.shape.reduce((a, b) => a * b, 1)));
      await reader.read(normTensors.map((t) => reader.tensor(t.name, t.shape)), normValues, scratch, signal);
      normTensors.forEach((t, i) => (norm[t.role] = normValues[i]!));
      const matrix = reader.tensor(family.head(spec, has), [spec.vocab, spec.hidden]);
      const floats = Math.max(0, ...blockTensors.map((ts) => ts.reduce((s, t) => s + t.count * 4, 0)));
      const raw = Math.max(0, ...blockTensors.map((ts) => ts.reduce((s, t) => s + t.byteLength, 0)));
      const largest = Math.max(0, ...blockTensors.flat().map((t) => t.byteLength));
      const blockMlp = family.mlp;
      // Checks every block's MLP tensors before any session exists; its sessions follow the block's provider.
      const moe = blockMlp ? MoeRunner.resolve(spec.hidden, spec.layers, (l) => blockMlp(spec, l), reader) : undefined;
      ensureFits(path, {
        ...(floats <= READ_AHEAD_MAX_BLOCK_BYTES ? { 'two blocks of float32 weights': 2 * floats, 'raw block bytes': raw } : { 'one block of float32 weights': floats, 'raw bytes of its largest tensor': largest }),
        ...(moe ? { 'two experts of float32 weights': 2 * moe.mlpBytes, 'raw expert bytes': 2 * moe.mlpRawBytes } : {}),
      });
      throwIfAborted(signal);
      const order = parseProviders(providers ?? process.env.IMPORTANCE_LENS_PROVIDERS);
      const variants = [...new Set(Array.from({ length: spec.layers }, (_, l) => family.blockVariant?.(spec, l) ?? ''))];
      const models = new Map(variants.map((variant) => [variant, family.buildBlock(spec, roles, variant || undefined)]));
      const { session, provider, skipped } = await createWithFallback(pruneToOutputs(models.get(variants[0]!)!, defaultFetches(family)), order, BLOCK_SESSION);
      made.push(session);
      throwIfAborted(signal);
      let headSession: InferenceSession;
      let headDevice = provider;
      try {
        headSession = await createSession(family.buildHead(spec, normTensors), provider);
      } catch {
        headSession = await createSession(family.buildHead(spec, normTensors), 'cpu');
        headDevice = 'cpu';
      }
      made.push(headSession);
      throwIfAborted(signal);
      const head = new HeadRunner(headSession, reader, scratch, matrix, norm, spec.vocab, spec.hidden);
      const moeRunner = moe ? await MoeRunner.create(moe, reader, spec.hidden, provider) : undefined;
      return new BlockEngine(path, directory, spec, family, reader, scratch, blockTensors, roles, models, session, embedding, head, provider, headDevice, skipped, moeRunner);
    } catch (error) {
      await Promise.all(made.map((s) => s.release().catch(() => undefined)));
      await reader.close();
      throw error;
    }
  }

  get layers(): number {
    return this.spec.layers;
  }

  /** The family's linear sites, their weights under the checkpoint's own names. */
  linearSites(layer: number): LinearSite[] {
    const { view } = this.reader;
    return this.family.linearSites(this.spec, layer, this.reader.has).map((site) => ({ ...site, weights: site.weights.map((w) => ({ ...w, name: view.own(w.name) })) }));
  }

  /** The shape memory estimates use: the widest linear output of a block. */
  get shape(): BlockShape {
    // MoE: the MLP runs outside the block graph, and its widest (shared expert, dense MLP) sees every row.
    const widest = Math.max(this.moe?.widest ?? 0, ...this.roles.map((r) => (r.shape.length === 2 ? Math.max(...r.shape) : 0)));
    return { hidden: this.spec.hidden, heads: this.spec.heads, widest };
  }

  /** Block `layer`'s weights by role, under the checkpoint's own tensor names (what delta and stats call them). */
  tensorNames(layer: number): Record<string, string> {
    return Object.fromEntries(this.roles.map((r, k) => [r.role, this.blockTensors[layer]![k]!.name]));
  }

  /** Float32 bytes of the largest block's weights. */
  get blockBytes(): number {
    return Math.max(0, ...this.blockTensors.map((ts) => ts.reduce((s, t) => s + t.count * 4, 0)));
  }

  /** What the engine's own buffers hold now (block weights, head rows, raw bytes): its accounting of weights. */
  get bytesHeld(): { blocks: number; head: number; raw: number } {
    const blocks = this.slots.reduce((s, slot) => s + Object.values(slot).reduce((a, v) => a + v.byteLength, 0), 0) + (this.moe?.bytesHeld ?? 0);
    return { blocks, head: this.head.bytesHeld, raw: this.scratch.bytes.length };
  }

  /** Batch rows of `seq` tokens per block run: as many as keep one run's activations under runActivationBytes, ≥ 1. */
  rowsPerRun(seq: number, attention = false): number {
    return Math.max(1, Math.floor(this.runActivationBytes / activationBytesPerRow(this.shape, seq, attention)));
  }

  /**
   * The memory a job of `rows` batch rows of `seq` tokens needs, by part, keeping `keptStates` residual streams per
   * row (with `attention`, each run also computes its rows' whole [heads, seq, seq] probabilities).
   */
  needs(rows: number, seq: number, keptStates: number, logits = false, attention = false): Record<string, number> {
    const headRows = rows * seq;
    const perRun = Math.min(rows, this.rowsPerRun(seq, attention));
    return {
      ...(this.readAhead ? { 'two blocks of float32 weights': 2 * this.blockBytes } : { 'one block of float32 weights': this.blockBytes }),
      ...(this.moe ? { 'two experts of float32 weights': 2 * this.moe.mlpBytes } : {}),
      'activations': perRun * activationBytesPerRow(this.shape, seq, attention) + keptStates * rows * seq * this.spec.hidden * 4,
      'head chunk': this.head.bytesFor(headRows) + (logits ? headRows * this.spec.vocab * 4 : 0),
    };
  }

  /** Refuses the job with the figure needed and the figure free when it does not fit (see needs). */
  ensureFits(rows: number, seq: number, keptStates: number, logits = false, attention = false): void {
    ensureFits(this.path, this.needs(rows, seq, keptStates, logits, attention));
  }

  /** The most batch rows (1..maxRows) of `seq` tokens that fit in free memory. */
  rowsThatFit(seq: number, keptStates: number, maxRows: number): number {
    const free = freeBytes();
    const total = (rows: number) => Object.values(this.needs(rows, seq, keptStates)).reduce((s, b) => s + b, 0);
    let rows = Math.max(1, maxRows);
    while (rows > 1 && total(rows) > free) rows--;
    return rows;
  }

  /** [batch, seq, hidden] embeddings of equal-length rows of token ids: only their rows of the table are read. */
  async embed(rows: readonly (readonly number[])[], signal?: AbortSignal): Promise<Float32Array> {
    const { vocab, hidden } = this.spec;
    const seq = rows[0]?.length ?? 0;
    if (rows.length === 0 || seq === 0 || rows.some((r) => r.length !== seq)) throw new Error('forward: rows must be non-empty and of one length');
    const unique = [...new Set(rows.flat())].sort((a, b) => a - b);
    for (const id of unique) if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new InputError(`token id ${id} is outside the model's vocabulary of ${vocab}`);
    const table = new Map<number, Float32Array>();
    // Runs of consecutive ids are one read each.
    for (let i = 0; i < unique.length;) {
      let j = i + 1;
      while (j < unique.length && unique[j] === unique[j - 1]! + 1) j++;
      const values = new Float32Array((j - i) * hidden);
      await this.reader.readRows(this.embedding.tokens, hidden, unique[i]!, j - i, values, this.scratch, signal);
      for (let k = i; k < j; k++) table.set(unique[k]!, values.subarray((k - i) * hidden, (k - i + 1) * hidden));
      i = j;
    }
    const out = new Float32Array(rows.length * seq * hidden);
    rows.forEach((row, b) => row.forEach((id, t) => out.set(table.get(id)!, (b * seq + t) * hidden)));
    const { scale } = this.embedding;
    if (scale !== 1) for (let i = 0; i < out.length; i++) out[i] = out[i]! * scale;
    const positions = await this.positionRows(seq, signal);
    if (positions) for (let b = 0; b < rows.length; b++) for (let i = 0; i < seq * hidden; i++) out[b * seq * hidden + i]! += positions[i]!;
    return out;
  }

  /** [seq, hidden] learned position rows 0..seq−1 that embed() adds (GPT-2), or undefined for rotary families. */
  async positionRows(seq: number, signal?: AbortSignal): Promise<Float32Array | undefined> {
    if (!this.embedding.positions) return undefined;
    if (seq > this.spec.maxPositions) throw new InputError(`${seq} tokens is more than the model's ${this.spec.maxPositions} positions`);
    const table = new Float32Array(seq * this.spec.hidden);
    await this.reader.readRows(this.embedding.positions, this.spec.hidden, 0, seq, table, this.scratch, signal);
    return table;
  }

  /**
   * Yields the weights of `layers` in order, reading each next one while the caller runs the current one (when
   * readAhead). A yielded block's buffers are rewritten when the caller asks for the one after next (the next one,
   * without read-ahead), so use it before that.
   */
  async *sweep(layers: readonly number[], signal?: AbortSignal): AsyncGenerator<LoadedBlock> {
    while (this.slots.length < (this.readAhead ? 2 : 1)) this.slots.push(Object.fromEntries(this.roles.map((r) => [r.role, new Float32Array(r.shape.reduce((a, b) => a * b, 1))])));
    const load = (i: number): Promise<LoadedBlock> => {
      const layer = layers[i]!;
      const values = this.slots[i % this.slots.length]!;
      return this.reader.read(this.blockTensors[layer]!, this.roles.map((r) => values[r.role]!), this.scratch, signal).then(() => ({ layer, values, byName: new Map(this.blockTensors[layer]!.map((t, k) => [t.name, values[this.roles[k]!.role]!])) }));
    };
    if (!this.readAhead) {
      // One set of buffers: the next block is read when the caller is done with this one.
      for (let i = 0; i < layers.length; i++) yield await load(i);
      return;
    }
    let pending = layers.length > 0 ? load(0) : undefined;
    try {
      for (let i = 0; i < layers.length; i++) {
        const block = await pending!;
        pending = i + 1 < layers.length ? load(i + 1) : undefined;
        yield block;
      }
    } finally {
      pending?.catch(() => undefined);
    }
  }

  /** The block session of `variant` computing exactly `fetches` (made from the pruned graph on first use). */
  private session(variant: string, fetches: readonly string[]): Promise<InferenceSession> {
    const key = sessionKey(variant, fetches);
    let session = this.sessions.get(key);
    if (!session) {
      session = createSession(pruneToOutputs(this.models.get(variant)!, fetches), this.device, BLOCK_SESSION);
      this.sessions.set(key, session);
      session.catch(() => this.sessions.delete(key)); // a failed creation is retried by the next caller
    }
    return session;
  }

  /** Runs one block on [batch, seq, hidden] `h`, in sub-batches of rowsPerRun rows (outputs concatenated). */
  async runBlock(block: LoadedBlock, h: Float32Array, batch: number, seq: number, request: BlockRequest = {}): Promise<BlockOutput> {
    const per = this.rowsPerRun(seq, request.attention);
    // MoE blocks run whole: their routing and MLP parts are per token of the whole batch.
    if (batch <= per || this.moe) return this.run(block, h, batch, seq, request);
    const width = seq * this.spec.hidden;
    const parts: BlockOutput[] = [];
    for (let r = 0; r < batch; r += per) {
      const rows = Math.min(per, batch - r);
      parts.push(await this.run(block, h.subarray(r * width, (r + rows) * width), rows, seq, request));
    }
    const attention = parts.every((p) => p.attention) ? concat(parts.map((p) => p.attention!)) : undefined;
    const linearInputs = parts[0]!.linearInputs?.map((_, i) => concat(parts.map((p) => p.linearInputs![i]!)));
    return { hidden: concat(parts.map((p) => p.hidden)), ...(attention ? { attention } : {}), ...(linearInputs ? { linearInputs } : {}) };
  }

  /**
   * Runs one block on separate residual streams ([seq, hidden] each) and returns each one's output, in
   * sub-batches of rowsPerRun rows: only one run's batch is ever copied together (ablation's L + 1 rows).
   */
  async runRows(block: LoadedBlock, rows: readonly Float32Array[], seq: number): Promise<Float32Array[]> {
    const width = seq * this.spec.hidden;
    const per = this.rowsPerRun(seq);
    const outputs: Float32Array[] = [];
    for (let r = 0; r < rows.length; r += per) {
      const group = rows.slice(r, r + per);
      const batch = group.length === 1 ? group[0]! : new Float32Array(group.length * width);
      if (group.length > 1) group.forEach((row, i) => batch.set(row, i * width));
      const { hidden } = await this.run(block, batch, group.length, seq, {});
      group.forEach((_, i) => outputs.push(hidden.subarray(i * width, (i + 1) * width)));
    }
    return outputs;
  }

  private async run(block: LoadedBlock, h: Float32Array, batch: number, seq: number, request: BlockRequest): Promise<BlockOutput> {
    const { Tensor } = onnxruntime();
    const feeds: Record<string, OrtTensor> = {
      [BLOCK_IO.hidden]: new Tensor('float32', h, [batch, seq, this.spec.hidden]),
      [BLOCK_IO.headMask]: new Tensor('float32', request.headMask ?? this.onesMask, [this.spec.heads]),
    };
    for (const role of this.roles) feeds[role.role] = new Tensor('float32', block.values[role.role]!, role.shape);
    const sites = request.linearInputs ? this.linearSites(block.layer) : [];
    const fetches = [...defaultFetches(this.family), ...(request.attention ? [BLOCK_IO.attention] : []), ...sites.map((s) => BLOCK_IO.linearInput(s.site))];
    const out = await (await this.session(this.family.blockVariant?.(this.spec, block.layer) ?? '', fetches)).run(feeds, fetches);
    let hidden = out[BLOCK_IO.out]!.data as Float32Array;
    let moe: Pick<BlockOutput, 'routing' | 'mlpParts'> = {};
    if (this.moe) {
      // The graph ended after attention: the MLP (experts on their rows, shared expert, or dense) runs here.
      const input = out[BLOCK_IO.mlpInput]!.data as Float32Array;
      const { y, routing } = await this.moe.run(block.layer, input, batch * seq, { ...(request.moe?.drop ? { drop: request.moe.drop } : {}) });
      const residual = hidden;
      hidden = new Float32Array(residual.length);
      for (let i = 0; i < hidden.length; i++) hidden[i] = residual[i]! + y[i]!;
      moe = { ...(routing ? { routing } : {}), ...(request.moe?.parts ? { mlpParts: { residual, input } } : {}) };
    }
    return {
      hidden,
      ...moe,
      ...(request.attention ? { attention: out[BLOCK_IO.attention]!.data as Float32Array } : {}),
      ...(request.linearInputs ? { linearInputs: sites.map((s) => out[BLOCK_IO.linearInput(s.site)]!.data as Float32Array) } : {}),
    };
  }

  /** The head on the last block's output, [rows, hidden]. */
  runHead(final: Float32Array, rows: number, request: HeadRequest): Promise<HeadOutput> {
    return this.head.run(final, rows, request);
  }

  async release(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(sessions.map((s) => s.then((session) => session.release(), () => undefined)));
    await this.moe?.release();
    await this.head.release();
    await this.reader.close();
  }
}

/** The parts one after another in a new array (several batches' rows as one). */
export function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** What every run of a family's block graph fetches: the block's output, and for MoE families the MLP's input. */
function defaultFetches(family: Family): string[] {
  return [BLOCK_IO.out, ...(family.mlp ? [BLOCK_IO.mlpInput] : [])];
}

function sessionKey(variant: string, fetches: readonly string[]): string {
  return `${variant}|${fetches.join(',')}`;
}
