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

/**
 * A graph input or output: a name, an element type and a shape whose symbolic dims are strings (no shape: any rank,
 * as a Loop body's carried values whose length grows per iteration).
 */
export function value(name: string, type: ElementType, shape?: Array<number | string>): onnx.IValueInfoProto {
  if (!shape) return { name, type: { tensorType: { elemType: ELEMENT_TYPES[type] } } };
  const dim = shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: ELEMENT_TYPES[type], shape: { dim } } } };
}

/** A node attribute; `{ graph }` is a subgraph (a Loop's body). */
export type Attribute = number | number[] | string | { graph: onnx.IGraphProto };

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
  if (!Array.isArray(a) && typeof a === 'object') return { name, type: T.GRAPH, g: a.graph };
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
 * as expressions. Initializers are added with their float32 values. A builder made for a subgraph (`loop`) shares
 * its parent's names and constants: the body refers to them from the outer scope, as ONNX allows.
 */
export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private counter = 0;
  private readonly constants = new Map<string, string>();

  constructor(private readonly parent?: GraphBuilder) {}

  fresh(hint: string): string {
    return this.parent ? this.parent.fresh(hint) : `${hint}_${this.counter++}`;
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
    if (this.parent) return this.parent.constant(type, values, dims);
    const key = `${type}:${dims.join('x')}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh(`const_${type}`);
      this.initializers.push(constant(name, type, dims, values));
      this.constants.set(key, name);
    }
    return name;
  }

  /**
   * An ONNX Loop of `trips` iterations (an int64 scalar) carrying float tensors: `body` gets a builder for the loop
   * body, the iteration number (int64 scalar) and the carried values, and returns their next values (which may
   * change shape between iterations). Returns the carried values after the last iteration.
   */
  loop(trips: string, initial: string[], body: (sub: GraphBuilder, iteration: string, carried: string[]) => string[]): string[] {
    const sub = new GraphBuilder(this);
    const iteration = this.fresh('loop_iteration');
    const condition = this.fresh('loop_condition');
    const carried = initial.map(() => this.fresh('loop_carried'));
    const next = body(sub, iteration, carried);
    const graph: onnx.IGraphProto = {
      name: this.fresh('loop_body'),
      node: sub.nodes,
      initializer: sub.initializers,
      input: [value(iteration, 'int64', []), value(condition, 'bool', []), ...carried.map((n) => value(n, 'float'))],
      output: [value(sub.op('Identity', [condition]), 'bool', []), ...next.map((n) => value(n, 'float'))],
    };
    return this.ops('Loop', [trips, '', ...initial], initial.length, { body: { graph } });
  }

  model(name: string, inputs: onnx.IValueInfoProto[], outputs: onnx.IValueInfoProto[]): Uint8Array {
    return modelBytes({ name, inputs, outputs, nodes: this.nodes, initializers: this.initializers });
  }
}

/**
 * The model with only the graph outputs named in `outputs`, and only the nodes and initializers they depend on.
 * onnxruntime runs every node of a graph whatever a run fetches, and even nodes no output depends on, so a session
 * that is not asked for attention probabilities must be built from a graph that does not compute them.
 */
export function pruneToOutputs(model: Uint8Array, outputs: readonly string[]): Uint8Array {
  const proto = onnx.ModelProto.decode(model);
  const graph = proto.graph!;
  const allOutputs = graph.output ?? [];
  const missing = outputs.filter((name) => !allOutputs.some((o) => o.name === name));
  if (missing.length > 0) throw new Error(`pruneToOutputs: the graph has no output ${missing.join(', ')}`);
  const needed = new Set(outputs);
  const kept: onnx.INodeProto[] = [];
  // Builders add nodes in topological order, so one backward walk finds every node an output depends on.
  for (const n of [...(graph.node ?? [])].reverse()) {
    if (!n.output!.some((o) => needed.has(o))) continue;
    kept.push(n);
    for (const name of inputsOf(n)) needed.add(name);
  }
  graph.node = kept.reverse();
  graph.output = allOutputs.filter((o) => outputs.includes(o.name!));
  graph.initializer = (graph.initializer ?? []).filter((t) => needed.has(t.name!));
  return onnx.ModelProto.encode(proto).finish();
}

/** A node's inputs and every name its subgraphs read (a Loop body reads outer-scope values by name). */
function inputsOf(n: onnx.INodeProto): string[] {
  const names = [...(n.input ?? [])];
  for (const a of n.attribute ?? []) for (const g of [a.g, ...(a.graphs ?? [])]) for (const inner of g?.node ?? []) names.push(...inputsOf(inner));
  return names.filter(Boolean);
}
