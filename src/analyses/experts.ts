// `experts MODEL --text-file F`: how much each routed expert of each MoE block matters on a text. From the router:
// the share of token-slots routed to the expert and its mean routing weight when chosen. From the model: Δ NLL when
// the expert is dropped as a pruned checkpoint drops it (its router row removed, so softmax and top-k run over the
// others and its tokens go to their next choice; plan/experts.ts writes exactly that model), and how far the
// block's output moves. The drops of block l start from the stream entering it (kept from the plain pass): block
// l's experts each run once on the tokens that have them among their top-(k + 1) (MoeRunner.runEachDrop), and
// blocks l+1..L−1 run for all of the block's drops as one batch, so each block's weights are read once per MoE
// block (L(L+1)/2 reads per window), like layer ablation's sweeps (engine/ablation.ts). Asked for (`taylor`), one
// backward pass over the text then gives each expert's first-order Taylor importance (expertTaylor.ts); it is
// opt-in because on a real MoE a backward costs several forwards, and the default analysis stays forward-only.
import type { BlockEngine } from '../compute/engine/blockEngine';
import { MOE_MODEL_TYPES } from '../compute/families/moeSpec';
import { LanguageModel } from '../compute/languageModel';
import { openModelRunner } from '../compute/modelRunner';
import { InputError, throwIfAborted } from '../errors';
import type { ExpertScore, ExpertsResult, Progress } from '../protocol/results';
import { expertTaylorScores } from './expertTaylor';
import { rank } from './layerMetrics';
import { tokenizeText, type TextAnalysisInput } from './textInput';

/** `taylor`: also the backward pass for each expert's Taylor importance (null in the result without it). */
export interface ExpertsInput extends TextAnalysisInput {
  taylor?: boolean;
}

export async function* expertImportance(input: ExpertsInput, signal?: AbortSignal): AsyncGenerator<Progress, ExpertsResult> {
  yield { message: `Building ${input.model}` };
  const model = await openModelRunner(input.model, input.providers, signal, input.residualStream);
  try {
    if (!(model instanceof LanguageModel)) throw new InputError(`${input.model}: the experts analysis needs a Hugging Face model directory (config.json, safetensors, tokenizer.json) of model_type ${MOE_MODEL_TYPES.join(', ')}; an exported .onnx does not expose its router`);
    const engine = model.engine;
    const moe = engine.moe;
    const sparse = moe ? Array.from({ length: engine.layers }, (_, l) => l).filter((l) => moe.experts(l) > 0) : [];
    if (!moe || sparse.length === 0 || engine.spec.kind !== 'moe') {
      throw new InputError(`${input.model}: has no routed experts; the experts analysis runs Mixture-of-Experts models (model_type ${MOE_MODEL_TYPES.join(', ')})`);
    }
    const spec = engine.spec;
    if (spec.topK >= spec.experts) throw new InputError(`${input.model}: every token is routed to all ${spec.experts} experts (num_experts_per_tok ${spec.topK}); dropping one would leave fewer than it needs`);
    const text = await tokenizeText(model, input.text, input.maxTokens);
    const E = spec.experts;
    const counts = sparse.map(() => new Float64Array(E));
    const gates = sparse.map(() => new Float64Array(E));
    const dropNll = sparse.map(() => new Float64Array(E));
    const change = sparse.map(() => new Float64Array(E));
    let plainNll = 0;
    let predicted = 0;
    let tokens = 0;
    for (const [w, window] of text.windows.entries()) {
      const ids = window.map((s) => s.id);
      const label = `window ${w + 1} / ${text.windows.length}`;
      yield { message: `Routing, ${label}`, fraction: w / text.windows.length };
      const { inputs, outputs, nll } = await plainPass(engine, ids, (slot, routing) => {
        for (let i = 0; i < routing.chosen.length; i++) {
          counts[slot]![routing.chosen[i]!]! += 1;
          gates[slot]![routing.chosen[i]!]! += routing.weights[i]!;
        }
      }, sparse, signal);
      plainNll += nll;
      predicted += ids.length - 1;
      tokens += ids.length;
      for (const [slot, layer] of sparse.entries()) {
        throwIfAborted(signal);
        yield { message: `Dropping each expert of block ${layer}, ${label}`, fraction: (w + (slot + 1) / (sparse.length + 1)) / text.windows.length };
        const dropped = await dropEach(engine, ids, layer, inputs.get(layer)!, outputs.get(layer)!, signal);
        dropped.nll.forEach((v, e) => (dropNll[slot]![e]! += v));
        dropped.change.forEach((v, e) => (change[slot]![e]! += v * ids.length));
      }
    }
    const taylor = input.taylor ? yield* taylorPass(expertTaylorScores(model, text, signal)) : null;
    const blocks = sparse.map((layer, slot) => {
      const scores = Array.from({ length: E }, (_, e) => (dropNll[slot]![e]! - plainNll) / predicted);
      const ranks = rank(scores.map((score, index) => ({ index, score })));
      return {
        index: layer,
        experts: scores.map((score, e): ExpertScore => ({
          index: e, share: counts[slot]![e]! / (tokens * spec.topK), meanGate: counts[slot]![e]! > 0 ? gates[slot]![e]! / counts[slot]![e]! : null,
          score, rank: ranks[e]!.rank, outputChange: change[slot]![e]! / tokens, taylor: taylor ? taylor[layer]![e]! : null,
        })),
      };
    });
    return {
      path: input.model, device: model.device, modelType: spec.modelType, experts: E, topK: spec.topK, tokens, predicted,
      windows: text.windows.length, truncated: text.truncated, nll: plainNll / predicted, blocks,
      denseBlocks: Array.from({ length: engine.layers }, (_, l) => l).filter((l) => !sparse.includes(l)),
      devicesSkipped: model.devicesSkipped, warnings: [],
    };
  } finally {
    await model.release();
  }
}

