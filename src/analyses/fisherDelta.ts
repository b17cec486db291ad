// The Fisher-weighted change of a fine-tune (`delta BASE TUNED --fisher-text T`): per block tensor Σ_i F_i·Δ_i²,
// F the diagonal empirical Fisher of the BASE model on the text (F_i = mean over predicted tokens t of
// (∂ℓ_t/∂W_i)², ℓ_t = −log p(token t | the tokens before it)), Δ = W_tuned − W_base. ½ Σ F·Δ² is the second-order
// estimate of how much the base's loss on the text rises when the change is applied (the empirical Fisher standing
// in for the Hessian), so it weighs a change by how much the base relies on the weights it moved: Matena & Raffel's
// Fisher-weighted merging weighs each parameter by F for the same reason. F is measured on the base so that every
// fine-tune of it is weighed by one and the same F.
// F needs each token's own gradient (fisher.ts's loop: one backward pass per token), and the squares of every block
// weight's gradient summed over tokens: a float32 copy of the block weights, held until a last sweep reads the base
// and tuned block weights side by side. Both are read through the block engine's own view of the checkpoint (a
// GGUF file's rows un-permuted), so F and Δ line up element by element whatever the format. Only block weights have
// gradients here; embeddings, the final norm and the head get none (their figures are null). On an MoE model the
// MLP's tensors (router, every expert, the shared expert and its gate) are block weights too: their F comes by
// tensor name as the MoE backward streams them, and an expert no token is routed to has F = 0 (its figure is 0).
import { dirname } from 'node:path';
import { ModelGradients } from '../compute/autodiff/modelGradients';
import type { BlockEngine } from '../compute/engine/blockEngine';
import { ensureFits } from '../compute/engine/memory';
import { openModelSource } from '../compute/engine/modelSource';
import { newScratch, WeightReader } from '../compute/engine/weightReader';
import { openModelRunner, type ModelRunner } from '../compute/modelRunner';
import { InputError, throwIfAborted } from '../errors';
import type { DeltaResult, Progress, TextUsage } from '../protocol/results';
import type { TextSource } from '../protocol/worker';
import { gradientEngine, perTokenWeightGradients, predictedTokens } from './fisher';
import { rank } from './layerMetrics';
import { tokenizeText, type TokenizedText } from './textInput';

export interface FisherDeltaInput {
  base: string;
  tuned: string;
  text: TextSource;
  maxTokens?: number;
  providers?: readonly string[];
}

export interface FisherWeightedChange {
  /** Σ F·Δ² per block tensor, by the checkpoint's own tensor name. */
  byTensor: Map<string, number>;
  text: TextUsage;
  /** Tokens whose gradients make up F. */
  predicted: number;
  device: string;
}

export async function* fisherWeightedChange(input: FisherDeltaInput, signal?: AbortSignal): AsyncGenerator<Progress, FisherWeightedChange> {
  yield { message: `Building ${input.base} (the Fisher is taken on the base)` };
  const model = await openModelRunner(input.base, input.providers, signal);
  try {
    gradientEngine(model, 'delta --fisher-text');
    const text = await tokenizeText(model, input.text, input.maxTokens);
    const byTensor = yield* fisherOfChange(model, input.tuned, text, signal);
    return { byTensor, text: { tokens: text.spans.length, windows: text.windows.length, truncated: text.truncated }, predicted: predictedTokens(text), device: model.device };
  } finally {
    await model.release();
  }
}

