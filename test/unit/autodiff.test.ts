// Reverse mode over the project's ONNX graphs (src/compute/autodiff): every vector–Jacobian rule on a one-node
// graph against torch autograd (test/fixtures/autodiff/ops-golden.json, from make_ops_golden.py) and against
// central finite differences of the forward graph in onnxruntime; then whole block graphs of both families
// (tiny-qwen2, tiny-gpt2), backward w.r.t. the hidden input and every weight, against finite differences.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { onnx } from 'onnx-proto';
import type { InferenceSession } from 'onnxruntime-node';
import { buildBackward, gradName } from '../../src/compute/autodiff/backward';
import { modelBytes, value, type ElementType } from '../../src/compute/onnxGraph';
import { onnxruntime } from '../../src/compute/session';
import { modelSpecFromConfig } from '../../src/arch/modelSpec';
import { familyOf } from '../../src/compute/families';
import { withWholeAttention } from '../../src/compute/families/ops';
import { BLOCK_IO } from '../../src/compute/families/types';
import { seededRandom } from '../../src/compute/random';
import { ROOT } from './helpers';

interface GoldenInput { name: string; type: 'float' | 'int64' | 'bool'; shape: number[]; data: number[]; const: boolean }
interface GoldenCase { name: string; op: string; attrs: Record<string, number | number[]>; inputs: GoldenInput[]; outputs: number[][]; cotangents: number[][]; grads: Record<string, number[] | null> }

const golden = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/autodiff/ops-golden.json'), 'utf8')) as { cases: GoldenCase[] };
const FLOAT_ATTRIBUTES = new Set(['alpha', 'beta', 'epsilon']);
const T = onnx.TensorProto.DataType;

function attribute(name: string, a: number | number[]): onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (Array.isArray(a)) return { name, type: A.INTS, ints: a };
  return FLOAT_ATTRIBUTES.has(name) ? { name, type: A.FLOAT, f: a } : { name, type: A.INT, i: a };
}

function initializer(i: GoldenInput): onnx.ITensorProto {
  if (i.type === 'int64') return { name: i.name, dims: i.shape, dataType: T.INT64, int64Data: i.data };
  if (i.type === 'bool') return { name: i.name, dims: i.shape, dataType: T.BOOL, int32Data: i.data };
  return { name: i.name, dims: i.shape, dataType: T.FLOAT, rawData: new Uint8Array(Float32Array.from(i.data).buffer) };
}

/** The case as a forward graph with one float output `y` (several outputs are flattened and concatenated). */
function forwardOf(c: GoldenCase): Uint8Array {
  const outs = c.outputs.map((_, k) => `out${k}`);
  const nodes: onnx.INodeProto[] = [{ opType: c.op, input: c.inputs.map((i) => i.name), output: outs, name: 'op', attribute: Object.entries(c.attrs).map(([n, a]) => attribute(n, a)) }];
  const initializers = c.inputs.filter((i) => i.const).map(initializer);
  let outputShape = c.outputs[0]!;
  if (outs.length === 1) nodes.push({ opType: 'Identity', input: [outs[0]!], output: ['y'], name: 'y' });
  else {
    initializers.push({ name: 'flat', dims: [1], dataType: T.INT64, int64Data: [-1] });
    outs.forEach((o, k) => nodes.push({ opType: 'Reshape', input: [o, 'flat'], output: [`flat${k}`], name: `flat${k}` }));
    nodes.push({ opType: 'Concat', input: outs.map((_, k) => `flat${k}`), output: ['y'], name: 'y', attribute: [attribute('axis', 0)] });
    outputShape = [c.outputs.reduce((s, shape) => s + shape.reduce((a, b) => a * b, 1), 0)];
  }
  const inputs = c.inputs.filter((i) => !i.const).map((i) => value(i.name, i.type as ElementType, i.shape));
  return modelBytes({ name: c.name, inputs, outputs: [value('y', 'float', outputShape)], nodes, initializers });
}

type Feeds = Record<string, { data: Float32Array; shape: number[] }>;

async function run(session: InferenceSession, feeds: Feeds, fetch: string[]): Promise<Record<string, Float32Array>> {
  const { Tensor } = onnxruntime();
  const tensors = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new Tensor('float32', v.data, v.shape)]));
  const out = await session.run(tensors, fetch);
  return Object.fromEntries(fetch.map((k) => [k, out[k]!.data as Float32Array]));
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/**
 * ⟨cotangent, J·v⟩ by central differences for a random direction v of each differentiated input, beside ⟨grad, v⟩:
 * the adjoint identity the backward graph must satisfy.
 */
async function checkFiniteDifferences(forward: InferenceSession, feeds: Feeds, cotangent: Float32Array, grads: Record<string, Float32Array>, label: string, eps: number, tolerance: number): Promise<void> {
  const random = seededRandom(7);
  for (const [name, grad] of Object.entries(grads)) {
    const base = feeds[name]!;
    const direction = Float32Array.from(base.data, () => random() * 2 - 1);
    const shifted = (sign: number): Feeds => ({ ...feeds, [name]: { data: Float32Array.from(base.data, (x, i) => x + sign * eps * direction[i]!), shape: base.shape } });
    const plus = dot(cotangent, (await run(forward, shifted(1), ['y'])).y!);
    const minus = dot(cotangent, (await run(forward, shifted(-1), ['y'])).y!);
    const numeric = (plus - minus) / (2 * eps);
    const analytic = dot(grad, direction);
    const scale = Math.max(Math.abs(numeric), Math.sqrt(dot(grad, grad)) * Math.sqrt(direction.length) * 1e-2, 1e-3);
    assert.ok(Math.abs(numeric - analytic) <= tolerance * scale, `${label} d/d${name}: finite differences ${numeric} vs backward ${analytic}`);
  }
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  assert.ok(worst <= tolerance * Math.max(scale, 1e-6), `${label}: max |Δ| ${worst} over max |x| ${scale}`);
}

