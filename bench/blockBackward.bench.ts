// node out/bench/blockBackward.bench.js [SHAPE] [TOKENS]: one block of a real shape (default qwen0.5b, 256 tokens)
// with random weights, in process: seconds of the forward block graph, of its backward graph w.r.t. the hidden input
// (which recomputes the forward), and of the backward graph that also gives every weight's gradient. The ratio
// backward / forward is what a gradient method costs per block beyond the forward pass (issue #17).
import { performance } from 'node:perf_hooks';
import type { InferenceSession } from 'onnxruntime-node';
import { modelSpecFromConfig } from '../src/arch/modelSpec';
import { buildBackward, gradName } from '../src/compute/autodiff/backward';
import { familyOf } from '../src/compute/families';
import { withWholeAttention } from '../src/compute/families/ops';
import { BLOCK_IO } from '../src/compute/families/types';
import { seededRandom } from '../src/compute/random';
import { onnxruntime } from '../src/compute/session';
import { SHAPES } from '../test/fixtures/realShapes';

async function main(): Promise<void> {
  const shape = process.argv[2] ?? 'qwen0.5b';
  const tokens = Number(process.argv[3] ?? 256);
  const spec = modelSpecFromConfig(SHAPES[shape]!().config, 'config.json');
  const family = familyOf(spec);
  const roles = family.blockTensors(spec, 0, () => false);
  const { InferenceSession, Tensor } = onnxruntime();
  const forwardGraph = withWholeAttention(() => family.buildBlock(spec, roles));
  const random = seededRandom(1);
  const feeds: Record<string, InstanceType<typeof Tensor>> = {
    [BLOCK_IO.hidden]: new Tensor('float32', Float32Array.from({ length: tokens * spec.hidden }, () => random() - 0.5), [1, tokens, spec.hidden]),
    [BLOCK_IO.headMask]: new Tensor('float32', new Float32Array(spec.heads).fill(1), [spec.heads]),
  };
  for (const r of roles) feeds[r.role] = new Tensor('float32', Float32Array.from({ length: r.shape.reduce((a, b) => a * b, 1) }, () => (r.shape.length === 1 ? 1 : (random() - 0.5) * 0.04)), r.shape);
  const time = async (session: InferenceSession, extra: Record<string, InstanceType<typeof Tensor>>, fetches: string[]) => {
    await session.run({ ...feeds, ...extra }, fetches);
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      await session.run({ ...feeds, ...extra }, fetches);
      runs.push((performance.now() - start) / 1000);
    }
    return Math.min(...runs);
  };
  const forward = await InferenceSession.create(forwardGraph);
  const f = await time(forward, {}, [BLOCK_IO.out]);
  const cotangent = { [gradName(BLOCK_IO.out)]: new Tensor('float32', new Float32Array(tokens * spec.hidden).fill(0.01), [1, tokens, spec.hidden]) };
  const input = await InferenceSession.create(buildBackward(forwardGraph, { output: BLOCK_IO.out, wrt: [BLOCK_IO.hidden] }));
  const b = await time(input, cotangent, [gradName(BLOCK_IO.hidden)]);
  const all = [BLOCK_IO.hidden, ...roles.map((r) => r.role)];
  const weights = await InferenceSession.create(buildBackward(forwardGraph, { output: BLOCK_IO.out, wrt: all }));
  const w = await time(weights, cotangent, all.map(gradName));
  console.log(`${shape}, one block, ${tokens} tokens (best of 3): forward ${f.toFixed(3)} s; backward to the input ${b.toFixed(3)} s (${(b / f).toFixed(2)}× forward); with every weight's gradient ${w.toFixed(3)} s (${(w / f).toFixed(2)}×)`);
}

void main();