/** The Taylor pass, whose own progress runs 0..1 again: only its messages are passed on. */
async function* taylorPass(pass: AsyncGenerator<Progress, Float64Array[]>): AsyncGenerator<Progress, Float64Array[]> {
  let step = await pass.next();
  for (; !step.done; step = await pass.next()) yield { message: `Expert Taylor (backward): ${step.value.message}` };
  return step.value;
}

/** The plain pass on one window: the stream entering and leaving every MoE block, each block's routing, total NLL. */
async function plainPass(
  engine: BlockEngine, ids: readonly number[], onRouting: (slot: number, routing: NonNullable<Awaited<ReturnType<BlockEngine['runBlock']>>['routing']>) => void,
  sparse: readonly number[], signal?: AbortSignal,
): Promise<{ inputs: Map<number, Float32Array>; outputs: Map<number, Float32Array>; nll: number }> {
  const seq = ids.length;
  engine.ensureFits(1, seq, 2 * sparse.length + 2);
  let h = await engine.embed([ids], signal);
  const inputs = new Map<number, Float32Array>();
  const outputs = new Map<number, Float32Array>();
  const sweep = engine.sweep(Array.from({ length: engine.layers }, (_, l) => l), signal);
  try {
    for (let l = 0; l < engine.layers; l++) {
      throwIfAborted(signal);
      const block = (await sweep.next()).value!;
      const out = await engine.runBlock(block, h, 1, seq);
      const slot = sparse.indexOf(l);
      if (slot >= 0) {
        inputs.set(l, h);
        outputs.set(l, out.hidden);
        if (out.routing) onRouting(slot, out.routing);
      }
      h = out.hidden;
    }
  } finally {
    await sweep.return(undefined);
  }
  return { inputs, outputs, nll: (await headNll(engine, [h], ids, signal))[0]! };
}

/**
 * For each expert e of block `layer`: the block's output with e dropped (attention as in the plain pass, the MLP
 * re-routed), its relative change against the plain output, and the window's total NLL after blocks layer+1..L−1.
 * Experts go through the later blocks as batch rows, as many per sweep as fit in memory.
 */
