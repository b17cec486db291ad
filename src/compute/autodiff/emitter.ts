// Emits the nodes of a backward graph under names of their own ("grad/…"), so they never collide with the
// forward graph's names, which the backward graph keeps (it recomputes the forward pass). Shared scalar and short
// vector constants are added once.
import { onnx } from 'onnx-proto';
import { constant, node, type Attribute } from '../onnxGraph';

/** Attributes ONNX types as FLOAT even when their value is integral (onnxGraph's node() would make 2.0 an INT). */
const FLOAT_ATTRIBUTES = new Set(['alpha', 'beta', 'epsilon']);

function emit(opType: string, inputs: string[], outputs: string[], attributes: Record<string, Attribute>): onnx.INodeProto {
  const n = node(opType, inputs, outputs, attributes);
  for (const a of n.attribute ?? []) {
    if (FLOAT_ATTRIBUTES.has(a.name!) && a.type === onnx.AttributeProto.AttributeType.INT) Object.assign(a, { type: onnx.AttributeProto.AttributeType.FLOAT, f: Number(a.i), i: undefined });
  }
  return n;
}

export class Emitter {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private counter = 0;
  private readonly constants = new Map<string, string>();

  fresh(hint: string): string {
    return `grad/${hint}_${this.counter++}`;
  }

  op(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, output?: string): string {
    const name = output ?? this.fresh(opType.toLowerCase());
    this.nodes.push(emit(opType, inputs, [name], attributes));
    return name;
  }

  ops(opType: string, inputs: string[], outputs: number, attributes: Record<string, Attribute> = {}): string[] {
    const names = Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push(emit(opType, inputs, names, attributes));
    return names;
  }

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

  /** Zeros shaped like `like`. */
  zerosLike(like: string): string {
    return this.op('ConstantOfShape', [this.op('Shape', [like])]);
  }
}
