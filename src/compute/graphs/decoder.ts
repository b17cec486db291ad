// A decoder-only language model from a Hugging Face directory, as one ONNX model with:
//   inputs  input_ids int64 [batch, seq]; block_gate float [layers] (1 = run block l, 0 = skip it)
//   outputs logits [batch, seq, vocab]; hidden_0 … hidden_L [batch, seq, hidden] — hidden_l is the residual stream
//           entering block l, hidden_L the last block's output before the final norm; attention_0 … attention_{L−1}
//           [batch, heads, seq, seq], each block's attention probabilities; linear_in_<l>_<site> [batch, seq, width],
//           the input of each group of linear layers (Wanda's X), with `linearSites` saying which weights read it.
// onnxruntime computes only the outputs a run asks for, so the plain forward pass pays for none of the extras.
import type { ModelSpec } from '../../arch/modelSpec';
import { GraphBuilder, value } from '../onnxGraph';
import { buildGpt2 } from './gpt2';
import { buildLlama } from './llama';
import type { WeightSource } from './weights';

export interface DecoderGraph {
  logits: string;
  hiddenStates: string[];
  attentions: string[];
  linearSites: LinearSite[];
}

/** A tensor that feeds one or more linear layers of a block, and those layers' weights. */
export interface LinearSite {
  layer: number;
  site: 'attn' | 'attn_out' | 'mlp' | 'mlp_down';
  /** The graph tensor (internal; outputs are named by linearInputOutput). */
  tensor: string;
  /** Input features: the size of the tensor's last axis. */
  width: number;
  /** Checkpoint names of the weights reading it; 'out-in' = HF Linear [out, in], 'in-out' = GPT-2 Conv1D [in, out]. */
  weights: { name: string; layout: 'out-in' | 'in-out' }[];
}

export const hiddenOutput = (index: number): string => `hidden_${index}`;
export const attentionOutput = (index: number): string => `attention_${index}`;
export const linearInputOutput = (site: Pick<LinearSite, 'layer' | 'site'>): string => `linear_in_${site.layer}_${site.site}`;

export async function buildDecoderModel(spec: ModelSpec, weights: WeightSource): Promise<{ model: Uint8Array; linearSites: Omit<LinearSite, 'tensor'>[] }> {
  const g = new GraphBuilder();
  const graph = spec.kind === 'llama' ? await buildLlama(g, spec, weights, 'input_ids', 'block_gate') : await buildGpt2(g, spec, weights, 'input_ids', 'block_gate');
  g.op('Identity', [graph.logits], {}, 'logits');
  graph.hiddenStates.forEach((state, i) => g.op('Identity', [state], {}, hiddenOutput(i)));
  graph.attentions.forEach((probabilities, i) => g.op('Identity', [probabilities], {}, attentionOutput(i)));
  graph.linearSites.forEach((site) => g.op('Identity', [site.tensor], {}, linearInputOutput(site)));
  const model = g.model(
    `${spec.modelType}_decoder`,
    [value('input_ids', 'int64', ['batch', 'seq']), value('block_gate', 'float', [spec.layers])],
    [
      value('logits', 'float', ['batch', 'seq', spec.vocab]),
      ...graph.hiddenStates.map((_, i) => value(hiddenOutput(i), 'float', ['batch', 'seq', spec.hidden])),
      ...graph.attentions.map((_, i) => value(attentionOutput(i), 'float', ['batch', spec.heads, 'seq', 'seq'])),
      ...graph.linearSites.map((site) => value(linearInputOutput(site), 'float', ['batch', 'seq', site.width])),
    ],
  );
  return { model, linearSites: graph.linearSites.map(({ tensor: _, ...site }) => site) };
}
