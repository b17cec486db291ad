// Gradients of a decoder's log-probabilities with respect to its input embeddings, on the block-streaming engine:
// a forward sweep keeps the residual stream at every block boundary (nothing inside a block), the head's backward
// runs in vocabulary chunks on the rows that have a target (headObjective.ts), and the blocks run backward in
// reverse order, each backward graph recomputing its block's forward from the kept boundary (backward.ts). Block
// weights stream from the checkpoint as in the forward pass: two blocks' weights, whatever the model's size. MoE
// blocks (whose MLP runs outside the block graph) add the MoE runner's backward of the MLP (engine/moeRunner.ts)
// before their attention graph's backward, on the whole batch at once (the MoE forward runs whole too); its weight
// gradients (router, experts, shared expert) are handed over part by part as the runner streams the experts.
// A pass may hold several batches (rows of different lengths, or more rows than one batch takes): it runs
// block-major, every batch through block l before block l + 1 (and back), so each block's graph weights are read
// once per direction (an MoE block's experts stream per batch's forward run) and its weight gradients are summed over the batches before they are handed over: one block's worth.
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { throwIfAborted } from '../../errors';
import { concat, type BlockEngine, type LoadedBlock } from '../engine/blockEngine';
import { activationBytesPerRow, ensureFits, freeBytes } from '../engine/memory';
import { withWholeAttention } from '../families/ops';
import { BLOCK_IO, HEAD_IO } from '../families/types';
import { createSession, onnxruntime, type SessionTuning } from '../session';
import { buildBackward, gradName } from './backward';
import { buildHeadBackward, HEAD_GRADIENT, HEAD_OBJECTIVE_IO, OBJECTIVE_COTANGENT } from './headObjective';

/** One batch of a gradient pass: rows of one length. */
export interface GradientBatch {
  /** [batch, seq, hidden] what enters block 0 (token embeddings, plus learned positions for GPT-2). */
  embeddings: Float32Array;
  batch: number;
  seq: number;
  /** [batch·seq] the token each position predicts, −1 where none: the objective is Σ log p(target) per row. */
  targets: Int32Array;
}

/** What a gradient pass does besides the input gradient: progress, abort, and the weights' gradients. */
export interface GradientOptions {
  signal?: AbortSignal;
  onProgress?: (message: string, fraction: number) => void;
  /**
   * Also the gradient of every block weight, summed over the pass's batches, handed over block by block (last
   * block first) with the block's weights; both are valid only during the call. The block graph's weights are
   * keyed by role. An MoE block's MLP tensors are not roles of its graph: they come first, in calls of their own
   * keyed by the checkpoint's tensor name (the router, then each expert as the runner streams it, the shared expert
   * and its gate); only the experts some token of the pass is routed to. A block's calls hand
   * disjoint tensors and sum to it; each tensor is handed over once.
   */
  onWeightGradient?: (layer: number, gradients: Record<string, Float32Array>, weights: Record<string, Float32Array>) => void;
  /**
   * With onWeightGradient: the block graphs' weight gradients only; an MoE block's MLP (router, experts, shared
   * expert) gives just its input cotangent (a caller scoring attention: head-taylor), which skips the MLP's weight
   * products and the experts no token is routed to.
   */
  withoutMoeWeights?: boolean;
}

