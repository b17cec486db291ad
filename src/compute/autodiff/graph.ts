// What reverse mode needs to know about a forward graph the project built (a block or head graph from
// src/compute/families): its nodes in order, the values of its int64 constants, and the rank of every tensor.
// Ranks are static even where dims are symbolic (batch, seq), and a vector–Jacobian rule needs them to name axes
// (MatMul's last two, a reduction's kept axes, which leading axes a broadcast added). Only the ops the builders use
// have rank rules; an op without one leaves its outputs unranked, and a rule that needs that rank says so.
import { onnx } from 'onnx-proto';

export type Node = onnx.INodeProto;

export interface ForwardGraph {
  model: onnx.IModelProto;
  nodes: Node[];
  inputs: onnx.IValueInfoProto[];
  outputs: onnx.IValueInfoProto[];
  initializers: onnx.ITensorProto[];
  /** Values of int64 tensors known without running the graph (initializers, and Shape/Concat of known ranks where static). */
  ints: Map<string, number[]>;
  /** Rank of each tensor. */
  ranks: Map<string, number>;
  /** Element type per tensor where known (ONNX TensorProto.DataType). */
  types: Map<string, number>;
  /** Static lengths of 1-D int64 shape tensors that are not constants (Shape(x) has rank(x) entries, Concat adds). */
  lengths: Map<string, number>;
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const BOOL = onnx.TensorProto.DataType.BOOL;

export function toNumber(x: number | { toNumber(): number } | null | undefined): number {
  return typeof x === 'number' ? x : x ? x.toNumber() : 0;
}

export function attr(node: Node, name: string): onnx.IAttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name) ?? undefined;
}

export function intAttr(node: Node, name: string, fallback: number): number {
  const a = attr(node, name);
  return a ? toNumber(a.i as number) : fallback;
}

export function intsAttr(node: Node, name: string): number[] | undefined {
  const a = attr(node, name);
  return a ? (a.ints ?? []).map((v) => toNumber(v as number)) : undefined;
}

export function floatAttr(node: Node, name: string, fallback: number): number {
  const a = attr(node, name);
  return a ? (a.f ?? 0) : fallback;
}

function tensorInts(t: onnx.ITensorProto): number[] | undefined {
  if (t.dataType !== INT64) return undefined;
  if (t.int64Data && t.int64Data.length > 0) return t.int64Data.map((v) => toNumber(v as number));
  if (t.rawData && t.rawData.length > 0) {
    const bytes = Uint8Array.from(t.rawData);
    return Array.from(new BigInt64Array(bytes.buffer, 0, bytes.length / 8), (v) => Number(v));
  }
  const count = (t.dims ?? []).reduce<number>((a, b) => a * toNumber(b as number), 1);
  return count === 0 ? [] : undefined;
}

/** Decodes model bytes and infers ranks, element types and static int64 values. */
export function readForward(bytes: Uint8Array): ForwardGraph {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const inputs = graph.input ?? [];
  const outputs = graph.output ?? [];
  const initializers = graph.initializer ?? [];
  const ranks = new Map<string, number>();
  const types = new Map<string, number>();
  const ints = new Map<string, number[]>();
  const lengths = new Map<string, number>();
  for (const v of inputs) {
    ranks.set(v.name!, v.type?.tensorType?.shape?.dim?.length ?? 0);
    types.set(v.name!, v.type?.tensorType?.elemType ?? FLOAT);
  }
  for (const t of initializers) {
    ranks.set(t.name!, t.dims?.length ?? 0);
    types.set(t.name!, t.dataType ?? FLOAT);
    const values = tensorInts(t);
    if (values) ints.set(t.name!, values);
  }
  for (const n of nodes) inferNode(n, ranks, types, ints, lengths);
  return { model, nodes, inputs, outputs, initializers, ints, ranks, types, lengths };
}

/** The length of a 1-D int64 tensor used as a shape (Reshape, Expand, ConstantOfShape), when static. */
function shapeLength(name: string, ints: Map<string, number[]>, lengths: Map<string, number>): number | undefined {
  return ints.get(name)?.length ?? lengths.get(name);
}

