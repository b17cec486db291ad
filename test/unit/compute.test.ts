// The onnxruntime compute path: provider order and fallback, and the moments kernel (an ONNX graph built in code)
// against the typed-array loop and against numpy's statistics of the stats fixture.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { stats } from '../../src/analyses/stats';
import { chunkMoments, finishMoments } from '../../src/compute/moments';
import { MomentsKernel, momentsModel } from '../../src/compute/momentsKernel';
import { chooseProvider, parseProviders, providersWorthProbing } from '../../src/compute/session';
import { stableRank } from '../../src/compute/spectral';
import { SpectralKernel } from '../../src/compute/spectralKernel';
import { InputError } from '../../src/errors';
import { ROOT } from './helpers';

test('provider lists: cpu is always the last resort; unknown names are input errors', () => {
  assert.deepEqual(parseProviders('webgpu'), ['webgpu', 'cpu']);
  assert.deepEqual(parseProviders(['cpu', 'cuda']), ['cpu', 'cuda']);
  assert.deepEqual(parseProviders(undefined), ['cuda', 'webgpu', 'cpu']);
  assert.throws(() => parseProviders('cuda,tpu'), (e: unknown) => e instanceof InputError && /unknown execution provider 'tpu'/.test(e.message));
});

test('providers that cannot start are skipped with a reason, and the choice falls back to one that runs', async () => {
  const { worth, skipped } = providersWorthProbing(['cuda', 'webgpu', 'cpu']);
  assert.ok(worth.includes('cpu'));
  // This package ships no CUDA libraries: CUDA is only there after a CUDA install of onnxruntime-node.
  assert.ok(skipped.some((s) => s.startsWith('cuda: not installed')), skipped.join('; '));
  const choice = await chooseProvider(worth, momentsModel());
  assert.ok(['webgpu', 'cpu'].includes(choice.provider));
  assert.equal(await chooseProvider(worth, momentsModel()), await chooseProvider(worth, momentsModel()), 'remembered per process');
});

test('the moments graph agrees with the float64 loop, non-finite values and zeros included', async () => {
  const values = new Float32Array(300_001).map((_, i) => Math.sin(i * 0.37) * 0.05 + (i % 97 === 0 ? 1.5 : 0));
  values[10] = NaN;
  values[20] = Infinity;
  for (let i = 0; i < 1000; i++) values[100 + i] = 0;
  const kernel = await MomentsKernel.create('cpu');
  try {
    const graph = finishMoments(await kernel.moments(values, values.length));
    const loop = finishMoments(chunkMoments(values, values.length));
    assert.deepEqual([graph.count, graph.nonFinite, graph.zeros], [loop.count, loop.nonFinite, loop.zeros]);
    assert.equal(graph.absmax, loop.absmax);
    for (const [key, tolerance] of [['l2', 1e-5], ['mean', 1e-5], ['std', 1e-5], ['kurtosis', 1e-5]] as const) {
      const [a, b] = [graph[key]!, loop[key]!];
      assert.ok(Math.abs(a - b) <= tolerance * Math.abs(b), `${key}: graph ${a} vs loop ${b}`);
    }
    const empty = await kernel.moments(Float32Array.from([NaN, NaN]), 2);
    assert.deepEqual([empty.n, empty.nonFinite], [0, 2]);
  } finally {
    await kernel.release();
  }
});

test('stats with the JavaScript kernels (IMPORTANCE_LENS_KERNEL=js) matches numpy as the graphs do', async () => {
  const golden = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'stats', 'stats.golden.json'), 'utf8')) as Record<string, { l2: number; mean: number; std: number; absmax: number; zeros: number; kurtosis: number | null }>;
  process.env.IMPORTANCE_LENS_KERNEL = 'js';
  try {
    const result = await drain(stats({ path: join(ROOT, 'test', 'fixtures', 'stats', 'mixed.safetensors'), providers: ['cpu'] }));
    assert.equal(result.device, 'cpu');
    for (const t of result.tensors) {
      const g = golden[t.name]!;
      for (const key of ['l2', 'std', 'absmax'] as const) {
        assert.ok(Math.abs(t[key]! - g[key]) <= 1e-5 * Math.abs(g[key]), `${t.name} ${key}: ${t[key]} vs numpy ${g[key]}`);
      }
      assert.equal(t.zeros, g.zeros, `${t.name} zeros`);
      assert.ok(Math.abs(t.mean! - g.mean) <= Math.max(1e-5 * Math.abs(g.mean), 1e-9 * g.absmax), `${t.name} mean: ${t.mean} vs numpy ${g.mean}`);
      if (g.kurtosis !== null) assert.ok(Math.abs(t.kurtosis! - g.kurtosis) <= Math.max(1e-4 * Math.abs(g.kurtosis), 1e-6), `${t.name} kurtosis: ${t.kurtosis} vs numpy ${g.kurtosis}`);
    }
  } finally {
    delete process.env.IMPORTANCE_LENS_KERNEL;
  }
});

test('the power-iteration graph gives the loop\'s σ_max and stable rank from the same start vector', async () => {
  const rows = 300;
  const cols = 200;
  // A matrix with a clear spectral gap, so both converge well inside the iteration bound.
  const values = new Float32Array(rows * cols).map((_, i) => Math.sin(i * 0.7) * 0.02 + (i % cols === 3 ? 0.5 : 0));
  const frobeniusSquared = values.reduce((s, x) => s + x * x, 0);
  const kernel = await SpectralKernel.create('cpu');
  try {
    const graph = (await kernel.stableRank(values, rows, cols, frobeniusSquared))!;
    const loop = stableRank(values, rows, cols, frobeniusSquared)!;
    assert.ok(Math.abs(graph.sigmaMax - loop.sigmaMax) <= 1e-5 * loop.sigmaMax, `σ ${graph.sigmaMax} vs ${loop.sigmaMax}`);
    assert.ok(Math.abs(graph.stableRank - loop.stableRank) <= 1e-4 * loop.stableRank);
    assert.equal(graph.iterations, loop.iterations);
    assert.equal(await kernel.stableRank(new Float32Array(6), 2, 3, 0), null);
  } finally {
    await kernel.release();
  }
});