test('every vector–Jacobian rule matches torch autograd and finite differences', async () => {
  const { InferenceSession } = onnxruntime();
  assert.ok(golden.cases.length >= 40);
  for (const c of golden.cases) {
    const wrt = c.inputs.filter((i) => !i.const && i.type === 'float').map((i) => i.name);
    const forwardBytes = forwardOf(c);
    const backward = await InferenceSession.create(buildBackward(forwardBytes, { output: 'y', wrt }));
    const forward = await InferenceSession.create(forwardBytes);
    const feeds: Feeds = Object.fromEntries(c.inputs.filter((i) => !i.const).map((i) => [i.name, { data: Float32Array.from(i.data), shape: i.shape }]));
    const cotangent = Float32Array.from(c.cotangents.flat());
    const outputShape = c.outputs.length === 1 ? c.outputs[0]! : [cotangent.length];
    const out = await run(backward, { ...feeds, [gradName('y')]: { data: cotangent, shape: outputShape } }, wrt.map(gradName));
    const grads: Record<string, Float32Array> = {};
    for (const name of wrt) {
      grads[name] = out[gradName(name)]!;
      assertClose(grads[name], c.grads[name] ?? new Array(grads[name].length).fill(0), 1e-5, `${c.name} d/d${name} vs torch`);
    }
    // Max-like ops are not differentiable at ties (the 'ties' cases check torch's convention only), and a step
    // must not move the maximum: those take a smaller one.
    if (!c.name.includes('ties')) await checkFiniteDifferences(forward, feeds, cotangent, grads, c.name, NONSMOOTH.has(c.op) ? 1e-3 : 1e-2, 2e-2);
    await Promise.all([backward.release(), forward.release()]);
  }
});

const NONSMOOTH = new Set(['Max', 'Min', 'ReduceMax', 'ReduceMin', 'Relu', 'Abs']);

test('buildBackward names an op without a rule and a gradient that does not exist', () => {
  const c: GoldenCase = { name: 'hardmax', op: 'Hardmax', attrs: {}, inputs: [{ name: 'x', type: 'float', shape: [2, 3], data: [1, 2, 3, 4, 5, 6], const: false }], outputs: [[2, 3]], cotangents: [[]], grads: {} };
  assert.throws(() => buildBackward(forwardOf(c), { output: 'y', wrt: ['x'] }), /no vector–Jacobian rule for Hardmax/);
  assert.throws(() => buildBackward(forwardOf(c), { output: 'y', wrt: ['z'] }), /z is not an input/);
});

for (const fixture of ['tiny-qwen2', 'tiny-gpt2']) {
  test(`the ${fixture} block graph's backward (hidden and every weight) matches finite differences`, async () => {
    const { InferenceSession } = onnxruntime();
    const dir = join(ROOT, 'test/fixtures/models', fixture);
    const spec = modelSpecFromConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), 'config.json');
    const family = familyOf(spec);
    const roles = family.blockTensors(spec, 0, (name) => name.startsWith('transformer.'));
    const forwardBytes = withWholeAttention(() => family.buildBlock(spec, roles));
    const wrt = [BLOCK_IO.hidden, ...roles.map((r) => r.role)];
    const backward = await InferenceSession.create(buildBackward(forwardBytes, { output: BLOCK_IO.out, wrt, keep: [BLOCK_IO.out] }));
    // The forward graph with its output renamed y, for the finite differences.
    const forward = await InferenceSession.create(buildBackwardFreeForward(forwardBytes));
    const random = seededRandom(3);
    const [batch, seq, hidden] = [2, 5, spec.hidden];
    const gauss = (n: number, s: number) => Float32Array.from({ length: n }, () => (random() * 2 - 1) * s);
    const feeds: Feeds = {
      [BLOCK_IO.hidden]: { data: gauss(batch * seq * hidden, 1), shape: [batch, seq, hidden] },
      [BLOCK_IO.headMask]: { data: new Float32Array(spec.heads).fill(1), shape: [spec.heads] },
    };
    for (const r of roles) feeds[r.role] = { data: r.shape.length === 1 && /norm|ln/.test(r.role) && !r.role.endsWith('_b') ? Float32Array.from(gauss(r.shape[0]!, 0.2), (x) => 1 + x) : gauss(r.shape.reduce((a, b) => a * b, 1), 0.15), shape: r.shape };
    const cotangent = gauss(batch * seq * hidden, 1);
    const fetch = [...wrt.map(gradName), BLOCK_IO.out];
    const out = await run(backward, { ...feeds, [gradName(BLOCK_IO.out)]: { data: cotangent, shape: [batch, seq, hidden] } }, fetch);
    const plain = await run(forward, feeds, ['y']);
    assertClose(out[BLOCK_IO.out]!, plain.y!, 1e-6, 'recomputed forward');
    const grads = Object.fromEntries(wrt.map((w) => [w, out[gradName(w)]!]));
    for (const w of wrt) assert.ok(grads[w]!.some((x) => x !== 0), `${fixture}: d/d${w} is not all zero`);
    await checkFiniteDifferences(forward, feeds, cotangent, grads, fixture, 1e-2, 2e-2);
    await Promise.all([backward.release(), forward.release()]);
  });
}

/** The block graph with only BLOCK_IO.out as its output, renamed y. */
function buildBackwardFreeForward(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  graph.node!.push({ opType: 'Identity', input: [BLOCK_IO.out], output: ['y'], name: 'y' });
  graph.output = [{ ...graph.output!.find((o) => o.name === BLOCK_IO.out)!, name: 'y' }];
  return onnx.ModelProto.encode(model).finish();
}
