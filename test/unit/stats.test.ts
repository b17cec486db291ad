// `stats` against statistics computed independently by numpy in float64 (test/fixtures/stats/make_stats_fixture.py).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { stats } from '../../src/analyses/stats';
import { layers } from '../../src/analyses/layers';
import { chunkMoments, finishMoments, mergeMoments, emptyMoments } from '../../src/compute/moments';
import { ROOT } from './helpers';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'stats');
type Golden = Record<string, { count: number; nonFinite: number; l2: number; mean: number; std: number; absmax: number; zeros: number; kurtosis: number | null; outliers: number; stableRank: number | null }>;
const golden = JSON.parse(readFileSync(join(FIXTURE, 'stats.golden.json'), 'utf8')) as Golden;

function close(actual: number | null, expected: number | null, relative: number, what: string, absolute = 0): void {
  if (expected === null || actual === null) return assert.equal(actual, expected, what);
  const tolerance = Math.max(relative * Math.abs(expected), absolute);
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs numpy ${expected} (tolerance ${tolerance})`);
}

test('per-tensor statistics match numpy for every decodable dtype', async () => {
  const result = await drain(stats({ path: join(FIXTURE, 'mixed.safetensors') }));
  assert.equal(result.device, 'cpu');
  assert.deepEqual(result.tensors.map((t) => t.name).sort(), Object.keys(golden).sort());
  for (const t of result.tensors) {
    const g = golden[t.name]!;
    const what = `${t.name} (${t.dtype})`;
    assert.equal(t.count, g.count, `${what} count`);
    assert.equal(t.nonFinite, g.nonFinite, `${what} nonFinite`);
    close(t.l2, g.l2, 1e-5, `${what} l2`);
    close(t.mean, g.mean, 1e-5, `${what} mean`, 1e-9 * g.absmax);
    close(t.std, g.std, 1e-5, `${what} std`);
    close(t.absmax, g.absmax, t.dtype === 'F64' ? 1e-7 : 0, `${what} absmax`); // F64 is decoded to float32
    assert.equal(t.zeros, g.zeros, `${what} zeros`);
    close(t.kurtosis, g.kurtosis, 1e-4, `${what} kurtosis`, 1e-6);
    assert.equal(t.outliers, g.outliers, `${what} outliers`);
    // Power iteration stops within 1e-4 of σ_max; for near-degenerate top singular values it converges slowly.
    close(t.stableRank, g.stableRank, 2e-2, `${what} stable rank`);
  }
  const planted = result.tensors.find((t) => t.name === 'model.layers.0.mlp.up_proj.weight')!;
  assert.ok(planted.outliers! > 0 && planted.kurtosis! > 3, 'the planted outlier shows');
});

test('per-layer aggregates: parameters, shares and Frobenius norm over the layer', async () => {
  const result = await drain(stats({ path: join(FIXTURE, 'mixed.safetensors') }));
  const layer1 = result.layers.find((l) => l.index === 1)!;
  const members = Object.entries(golden).filter(([name]) => name.startsWith('model.layers.1.'));
  assert.equal(layer1.params, members.reduce((s, [, g]) => s + g.count, 0));
  close(layer1.l2, Math.sqrt(members.reduce((s, [, g]) => s + g.l2 ** 2, 0)), 1e-6, 'layer 1 l2');
  assert.ok(Math.abs(result.layers.reduce((s, l) => s + l.share, 0) - 1) < 1e-12);
});

test('chunked moments merge to the same numbers as one pass (Pébay), even with a large mean', () => {
  const values = new Float32Array(10_007);
  let seed = 7;
  for (let i = 0; i < values.length; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    values[i] = 5000 + (seed / 2147483648 - 0.5) * (i % 13 === 0 ? 40 : 1);
  }
  const whole = finishMoments(chunkMoments(values, values.length));
  let merged = emptyMoments();
  for (let start = 0; start < values.length; start += 997) {
    const chunk = values.subarray(start, Math.min(values.length, start + 997));
    merged = mergeMoments(merged, chunkMoments(chunk, chunk.length));
  }
  const chunked = finishMoments(merged);
  for (const key of ['l2', 'mean', 'std', 'kurtosis'] as const) close(chunked[key], whole[key], 1e-9, key);
});

test('LoRA adapter importance: ‖B·A‖_F·alpha/r per module matches numpy, and ranks layers by their update', async () => {
  const lora = JSON.parse(readFileSync(join(FIXTURE, 'lora.golden.json'), 'utf8')) as Record<string, { productNorm: number; deltaNorm: number }>;
  const result = await drain(stats({ path: join(FIXTURE, 'lora-adapter') }));
  assert.ok(result.lora);
  assert.deepEqual(result.lora.map((m) => m.name).sort(), Object.keys(lora).sort());
  for (const m of result.lora) {
    close(m.productNorm, lora[m.name]!.productNorm, 1e-6, `${m.name} ‖BA‖`);
    close(m.deltaNorm, lora[m.name]!.deltaNorm, 1e-6, `${m.name} ‖ΔW‖`);
    assert.equal(m.rank, 4);
  }
  assert.deepEqual(result.lora.filter((m) => m.layer === 2).map((m) => m.module).sort(), ['attn.q', 'mlp.down']);
  const ranked = await drain(layers({ path: join(FIXTURE, 'lora-adapter'), metric: 'weight-l2' }));
  const expected = [0, 1, 2].map((l) => Math.sqrt(Object.entries(lora).filter(([name]) => name.includes(`.layers.${l}.`)).reduce((s, [, g]) => s + g.deltaNorm ** 2, 0)));
  ranked.layers.forEach((l) => close(l.score, expected[l.index]!, 1e-6, `layer ${l.index} score`));
  assert.deepEqual(ranked.layers.map((l) => l.rank), [3, 2, 1], 'B grows with depth in the fixture, so the last layer matters most');
});