function inferNode(n: Node, ranks: Map<string, number>, types: Map<string, number>, ints: Map<string, number[]>, lengths: Map<string, number>): void {
  const input = n.input ?? [];
  const out = n.output ?? [];
  const r = (i: number) => ranks.get(input[i]!);
  const set = (rank: number | undefined, type: number | undefined = types.get(input[0]!), k = 0) => {
    if (rank !== undefined) ranks.set(out[k]!, rank);
    if (type !== undefined) types.set(out[k]!, type);
  };
  const broadcast = () => Math.max(...input.filter((x) => x !== '').map((x) => ranks.get(x) ?? NaN));
  const axesOf = (): number[] | undefined => intsAttr(n, 'axes') ?? (input[1] ? ints.get(input[1]) : undefined);
  switch (n.opType) {
    case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Pow': case 'Max': case 'Min': case 'Sum':
      set(broadcast());
      // Arithmetic on static int vectors stays static only where both are known; not needed by the builders.
      break;
    case 'Less': case 'Greater': case 'Equal': case 'LessOrEqual': case 'GreaterOrEqual': case 'And': case 'Or':
      set(broadcast(), BOOL);
      break;
    case 'Not': set(r(0), BOOL); break;
    case 'Where': set(Math.max(r(0) ?? NaN, r(1) ?? NaN, r(2) ?? NaN), types.get(input[1]!)); break;
    case 'Identity': case 'Neg': case 'Reciprocal': case 'Sqrt': case 'Exp': case 'Log': case 'Tanh': case 'Sigmoid':
    case 'Cos': case 'Sin': case 'Relu': case 'Abs': case 'Erf': case 'Softmax': case 'LogSoftmax': case 'LayerNormalization':
    case 'Transpose':
      set(r(0));
      if (ints.has(input[0]!) && n.opType === 'Identity') ints.set(out[0]!, ints.get(input[0]!)!);
      break;
    case 'Cast': set(r(0), intAttr(n, 'to', FLOAT)); break;
    case 'Shape': set(1, INT64); if (r(0) !== undefined) lengths.set(out[0]!, r(0)!); break;
    case 'Size': set(0, INT64); break;
    case 'Slice': {
      set(r(0));
      const len = shapeLength(input[0]!, ints, lengths);
      const starts = ints.get(input[1]!);
      const ends = ints.get(input[2]!);
      if (r(0) === 1 && len !== undefined && starts?.length === 1 && ends?.length === 1 && input.length <= 4) {
        const clamp = (v: number) => Math.min(len, Math.max(0, v < 0 ? v + len : v));
        lengths.set(out[0]!, Math.max(0, clamp(ends[0]!) - clamp(starts[0]!)));
      }
      break;
    }
    case 'Concat': {
      set(r(0));
      if (r(0) === 1) {
        const parts = input.map((x) => shapeLength(x, ints, lengths));
        if (parts.every((p) => p !== undefined)) lengths.set(out[0]!, parts.reduce<number>((a, b) => a + b!, 0));
      }
      break;
    }
    case 'Gather': set(r(0) !== undefined && r(1) !== undefined ? r(0)! - 1 + r(1)! : undefined); break;
    case 'GatherElements': set(r(1), types.get(input[0]!)); break;
    case 'Range': set(1); break;
    case 'Unsqueeze': set(r(0) !== undefined && axesOf() ? r(0)! + axesOf()!.length : undefined); break;
    case 'Squeeze': set(r(0) !== undefined && axesOf() ? r(0)! - axesOf()!.length : undefined); break;
    case 'Reshape': case 'ConstantOfShape': {
      const shape = n.opType === 'Reshape' ? input[1]! : input[0]!;
      set(shapeLength(shape, ints, lengths), n.opType === 'Reshape' ? types.get(input[0]!) : FLOAT);
      break;
    }
    case 'Expand': set(Math.max(r(0) ?? NaN, shapeLength(input[1]!, ints, lengths) ?? NaN)); break;
    case 'Flatten': set(2); break;
    case 'MatMul': set(Math.max(r(0) ?? NaN, r(1) ?? NaN)); break;
    case 'Gemm': set(2); break;
    case 'Split': for (let k = 0; k < out.length; k++) set(r(0), types.get(input[0]!), k); break;
    case 'ReduceMean': case 'ReduceSum': case 'ReduceLogSumExp': case 'ReduceMax': case 'ReduceMin': {
      const keep = intAttr(n, 'keepdims', 1) === 1;
      const axes = axesOf();
      set(keep ? r(0) : axes && r(0) !== undefined ? r(0)! - axes.length : axes === undefined ? 0 : undefined);
      break;
    }
    default:
      break;
  }
  for (const name of out) if (ranks.get(name) !== undefined && Number.isNaN(ranks.get(name))) ranks.delete(name);
}