async function dropEach(engine: BlockEngine, ids: readonly number[], layer: number, input: Float32Array, plain: Float32Array, signal?: AbortSignal): Promise<{ nll: number[]; change: number[] }> {
  const moe = engine.moe!;
  const E = moe.experts(layer);
  const seq = ids.length;
  const H = engine.spec.hidden;
  // Per drop row: its stream, the batch copy and the output (3 streams); once per group, every token's top-(k + 1)
  // expert outputs and the shared expert's (k + 2 streams), spread over the group's rows for the estimate.
  const once = engine.spec.kind === 'moe' ? engine.spec.topK + 2 : 0;
  const group = Math.max(1, Math.min(E, engine.rowsThatFit(seq, 3 + Math.ceil(once / E), E)));
  engine.ensureFits(group, seq, 3 + Math.ceil(once / group));
  const nll: number[] = [];
  const change: number[] = [];
  for (let a = 0; a < E; a += group) {
    const experts = Array.from({ length: Math.min(group, E - a) }, (_, i) => a + i);
    const sweep = engine.sweep(Array.from({ length: engine.layers - layer }, (_, i) => layer + i), signal);
    let rows: Float32Array[] = [];
    try {
      for (let l = layer; l < engine.layers; l++) {
        throwIfAborted(signal);
        const block = (await sweep.next()).value!;
        if (l === layer) {
          const { mlpParts } = await engine.runBlock(block, input, 1, seq, { moe: { parts: true } });
          for (const y of await moe.runEachDrop(layer, mlpParts!.input, seq, experts, signal)) {
            for (let i = 0; i < y.length; i++) y[i] = mlpParts!.residual[i]! + y[i]!;
            rows.push(y);
            change.push(relativeChange(y, plain, seq, H));
          }
          continue;
        }
        const batch = new Float32Array(rows.length * seq * H);
        rows.forEach((row, r) => batch.set(row, r * seq * H));
        const out = (await engine.runBlock(block, batch, rows.length, seq)).hidden;
        rows = rows.map((_, r) => out.subarray(r * seq * H, (r + 1) * seq * H));
      }
    } finally {
      await sweep.return(undefined);
    }
    nll.push(...(await headNll(engine, rows, ids, signal)));
  }
  return { nll, change };
}

/** Σ over positions t < n−1 of −log p(ids[t+1]) for each row of final streams. */
async function headNll(engine: BlockEngine, rows: readonly Float32Array[], ids: readonly number[], signal?: AbortSignal): Promise<number[]> {
  const seq = ids.length;
  const width = seq * engine.spec.hidden;
  const final = new Float32Array(rows.length * width);
  rows.forEach((row, r) => final.set(row, r * width));
  const targets = new Int32Array(rows.length * seq);
  for (let r = 0; r < rows.length; r++) for (let t = 0; t < seq; t++) targets[r * seq + t] = t + 1 < seq ? ids[t + 1]! : -1;
  const { logProbs } = await engine.runHead(final, rows.length * seq, { targets, ...(signal ? { signal } : {}) });
  return rows.map((_, r) => {
    let sum = 0;
    for (let t = 0; t + 1 < seq; t++) sum -= logProbs![r * seq + t]!;
    return sum;
  });
}

/** Mean over positions of ‖a − b‖ / ‖b‖ ([seq, hidden] each), in float64. */
function relativeChange(a: Float32Array, b: Float32Array, seq: number, hidden: number): number {
  let total = 0;
  for (let t = 0; t < seq; t++) {
    let diff = 0;
    let norm = 0;
    for (let c = t * hidden; c < (t + 1) * hidden; c++) {
      const d = a[c]! - b[c]!;
      diff += d * d;
      norm += b[c]! * b[c]!;
    }
    total += Math.sqrt(diff) / Math.sqrt(norm);
  }
  return total / seq;
}
