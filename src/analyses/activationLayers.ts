// Layer importance from forward passes (DESIGN.md §2, §4):
//   block-influence  BI_l = 1 − mean over all positions of cos(input of block l, output of block l) (ShortGPT)
//   angular          mean over positions of arccos(cos)/π
//   ablation         perplexity with block l skipped (its residual updates left out)
//   wanda            mean |W|·‖X‖₂ over the block's linear weights (wanda.ts)
import { openModelRunner } from '../compute/modelRunner';
import { InputError, throwIfAborted } from '../errors';
import type { LayersResult, Progress } from '../protocol/results';
import type { LayerMetric } from './layers';
import { rank } from './layers';
import { cosineAt } from './logits';
import { textNll } from './perplexity';
import type { TextAnalysisInput } from './textInput';
import { tokenizeText } from './textInput';
import { wandaScores } from './wanda';

export async function* activationLayers(input: TextAnalysisInput & { metric: Exclude<LayerMetric, 'weight-l2'> }, signal?: AbortSignal): AsyncGenerator<Progress, LayersResult> {
  yield { message: `Building ${input.model}` };
  const model = await openModelRunner(input.model, input.providers, signal, input.residualStream);
  try {
    const text = await tokenizeText(model, input.text, input.maxTokens);
    const layers = model.layers;
    const scores = new Float64Array(layers);
    if (input.metric === 'ablation' && !model.canSkipBlocks) throw new InputError(`${input.model}: ablation skips blocks, which needs a graph built from a Hugging Face directory; an exported .onnx cannot skip them (use block-influence or angular)`);
    if (input.metric === 'wanda' && model.linearSites.length === 0) throw new InputError(`${input.model}: wanda needs the linear layers' inputs, which only graphs built from a Hugging Face directory expose`);
    if (input.metric === 'wanda') {
      scores.set(yield* wandaScores(model, text, signal));
    } else if (input.metric === 'ablation') {
      for (let l = 0; l < layers; l++) {
        const { nll, predicted } = yield* textNll(model, text, l, signal);
        scores[l] = Math.exp(nll / predicted);
      }
    } else {
      let positions = 0;
      for (const [w, window] of text.windows.entries()) {
        throwIfAborted(signal);
        yield { message: `Window ${w + 1}/${text.windows.length}`, fraction: w / text.windows.length };
        const out = await model.forward([window.map((s) => s.id)], { hidden: true });
        for (let l = 0; l < layers; l++) {
          for (let t = 0; t < out.seq; t++) {
            const cos = cosineAt(out.hidden[l]!, out.hidden[l + 1]!, model.hidden, t);
            scores[l] += input.metric === 'block-influence' ? 1 - cos : Math.acos(cos) / Math.PI;
          }
        }
        positions += out.seq;
      }
      for (let l = 0; l < layers; l++) scores[l] /= positions;
    }
    return {
      metric: input.metric,
      device: model.device,
      path: input.model,
      layers: rank(Array.from(scores, (score, index) => ({ index, score, params: model.blockParameters[index] ?? 0 }))),
      text: { tokens: text.spans.length, windows: text.windows.length, truncated: text.truncated },
      devicesSkipped: model.devicesSkipped,
      warnings: [],
    };
  } finally {
    await model.release();
  }
}
