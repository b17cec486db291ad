// Gradients of a decoder's log-probabilities with respect to its input embeddings, on the block-streaming engine:
// a forward sweep keeps the residual stream at every block boundary (nothing inside a block), the head's backward
// runs in vocabulary chunks on the rows that have a target (headObjective.ts), and the blocks run backward in
// reverse order, each backward graph recomputing its block's forward from the kept boundary (backward.ts). Block
// weights stream from the checkpoint as in the forward pass: two blocks' weights, whatever the model's size. MoE
// blocks (whose MLP runs outside the block graph) add the MoE runner's backward of the MLP (engine/moeRunner.ts)
// before their attention graph's backward, on the whole batch at once (the MoE forward runs whole too); its weight
// gradients (router, experts, shared expert) are handed over part by part as the runner streams the experts.
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { throwIfAborted } from '../../errors';
import type { BlockEngine } from '../engine/blockEngine';
import { activationBytesPerRow, ensureFits, freeBytes } from '../engine/memory';
import { withWholeAttention } from '../families/ops';
import { BLOCK_IO, HEAD_IO } from '../families/types';
import { createSession, onnxruntime, type SessionTuning } from '../session';
import { buildBackward, gradName } from './backward';
import { buildHeadBackward, HEAD_GRADIENT, HEAD_OBJECTIVE_IO, OBJECTIVE_COTANGENT } from './headObjective';

export interface GradientRequest {
  /** [batch, seq, hidden] what enters block 0 (token embeddings, plus learned positions for GPT-2). */
  embeddings: Float32Array;
  batch: number;
  seq: number;
  /** [batch·seq] the token each position predicts, −1 where none: the objective is Σ log p(target) per row. */
  targets: Int32Array;
  signal?: AbortSignal;
  onProgress?: (message: string, fraction: number) => void;
  /**
   * Also the gradient of every block weight, handed over block by block (last block first) with the block's
   * weights; both are valid only during the call. The block graph's weights are keyed by role. An MoE block's
   * MLP tensors are not roles of its graph: they come first, in calls of their own keyed by the checkpoint's
   * tensor name (the router, then each expert as the runner streams it, the shared expert and its gate); only the
   * experts some token is routed to, unless `everyExpert`. A block's calls hand disjoint tensors and sum to it.
   */
  onWeightGradient?: (layer: number, gradients: Record<string, Float32Array>, weights: Record<string, Float32Array>) => void;
  /** With onWeightGradient: also every expert no token is routed to (zero gradients), as a sum over passes needs. */
  everyExpert?: boolean;
  /**
   * With onWeightGradient: the block graphs' weight gradients only; an MoE block's MLP (router, experts, shared
   * expert) gives just its input cotangent (a caller scoring attention: head-taylor), which skips the MLP's weight
   * products and the experts no token is routed to.
   */
  withoutMoeWeights?: boolean;
}

export interface GradientOutput {
  /** [batch, seq, hidden] d(Σ_t log p(target_t)) / d embeddings, per row. */
  gradient: Float32Array;
  /** [batch] Σ_t log p(target_t) of each row (float64 over float32 terms). */
  logProbs: Float64Array;
}

/**
 * Backward block sessions allocate per intermediate, as the forward's block sessions do (SessionTuning.lowMemory):
 * with onnxruntime's memory pattern a backward graph holds one arena block for its whole plan.
 */
const BACKWARD_SESSION: SessionTuning = { lowMemory: true };

/**
 * Head chunks of the gradient passes: their few target rows make a chunk's matrix product cheap whatever its size,
 * and the head keeps two chunks of float32 rows for the engine's life (64 MB each at HEAD_CHUNK_BYTES: on the 0.5B
 * shape that was a fifth of IG's peak).
 */
const GRADIENT_HEAD_CHUNK_BYTES = 16 * 2 ** 20;

/** A backward block run's activations against a forward run's with whole attention (recompute + cotangents). */
const BACKWARD_ACTIVATIONS = 3;

/** Relative cost of a block's backward (recompute + two products per linear) against its forward, for progress. */
const BACKWARD_COST = 3;

export class ModelGradients {
  /** By block variant: the block's backward graph that also outputs every weight's gradient, built when first asked for. */
  private readonly weightBlocks = new Map<string, Promise<InferenceSession>>();

