// The weights unstructured sparsity acts on: every block's 2-D linear projections (attention q/k/v/o or fused
// qkv, MLP gate/up/down). Embeddings, norms, the head and routers stay dense, as in Wanda and OWL. A weight's
// score per element is |W| (magnitude) or |W|·‖X_j‖₂ (Wanda), with X_j input feature j of that layer on a text;
// weights are compared within one output (a row of an HF Linear [out, in], a column of a GPT-2 Conv1D [in, out]).
import { tokenizeText, type TextSource } from '../analyses/textInput';
import { inputSquares, refuseWandaOnExperts } from '../analyses/wanda';
import { tensorRole } from '../arch/names';
import { openModelRunner } from '../compute/modelRunner';
import { InputError } from '../errors';
import type { TensorInfo } from '../formats/types';
import type { Progress } from '../protocol/results';
import type { SourceModel } from './source';

const LINEAR_MODULES = new Set(['attn.q', 'attn.k', 'attn.v', 'attn.qkv', 'attn.o', 'mlp.gate', 'mlp.up', 'mlp.down']);
/** dtypes whose zero is all-zero bytes and whose values we can decode to score them. */
export const SPARSIFIABLE_DTYPES = new Set(['F32', 'F16', 'BF16']);

export interface LinearWeight {
  tensor: TensorInfo;
  layer: number;
  /** 'out-in': HF Linear (a row per output); 'in-out': GPT-2 Conv1D (a column per output). */
  layout: 'out-in' | 'in-out';
  outputs: number;
  inputs: number;
  /** ‖X_j‖₂ per input feature (Wanda); undefined for magnitude. */
  norms?: Float64Array;
}

export function linearWeights(source: SourceModel): LinearWeight[] {
  const layout = source.family === 'gpt2' ? 'in-out' : 'out-in';
  const out: LinearWeight[] = [];
  for (const tensor of source.tensors) {
    const { layer, module } = tensorRole(tensor.name);
    if (layer === null || !LINEAR_MODULES.has(module) || tensor.shape.length !== 2 || !tensor.name.endsWith('.weight')) continue;
    if (!SPARSIFIABLE_DTYPES.has(tensor.dtype)) throw new InputError(`tensor '${tensor.name}' is ${tensor.dtype}; sparsity supports F32, F16 and BF16 weights`);
    // GGUF lists dims innermost-first: its [in, out] is HF's [out, in], the same bytes.
    const [rows, cols] = (source.format === 'gguf' ? [...tensor.shape].reverse() : tensor.shape) as [number, number];
    out.push({ tensor, layer, layout, outputs: layout === 'out-in' ? rows : cols, inputs: layout === 'out-in' ? cols : rows });
  }
  if (out.length === 0) throw new InputError(`${source.path}: no linear weights found in its blocks to sparsify`);
  return out;
}

/** Attaches Wanda's input-feature norms, from the linear layers' inputs in forward passes over the text; returns the device. */
export async function* attachInputNorms(source: SourceModel, weights: LinearWeight[], text: TextSource, maxTokens: number, providers?: readonly string[], signal?: AbortSignal): AsyncGenerator<Progress, string> {
  yield { message: `Building ${source.path} for the layer inputs` };
  const model = await openModelRunner(source.path, providers, signal);
  try {
    refuseWandaOnExperts(model);
    if (model.linearSites.length === 0) throw new InputError(`${source.path}: Wanda needs the linear layers' inputs, which this model does not expose`);
    const tokens = await tokenizeText(model, text, maxTokens);
    const squares = yield* inputSquares(model, tokens, signal);
    const byName = new Map<string, Float64Array>();
    model.linearSites.forEach((site, i) => {
      const norms = squares[i]!.map(Math.sqrt);
      for (const weight of site.weights) byName.set(weight.name, norms);
    });
    for (const weight of weights) {
      const norms = byName.get(weight.tensor.name);
      if (!norms) throw new InputError(`${source.path}: no layer input found for '${weight.tensor.name}' (Wanda needs one per linear weight)`);
      if (norms.length !== weight.inputs) throw new Error(`input width ${norms.length} of '${weight.tensor.name}' is not its ${weight.inputs} inputs`);
      weight.norms = norms;
    }
    return model.device;
  } finally {
    await model.release();
  }
}

/** Input feature and output of flat element k. */
export function featureAndOutput(weight: LinearWeight, k: number): [number, number] {
  return weight.layout === 'out-in' ? [k % weight.inputs, Math.floor(k / weight.inputs)] : [Math.floor(k / weight.outputs), k % weight.outputs];
}
