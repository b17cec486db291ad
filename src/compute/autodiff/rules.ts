// Vector–Jacobian rules, one per ONNX op the project's block and head graphs use (src/compute/families): given the
// cotangents of a node's outputs, the cotangents of its inputs, as ONNX nodes appended to the backward graph. A
// rule may read the node's forward inputs and outputs by name: the backward graph recomputes the forward pass, so
// they exist. Broadcasting ops reduce their cotangent back to each input's shape (`unbroadcast`); shapes are
// dynamic (batch, seq), so that reduction is computed in the graph from the two shapes, with static ranks.
// The registry below is the one list of differentiable ops; ops that only compute shapes, masks and indices
// (NON_DIFFERENTIABLE) pass no cotangent.
import type { Emitter } from './emitter';
import { floatAttr, intAttr, intsAttr, type Node } from './graph';

export interface RuleContext {
  e: Emitter;
  /** Static rank of a forward tensor (throws when unknown). */
  rank(name: string): number;
  /** Static values of a forward int64 tensor, if known. */
  ints(name: string): number[] | undefined;
  /** `g` (a cotangent of rank gRank, broadcast from x's shape) summed back to x's shape. */
  unbroadcast(g: string, x: string, gRank: number): string;
}

/** Cotangents of the node's inputs ('' or undefined where none), from those of its outputs (undefined: zero). */
export type Rule = (c: RuleContext, n: Node, gy: (string | undefined)[], wanted: boolean[]) => (string | undefined)[];

/** Ops whose outputs carry no derivative (shapes, comparisons, index arithmetic). */
export const NON_DIFFERENTIABLE = new Set(['Shape', 'Size', 'Less', 'Greater', 'Equal', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'NonZero', 'ArgMax', 'ArgMin', 'Range', 'ConstantOfShape']);

const I = (n: Node) => n.input ?? [];
const O = (n: Node) => n.output ?? [];
const normalise = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

/** A one-input elementwise rule: gx = gy ∘ f'(x, y). */
const unary = (derivative: (c: RuleContext, x: string, y: string, gy: string) => string): Rule => (c, n, gy) => [gy[0] ? derivative(c, I(n)[0]!, O(n)[0]!, gy[0]) : undefined];

/** A binary broadcasting rule from the unreduced cotangents of both inputs. */
const binary = (parts: (c: RuleContext, a: string, b: string, y: string, gy: string, wanted: boolean[]) => [string | undefined, string | undefined]): Rule => (c, n, gy, wanted) => {
  if (!gy[0]) return [];
  const [a, b] = I(n) as [string, string];
  const [ga, gb] = parts(c, a, b, O(n)[0]!, gy[0], wanted);
  const rank = c.rank(O(n)[0]!);
  return [ga && wanted[0] ? c.unbroadcast(ga, a, rank) : undefined, gb && wanted[1] ? c.unbroadcast(gb, b, rank) : undefined];
};

/** Transposes the last two axes of a tensor of rank r. */
function swapLast(c: RuleContext, x: string, r: number): string {
  const perm = Array.from({ length: r }, (_, i) => i);
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  return c.e.op('Transpose', [x], { perm });
}

/** Reduction axes of a ReduceX node (attribute or second input), normalised; all axes when absent. */
function reductionAxes(c: RuleContext, n: Node): number[] {
  const r = c.rank(I(n)[0]!);
  const axes = intsAttr(n, 'axes') ?? (I(n)[1] ? c.ints(I(n)[1]!) : undefined);
  if (I(n)[1] && !axes) throw new Error(`${n.opType} ${O(n)[0]}: reduction axes must be constant to differentiate it`);
  return (axes ?? Array.from({ length: r }, (_, i) => i)).map((a) => normalise(a, r));
}

/** A reduced tensor with its reduced axes restored as size 1 (a no-op when keepdims). */
function keepDims(c: RuleContext, n: Node, t: string, axes: number[]): string {
  return intAttr(n, 'keepdims', 1) === 1 ? t : c.e.op('Unsqueeze', [t, c.e.constant('int64', axes, [axes.length])]);
}

