// Reverse mode over a forward ONNX graph built by the project: from the forward model's bytes, a backward model
// whose inputs are the forward inputs plus the cotangent of one output, and whose outputs are the cotangents of
// chosen inputs (the block's hidden input, and optionally its weights). The backward model recomputes the forward
// pass inside itself, so a caller keeps only what enters the graph (for a block, the residual stream at the block
// boundary), exactly what the forward engine keeps. Activity analysis limits the rules to the nodes between the
// chosen inputs and the output; shape and mask arithmetic is carried over as forward computation only.
import { onnx } from 'onnx-proto';
import { modelBytes } from '../onnxGraph';
import { Emitter } from './emitter';
import { readForward, type ForwardGraph } from './graph';
import { NON_DIFFERENTIABLE, RULES, type RuleContext } from './rules';

const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** The name under which the backward graph takes or gives the cotangent of `name`. */
export const gradName = (name: string): string => `grad_${name}`;

export interface BackwardRequest {
  /** The forward output differentiated; its cotangent is the input gradName(output). */
  output: string;
  /** Forward inputs whose cotangents the backward graph outputs, as gradName(input). */
  wrt: string[];
  /** Forward outputs the backward graph also outputs under their own names (they are computed anyway). */
  keep?: string[];
  /**
   * More forward outputs whose cotangents the backward graph also takes (as gradName(name)), added to what flows
   * back from `output`: an MoE block's attention graph has two outputs that reach the loss (the residual stream,
   * and the normed MLP input the engine runs its experts on).
   */
  also?: string[];
}

/** The backward model of `forward` (model bytes) for `request`. */
export function buildBackward(forward: Uint8Array | ForwardGraph, request: BackwardRequest): Uint8Array {
  const f = forward instanceof Uint8Array ? readForward(forward) : forward;
  const inputNames = new Set(f.inputs.map((v) => v.name!));
  for (const w of request.wrt) if (!inputNames.has(w)) throw new Error(`buildBackward: ${w} is not an input of the graph`);
  const differentiated = [request.output, ...(request.also ?? [])];
  const outputInfos = differentiated.map((name) => {
    const info = f.outputs.find((v) => v.name === name);
    if (!info) throw new Error(`buildBackward: ${name} is not an output of the graph`);
    return info;
  });

  // Active: depends on a chosen input through float values.
  const active = new Set(request.wrt);
  const isFloat = (name: string) => (f.types.get(name) ?? FLOAT) === FLOAT;
  for (const n of f.nodes) {
    if (NON_DIFFERENTIABLE.has(n.opType!) || !(n.input ?? []).some((x) => active.has(x))) continue;
    for (const y of n.output ?? []) if (isFloat(y)) active.add(y);
  }
  for (const name of differentiated) if (!active.has(name)) throw new Error(`buildBackward: ${name} does not depend on ${request.wrt.join(', ')}`);
  // Useful: an output differentiated depends on it (so its cotangent is not zero).
  const useful = new Set(differentiated);
  for (const n of [...f.nodes].reverse()) if ((n.output ?? []).some((y) => useful.has(y))) for (const x of n.input ?? []) if (active.has(x)) useful.add(x);

  const e = new Emitter();
  const rank = (name: string): number => {
    const r = f.ranks.get(name);
    if (r === undefined) throw new Error(`buildBackward: the rank of ${name} is unknown (an op without a rank rule in autodiff/graph.ts)`);
    return r;
  };
  const context: RuleContext = { e, rank, ints: (name) => f.ints.get(name), unbroadcast: (g, x, gRank) => unbroadcast(e, g, gRank, x, rank(x)) };
  const pending = new Map<string, string[]>(differentiated.map((name) => [name, [gradName(name)]]));
  const total = (name: string): string | undefined => {
    const parts = pending.get(name);
    if (!parts || parts.length === 0) return undefined;
    if (parts.length === 1) return parts[0];
    const sum = e.op('Sum', parts);
    pending.set(name, [sum]);
    return sum;
  };
  for (const n of [...f.nodes].reverse()) {
    const outs = n.output ?? [];
    if (!outs.some((y) => useful.has(y) && pending.has(y))) continue;
    const rule = RULES[n.opType!];
    if (!rule) throw new Error(`buildBackward: no vector–Jacobian rule for ${n.opType} (node ${n.name}); add one to src/compute/autodiff/rules.ts`);
    const inputs = n.input ?? [];
    const wanted = inputs.map((x) => x !== '' && useful.has(x));
    const grads = rule(context, n, outs.map((y) => total(y)), wanted);
    inputs.forEach((x, i) => {
      const g = grads[i];
      if (!g || !wanted[i]) return;
      const list = pending.get(x) ?? [];
      list.push(g);
      pending.set(x, list);
    });
  }
  for (const w of request.wrt) {
    const g = total(w);
    e.op('Identity', [g ?? e.zerosLike(w)], {}, gradName(w));
  }

  const outputs = [
    ...request.wrt.map((w) => ({ ...f.inputs.find((v) => v.name === w)!, name: gradName(w) })),
    ...(request.keep ?? []).map((k) => {
      const info = f.outputs.find((v) => v.name === k);
      if (!info) throw new Error(`buildBackward: ${k} is not an output of the graph`);
      return info;
    }),
  ];
  const inputs = [...f.inputs, ...outputInfos.map((info) => ({ ...info, name: gradName(info.name!) }))];
  const nodes = prune([...f.nodes, ...e.nodes], outputs.map((o) => o.name!));
  const used = new Set(nodes.flatMap((n) => n.input ?? []));
  const initializers = [...f.initializers, ...e.initializers].filter((t) => used.has(t.name!));
  return modelBytes({ name: `${f.model.graph?.name ?? 'graph'}_backward`, inputs, outputs, nodes, initializers });
}

/** Drops nodes no output depends on (the forward outputs nobody asked for, Identity taps, unused recomputation). */
function prune(nodes: onnx.INodeProto[], outputs: string[]): onnx.INodeProto[] {
  const needed = new Set(outputs);
  const kept: onnx.INodeProto[] = [];
  for (const n of [...nodes].reverse()) {
    if (!(n.output ?? []).some((y) => needed.has(y))) continue;
    kept.push(n);
    for (const x of n.input ?? []) if (x !== '') needed.add(x);
  }
  return kept.reverse();
}

/**
 * Sums a cotangent `g` of rank gRank back to the shape of `x` (rank xRank) that was broadcast to it: leading axes
 * the broadcast added are summed statically; axes where x has size 1 and g does not are found in the graph from
 * the two shapes (ReduceSum with noop_with_empty_axes does nothing when there are none).
 */
function unbroadcast(e: Emitter, g: string, gRank: number, x: string, xRank: number): string {
  let out = g;
  if (gRank > xRank) out = e.op('ReduceSum', [out, e.constant('int64', Array.from({ length: gRank - xRank }, (_, i) => i), [gRank - xRank])], { keepdims: 0 });
  if (xRank === 0) return out;
  const differ = e.op('Not', [e.op('Equal', [e.op('Shape', [out]), e.op('Shape', [x])])]);
  const axes = e.op('Reshape', [e.op('NonZero', [differ]), e.constant('int64', [-1], [1])]);
  return e.op('ReduceSum', [out, axes], { keepdims: 1, noop_with_empty_axes: 1 });
}
