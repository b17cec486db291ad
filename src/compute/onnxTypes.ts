// Element types of a graph's intermediate tensors, for declaring them as added graph outputs: onnxruntime refuses
// a graph output declared float32 that an FP16 decoder computes in float16. Declared types (value_info, inputs,
// outputs, initializers) are taken as they are; the rest follow the nodes in order (exported graphs are
// topologically sorted): Cast says its type, comparisons give bool, shapes int64, and other ops keep the type of
// their data input, which holds for the arithmetic, normalisation and matmul ops a residual stream passes through.
import { onnx } from 'onnx-proto';

const DataType = onnx.TensorProto.DataType;
const BOOL_OPS = new Set(['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);
const INT64_OPS = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin']);
/** Ops whose output type is that of their second input (Where's first input is the condition). */
const SECOND_INPUT_OPS = new Set(['Where', 'CastLike']);

export function elementTypes(graph: onnx.IGraphProto): Map<string, number> {
  const types = new Map<string, number>();
  const declare = (name: string | null | undefined, type: number | null | undefined) => {
    if (name && type) types.set(name, type);
  };
  for (const t of graph.initializer ?? []) declare(t.name, t.dataType);
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) declare(v.name, v.type?.tensorType?.elemType);
  for (const node of graph.node ?? []) {
    const inputs = (node.input ?? []).map((name) => types.get(name));
    const output = node.output?.[0];
    if (!output || types.has(output)) continue;
    const attribute = (name: string) => (node.attribute ?? []).find((a) => a.name === name);
    const op = node.opType ?? '';
    let type: number | undefined;
    if (op === 'Cast') type = Number(String(attribute('to')?.i ?? 0)) || undefined; // protobufjs gives int64 as number or Long
    else if (op === 'Constant') type = attribute('value')?.t?.dataType ?? undefined;
    else if (op === 'ConstantOfShape') type = attribute('value')?.t?.dataType ?? DataType.FLOAT;
    else if (BOOL_OPS.has(op)) type = DataType.BOOL;
    else if (INT64_OPS.has(op)) type = DataType.INT64;
    else if (SECOND_INPUT_OPS.has(op)) type = inputs[1];
    else type = inputs.find((t) => t !== undefined);
    if (type) for (const name of op === 'Split' ? node.output ?? [] : [output]) declare(name, type);
  }
  return types;
}

/** The onnxruntime tensor type name of an ONNX element type, for the ones a residual stream or logits can have. */
export function runtimeType(type: number | undefined): 'float32' | 'float16' | 'float64' | 'bfloat16' | undefined {
  switch (type) {
    case DataType.FLOAT: return 'float32';
    case DataType.FLOAT16: return 'float16';
    case DataType.DOUBLE: return 'float64';
    case DataType.BFLOAT16: return 'bfloat16';
    default: return undefined;
  }
}