function extremeRule(c: RuleContext, n: Node, gy: (string | undefined)[]): (string | undefined)[] {
  if (!gy[0]) return [];
  const x = I(n)[0]!;
  const axes = reductionAxes(c, n);
  const hit = c.e.op('Cast', [c.e.op('Equal', [x, keepDims(c, n, O(n)[0]!, axes)])], { to: 1 });
  const ties = c.e.op('ReduceSum', [hit, c.e.constant('int64', axes, [axes.length])], { keepdims: 1 });
  return [c.e.op('Mul', [hit, c.e.op('Div', [keepDims(c, n, gy[0], axes), ties])])];
}

const reshapeLike: Rule = (c, n, gy) => [gy[0] ? c.e.op('Reshape', [gy[0], c.e.op('Shape', [I(n)[0]!])]) : undefined];

export const RULES: Record<string, Rule> = {
  Identity: (_, __, gy) => [gy[0]],
  Neg: unary((c, _, __, g) => c.e.op('Neg', [g])),
  // Float-to-float casts only: an integer input is not differentiable and never active.
  Cast: unary((_, __, ___, g) => g),
  Add: binary((_, __, ___, ____, g) => [g, g]),
  Sub: binary((c, _, __, ___, g, wanted) => [g, wanted[1] ? c.e.op('Neg', [g]) : undefined]),
  Mul: binary((c, a, b, _, g, wanted) => [wanted[0] ? c.e.op('Mul', [g, b]) : undefined, wanted[1] ? c.e.op('Mul', [g, a]) : undefined]),
  // y = a / b: ga = g / b, gb = −g·y / b.
  Div: binary((c, _, b, y, g, wanted) => [wanted[0] ? c.e.op('Div', [g, b]) : undefined, wanted[1] ? c.e.op('Neg', [c.e.op('Div', [c.e.op('Mul', [g, y]), b])]) : undefined]),
  // y = a^b: ga = g·b·a^(b−1), gb = g·y·ln a.
  Pow: binary((c, a, b, y, g, wanted) => [
    wanted[0] ? c.e.op('Mul', [g, c.e.op('Mul', [b, c.e.op('Pow', [a, c.e.op('Sub', [b, c.e.constant('float', [1])])])])]) : undefined,
    wanted[1] ? c.e.op('Mul', [g, c.e.op('Mul', [y, c.e.op('Log', [a])])]) : undefined,
  ]),
  // The cotangent goes to the larger input (to a on ties, as torch.maximum splits none: ties are measure-zero here).
  Max: binary((c, a, b, _, g, wanted) => {
    const takeA = c.e.op('GreaterOrEqual', [a, b]);
    const zero = c.e.constant('float', [0]);
    return [wanted[0] ? c.e.op('Where', [takeA, g, zero]) : undefined, wanted[1] ? c.e.op('Where', [takeA, zero, g]) : undefined];
  }),
  Min: binary((c, a, b, _, g, wanted) => {
    const takeA = c.e.op('LessOrEqual', [a, b]);
    const zero = c.e.constant('float', [0]);
    return [wanted[0] ? c.e.op('Where', [takeA, g, zero]) : undefined, wanted[1] ? c.e.op('Where', [takeA, zero, g]) : undefined];
  }),
  Where: (c, n, gy, wanted) => {
    if (!gy[0]) return [];
    const [cond, a, b] = I(n) as [string, string, string];
    const zero = c.e.constant('float', [0]);
    const rank = c.rank(O(n)[0]!);
    return [undefined,
      wanted[1] ? c.unbroadcast(c.e.op('Where', [cond, gy[0], zero]), a, rank) : undefined,
      wanted[2] ? c.unbroadcast(c.e.op('Where', [cond, zero, gy[0]]), b, rank) : undefined];
  },
  Reciprocal: unary((c, _, y, g) => c.e.op('Neg', [c.e.op('Mul', [g, c.e.op('Mul', [y, y])])])),
  Sqrt: unary((c, _, y, g) => c.e.op('Div', [c.e.op('Mul', [g, c.e.constant('float', [0.5])]), y])),
  Exp: unary((c, _, y, g) => c.e.op('Mul', [g, y])),
  Log: unary((c, x, _, g) => c.e.op('Div', [g, x])),
  Tanh: unary((c, _, y, g) => c.e.op('Mul', [g, c.e.op('Sub', [c.e.constant('float', [1]), c.e.op('Mul', [y, y])])])),
  Sigmoid: unary((c, _, y, g) => c.e.op('Mul', [g, c.e.op('Mul', [y, c.e.op('Sub', [c.e.constant('float', [1]), y])])])),
  Cos: unary((c, x, _, g) => c.e.op('Neg', [c.e.op('Mul', [g, c.e.op('Sin', [x])])])),
  Sin: unary((c, x, _, g) => c.e.op('Mul', [g, c.e.op('Cos', [x])])),
  Relu: unary((c, x, _, g) => c.e.op('Where', [c.e.op('Greater', [x, c.e.constant('float', [0])]), g, c.e.constant('float', [0])])),
  Abs: unary((c, x, _, g) => c.e.op('Mul', [g, c.e.op('Sign', [x])])),
  Erf: unary((c, x, _, g) => c.e.op('Mul', [g, c.e.op('Mul', [c.e.constant('float', [2 / Math.sqrt(Math.PI)]), c.e.op('Exp', [c.e.op('Neg', [c.e.op('Mul', [x, x])])])])])),

  // y = a·b over the last two axes, leading axes broadcast.
  MatMul: (c, n, gy, wanted) => {
    if (!gy[0]) return [];
    const [a, b] = I(n) as [string, string];
    const ra = c.rank(a);
    const rb = c.rank(b);
    if (ra < 2 || rb < 2) throw new Error(`MatMul ${O(n)[0]}: a vector operand (rank 1) has no vector–Jacobian rule here`);
    const ry = c.rank(O(n)[0]!);
    return [
      wanted[0] ? c.unbroadcast(c.e.op('MatMul', [gy[0], swapLast(c, b, rb)]), a, ry) : undefined,
      wanted[1] ? c.unbroadcast(c.e.op('MatMul', [swapLast(c, a, ra), gy[0]]), b, ry) : undefined,
    ];
  },
  // Y = alpha·A′·B′ + beta·C with A′ = transA ? Aᵀ : A, B′ likewise.
  Gemm: (c, n, gy, wanted) => {
    if (!gy[0]) return [];
    const [a, b, bias] = I(n) as [string, string, string | undefined];
    const transA = intAttr(n, 'transA', 0);
    const transB = intAttr(n, 'transB', 0);
    const alpha = floatAttr(n, 'alpha', 1);
    const beta = floatAttr(n, 'beta', 1);
    const g = gy[0];
    const ga = !wanted[0] ? undefined : transA ? c.e.op('Gemm', [b, g], { transA: transB, transB: 1, alpha }) : c.e.op('Gemm', [g, b], { transB: transB ? 0 : 1, alpha });
    const gb = !wanted[1] ? undefined : transB ? c.e.op('Gemm', [g, a], { transA: 1, transB: transA, alpha }) : c.e.op('Gemm', [a, g], { transA: transA ? 0 : 1, alpha });
    const gc = wanted[2] && bias ? c.unbroadcast(beta === 1 ? g : c.e.op('Mul', [g, c.e.constant('float', [beta])]), bias, 2) : undefined;
    return [ga, gb, gc];
  },
  // gx = y ∘ (gy − Σ_axis gy∘y).
  Softmax: (c, n, gy) => {
    if (!gy[0]) return [];
    const y = O(n)[0]!;
    const axis = normalise(intAttr(n, 'axis', -1), c.rank(y));
    const dot = c.e.op('ReduceSum', [c.e.op('Mul', [gy[0], y]), c.e.constant('int64', [axis], [1])], { keepdims: 1 });
    return [c.e.op('Mul', [y, c.e.op('Sub', [gy[0], dot])])];
  },
  LogSoftmax: (c, n, gy) => {
    if (!gy[0]) return [];
    const y = O(n)[0]!;
    const axis = normalise(intAttr(n, 'axis', -1), c.rank(y));
    const total = c.e.op('ReduceSum', [gy[0], c.e.constant('int64', [axis], [1])], { keepdims: 1 });
    return [c.e.op('Sub', [gy[0], c.e.op('Mul', [c.e.op('Exp', [y]), total])])];
  },
  ReduceSum: (c, n, gy) => {
    if (!gy[0]) return [];
    const axes = reductionAxes(c, n);
    return [c.e.op('Expand', [keepDims(c, n, gy[0], axes), c.e.op('Shape', [I(n)[0]!])])];
  },
  ReduceMean: (c, n, gy) => {
    if (!gy[0]) return [];
    const x = I(n)[0]!;
    const axes = reductionAxes(c, n);
    const count = c.e.op('Div', [c.e.op('Cast', [c.e.op('Size', [x])], { to: 1 }), c.e.op('Cast', [c.e.op('Size', [O(n)[0]!])], { to: 1 })]);
    return [c.e.op('Expand', [c.e.op('Div', [keepDims(c, n, gy[0], axes), count]), c.e.op('Shape', [x])])];
  },
  // gx = gy · exp(x − y): the softmax over the reduced axes.
  ReduceLogSumExp: (c, n, gy) => {
    if (!gy[0]) return [];
    const x = I(n)[0]!;
    const axes = reductionAxes(c, n);
    return [c.e.op('Mul', [keepDims(c, n, gy[0], axes), c.e.op('Exp', [c.e.op('Sub', [x, keepDims(c, n, O(n)[0]!, axes)])])])];
  },
  // The cotangent goes to the extreme elements, split evenly among ties (as torch's amax/amin).
  ReduceMax: (c, n, gy) => extremeRule(c, n, gy),
  ReduceMin: (c, n, gy) => extremeRule(c, n, gy),
  // Over the last axes from `axis`: x̂ = (x − μ)/σ, y = x̂·w + b. gx = (ĝ − mean ĝ − x̂·mean(ĝ·x̂))/σ with ĝ = gy·w.
  LayerNormalization: (c, n, gy, wanted) => {
    if (!gy[0]) return [];
    const [x, w, b] = I(n) as [string, string, string | undefined];
    const r = c.rank(x);
    const axis = normalise(intAttr(n, 'axis', -1), r);
    const eps = floatAttr(n, 'epsilon', 1e-5);
    const axes = Array.from({ length: r - axis }, (_, i) => axis + i);
    const mean = (t: string) => c.e.op('ReduceMean', [t], { axes, keepdims: 1 });
    const centred = c.e.op('Sub', [x, mean(x)]);
    const inverse = c.e.op('Reciprocal', [c.e.op('Sqrt', [c.e.op('Add', [mean(c.e.op('Mul', [centred, centred])), c.e.constant('float', [eps])])])]);
    const normed = c.e.op('Mul', [centred, inverse]);
    const g = gy[0];
    const gNormed = c.e.op('Mul', [g, w]);
    const gx = wanted[0] ? c.e.op('Mul', [inverse, c.e.op('Sub', [c.e.op('Sub', [gNormed, mean(gNormed)]), c.e.op('Mul', [normed, mean(c.e.op('Mul', [gNormed, normed]))])])]) : undefined;
    return [gx, wanted[1] ? c.unbroadcast(c.e.op('Mul', [g, normed]), w, r) : undefined, wanted[2] && b ? c.unbroadcast(g, b, r) : undefined];
  },
  Transpose: (c, n, gy) => {
    if (!gy[0]) return [];
    const r = c.rank(I(n)[0]!);
    const perm = intsAttr(n, 'perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
    const inverse = new Array<number>(r);
    perm.forEach((p, i) => (inverse[p] = i));
    return [c.e.op('Transpose', [gy[0]], { perm: inverse })];
  },
  Reshape: reshapeLike,
  Squeeze: reshapeLike,
  Unsqueeze: reshapeLike,
  Flatten: reshapeLike,
  Expand: (c, n, gy) => [gy[0] ? c.unbroadcast(gy[0], I(n)[0]!, c.rank(O(n)[0]!)) : undefined],
  Concat: (c, n, gy, wanted) => {
    if (!gy[0]) return [];
    const inputs = I(n);
    const axis = normalise(intAttr(n, 'axis', 0), c.rank(O(n)[0]!));
    const index = c.e.constant('int64', [axis], [1]);
    const sizes = c.e.op('Concat', inputs.map((x) => c.e.op('Gather', [c.e.op('Shape', [x]), index], { axis: 0 })), { axis: 0 });
    const parts = c.e.ops('Split', [gy[0], sizes], inputs.length, { axis });
    return parts.map((p, i) => (wanted[i] ? p : undefined));
  },
  Split: (c, n, gy) => {
    if (gy.every((g) => !g)) return [];
    const axis = normalise(intAttr(n, 'axis', 0), c.rank(I(n)[0]!));
    return [c.e.op('Concat', O(n).map((y, i) => gy[i] ?? c.e.zerosLike(y)), { axis })];
  },
  // The slice's cotangent padded with zeros back to the input's shape; starts and ends may be computed in the graph
  // (clamped as ONNX does), axes and steps must be constant, steps 1.
  Slice: (c, n, gy, wanted) => {
    if (!gy[0] || !wanted[0]) return [];
    const [x, starts, ends, axesInput, stepsInput] = I(n) as [string, string, string, string | undefined, string | undefined];
    const r = c.rank(x);
    const count = c.ints(starts)?.length ?? c.ints(ends)?.length;
    const axes = axesInput ? c.ints(axesInput) : count !== undefined ? Array.from({ length: count }, (_, i) => i) : undefined;
    if (!axes) throw new Error(`Slice ${O(n)[0]}: its axes (or the number of its starts) must be constant to differentiate it`);
    if (stepsInput && !(c.ints(stepsInput) ?? [0]).every((s) => s === 1)) throw new Error(`Slice ${O(n)[0]}: only steps of 1 have a vector–Jacobian rule here`);
    const e = c.e;
    const shape = e.op('Shape', [x]);
    const zero = e.constant('int64', [0], [1]);
    const at = (t: string, k: number) => e.op('Gather', [t, e.constant('int64', [k], [1])], { axis: 0 });
    // ONNX's clamping: negative counts from the end, then into [0, dim].
    const clamp = (v: string, dim: string) => e.op('Min', [e.op('Max', [e.op('Where', [e.op('Less', [v, zero]), e.op('Add', [v, dim]), v]), zero]), dim]);
    const begin = new Array<string>(r).fill(zero);
    const end = new Array<string>(r).fill(zero);
    axes.map((a) => normalise(a, r)).forEach((a, k) => {
      const dim = at(shape, a);
      const first = clamp(at(starts, k), dim);
      begin[a] = first;
      end[a] = e.op('Sub', [dim, e.op('Max', [clamp(at(ends, k), dim), first])]);
    });
    return [e.op('Pad', [gy[0], e.op('Concat', [...begin, ...end], { axis: 0 })])];
  },
  // Rows gathered along axis 0 (an embedding lookup): their cotangents are scattered back, repeats adding up.
  Gather: (c, n, gy, wanted) => {
    if (!gy[0] || !wanted[0]) return [];
    const [data, indices] = I(n) as [string, string];
    if (normalise(intAttr(n, 'axis', 0), c.rank(data)) !== 0) throw new Error(`Gather ${O(n)[0]}: only axis 0 has a vector–Jacobian rule here`);
    const at = c.e.op('Unsqueeze', [indices, c.e.constant('int64', [-1], [1])]);
    return [c.e.op('ScatterND', [c.e.zerosLike(data), at, gy[0]], { reduction: 'add' })];
  },
  GatherElements: (c, n, gy, wanted) => {
    if (!gy[0] || !wanted[0]) return [];
    const [data, indices] = I(n) as [string, string];
    const axis = intAttr(n, 'axis', 0);
    return [c.e.op('ScatterElements', [c.e.zerosLike(data), indices, gy[0]], { axis, reduction: 'add' })];
  },
};
