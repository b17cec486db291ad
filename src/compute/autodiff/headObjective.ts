// The LM head's part of the backward pass, per vocabulary chunk. The objective is Σ_r w_r · log p(target_r) =
// Σ_r w_r · (logit_r[target_r] − lse_r), with lse_r over the whole vocabulary. Over one chunk c its gradient with
// respect to the chunk's logits is w_r·(onehot − exp(logit − lse_r)): the head graph (final norm + one chunk's
// logits, families/headGraph.ts) is extended by the surrogate
//   S_c = Σ_r pick_r · picked_r − Σ_r w_r · Σ_{j∈c} exp(logit_rj − lse_r)
// (pick_r = w_r when the target lies in chunk c, else 0; lse_r fed from the forward pass), whose gradient is that
// one; the gradients of the S_c with respect to the head's hidden input sum over chunks to the objective's.
import { onnx } from 'onnx-proto';
import { HEAD_IO } from '../families/types';
import { node, value } from '../onnxGraph';
import { buildBackward, gradName } from './backward';

export const HEAD_OBJECTIVE_IO = {
  /** [rows] the log-sum-exp over the whole vocabulary, from the forward pass. */
  lse: 'lse_total',
  /** [rows] the row's weight where its target lies in this chunk, else 0. */
  pick: 'pick_weight',
  /** [rows] the row's weight. */
  weight: 'row_weight',
  objective: 'objective',
} as const;

/** The backward graph of a family's head graph (bytes) for the surrogate above: output gradName(HEAD_IO.hidden). */
export function buildHeadBackward(headGraph: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(headGraph);
  const graph = model.graph!;
  const c = (name: string, values: number[]): onnx.ITensorProto => ({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: values });
  const n = (op: string, inputs: string[], output: string, attributes: Record<string, number | number[]> = {}) => graph.node!.push(node(op, inputs, [`objective/${output}`], attributes));
  const o = (name: string) => `objective/${name}`;
  graph.initializer!.push(c(o('axis1'), [1]));
  n('Unsqueeze', [HEAD_OBJECTIVE_IO.lse, o('axis1')], 'lse');
  n('Sub', [HEAD_IO.logits, o('lse')], 'shifted');
  n('Exp', [o('shifted')], 'probabilities');
  n('ReduceSum', [o('probabilities'), o('axis1')], 'mass', { keepdims: 0 });
  n('Mul', [o('mass'), HEAD_OBJECTIVE_IO.weight], 'weighted_mass');
  n('Mul', [HEAD_IO.picked, HEAD_OBJECTIVE_IO.pick], 'weighted_picked');
  n('Sub', [o('weighted_picked'), o('weighted_mass')], 'per_row');
  graph.node!.push(node('ReduceSum', [o('per_row')], [HEAD_OBJECTIVE_IO.objective], { keepdims: 0 }));
  graph.input!.push(value(HEAD_OBJECTIVE_IO.lse, 'float', ['rows']), value(HEAD_OBJECTIVE_IO.pick, 'float', ['rows']), value(HEAD_OBJECTIVE_IO.weight, 'float', ['rows']));
  graph.output!.push(value(HEAD_OBJECTIVE_IO.objective, 'float', []));
  return buildBackward(onnx.ModelProto.encode(model).finish(), { output: HEAD_OBJECTIVE_IO.objective, wrt: [HEAD_IO.hidden] });
}

export const HEAD_GRADIENT = gradName(HEAD_IO.hidden);
export const OBJECTIVE_COTANGENT = gradName(HEAD_OBJECTIVE_IO.objective);
