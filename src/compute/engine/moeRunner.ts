// The MLP half of a Mixture-of-Experts block, run by the block engine after the family's attention graph: the
// router's logits (one Gemm), softmax and top-k per token here, then each routed expert on only the rows routed to
// it (gathered, run through one gated-MLP session whose weights are inputs, scattered back times the routing
// weight), plus the shared expert on every row (Qwen2-MoE) or a dense MLP for blocks without experts. Experts
// nobody is routed to are not read. The next expert's weights are read while the current one runs (two sets of
// buffers per width), so the weights held are the attention block's plus two experts', never a whole MoE block.
// backward() is the MLP's vector–Jacobian product for the gradient passes (autodiff/modelGradients.ts), streamed
// the same way; asked for weight gradients, it also hands each of the MLP's tensors' gradients (router, each routed
// expert's gate/up/down, the shared expert and its gate) to the caller as it is produced, so no more than one
// expert's gradients are alive at a time.
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { throwIfAborted } from '../../errors';
import { buildBackward, gradName } from '../autodiff/backward';
import type { TensorInfo } from '../../formats/types';
import { buildGatedMlp, buildLinear, LINEAR_IO, MLP_IO } from '../families/expertGraphs';
import type { BlockMlp, MlpTensors } from '../families/types';
import { createSession, onnxruntime, type ProviderName } from '../session';
import { route, routeBackward, type Routing } from './routing';
import { newScratch, type Scratch, type WeightReader } from './weightReader';

export interface MoeRequest {
  /** Experts of this block removed as a pruned checkpoint removes them: softmax and top-k over the others. */
  drop?: readonly number[];
  signal?: AbortSignal;
}

/** A block's MLP with its tensors checked against the checkpoint. */
type Resolved =
  | { kind: 'dense'; mlp: Mlp }
  | { kind: 'sparse'; router: TensorInfo; experts: Mlp[]; topK: number; normTopK: boolean; shared?: { mlp: Mlp; gate: TensorInfo } };

/** Every block's MLP, checked, and the float32 / raw bytes of the widest one (what memory estimates need). */
export interface ResolvedMlps {
  blocks: readonly Resolved[];
  mlpBytes: number;
  mlpRawBytes: number;
}

interface Mlp {
  tensors: [TensorInfo, TensorInfo, TensorInfo];
  width: number;
}

/**
 * One gated MLP to run on the rows listed (all rows when absent), output row i added, times scale[i], into row at[i]
 * (default: the input row) of `into`.
 */
interface Job {
  mlp: Mlp;
  rows?: number[];
  scale?: number[];
  at?: number[];
  /** Per row: sigmoid(x·gate), the shared expert's gate, as the scale. */
  gate?: TensorInfo;
  into: Float32Array;
}

/** A backward job: as Job, plus each row's routing slot (rows · topK), whose weight's cotangent it gives. */
interface BackwardJob extends Omit<Job, 'at'> {
  slots?: number[];
}

type Sparse = Extract<Resolved, { kind: 'sparse' }>;

/**
 * What backward() does with the MLP's weight gradients: `onGradient` receives each part's gradients and its
 * weights, keyed by the checkpoint's tensor names (valid only during the call); only the experts some row is routed
 * to (a pass over several batches runs the MoE backward once on all their tokens, so none is left out of a sum).
 */
export interface MlpWeightGradients {
  onGradient: (gradients: Record<string, Float32Array>, weights: Record<string, Float32Array>) => void;
}

type Weights = { tensors: [Float32Array, Float32Array, Float32Array]; scratch: Scratch };

export class MoeRunner {
  /** Two sets of gated-MLP buffers per width: the one running and the one being read. */
  private readonly buffers = new Map<number, Weights[]>();
  private readonly routerScratch = newScratch();
  private turn = 0;
  private readonly blocks: readonly Resolved[];
  /** The gated MLP's backward graph (cotangent of x, and y), built when a gradient first asks for it. */
  private mlpBackward?: Promise<InferenceSession>;
  /** The same with the weights' cotangents too (weight-gradient metrics). */
  private mlpWeightBackward?: Promise<InferenceSession>;