/** Σ F·Δ² per block tensor of `model` (the base) against `tunedPath`, F from the windows of `text`. */
export async function* fisherOfChange(model: ModelRunner, tunedPath: string, text: TokenizedText, signal?: AbortSignal): AsyncGenerator<Progress, Map<string, number>> {
  const engine = gradientEngine(model, 'delta --fisher-text');
  const predicted = predictedTokens(text);
  if (predicted < 1) throw new InputError('delta --fisher-text needs a text of at least two tokens (one gradient per token after the first)');
  const tuned = await openModelSource(modelPath(tunedPath));
  refuseOtherArchitecture(engine, tuned.spec, model.path, tunedPath);
  const reader = new WeightReader(tuned.header, tuned.path, tuned.view);
  let baseReader: WeightReader | undefined;
  try {
    const tunedTensors = Array.from({ length: engine.layers }, (_, l) => {
      const byRole = new Map(engine.family.blockTensors(engine.spec, l, reader.has).map((t) => [t.role, t]));
      return engine.roles.map((r) => {
        const t = byRole.get(r.role);
        if (!t) throw new InputError(`${tunedPath}: block ${l} has no ${r.role} (${engine.tensorNames(l)[r.role]} in the base); the Fisher-weighted delta needs the same tensors in both`);
        return reader.tensor(t.name, r.shape);
      });
    });
    // MoE: the MLP tensors of every block, by the base's names, found in the tuned checkpoint too.
    const mlpTensors = Array.from({ length: engine.moe ? engine.layers : 0 }, (_, l) => engine.moe!.tensors(l));
    const tunedMlp = mlpTensors.map((tensors, l) => tensors.map((t) => {
      if (!reader.has(t.name)) throw new InputError(`${tunedPath}: block ${l} has no ${t.name} (a tensor of the base's MoE MLP); the Fisher-weighted delta needs the same tensors in both`);
      return reader.tensor(t.name, t.shape);
    }));
    const gradients = await ModelGradients.open(engine);
    // By block: the Σ over tokens of g² of each weight, by role (block graph) or tensor name (MoE MLP).
    const fisher: (Record<string, Float32Array> | undefined)[] = [];
    try {
      const longest = Math.max(...text.windows.map((w) => w.length));
      const mlpBytes = mlpTensors.flat().reduce((s, t) => s + t.count * 4, 0);
      ensureFits(model.path, { 'the diagonal Fisher of every block weight (float32)': engine.layers * engine.blockBytes + mlpBytes, ...gradients.needs(1, longest, true) });
      yield* perTokenWeightGradients(gradients, engine, text, (layer, grads) => {
        const f = (fisher[layer] ??= {});
        for (const [key, g] of Object.entries(grads)) {
          const sum = (f[key] ??= new Float32Array(g.length));
          for (let i = 0; i < g.length; i++) sum[i]! += g[i]! * g[i]!;
        }
      }, signal);
    } finally {
      await gradients.release();
    }
    yield { message: 'Weighing the change by the Fisher' };
    const byTensor = new Map<string, number>();
    const scratch = newScratch();
    const tunedValues = engine.roles.map((r) => new Float32Array(r.shape.reduce((a, b) => a * b, 1)));
    // The MoE MLP's base tensors are not in the engine's block sweep: read from the base checkpoint, one at a time.
    const baseSource = engine.moe ? await openModelSource(modelPath(model.path)) : undefined;
    baseReader = baseSource ? new WeightReader(baseSource.header, baseSource.path, baseSource.view) : undefined;
    for await (const block of engine.sweep(Array.from({ length: engine.layers }, (_, l) => l), signal)) {
      throwIfAborted(signal);
      const l = block.layer;
      await reader.read(tunedTensors[l]!, tunedValues, scratch, signal);
      const names = engine.tensorNames(l);
      engine.roles.forEach((r, k) => {
        byTensor.set(names[r.role]!, weighedChange(fisher[l]![r.role]!, block.values[r.role]!, tunedValues[k]!) / predicted);
      });
      if (baseReader) {
        for (const [k, t] of mlpTensors[l]!.entries()) {
          const f = fisher[l]![t.name];
          if (!f) {
            byTensor.set(t.name, 0); // no token was routed to this expert: its F is 0
            continue;
          }
          const base = new Float32Array(t.count);
          const after = new Float32Array(t.count);
          await baseReader.read([baseReader.tensor(t.name, t.shape)], [base], scratch, signal);
          await reader.read([tunedMlp[l]![k]!], [after], scratch, signal);
          byTensor.set(t.name, weighedChange(f, base, after) / predicted);
        }
      }
      fisher[l] = undefined;
    }
    return byTensor;
  } finally {
    await reader.close();
    await baseReader?.close();
  }
}

/** Σ_i F_i (after_i − base_i)². */
function weighedChange(f: Float32Array, base: Float32Array, after: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < f.length; i++) {
    const d = after[i]! - base[i]!;
    sum += f[i]! * d * d;
  }
  return sum;
}

/** A weights file or config.json of a Hugging Face directory names the directory (as openModelRunner reads it). */
const modelPath = (path: string): string => (/(^|[\\/])config\.json$|\.safetensors$/i.test(path) ? dirname(path) : path);

/** The block graph's shape must be the same: the Fisher of one architecture says nothing about another's weights. */
function refuseOtherArchitecture(engine: BlockEngine, tuned: BlockEngine['spec'], basePath: string, tunedPath: string): void {
  const base = engine.spec;
  const fields = ['modelType', 'layers', 'hidden', 'heads', 'kvHeads', 'headDim', 'intermediate'] as const;
  const of = (spec: BlockEngine['spec']) => spec as unknown as Record<string, unknown>;
  const differ = fields.filter((f) => of(base)[f] !== of(tuned)[f]);
  if (differ.length > 0) {
    const show = (spec: BlockEngine['spec']) => differ.map((f) => `${f} ${String(of(spec)[f])}`).join(', ');
    throw new InputError(`delta --fisher-text: ${basePath} (${show(base)}) and ${tunedPath} (${show(tuned)}) are different architectures; a Fisher-weighted delta compares a fine-tune with its own base`);
  }
}

/** The delta result with the Fisher-weighted figures beside the unweighted ones (docs/analyses.md, Fisher-weighted delta). */
export function withFisher(result: DeltaResult, weights: FisherWeightedChange, base: string): DeltaResult {
  const compared = result.tensors.map((t) => weights.byTensor.get(t.name) ?? null);
  const total = compared.reduce<number>((s, v) => s + (v ?? 0), 0);
  const share = (v: number | null) => (v === null ? null : total > 0 ? v / total : 0);
  const tensors = result.tensors.map((t, i) => ({ ...t, fisherWeighted: compared[i]!, fisherShare: share(compared[i]!) }));
  const perLayer = (index: number | null): number | null => {
    const members = tensors.filter((t) => t.layer === index && t.fisherWeighted !== null);
    return members.length === 0 ? null : members.reduce((s, t) => s + t.fisherWeighted!, 0);
  };
  const values = new Map(result.layers.map((l) => [l.index, perLayer(l.index)]));
  const ranked = rank(result.layers.flatMap((l) => (l.index !== null && values.get(l.index) !== null ? [{ index: l.index, score: values.get(l.index)! }] : [])));
  const ranks = new Map(ranked.map((r) => [r.index, r.rank]));
  const layers = result.layers.map((l) => ({ ...l, fisherWeighted: values.get(l.index)!, fisherShare: share(values.get(l.index)!), fisherRank: l.index === null ? null : (ranks.get(l.index) ?? null) }));
  const warnings = [...result.warnings];
  const missing = tensors.filter((t) => t.fisherWeighted === null && t.layer !== null).length;
  if (missing > 0) warnings.push(`${missing} block tensor(s) were compared but have no Fisher weight (not read by the block graph)`);
  return { ...result, tensors, layers, fisher: { model: base, text: weights.text, predicted: weights.predicted, device: weights.device, total }, warnings };
}
