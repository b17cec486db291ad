// Wanda (Sun et al., 2023) per block: a weight's score is |W_ij|·‖X_j‖₂, with ‖X_j‖₂ the norm of input feature j
// over every token of the text; a block's score is the mean over the weights of its linear layers. The feature
// norms come from the linear layers' inputs in the forward pass; the weights are streamed from the checkpoint
// (|W| summed per input feature), so no weight matrix is held twice.
import { LanguageModel } from '../compute/languageModel';
import type { ModelRunner } from '../compute/modelRunner';
import { FileHandles, tensorChunks } from '../compute/tensorStream';
import { InputError, throwIfAborted } from '../errors';
import { openCheckpoint } from '../formats/open';
import type { Progress } from '../protocol/results';
import { withProgress } from './blockPass';
import type { TokenizedText } from './textInput';

/**
 * Σ over the text's tokens of x_j² for every input feature j of every linear site (model.linearSites order),
 * gathered as each block finishes: a block's linear inputs are reduced and dropped before the next block runs.
 */
export async function* inputSquares(model: ModelRunner, text: TokenizedText, signal?: AbortSignal): AsyncGenerator<Progress, Float64Array[]> {
  refuseWandaOnExperts(model);
  const sites = model.linearSites;
  const squares = sites.map((site) => new Float64Array(site.width));
  const byLayer = new Map<number, number[]>();
  sites.forEach((site, i) => byLayer.set(site.layer, [...(byLayer.get(site.layer) ?? []), i]));
  const windows = text.windows.length;
  for (const [w, window] of text.windows.entries()) {
    throwIfAborted(signal);
    const label = `Window ${w + 1}/${windows}: linear-layer inputs`;
    yield { message: label, fraction: w / (windows + 1) };
    const accumulate = (index: number, x: Float32Array) => {
      const sum = squares[index]!;
      const width = sum.length;
      for (let k = 0; k < x.length; k++) sum[k % width]! += x[k]! * x[k]!;
    };
    const out = yield* withProgress((onProgress) => model.forward([window.map((s) => s.id)], {
      linearInputs: true, logits: false, onProgress, ...(signal ? { signal } : {}),
      onBlock: ({ layer, linearInputs }) => linearInputs?.forEach((x, k) => accumulate(byLayer.get(layer)![k]!, x)),
    }), label, w / (windows + 1), (w + 1) / (windows + 1));
    // A runner that does not stream hands them all back at the end instead.
    if (!model.streams) out.linearInputs.forEach((x, i) => accumulate(i, x));
  }
  return squares;
}

/** Mean Wanda score per weight of each block's linear layers. */
export async function* wandaScores(model: ModelRunner, text: TokenizedText, signal?: AbortSignal): AsyncGenerator<Progress, Float64Array> {
  const sites = model.linearSites;
  const squares = yield* inputSquares(model, text, signal);
  yield { message: 'Weights × input norms', fraction: text.windows.length / (text.windows.length + 1) };
  // The model's path: its directory, or its .gguf file (linear sites name the checkpoint's own tensors).
  const { header } = await openCheckpoint(model.path);
  const byName = new Map((header?.tensors ?? []).map((t) => [t.name, t]));
  const totals = new Float64Array(model.layers);
  const counts = new Float64Array(model.layers);
  const handles = new FileHandles();
  try {
    for (const [i, site] of sites.entries()) {
      const norms = squares[i]!.map(Math.sqrt);
      for (const weight of site.weights) {
        const tensor = byName.get(weight.name);
        if (!tensor) throw new InputError(`${model.directory}: weight '${weight.name}' is missing`);
        // The input feature of flat element k: its column for [out, in], its row for GPT-2's Conv1D [in, out].
        const outputs = tensor.count / site.width;
        let score = 0;
        for await (const { values, count, offset } of tensorChunks(tensor, handles, signal)) {
          for (let k = 0; k < count; k++) {
            const feature = weight.layout === 'out-in' ? (offset + k) % site.width : Math.floor((offset + k) / outputs);
            score += Math.abs(values[k]!) * norms[feature]!;
          }
        }
        totals[site.layer]! += score;
        counts[site.layer]! += tensor.count;
      }
    }
  } finally {
    await handles.close();
  }
  return totals.map((total, l) => (counts[l]! > 0 ? total / counts[l]! : 0));
}

/**
 * Wanda on a Mixture-of-Experts model would need each expert's input norms over the rows routed to it, which the
 * engine does not collect; scoring only attention (and leaving experts dense) would not be Wanda. Refused by name.
 */
export function refuseWandaOnExperts(model: ModelRunner): void {
  if (model instanceof LanguageModel && model.spec.kind === 'moe') {
    throw new InputError(`${model.path}: Wanda is not supported for Mixture-of-Experts models (model_type ${model.spec.modelType}): each expert's inputs are only the tokens routed to it, which this version does not collect; use --metric magnitude, or drop experts with --drop-experts`);
  }
}
