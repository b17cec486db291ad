// `delta BASE TUNED` against numpy (test/fixtures/delta/make_delta_fixture.py computed every number in float64).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { delta } from '../../src/analyses/delta';
import { CHUNK_ELEMENTS } from '../../src/compute/tensorStream';
import { CancelledError, InputError } from '../../src/errors';
import { encodeSafetensors } from '../fixtures/safetensorsWriter';
import { DIST, ROOT, tempDir, writeTemp } from './helpers';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'delta');
const BASE = join(FIXTURE, 'base.safetensors');
const TUNED = join(FIXTURE, 'tuned.safetensors');
interface Golden {
  tensors: Record<string, { count: number; deltaL2: number; baseL2: number; signConflict: number; changed: number; dropTolerance: number }>;
  mismatched: Record<string, string>;
}
const golden = JSON.parse(readFileSync(join(FIXTURE, 'delta.golden.json'), 'utf8')) as Golden;

function close(actual: number, expected: number, relative: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected) + 1e-12, `${what}: ${actual} vs numpy ${expected}`);
}

test('per-tensor delta numbers match numpy; mismatches are listed, not fatal', async () => {
  const result = await drain(delta({ base: BASE, tuned: TUNED }));
  assert.deepEqual(result.tensors.map((t) => t.name).sort(), Object.keys(golden.tensors).sort());
  for (const t of result.tensors) {
    const g = golden.tensors[t.name]!;
    assert.equal(t.count, g.count, t.name);
    close(t.deltaL2, g.deltaL2, 1e-6, `${t.name} deltaL2`);
    close(t.baseL2, g.baseL2, 1e-6, `${t.name} baseL2`);
    close(t.relative ?? NaN, g.deltaL2 / g.baseL2, 1e-6, `${t.name} relative`);
    assert.equal(t.signConflict, g.signConflict, `${t.name} signConflict`);
    assert.equal(t.changed, g.changed, `${t.name} changed`);
    // The histogram has 32 bins per octave; within one bin magnitudes differ by < 2.2%.
    assert.ok(Math.abs(t.dropTolerance - g.dropTolerance) <= 0.01, `${t.name} dropTolerance ${t.dropTolerance} vs numpy ${g.dropTolerance}`);
  }
  assert.deepEqual(Object.fromEntries(result.mismatched.map((m) => [m.name, m.reason])), golden.mismatched);
  const v = result.tensors.find((t) => t.name.endsWith('v_proj.weight'))!;
  assert.deepEqual([v.baseDtype, v.dtype], ['F32', 'BF16']);
  // Per layer: the Frobenius norm over the layer's compared tensors; ranks by ‖Δ‖.
  const layer1 = result.tensors.filter((t) => t.layer === 1);
  close(result.layers.find((l) => l.index === 1)!.deltaL2, Math.sqrt(layer1.reduce((s, t) => s + t.deltaL2 ** 2, 0)), 1e-12, 'layer 1');
  assert.deepEqual(result.layers.map((l) => [l.index, l.rank]), [[0, 2], [1, 1]]);
});

test('tensors longer than one chunk are compared chunk by chunk in lockstep', async () => {
  const dir = tempDir();
  const count = CHUNK_ELEMENTS * 2 + 1000;
  const base = new Float32Array(count).map((_, i) => Math.sin(i) * 0.02);
  const tuned = base.map((x, i) => (i % 4 === 0 ? x + 0.001 : x));
  const file = (values: Float32Array) => encodeSafetensors([{ name: 'model.layers.0.mlp.up_proj.weight', dtype: 'F32', shape: [count], data: Buffer.from(values.buffer) }]);
  const result = await drain(delta({ base: writeTemp(dir, 'a.safetensors', file(base)), tuned: writeTemp(dir, 'b.safetensors', file(tuned)) }));
  let squares = 0;
  let changed = 0;
  for (let i = 0; i < count; i++) {
    const d = tuned[i]! - base[i]!;
    squares += d * d;
    if (d !== 0) changed++;
  }
  const [t] = result.tensors;
  close(t!.deltaL2, Math.sqrt(squares), 1e-9, 'deltaL2');
  assert.equal(t!.changed, changed / count);
});

test('no tensor in common is an input error; cancel stops the comparison', async () => {
  const dir = tempDir();
  const other = writeTemp(dir, 'other.safetensors', encodeSafetensors([{ name: 'x', dtype: 'F32', shape: [2], data: Buffer.alloc(8) }]));
  await assert.rejects(drain(delta({ base: BASE, tuned: other })), (e: unknown) => e instanceof InputError && /no tensor in common/.test(e.message));
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(drain(delta({ base: BASE, tuned: TUNED }, controller.signal)), CancelledError);
});

test('a base folder that holds the tuned file too is refused, naming the file', async () => {
  const dir = tempDir();
  const tuned = writeTemp(dir, 'tuned.safetensors', readFileSync(TUNED));
  writeTemp(dir, 'base.safetensors', readFileSync(BASE));
  await assert.rejects(drain(delta({ base: dir, tuned })), (e: unknown) => e instanceof InputError && /tuned\.safetensors, which is the tuned checkpoint itself/.test(e.message));
});

test('delta --json follows the contract; a missing checkpoint exits 2', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [join(DIST, 'cli.js'), 'delta', ...args], { encoding: 'utf8' });
  const ok = run(BASE, TUNED, '--json');
  assert.equal(ok.status, 0, ok.stderr);
  const doc = JSON.parse(ok.stdout);
  for (const t of doc.tensors) for (const key of ['name', 'deltaL2', 'relative', 'signConflict']) assert.ok(key in t, key);
  assert.ok(Array.isArray(doc.layers) && doc.layers.length > 0);
  const missing = run(BASE, join(FIXTURE, 'nope.safetensors'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^importance-lens: .*nope\.safetensors: no such file or directory\n$/);
});
