// Small ONNX graphs built in code and serialised with onnx-proto (the ONNX protobuf schema compiled for
// protobufjs): the numeric kernels that run through onnxruntime, and later the model graphs. Building goes
// through named helpers so a graph reads like the maths it computes.
import { onnx } from 'onnx-proto';

export const OPSET = 17;
const IR_VERSION = 8;

export type ElementType = 'float' | 'double' | 'int64' | 'bool';
const ELEMENT_TYPES: Record<ElementType, onnx.TensorProto.DataType> = {
  float: onnx.TensorProto.DataType.FLOAT,
  double: onnx.TensorProto.DataType.DOUBLE,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** A graph input or output: a name, an element type and a shape whose symbolic dims are strings. */
export function value(name: string, type: ElementType, shape: Array<number | string>): onnx.IValueInfoProto {
  const dim = shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: ELEMENT_TYPES[type], shape: { dim } } } };
}

export type Attribute = number | number[] | string;

export function node(opType: string, inputs: string[], outputs: string[], attributes: Record<string, Attribute> = {}): onnx.INodeProto {
  return {
    opType,
    input: inputs,
    output: outputs,
    name: `${opType}_${outputs[0]}`,
    attribute: Object.entries(attributes).map(([name, a]) => attribute(name, a)),
  };
}

function attribute(name: string, a: Attribute): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof a === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(a) };
  if (Array.isArray(a)) return { name, type: T.INTS, ints: a };
  return Number.isInteger(a) ? { name, type: T.INT, i: a } : { name, type: T.FLOAT, f: a };
}

/** A constant initializer; float tensors are stored as raw little-endian bytes. */
export function constant(name: string, type: 'float' | 'int64', dims: number[], values: number[]): onnx.ITensorProto {
  if (type === 'int64') return { name, dims, dataType: ELEMENT_TYPES.int64, int64Data: values };
  return { name, dims, dataType: ELEMENT_TYPES.float, rawData: new Uint8Array(Float32Array.from(values).buffer) };
}

export interface GraphParts {
  name: string;
  inputs: onnx.IValueInfoProto[];
  outputs: onnx.IValueInfoProto[];
  nodes: onnx.INodeProto[];
  initializers?: onnx.ITensorProto[];
}

export function modelBytes(parts: GraphParts): Uint8Array {
  const graph: onnx.IGraphProto = { name: parts.name, input: parts.inputs, output: parts.outputs, node: parts.nodes, initializer: parts.initializers ?? [] };
  const model: onnx.IModelProto = { irVersion: IR_VERSION, producerName: 'importance-lens', opsetImport: [{ domain: '', version: OPSET }], graph };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/**
 * Accumulates a graph: every op call adds a node and returns the name of its (first) output, so model code reads
 * as expressions. Initializers are added with their float32 values.
 */
export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private counter = 0;
  private readonly constants = new Map<string, string>();

  fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  op(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, outputName?: string): string {
    const output = outputName ?? this.fresh(opType.toLowerCase());
    this.nodes.push(node(opType, inputs, [output], attributes));
    return output;
  }

  /** An op with several outputs (Split). */
  ops(opType: string, inputs: string[], outputs: number, attributes: Record<string, Attribute> = {}): string[] {
    const names = Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push(node(opType, inputs, names, attributes));
    return names;
  }

  weight(name: string, dims: number[], values: Float32Array): string {
    this.initializers.push({ name, dims, dataType: ELEMENT_TYPES.float, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
    return name;
  }

  /** A shared constant (a scalar or a short vector), added once. */
  constant(type: 'float' | 'int64', values: number[], dims: number[] = values.length === 1 ? [] : [values.length]): string {
    const key = `${type}:${dims.join('x')}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh(`const_${type}`);
      this.initializers.push(constant(name, type, dims, values));
      this.constants.set(key, name);
    }
    return name;
  }

  model(name: string, inputs: onnx.IValueInfoProto[], outputs: onnx.IValueInfoProto[]): Uint8Array {
    return modelBytes({ name, inputs, outputs, nodes: this.nodes, initializers: this.initializers });
  }
}