export type GradientRequest = GradientBatch & GradientOptions;

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
   * The memory a backward pass of `rows` rows of `seq` tokens needs, by part (passNeeds of one batch).
   */
  needs(rows: number, seq: number, weightGradients = false): Record<string, number> {
    return this.passNeeds([{ batch: rows, seq }], weightGradients);
  }

  /**
   * The memory a backward pass over `batches` needs, by part: the engine's weights and head chunk, per row of every
   * batch the L + 1 kept block boundaries and the cotangent, and a backward block's working set for the widest
   * batch (the recomputed forward and its cotangents: about three forward blocks' activations); with weight
   * gradients, one block's more (summed over the batches block by block, so one block whatever their number); on
   * an MoE model, the MLP input, its cotangent and its result for every token of the pass (the MoE backward runs
   * on all of them at once) and one expert's gradients.
   */
  passNeeds(batches: readonly { batch: number; seq: number }[], weightGradients = false): Record<string, number> {
    const { engine } = this;
    const tokens = batches.reduce((s, b) => s + b.batch * b.seq, 0);
    const longest = Math.max(...batches.map((b) => b.seq));
    const working = Math.max(...batches.map(({ batch, seq }) => Math.min(batch, this.backwardRowsPerRun(seq)) * BACKWARD_ACTIVATIONS * activationBytesPerRow(engine.shape, seq, true)));
    return {
      ...engine.needs(0, longest, 0),
      'kept block boundaries': tokens * (engine.layers + 2) * engine.spec.hidden * 4,
      'backward activations': working,
      ...(weightGradients ? { 'one block of weight gradients': engine.blockBytes } : {}),
      ...(engine.moe ? { 'MoE backward rows': tokens * 3 * engine.spec.hidden * 4 } : {}),
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

  /** Refuses a pass over `batches` that does not fit, naming the need by part, what is free and how to fix it. */
  ensureFits(batches: readonly { batch: number; seq: number }[], weightGradients = false): void {
    ensureFits(this.engine.directory, this.passNeeds(batches, weightGradients));
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

  /** One batch's pass: inputGradients of that batch alone. */
  async inputGradient(request: GradientRequest): Promise<GradientOutput> {
    const { embeddings, batch, seq, targets, ...options } = request;
    return (await this.inputGradients([{ embeddings, batch, seq, targets }], options))[0]!;
  }

  /**
   * The input gradient of each batch, and with onWeightGradient every block weight's gradient summed over the
   * batches, block-major: each block's graph weights are read once for the forward and once for the backward,
   * whatever the number of batches. The forward keeps every batch's residual stream at each block boundary; the backward
   * then runs block l (last first) for every batch (its kept input, the cotangent from block l + 1), sums the
   * weight gradients into one block's worth and hands them over, and keeps each batch's input cotangent for block
   * l − 1. So a text of many batches holds one block's weight gradients, never the model's.
   */
  async inputGradients(batches: readonly GradientBatch[], options: GradientOptions = {}): Promise<GradientOutput[]> {
    const { engine } = this;
    const { signal } = options;
    this.ensureFits(batches, options.onWeightGradient !== undefined);
    const { hidden, heads } = engine.spec;
    const layers = engine.layers;
    const total = layers * (1 + BACKWARD_COST) + 1;
    const progress = (message: string, done: number) => options.onProgress?.(message, done / total);
    const start = Date.now();
    const seconds = () => `${((Date.now() - start) / 1000).toFixed(1)} s`;

    // Forward: each batch's residual stream at each block boundary.
    const states: Float32Array[][] = batches.map((b) => [b.embeddings]);
    for await (const block of engine.sweep(Array.from({ length: layers }, (_, l) => l), signal)) {
      throwIfAborted(signal);
      progress(`block ${block.layer + 1} / ${layers}, ${seconds()}`, block.layer);
      for (const [b, { batch, seq }] of batches.entries()) states[b]!.push((await engine.runBlock(block, states[b]![block.layer]!, batch, seq)).hidden);
    }

    // Head: only the rows that predict a target. `g[b]`: batch b's cotangent at the current block boundary.
    progress(`head, ${seconds()}`, layers);
    const outputs: GradientOutput[] = [];
    const g: Float32Array[] = [];
    for (const [b, { batch, seq, targets: wanted }] of batches.entries()) {
      const rows: number[] = [];
      wanted.forEach((t, i) => t >= 0 && rows.push(i));
      const final = states[b]![layers]!;
      const selected = new Float32Array(rows.length * hidden);
      rows.forEach((r, k) => selected.set(final.subarray(r * hidden, (r + 1) * hidden), k * hidden));
      const targets = Int32Array.from(rows, (r) => wanted[r]!);
      const headGradient = rows.length > 0 ? await this.headGradient(selected, targets, signal) : { gradient: new Float32Array(0), logProbs: new Float64Array(0) };
      const logProbs = new Float64Array(batch);
      rows.forEach((r, k) => (logProbs[Math.floor(r / seq)]! += headGradient.logProbs[k]!));
      const cotangent = new Float32Array(batch * seq * hidden);
      rows.forEach((r, k) => cotangent.set(headGradient.gradient.subarray(k * hidden, (k + 1) * hidden), r * hidden));
      g.push(cotangent);
      outputs.push({ gradient: cotangent, logProbs });
    }

    // Blocks in reverse, each from its kept inputs.
    const { Tensor } = onnxruntime();
    const onesMask = new Float32Array(heads).fill(1);
    const weightGradients = options.onWeightGradient;
    const fetches = [gradName(BLOCK_IO.hidden), ...(weightGradients ? engine.roles.map((r) => gradName(r.role)) : [])];
    for await (const block of engine.sweep(Array.from({ length: layers }, (_, l) => layers - 1 - l), signal)) {
      throwIfAborted(signal);
      const l = block.layer;
      progress(`backward block ${l + 1} / ${layers}, ${seconds()}`, layers + 1 + (layers - 1 - l) * BACKWARD_COST);
      const variant = variantOf(engine, l);
      const session = weightGradients ? await this.weightSession(variant) : this.blocks.get(variant)!;
      const dMlpInputs = engine.moe ? await this.moeBackward(block, batches, states, g, l, options) : undefined;
      // The block's weight gradients, summed over every batch's rows.
      let sums: Record<string, Float32Array> | undefined;
      for (const [b, { batch, seq }] of batches.entries()) {
        // Rows in sub-batches (each row's backward is its own): only one sub-batch's recomputed forward and
        // cotangents are alive at a time, whatever the pass's rows.
        const per = this.backwardRowsPerRun(seq);
        const width = seq * hidden;
        const input = states[b]![l]!;
        const next = per >= batch ? undefined : new Float32Array(batch * width);
        for (let r = 0; r < batch; r += per) {
          const rows = Math.min(per, batch - r);
          const feeds: Record<string, OrtTensor> = {
            [BLOCK_IO.hidden]: new Tensor('float32', input.subarray(r * width, (r + rows) * width), [rows, seq, hidden]),
            [BLOCK_IO.headMask]: new Tensor('float32', onesMask, [heads]),
            [gradName(BLOCK_IO.out)]: new Tensor('float32', g[b]!.subarray(r * width, (r + rows) * width), [rows, seq, hidden]),
          };
          for (const role of engine.roles) feeds[role.role] = new Tensor('float32', block.values[role.role]!, role.shape);
          if (dMlpInputs) feeds[gradName(BLOCK_IO.mlpInput)] = new Tensor('float32', dMlpInputs[b]!.subarray(r * width, (r + rows) * width), [rows * seq, hidden]);
          const out = await session.run(feeds, fetches);
          const dHidden = out[gradName(BLOCK_IO.hidden)]!.data as Float32Array;
          if (next) next.set(dHidden, r * width);
          else g[b] = dHidden;
          if (!weightGradients) continue;
          const part = Object.fromEntries(engine.roles.map((role) => [role.role, out[gradName(role.role)]!.data as Float32Array]));
          if (!sums) sums = part;
          else for (const [role, values] of Object.entries(part)) for (let i = 0; i < values.length; i++) sums[role]![i]! += values[i]!;
        }
        if (next) g[b] = next;
        states[b]![l + 1] = new Float32Array(0);
      }
      if (weightGradients) weightGradients(l, sums!, block.values);
    }
    batches.forEach((_, b) => (outputs[b]!.gradient = g[b]!));
    return outputs;
  }

  /**
   * An MoE block's MLP backward, before its attention graph's: the block's output is the attention residual plus
   * the MLP of its normed input, so the residual's cotangent is g and the MLP input's is the MoE backward of g. Each
   * batch's forward is re-run for that input (and the routing); the MLP is per token, so the backward runs once on
   * every batch's tokens together, streaming each expert once and handing its weight gradients (summed over the
   * pass) over as it comes. Returns each batch's MLP-input cotangent.
   */
  private async moeBackward(block: LoadedBlock, batches: readonly GradientBatch[], states: Float32Array[][], g: readonly Float32Array[], l: number, options: GradientOptions): Promise<Float32Array[]> {
    const { engine } = this;
    const { hidden } = engine.spec;
    const inputs: Float32Array[] = [];
    for (const [b, { batch, seq }] of batches.entries()) inputs.push((await engine.runBlock(block, states[b]![l]!, batch, seq, { moe: { parts: true } })).mlpParts!.input);
    // One batch as it is; several as one array of all their tokens (the expert MLP is per token).
    const join = (parts: readonly Float32Array[]) => (parts.length === 1 ? parts[0]! : concat(parts));
    const tokens = batches.reduce((s, b) => s + b.batch * b.seq, 0);
    const { onWeightGradient, withoutMoeWeights, signal } = options;
    const onGradient = onWeightGradient && !withoutMoeWeights && ((grads: Record<string, Float32Array>, weights: Record<string, Float32Array>) => onWeightGradient(l, grads, weights));
    const dx = await engine.moe!.backward(l, join(inputs), join(g), tokens, signal, onGradient ? { onGradient } : undefined);
    const out: Float32Array[] = [];
    let at = 0;
    for (const { batch, seq } of batches) {
      out.push(dx.subarray(at, at + batch * seq * hidden));
      at += batch * seq * hidden;
    }
    return out;
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