  /** `blocks`: the backward graph of each block variant (Gemma 2/3 run sliding-window and global layers apart). */
  private constructor(private readonly engine: BlockEngine, private readonly blocks: ReadonlyMap<string, InferenceSession>, private readonly head: InferenceSession) {}

  static async open(engine: BlockEngine): Promise<ModelGradients> {
    const { spec, family } = engine;
    const blocks = new Map<string, InferenceSession>();
    try {
      for (const variant of variantsOf(engine)) {
        blocks.set(variant, await createSession(buildBackward(withWholeAttention(() => family.buildBlock(spec, engine.roles, variant || undefined)), { output: BLOCK_IO.out, wrt: [BLOCK_IO.hidden], ...moeOutputs(engine) }), engine.device, BACKWARD_SESSION));
      }
      const norm = Object.entries(engine.head.norm).map(([role, v]) => ({ role, name: role, shape: [v.length] }));
      const head = await createSession(buildHeadBackward(family.buildHead(spec, norm)), engine.headDevice);
      return new ModelGradients(engine, blocks, head);
    } catch (error) {
      for (const block of blocks.values()) await block.release();
      throw error;
    }
  }

  /**
   * The memory a backward pass of `rows` rows of `seq` tokens needs, by part: the engine's weights and head chunk,
   * per row the L + 1 kept block boundaries and the gradient, and a backward block's working set (the recomputed
   * forward and its cotangents: about three forward blocks' activations); with weight gradients, one block's more.
   */
  needs(rows: number, seq: number, weightGradients = false): Record<string, number> {
    const { engine } = this;
    const stream = seq * engine.spec.hidden * 4;
    return {
      ...engine.needs(0, seq, 0),
      'kept block boundaries': rows * (engine.layers + 2) * stream,
      'backward activations': Math.min(rows, this.backwardRowsPerRun(seq)) * BACKWARD_ACTIVATIONS * activationBytesPerRow(engine.shape, seq, true),
      ...(weightGradients ? { 'one block of weight gradients': engine.blockBytes } : {}),
      ...(weightGradients && engine.moe ? { 'one expert of weight gradients': engine.moe.mlpBytes } : {}),
    };
  }

  /**
   * Rows per backward block run: as many as keep the run's activations (a recomputed forward with whole attention
   * and its cotangents, about BACKWARD_ACTIVATIONS forward runs) under the engine's run budget, at least one.
   */
  backwardRowsPerRun(seq: number): number {
    const { engine } = this;
    return Math.max(1, Math.floor(engine.runActivationBytes / (BACKWARD_ACTIVATIONS * activationBytesPerRow(engine.shape, seq, true))));
  }

  /** The most rows (1..maxRows) of `seq` tokens whose backward pass fits in free memory. */
  rowsThatFit(seq: number, maxRows: number, weightGradients = false): number {
    const free = freeBytes();
    const total = (rows: number) => Object.values(this.needs(rows, seq, weightGradients)).reduce((s, b) => s + b, 0);
    let rows = Math.max(1, maxRows);
    while (rows > 1 && total(rows) > free) rows--;
    return rows;
  }

  /** Refuses a pass that does not fit, naming the need and what is free. */
  ensureFits(rows: number, seq: number, weightGradients = false): void {
    ensureFits(this.engine.directory, this.needs(rows, seq, weightGradients));
  }

  async release(): Promise<void> {
    for (const block of this.blocks.values()) await block.release();
    await this.head.release();
    for (const weightBlock of this.weightBlocks.values()) await (await weightBlock.catch(() => undefined))?.release();
  }

  private weightSession(variant: string): Promise<InferenceSession> {
    const { engine } = this;
    let session = this.weightBlocks.get(variant);
    if (!session) {
      session = createSession(buildBackward(withWholeAttention(() => engine.family.buildBlock(engine.spec, engine.roles, variant || undefined)), { output: BLOCK_IO.out, wrt: [BLOCK_IO.hidden, ...engine.roles.map((r) => r.role)], ...moeOutputs(engine) }), engine.device, BACKWARD_SESSION);
      this.weightBlocks.set(variant, session);
    }
    return session;
  }