  private constructor(
    private readonly hidden: number,
    private readonly resolved: ResolvedMlps,
    private readonly reader: WeightReader,
    private readonly mlpSession: InferenceSession,
    private readonly linearSession: InferenceSession,
    private readonly provider: ProviderName,
  ) {
    this.blocks = resolved.blocks;
  }

  /** Every block's MLP tensors checked (names, shapes, dtypes) against the checkpoint: call before anything runs. */
  static resolve(hidden: number, layers: number, blockMlp: (layer: number) => BlockMlp, reader: WeightReader): ResolvedMlps {
    const mlp = (m: MlpTensors): Mlp => ({
      tensors: [reader.tensor(m.gate, [m.intermediate, hidden]), reader.tensor(m.up, [m.intermediate, hidden]), reader.tensor(m.down, [hidden, m.intermediate])],
      width: m.intermediate,
    });
    const blocks = Array.from({ length: layers }, (_, l): Resolved => {
      const b = blockMlp(l);
      if (b.kind === 'dense') return { kind: 'dense', mlp: mlp(b.mlp) };
      return {
        kind: 'sparse', router: reader.tensor(b.router, [b.experts.length, hidden]), experts: b.experts.map(mlp), topK: b.topK, normTopK: b.normTopK,
        ...(b.shared ? { shared: { mlp: mlp(b.shared.mlp), gate: reader.tensor(b.shared.gate, [1, hidden]) } } : {}),
      };
    });
    const all = everyMlp(blocks);
    return {
      blocks,
      mlpBytes: Math.max(0, ...all.map((m) => m.tensors.reduce((s, t) => s + t.count * 4, 0))),
      mlpRawBytes: Math.max(0, ...all.map((m) => m.tensors.reduce((s, t) => s + t.byteLength, 0))),
    };
  }

  static async create(resolved: ResolvedMlps, reader: WeightReader, hidden: number, provider: ProviderName): Promise<MoeRunner> {
    const mlpSession = await createSession(buildGatedMlp(hidden), provider);
    const linearSession = await createSession(buildLinear(hidden), provider);
    return new MoeRunner(hidden, resolved, reader, mlpSession, linearSession, provider);
  }

  /** Float32 bytes of the widest MLP's weights (an expert, the shared expert or a dense MLP). */
  get mlpBytes(): number {
    return this.resolved.mlpBytes;
  }

  /** The widest MLP (an expert, the shared expert or a dense MLP): activation estimates. */
  get widest(): number {
    return Math.max(0, ...everyMlp(this.blocks).map((m) => m.width));
  }

  /** Every tensor of block `layer`'s MLP (router, experts, shared expert and its gate, or the dense MLP's). */
  tensors(layer: number): TensorInfo[] {
    const b = this.blocks[layer]!;
    if (b.kind === 'dense') return [...b.mlp.tensors];
    return [b.router, ...b.experts.flatMap((m) => m.tensors), ...(b.shared ? [...b.shared.mlp.tensors, b.shared.gate] : [])];
  }

  /** By tensor name, the routed expert of block `layer` the tensor belongs to (empty for a dense block). */
  expertOfTensor(layer: number): Map<string, number> {
    const b = this.blocks[layer]!;
    return new Map(b.kind === 'dense' ? [] : b.experts.flatMap((m, e) => m.tensors.map((t) => [t.name, e] as const)));
  }

  /** Whether block `layer` routes to experts, and how many. */
  experts(layer: number): number {
    const b = this.blocks[layer]!;
    return b.kind === 'sparse' ? b.experts.length : 0;
  }

