// Which of a graph's tensors are weights. Exported decoders carry many constants besides their weights: shapes,
// axes and Slice bounds (INT64 9223372036854775807 in every block), mask fills (FP16 −65504), scales. Counted as
// weights they swamp a block's L2 (1.3e19 from one INT64 max) and its parameter count, so a tensor is a weight
// only when it has at least two elements and either
//   - is a float tensor that a node uses in a weight's place: a MatMul/Gemm/Conv operand, a Gather table, the
//     scale or bias of a normalisation (fused com.microsoft variants included), or
//   - is a float tensor named like a parameter (`...q_proj.bias`, `...input_layernorm.weight`, `rnn.weight_ih`):
//     biases feed an Add, hand-written RMSNorms multiply by their weight and exporters slice RNN weights before
//     use, so their use alone would not show it, or
//   - is an integer tensor in the weight's place of a quantized op (MatMulNBits, DequantizeLinear, ...): a
//     quantized model's weights are its packed integers.
import type { TensorInfo } from '../types';
import type { Use } from './model';

const FLOAT_DTYPES = new Set(['F16', 'BF16', 'F32', 'F64', 'F8_E4M3FN', 'F8_E4M3FNUZ', 'F8_E5M2', 'F8_E5M2FNUZ']);

/** op_type -> the input positions that hold weights, for float tensors. */
const FLOAT_WEIGHT_SLOTS: Readonly<Record<string, readonly number[]>> = {
  MatMul: [0, 1], FusedMatMul: [0, 1], Gemm: [0, 1, 2], Conv: [1, 2], ConvTranspose: [1, 2], Gather: [0],
  LayerNormalization: [1, 2], SimplifiedLayerNormalization: [1, 2], RMSNormalization: [1], BatchNormalization: [1, 2, 3, 4],
  InstanceNormalization: [1, 2], GroupNormalization: [1, 2], SkipLayerNormalization: [2, 3, 4],
  SkipSimplifiedLayerNormalization: [2], EmbedLayerNormalization: [2, 3, 4, 5, 6], LSTM: [1, 2, 3], GRU: [1, 2, 3], RNN: [1, 2, 3],
};

/** op_type -> the input position of the packed integer weight, for quantized ops. */
const QUANTIZED_WEIGHT_SLOT: Readonly<Record<string, number>> = {
  MatMulNBits: 1, GatherBlockQuantized: 0, DequantizeLinear: 0, MatMulInteger: 1, QLinearMatMul: 3, DynamicQuantizeMatMul: 1,
  QGemm: 3, QLinearConv: 3,
};

/** Parameter names as frameworks write them: a module path ending in weight or bias (RNNs: weight_ih_l0, bias_hh). */
const PARAMETER_NAME = /(?:^|[._])(?:weight|bias)(?:_[a-z]{2}(?:_l\d+)?)?$/;

export function isParameterName(name: string): boolean {
  return PARAMETER_NAME.test(name);
}

export function isWeight(tensor: TensorInfo, uses: readonly Use[]): boolean {
  if (tensor.count < 2) return false;
  if (FLOAT_DTYPES.has(tensor.dtype)) {
    if (isParameterName(tensor.name)) return true;
    return uses.some((use) => FLOAT_WEIGHT_SLOTS[use.opType]?.includes(use.slot) ?? false);
  }
  return uses.some((use) => QUANTIZED_WEIGHT_SLOT[use.opType] === use.slot);
}
