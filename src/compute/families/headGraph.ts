// The LM head as one small graph run once per vocabulary chunk: final norm, the chunk's logits, their log-sum-exp
// and the logit of each row's target. The engine combines chunks with a running log-sum-exp, so the [vocab, hidden]
// head never exists in float32 at once (a 128 k × 4096 head would be 2 GB) and [rows, vocab] logits exist only
// when a caller asks for them. The norm is recomputed per chunk: O(rows·hidden) beside the chunk's
// O(rows·hidden·chunk) product. A final logit soft-cap (Gemma 2) is applied to each chunk's logits before its
// log-sum-exp: capping is elementwise, so capped chunks combine exactly as uncapped ones do.
import { GraphBuilder, value } from '../onnxGraph';
import { softcap } from './ops';
import { HEAD_IO, type BlockTensor } from './types';

export function buildHeadGraph(hidden: number, norm: readonly BlockTensor[], normalise: (g: GraphBuilder, x: string) => string, finalSoftcap?: number): Uint8Array {
  const g = new GraphBuilder();
  const raw = g.op('Gemm', [normalise(g, HEAD_IO.hidden), HEAD_IO.weight], { transB: 1 });
  const logits = g.op('Identity', [finalSoftcap === undefined ? raw : softcap(g, raw, finalSoftcap)], {}, HEAD_IO.logits);
  g.op('ReduceLogSumExp', [logits], { axes: [1], keepdims: 0 }, HEAD_IO.lse);
  const picked = g.op('GatherElements', [logits, g.op('Unsqueeze', [HEAD_IO.targets, g.constant('int64', [1], [1])])], { axis: 1 });
  g.op('Squeeze', [picked, g.constant('int64', [1], [1])], {}, HEAD_IO.picked);
  return g.model('lm_head_chunk', [
    value(HEAD_IO.hidden, 'float', ['rows', hidden]),
    value(HEAD_IO.weight, 'float', ['chunk', hidden]),
    value(HEAD_IO.targets, 'int64', ['rows']),
    ...norm.map((t) => value(t.role, 'float', t.shape)),
  ], [
    value(HEAD_IO.logits, 'float', ['rows', 'chunk']),
    value(HEAD_IO.lse, 'float', ['rows']),
    value(HEAD_IO.picked, 'float', ['rows']),
  ]);
}