  async inputGradient(request: GradientRequest): Promise<GradientOutput> {
    const { engine } = this;
    const { batch, seq, signal } = request;
    this.ensureFits(batch, seq, request.onWeightGradient !== undefined);
    const { hidden, heads } = engine.spec;
    const layers = engine.layers;
    const total = layers * (1 + BACKWARD_COST) + 1;
    const progress = (message: string, done: number) => request.onProgress?.(message, done / total);
    const start = Date.now();
    const seconds = () => `${((Date.now() - start) / 1000).toFixed(1)} s`;

    // Forward: the residual stream at each block boundary.
    const states: Float32Array[] = [request.embeddings];
    for await (const block of engine.sweep(Array.from({ length: layers }, (_, l) => l), signal)) {
      throwIfAborted(signal);
      progress(`block ${block.layer + 1} / ${layers}, ${seconds()}`, block.layer);
      states.push((await engine.runBlock(block, states[states.length - 1]!, batch, seq)).hidden);
    }

    // Head: only the rows that predict a target.
    const rows: number[] = [];
    request.targets.forEach((t, i) => t >= 0 && rows.push(i));
    const final = states[layers]!;
    const selected = new Float32Array(rows.length * hidden);
    rows.forEach((r, k) => selected.set(final.subarray(r * hidden, (r + 1) * hidden), k * hidden));
    const targets = Int32Array.from(rows, (r) => request.targets[r]!);
    progress(`head, ${seconds()}`, layers);
    const headGradient = rows.length > 0 ? await this.headGradient(selected, targets, signal) : { gradient: new Float32Array(0), logProbs: new Float64Array(0) };
    const logProbs = new Float64Array(batch);
    rows.forEach((r, k) => (logProbs[Math.floor(r / seq)]! += headGradient.logProbs[k]!));
    let g: Float32Array = new Float32Array(batch * seq * hidden);
    rows.forEach((r, k) => g.set(headGradient.gradient.subarray(k * hidden, (k + 1) * hidden), r * hidden));

    // Blocks in reverse, each from its kept input.
    const { Tensor } = onnxruntime();
    const onesMask = new Float32Array(heads).fill(1);
    const weightGradients = request.onWeightGradient;
    const fetches = [gradName(BLOCK_IO.hidden), ...(weightGradients ? engine.roles.map((r) => gradName(r.role)) : [])];
    const per = this.backwardRowsPerRun(seq);
    const width = seq * hidden;
    for await (const block of engine.sweep(Array.from({ length: layers }, (_, l) => layers - 1 - l), signal)) {
      throwIfAborted(signal);
      const l = block.layer;
      progress(`backward block ${l + 1} / ${layers}, ${seconds()}`, layers + 1 + (layers - 1 - l) * BACKWARD_COST);
      const variant = variantOf(engine, l);
      const session = weightGradients ? await this.weightSession(variant) : this.blocks.get(variant)!;
      // Rows in sub-batches (each row's backward is its own): only one sub-batch's recomputed forward and
      // cotangents are alive at a time, whatever the pass's rows; weight gradients add up over the sub-batches.
      const next = per >= batch ? undefined : new Float32Array(batch * width);
      let sums: Record<string, Float32Array> | undefined;
      // The MoE half first, on the whole batch: the block's output is the attention residual plus the MLP of its
      // normed input, so the residual's cotangent is g and the MLP input's is the MoE backward of g. The forward is
      // re-run for that input (and the routing); the MLP's weight gradients are handed over as they come.
      let dMlpInput: Float32Array | undefined;
      if (engine.moe) {
        const { mlpParts } = await engine.runBlock(block, states[l]!, batch, seq, { moe: { parts: true } });
        const onGradient = weightGradients && !request.withoutMoeWeights && ((grads: Record<string, Float32Array>, weights: Record<string, Float32Array>) => weightGradients(l, grads, weights));
        dMlpInput = await engine.moe.backward(l, mlpParts!.input, g, batch * seq, signal, onGradient ? { onGradient, ...(request.everyExpert ? { everyExpert: true } : {}) } : undefined);
      }
      for (let r = 0; r < batch; r += per) {
        const rows = Math.min(per, batch - r);
        const feeds: Record<string, OrtTensor> = {
          [BLOCK_IO.hidden]: new Tensor('float32', states[l]!.subarray(r * width, (r + rows) * width), [rows, seq, hidden]),
          [BLOCK_IO.headMask]: new Tensor('float32', onesMask, [heads]),
          [gradName(BLOCK_IO.out)]: new Tensor('float32', g.subarray(r * width, (r + rows) * width), [rows, seq, hidden]),
        };
        for (const role of engine.roles) feeds[role.role] = new Tensor('float32', block.values[role.role]!, role.shape);
        if (dMlpInput) feeds[gradName(BLOCK_IO.mlpInput)] = new Tensor('float32', dMlpInput.subarray(r * width, (r + rows) * width), [rows * seq, hidden]);
        const out = await session.run(feeds, fetches);
        const dHidden = out[gradName(BLOCK_IO.hidden)]!.data as Float32Array;
        if (next) next.set(dHidden, r * width);
        else g = dHidden;
        if (!weightGradients) continue;
        const part = Object.fromEntries(engine.roles.map((role) => [role.role, out[gradName(role.role)]!.data as Float32Array]));
        if (!sums) sums = part;
        else for (const [role, values] of Object.entries(part)) for (let i = 0; i < values.length; i++) sums[role]![i]! += values[i]!;
      }
      if (next) g = next;
      if (weightGradients) weightGradients(l, sums!, block.values);
      states[l + 1] = new Float32Array(0);
    }
    return { gradient: g, logProbs };
  }

