// The two small graphs the engine's MoE runner (engine/moeRunner.ts) runs beside an MoE family's attention block:
// a gated MLP down(silu(gate·x) ⊙ up·x) whose width is a symbolic dimension (one session serves every routed
// expert, the shared expert and a dense MLP, whatever their widths), and a linear map x·Wᵀ with a symbolic output
// width (the router's logits, the shared expert's gate). Weights are graph inputs in HF's [out, in] layout.
import { GraphBuilder, value } from '../onnxGraph';
import { linearOutIn, silu } from './ops';

export const MLP_IO = { x: 'x', gate: 'gate', up: 'up', down: 'down', y: 'y' } as const;
export const LINEAR_IO = { x: 'x', weight: 'weight', y: 'y' } as const;

export function buildGatedMlp(hidden: number): Uint8Array {
  const g = new GraphBuilder();
  const gated = g.op('Mul', [silu(g, linearOutIn(g, MLP_IO.x, MLP_IO.gate)), linearOutIn(g, MLP_IO.x, MLP_IO.up)]);
  g.op('Gemm', [gated, MLP_IO.down], { transB: 1 }, MLP_IO.y);
  return g.model('gated_mlp', [
    value(MLP_IO.x, 'float', ['rows', hidden]),
    value(MLP_IO.gate, 'float', ['width', hidden]),
    value(MLP_IO.up, 'float', ['width', hidden]),
    value(MLP_IO.down, 'float', [hidden, 'width']),
  ], [value(MLP_IO.y, 'float', ['rows', hidden])]);
}

export function buildLinear(hidden: number): Uint8Array {
  const g = new GraphBuilder();
  g.op('Gemm', [LINEAR_IO.x, LINEAR_IO.weight], { transB: 1 }, LINEAR_IO.y);
  return g.model('linear', [value(LINEAR_IO.x, 'float', ['rows', hidden]), value(LINEAR_IO.weight, 'float', ['out', hidden])], [value(LINEAR_IO.y, 'float', ['rows', 'out'])]);
}