  /** The MLP's output [rows, hidden] for its normed input `x` [rows, hidden], and the routing of a sparse block. */
  async run(layer: number, x: Float32Array, rows: number, request: MoeRequest = {}): Promise<{ y: Float32Array; routing?: Routing }> {
    const block = this.blocks[layer]!;
    const y = new Float32Array(rows * this.hidden);
    if (block.kind === 'dense') {
      await this.runJobs([{ mlp: block.mlp, into: y }], x, rows, request.signal);
      return { y };
    }
    const experts = block.experts.length;
    const routing = route(await this.routerLogits(block, x, rows, request.signal), rows, experts, block.topK, block.normTopK, request.drop);
    const jobs: Job[] = block.experts.map((mlp) => ({ mlp, rows: [], scale: [], into: y }));
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < block.topK; k++) {
        const job = jobs[routing.chosen[r * block.topK + k]!]!;
        job.rows!.push(r);
        job.scale!.push(routing.weights[r * block.topK + k]!);
      }
    }
    await this.runJobs([...jobs.filter((j) => j.rows!.length > 0), ...(block.shared ? [{ mlp: block.shared.mlp, gate: block.shared.gate, into: y }] : [])], x, rows, request.signal);
    return { y, routing };
  }

  /**
   * The MLP's output with each expert of `drops` removed in turn (what run(…, { drop: [e] }) gives for each e), with
   * every expert read and run once: after one drop a token's experts are among its top-(k + 1), so each expert runs on
   * the rows that have it there and each drop only re-weighs those outputs.
   */
  async runEachDrop(layer: number, x: Float32Array, rows: number, drops: readonly number[], signal?: AbortSignal): Promise<Float32Array[]> {
    const block = this.blocks[layer]!;
    if (block.kind !== 'sparse') throw new Error(`block ${layer} has no routed experts`);
    const H = this.hidden;
    const experts = block.experts.length;
    const { topK, normTopK } = block;
    if (topK >= experts) throw new Error(`block ${layer}: dropping one of ${experts} experts leaves fewer than top-${topK}`);
    const logits = await this.routerLogits(block, x, rows, signal);
    const wide = topK + 1;
    const candidates = route(logits, rows, experts, wide, false).chosen;
    // outputs[(r·wide + j)·H …]: candidate j of token r's expert output on that token.
    const outputs = new Float32Array(rows * wide * H);
    const jobs: Job[] = block.experts.map((mlp) => ({ mlp, rows: [], at: [], into: outputs }));
    for (let slot = 0; slot < rows * wide; slot++) {
      const job = jobs[candidates[slot]!]!;
      job.rows!.push(Math.floor(slot / wide));
      job.at!.push(slot);
    }
    const shared = new Float32Array(block.shared ? rows * H : 0);
    await this.runJobs([...jobs.filter((j) => j.rows!.length > 0), ...(block.shared ? [{ mlp: block.shared.mlp, gate: block.shared.gate, into: shared }] : [])], x, rows, signal);
    return drops.map((e) => {
      const routing = route(logits, rows, experts, topK, normTopK, [e]);
      const y = block.shared ? Float32Array.from(shared) : new Float32Array(rows * H);
      for (let r = 0; r < rows; r++) {
        for (let k = 0; k < topK; k++) {
          const expert = routing.chosen[r * topK + k]!;
          let j = 0;
          while (candidates[r * wide + j] !== expert) j++;
          const w = routing.weights[r * topK + k]!;
          const from = (r * wide + j) * H;
          for (let c = 0; c < H; c++) y[r * H + c] = y[r * H + c]! + w * outputs[from + c]!;
        }
      }
      return y;
    });
  }

  private async routerLogits(block: Sparse, x: Float32Array, rows: number, signal?: AbortSignal): Promise<Float32Array> {
    return this.linear(x, rows, await this.readRouter(block, signal), block.experts.length);
  }

  private async readRouter(block: Sparse, signal?: AbortSignal): Promise<Float32Array> {
    const router = new Float32Array(block.experts.length * this.hidden);
    await this.reader.read([block.router], [router], this.routerScratch, signal);
    return router;
  }

  private async linear(x: Float32Array, rows: number, weight: Float32Array, out: number): Promise<Float32Array> {
    const { Tensor } = onnxruntime();
    const result = await this.linearSession.run({
      [LINEAR_IO.x]: new Tensor('float32', x, [rows, this.hidden]),
      [LINEAR_IO.weight]: new Tensor('float32', weight, [out, this.hidden]),
    });
    return result[LINEAR_IO.y]!.data as Float32Array;
  }

  /** Runs the jobs in order, reading job i + 1's weights while job i runs; adds their outputs where they say. */
  private async runJobs(jobs: readonly Job[], x: Float32Array, rows: number, signal?: AbortSignal): Promise<void> {
    const { Tensor } = onnxruntime();
    await this.streamed(jobs.map((j) => j.mlp), signal, async (j, weights) => {
      const job = jobs[j]!;
      const n = job.rows?.length ?? rows;
      const input = job.rows ? gatherRows(x, job.rows, this.hidden) : x;
      const out = (await this.mlpSession.run({ [MLP_IO.x]: new Tensor('float32', input, [n, this.hidden]), ...this.mlpFeeds(job.mlp, weights) }))[MLP_IO.y]!.data as Float32Array;
      const scale = job.gate ? await this.sharedGate(job.gate, x, rows, signal) : job.scale;
      const H = this.hidden;
      const y = job.into;
      for (let i = 0; i < n; i++) {
        const row = job.at ? job.at[i]! : job.rows ? job.rows[i]! : i;
        const s = scale ? scale[i]! : 1;
        for (let c = 0; c < H; c++) y[row * H + c] = y[row * H + c]! + s * out[i * H + c]!;
      }
    });
  }

  /**
   * The cotangent of the MLP's input `x` [rows, hidden] for the cotangent `gy` of its output, routing as run()
   * routes. The routing choice is piecewise constant (its gradient is zero), so the gradient flows through each
   * chosen expert (its gated MLP's backward on its rows, the cotangent times the row's routing weight), through the
   * chosen weights to the router's logits and its matrix (routing.ts routeBackward), and through the shared expert
   * and its sigmoid gate. Experts stream as in the forward: two experts' weights held, whatever the block's size.
   */
  async backward(layer: number, x: Float32Array, gy: Float32Array, rows: number, signal?: AbortSignal, weightGradients?: MlpWeightGradients): Promise<Float32Array> {
    const block = this.blocks[layer]!;
    const H = this.hidden;
    const dx = new Float32Array(rows * H);
    if (block.kind === 'dense') {
      await this.backwardJobs([{ mlp: block.mlp, into: dx }], x, gy, rows, signal, undefined, weightGradients);
      return dx;
    }
    const experts = block.experts.length;
    const router = await this.readRouter(block, signal);
    const logits = await this.linear(x, rows, router, experts);
    const routing = route(logits, rows, experts, block.topK, block.normTopK);
    const { topK } = block;
    const jobs: BackwardJob[] = block.experts.map((mlp) => ({ mlp, rows: [], scale: [], slots: [], into: dx }));
    for (let slot = 0; slot < rows * topK; slot++) {
      const job = jobs[routing.chosen[slot]!]!;
      job.rows!.push(Math.floor(slot / topK));
      job.scale!.push(routing.weights[slot]!);
      job.slots!.push(slot);
    }
    const dWeights = new Float32Array(rows * topK);
    const routed = jobs.filter((j) => j.rows!.length > 0);
    await this.backwardJobs([...routed, ...(block.shared ? [{ mlp: block.shared.mlp, gate: block.shared.gate, into: dx }] : [])], x, gy, rows, signal, dWeights, weightGradients);
    const dLogits = routeBackward(logits, routing, block.normTopK, dWeights);
    for (let r = 0; r < rows; r++) {
      for (let e = 0; e < experts; e++) {
        const d = dLogits[r * experts + e]!;
        if (d === 0) continue;
        for (let c = 0; c < H; c++) dx[r * H + c] = dx[r * H + c]! + d * router[e * H + c]!;
      }
    }
    // logits = x · routerᵀ, so ∂/∂router = dLogitsᵀ · x.
    if (weightGradients) weightGradients.onGradient({ [block.router.name]: outerSum(dLogits, x, rows, experts, H) }, { [block.router.name]: router });
    return dx;
  }

  /**
   * Each job's gated-MLP backward on its rows, the output cotangent times the job's scale (a routing weight, or the
   * shared expert's gate), its input cotangent added into `into`; per routed slot, the cotangent of the slot's
   * routing weight (gy · the expert's output) into `dWeights`; the shared expert's gate differentiated here. With
   * `weightGradients`, each job's gate/up/down gradients (and the shared gate's) are handed over as the job ends.
   */
  private async backwardJobs(jobs: readonly BackwardJob[], x: Float32Array, gy: Float32Array, rows: number, signal?: AbortSignal, dWeights?: Float32Array, weightGradients?: MlpWeightGradients): Promise<void> {
    const { Tensor } = onnxruntime();
    const session = await this.backwardSession(weightGradients !== undefined);
    const H = this.hidden;
    await this.streamed(jobs.map((j) => j.mlp), signal, async (j, weights) => {
      const job = jobs[j]!;
      const n = job.rows?.length ?? rows;
      const named = (values: readonly Float32Array[]) => Object.fromEntries(job.mlp.tensors.map((t, k) => [t.name, values[k]!]));
      if (n === 0) {
        // An expert no row is routed to (handed over only when every expert is asked for): zero gradients.
        weightGradients?.onGradient(named(weights.tensors.map((w) => new Float32Array(w.length))), named(weights.tensors));
        return;
      }
      const gate = job.gate ? new Float32Array(H) : undefined;
      if (job.gate) await this.reader.read([job.gate], [gate!], this.routerScratch, signal);
      const scale = gate ? Array.from(await this.linear(x, rows, gate, 1), (v) => 1 / (1 + Math.exp(-v))) : job.scale;
      const cotangent = new Float32Array(n * H);
      for (let i = 0; i < n; i++) {
        const row = job.rows ? job.rows[i]! : i;
        const s = scale ? scale[i]! : 1;
        for (let c = 0; c < H; c++) cotangent[i * H + c] = s * gy[row * H + c]!;
      }
      const input = job.rows ? gatherRows(x, job.rows, H) : x;
      const weightFetches = weightGradients ? [MLP_IO.gate, MLP_IO.up, MLP_IO.down].map(gradName) : [];
      const out = await session.run({
        [MLP_IO.x]: new Tensor('float32', input, [n, H]),
        [gradName(MLP_IO.y)]: new Tensor('float32', cotangent, [n, H]),
        ...this.mlpFeeds(job.mlp, weights),
      }, [gradName(MLP_IO.x), MLP_IO.y, ...weightFetches]);
      if (weightGradients) weightGradients.onGradient(named(weightFetches.map((f) => out[f]!.data as Float32Array)), named(weights.tensors));
      const gx = out[gradName(MLP_IO.x)]!.data as Float32Array;
      const y = out[MLP_IO.y]!.data as Float32Array;
      const dz = gate ? new Float32Array(n) : undefined;
      for (let i = 0; i < n; i++) {
        const row = job.rows ? job.rows[i]! : i;
        for (let c = 0; c < H; c++) job.into[row * H + c] = job.into[row * H + c]! + gx[i * H + c]!;
        if (!job.slots && !gate) continue;
        let dot = 0;
        for (let c = 0; c < H; c++) dot += gy[row * H + c]! * y[i * H + c]!;
        if (job.slots) dWeights![job.slots[i]!] = dot;
        else {
          // Shared expert: y = σ(z) · mlp(x), z = gate · x, so ∂/∂z = (gy · mlp(x)) σ (1 − σ).
          dz![i] = dot * scale![i]! * (1 - scale![i]!);
          for (let c = 0; c < H; c++) job.into[row * H + c] = job.into[row * H + c]! + dz![i]! * gate![c]!;
        }
      }
      // z = x · gateᵀ, so ∂/∂gate = dzᵀ · x.
      if (weightGradients && gate) weightGradients.onGradient({ [job.gate!.name]: outerSum(dz!, x, rows, 1, H) }, { [job.gate!.name]: gate });
    });
  }

  /** The gated MLP's backward graph: the cotangent of x and y, and with `weights` the cotangents of gate/up/down. */
  private backwardSession(weights: boolean): Promise<InferenceSession> {
    const build = () => createSession(buildBackward(buildGatedMlp(this.hidden), { output: MLP_IO.y, wrt: [MLP_IO.x, ...(weights ? [MLP_IO.gate, MLP_IO.up, MLP_IO.down] : [])], keep: [MLP_IO.y] }), this.provider);
    if (weights) return (this.mlpWeightBackward ??= build());
    return (this.mlpBackward ??= build());
  }

  /** Calls `use` on each MLP's weights in order, reading MLP i + 1's while MLP i's are used (two buffer sets). */
  private async streamed(mlps: readonly Mlp[], signal: AbortSignal | undefined, use: (index: number, weights: Weights) => Promise<void>): Promise<void> {
    const load = (mlp: Mlp): Promise<Weights> => {
      const weights = this.weights(mlp.width);
      return this.reader.read(mlp.tensors, weights.tensors, weights.scratch, signal).then(() => weights);
    };
    let pending: Promise<Weights> | undefined = mlps.length > 0 ? load(mlps[0]!) : undefined;
    try {
      for (let j = 0; j < mlps.length; j++) {
        throwIfAborted(signal);
        const weights = await pending!;
        pending = j + 1 < mlps.length ? load(mlps[j + 1]!) : undefined;
        await use(j, weights);
      }
    } finally {
      pending?.catch(() => undefined);
    }
  }

  private mlpFeeds(mlp: Mlp, weights: Weights): Record<string, OrtTensor> {
    const { Tensor } = onnxruntime();
    const w = mlp.width;
    return {
      [MLP_IO.gate]: new Tensor('float32', weights.tensors[0], [w, this.hidden]),
      [MLP_IO.up]: new Tensor('float32', weights.tensors[1], [w, this.hidden]),
      [MLP_IO.down]: new Tensor('float32', weights.tensors[2], [this.hidden, w]),
    };
  }

  /** Per row: sigmoid(x·gate), the shared expert's gate. */
  private async sharedGate(gate: TensorInfo, x: Float32Array, rows: number, signal?: AbortSignal): Promise<number[]> {
    const weight = new Float32Array(this.hidden);
    await this.reader.read([gate], [weight], this.routerScratch, signal);
    return Array.from(await this.linear(x, rows, weight, 1), (v) => 1 / (1 + Math.exp(-v)));
  }

  /** The next of the two buffer sets for MLPs of this width (allocated on first use). */
  private weights(width: number): Weights {
    let sets = this.buffers.get(width);
    if (!sets) {
      const set = (): Weights => ({ tensors: [new Float32Array(width * this.hidden), new Float32Array(width * this.hidden), new Float32Array(width * this.hidden)], scratch: newScratch() });
      sets = [set(), set()];
      this.buffers.set(width, sets);
    }
    return sets[this.turn++ % 2]!;
  }

  /** Bytes of the MLP buffers held now. */
  get bytesHeld(): number {
    return [...this.buffers.values()].flat().reduce((s, w) => s + w.tensors.reduce((a, t) => a + t.byteLength, 0) + w.scratch.bytes.length, 0);
  }

  async release(): Promise<void> {
    await this.mlpSession.release();
    await this.linearSession.release();
    await (await this.mlpBackward?.catch(() => undefined))?.release();
    await (await this.mlpWeightBackward?.catch(() => undefined))?.release();
  }
}

function everyMlp(blocks: readonly Resolved[]): Mlp[] {
  return blocks.flatMap((b) => (b.kind === 'dense' ? [b.mlp] : [...b.experts, ...(b.shared ? [b.shared.mlp] : [])]));
}

/** Σ_r d[r, o] · x[r, c] as [out, width]: the gradient of a linear map's [out, width] weight from its output's cotangent d [rows, out]. */
function outerSum(d: Float32Array, x: Float32Array, rows: number, out: number, width: number): Float32Array {
  const acc = new Float64Array(out * width);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      const v = d[r * out + o]!;
      if (v === 0) continue;
      for (let c = 0; c < width; c++) acc[o * width + c]! += v * x[r * width + c]!;
    }
  }
  return Float32Array.from(acc);
}

function gatherRows(x: Float32Array, rows: readonly number[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => out.set(x.subarray(r * width, (r + 1) * width), i * width));
  return out;
}
