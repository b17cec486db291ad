// Layer importance from forward passes (docs/analyses.md, docs/cli.md):
//   block-influence  BI_l = 1 − mean over all positions of cos(input of block l, output of block l) (ShortGPT)
//   angular          mean over positions of arccos(cos)/π
//   ablation         perplexity with block l skipped (its residual updates left out), from shared block passes
//   wanda            mean |W|·‖X‖₂ over the block's linear weights (wanda.ts)
//   taylor           Σ |W ⊙ ∂L/∂W| over the block's weights, L the mean NLL of the text (LLM-Pruner; taylor.ts)
//   fisher           ½ Σ F_ii·W_i² over the block's weights, F the diagonal empirical Fisher of per-token NLLs (fisher.ts)
// Each block's cosines are taken as it finishes, so only the stream entering and leaving it is held.
import { openModelRunner, type ModelRunner } from '../compute/modelRunner';
import { InputError, throwIfAborted } from '../errors';
import type { LayersResult, Progress } from '../protocol/results';
import { observeBlocks, withProgress } from './blockPass';
import { rank, type LayerMetric } from './layerMetrics';
import { cosineAt } from './logits';
import type { TextAnalysisInput, TokenizedText } from './textInput';
import { tokenizeText, windowBatches } from './textInput';
import { fisherScores } from './fisher';
import { taylorScores } from './taylor';
import { refuseWandaOnExperts, wandaScores } from './wanda';

export async function* activationLayers(input: TextAnalysisInput & { metric: Exclude<LayerMetric, 'weight-l2'> }, signal?: AbortSignal): AsyncGenerator<Progress, LayersResult> {
  yield { message: `Building ${input.model}` };
  const model = await openModelRunner(input.model, input.providers, signal, input.residualStream);
  try {
    const text = await tokenizeText(model, input.text, input.maxTokens);
    let scores: Float64Array;
    if (input.metric === 'ablation' && !model.ablate) throw new InputError(`${input.model}: ablation skips blocks, which needs a graph built from a Hugging Face directory; an exported .onnx cannot skip them (use block-influence or angular)`);
    if (input.metric === 'wanda') refuseWandaOnExperts(model);
    if (input.metric === 'wanda' && model.linearSites.length === 0) throw new InputError(`${input.model}: wanda needs the linear layers' inputs, which only graphs built from a Hugging Face directory expose`);
    if (input.metric === 'wanda') scores = yield* wandaScores(model, text, signal);
    else if (input.metric === 'taylor') scores = yield* taylorScores(model, text, signal);
    else if (input.metric === 'fisher') scores = yield* fisherScores(model, text, signal);
    else if (input.metric === 'ablation') scores = yield* ablationPerplexities(model, text, signal);
    else scores = yield* cosineScores(model, text, input.metric, signal);
    return {
      metric: input.metric,
      device: model.device,
      path: input.model,
      layers: rank(Array.from(scores, (score, index) => ({ index, score, params: model.blockParameters[index] ?? 0 }))),
      text: { tokens: text.spans.length, windows: text.windows.length, truncated: text.truncated },
      devicesSkipped: model.devicesSkipped,
      ...(model.devices ? { devices: model.devices } : {}),
      warnings: [],
    };
  } finally {
    await model.release();
  }
}

/** Block Influence or angular distance per block, averaged over every position of every window. */
async function* cosineScores(model: ModelRunner, text: TokenizedText, metric: 'block-influence' | 'angular', signal?: AbortSignal): AsyncGenerator<Progress, Float64Array> {
  const scores = new Float64Array(model.layers);
  let positions = 0;
  const windows = text.windows.length;
  for (const { first, rows } of windowBatches(model, text)) {
    throwIfAborted(signal);
    const label = rows.length === 1 ? `Window ${first + 1}/${windows}` : `Windows ${first + 1}–${first + rows.length}/${windows}`;
    yield { message: label, fraction: first / windows };
    const tokens = rows.length * rows[0]!.length;
    yield* withProgress((onProgress) => observeBlocks(model, rows, {
      logits: false, onProgress, ...(signal ? { signal } : {}),
      onBlock: ({ layer, input, output }) => {
        for (let t = 0; t < tokens; t++) {
          const cos = cosineAt(input, output, model.hidden, t);
          scores[layer] += metric === 'block-influence' ? 1 - cos : Math.acos(cos) / Math.PI;
        }
      },
    }), label, first / windows, (first + rows.length) / windows);
    positions += tokens;
  }
  return scores.map((s) => s / positions);
}

/** Perplexity over the text with each block skipped in turn. */
async function* ablationPerplexities(model: ModelRunner, text: TokenizedText, signal?: AbortSignal): AsyncGenerator<Progress, Float64Array> {
  const nll = new Float64Array(model.layers);
  let predicted = 0;
  const windows = text.windows.length;
  for (const [w, window] of text.windows.entries()) {
    throwIfAborted(signal);
    const ids = window.map((s) => s.id);
    const label = `Window ${w + 1}/${windows}`;
    const sums = yield* withProgress((onProgress) => model.ablate!(ids, { onProgress, ...(signal ? { signal } : {}) }), label, w / windows, (w + 1) / windows);
    sums.forEach((s, l) => (nll[l] += s));
    predicted += ids.length - 1;
  }
  return nll.map((s) => Math.exp(s / predicted));
}