  /** d Σ_r log p(target_r) / d final hidden for [rows, hidden] `final`, and each row's log p. */
  private async headGradient(final: Float32Array, targets: Int32Array, signal?: AbortSignal): Promise<{ gradient: Float32Array; logProbs: Float64Array }> {
    const { engine } = this;
    const { hidden } = engine.spec;
    const rows = targets.length;
    const { logProbs, lse } = await engine.runHead(final, rows, { targets, lse: true, chunkBytes: GRADIENT_HEAD_CHUNK_BYTES, ...(signal ? { signal } : {}) });
    const { Tensor } = onnxruntime();
    const feeds: Record<string, OrtTensor> = {
      [HEAD_IO.hidden]: new Tensor('float32', final, [rows, hidden]),
      [HEAD_OBJECTIVE_IO.lse]: new Tensor('float32', Float32Array.from(lse!), [rows]),
      [HEAD_OBJECTIVE_IO.weight]: new Tensor('float32', new Float32Array(rows).fill(1), [rows]),
      [OBJECTIVE_COTANGENT]: new Tensor('float32', Float32Array.of(1), []),
    };
    for (const [role, values] of Object.entries(engine.head.norm)) feeds[role] = new Tensor('float32', values, [values.length]);
    const gradient = new Float64Array(rows * hidden);
    const local = new BigInt64Array(rows);
    const pick = new Float32Array(rows);
    for await (const { first, count, weight } of engine.head.chunks(rows, signal, GRADIENT_HEAD_CHUNK_BYTES)) {
      for (let r = 0; r < rows; r++) {
        const inside = targets[r]! >= first && targets[r]! < first + count;
        local[r] = BigInt(inside ? targets[r]! - first : 0);
        pick[r] = inside ? 1 : 0;
      }
      feeds[HEAD_IO.weight] = new Tensor('float32', weight, [count, hidden]);
      feeds[HEAD_IO.targets] = new Tensor('int64', local, [rows]);
      feeds[HEAD_OBJECTIVE_IO.pick] = new Tensor('float32', pick, [rows]);
      const out = (await this.head.run(feeds, [HEAD_GRADIENT]))[HEAD_GRADIENT]!.data as Float32Array;
      for (let i = 0; i < out.length; i++) gradient[i]! += out[i]!;
    }
    return { gradient: Float32Array.from(gradient), logProbs: logProbs! };
  }
}

/** The block variant layer `l` runs ('' for families whose blocks all run one graph), as the forward engine picks it. */
function variantOf(engine: BlockEngine, l: number): string {
  return engine.family.blockVariant?.(engine.spec, l) ?? '';
}

/**
 * MoE families: the attention graph's second output, the normed MLP input, also takes a cotangent (what the MoE
 * backward gives it, engine/moeRunner.ts backward).
 */
function moeOutputs(engine: BlockEngine): { also?: string[] } {
  return engine.moe ? { also: [BLOCK_IO.mlpInput] } : {};
}

function variantsOf(engine: BlockEngine): string[] {
  return [...new Set(Array.from({ length: engine.layers }, (_, l) => variantOf(engine, l)))];
}
