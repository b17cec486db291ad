// The CLI contract (docs/cli.md), run as a user runs it: node dist/cli.js.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { rawSafetensors } from '../fixtures/safetensorsWriter';
import { DIST, SAMPLE_DIR, tempDir, writeTemp } from './helpers';

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('inspect --json follows the contract', () => {
  const { code, stdout, stderr } = cli('inspect', join(SAMPLE_DIR, 'model.safetensors'), '--json');
  assert.equal(code, 0, stderr);
  const doc = JSON.parse(stdout);
  assert.equal(doc.format, 'safetensors');
  assert.equal(typeof doc.parameters, 'number');
  assert.ok(Array.isArray(doc.warnings));
  for (const key of ['family', 'layers', 'hidden', 'heads', 'kvHeads', 'intermediate', 'vocab']) assert.ok(key in doc.architecture, key);
  assert.equal(doc.architecture.kvHeads, 2);
  const q = doc.tensors.find((t: { name: string }) => t.name === 'model.layers.2.self_attn.q_proj.weight');
  assert.deepEqual({ dtype: q.dtype, shape: q.shape, layer: q.layer, module: q.module }, { dtype: 'F32', shape: [64, 64], layer: 2, module: 'attn.q' });
  assert.equal(doc.parameters, doc.tensors.reduce((s: number, t: { shape: number[] }) => s + t.shape.reduce((a, b) => a * b, 1), 0));
});

test('a header length past the end of the file: exit 2 and one importance-lens: line', () => {
  const file = writeTemp(tempDir(), 'broken.safetensors', rawSafetensors('{}', Buffer.alloc(0), 1_000_000n));
  const { code, stdout, stderr } = cli('inspect', file, '--json');
  assert.equal(code, 2);
  assert.equal(stdout, '');
  assert.match(stderr, /^importance-lens: .*header of 1000000 bytes ends at byte 1000008 but the file has 10 bytes\n$/);
});

test('usage errors exit 2; --help exits 0', () => {
  assert.equal(cli('--help').code, 0);
  assert.match(cli('--help').stdout, /inspect PATH/);
  assert.equal(cli('inspect', '--help').code, 0);
  for (const args of [['nonsense'], ['inspect'], ['inspect', SAMPLE_DIR, '--bogus'], ['report', SAMPLE_DIR]]) {
    const { code, stderr } = cli(...args);
    assert.equal(code, 2, args.join(' '));
    assert.match(stderr, /^importance-lens: [^\n]+\n$/, args.join(' '));
  }
});

test('report writes a self-contained HTML report and never replaces a file that is not one', () => {
  const dir = tempDir();
  const out = join(dir, 'report.html');
  const first = cli('report', SAMPLE_DIR, '--out', out);
  assert.equal(first.code, 0, first.stderr);
  const html = readFileSync(out, 'utf8');
  assert.match(html, /<meta name="generator" content="importance-lens">/);
  assert.match(html, /model\.layers\.3\.mlp\.down_proj\.weight/);
  assert.doesNotMatch(html, /<script[^>]+src=/, 'no external scripts');
  assert.equal(cli('report', SAMPLE_DIR, '--out', out).code, 0, 'an earlier report may be replaced');
  const precious = join(dir, 'notes.html');
  writeFileSync(precious, '<p>my notes</p>');
  const refused = cli('report', SAMPLE_DIR, '--out', precious);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /exists and is not an Importance Lens report/);
  assert.equal(readFileSync(precious, 'utf8'), '<p>my notes</p>');
});

test('stats --json and layers --json follow the contract', () => {
  const statsRun = cli('stats', SAMPLE_DIR, '--json');
  assert.equal(statsRun.code, 0, statsRun.stderr);
  const doc = JSON.parse(statsRun.stdout);
  assert.equal(doc.device, 'cpu');
  assert.equal(doc.tensors.length, 39);
  for (const key of ['name', 'dtype', 'shape', 'count', 'l2', 'mean', 'std', 'absmax', 'zeros', 'kurtosis']) assert.ok(key in doc.tensors[0], key);
  for (const key of ['index', 'params', 'l2']) assert.ok(key in doc.layers[0], key);
  const norm = doc.tensors.find((t: { name: string }) => t.name === 'model.norm.weight');
  assert.deepEqual([norm.l2, norm.mean, norm.std, norm.absmax, norm.zeros, norm.kurtosis], [8, 1, 0, 1, 0, null]);

  const layersRun = cli('layers', SAMPLE_DIR, '--metric', 'weight-l2', '--json');
  assert.equal(layersRun.code, 0, layersRun.stderr);
  const ranked = JSON.parse(layersRun.stdout);
  assert.equal(ranked.metric, 'weight-l2');
  assert.equal(ranked.device, 'cpu');
  assert.deepEqual(ranked.layers.map((l: { index: number }) => l.index), [0, 1, 2, 3]);
  assert.deepEqual(ranked.layers.map((l: { rank: number }) => l.rank).sort(), [1, 2, 3, 4]);
  const best = ranked.layers.find((l: { rank: number }) => l.rank === 1);
  assert.equal(best.score, Math.max(...ranked.layers.map((l: { score: number }) => l.score)));
  const blockL2 = doc.layers.find((l: { index: number }) => l.index === best.index).l2;
  assert.equal(best.score, blockL2);

  for (const args of [['layers', SAMPLE_DIR, '--metric', 'bogus'], ['layers', SAMPLE_DIR, '--metric', 'block-influence']]) {
    const refused = cli(...args);
    assert.equal(refused.code, 2, args.join(' '));
    assert.match(refused.stderr, /^importance-lens: [^\n]+\n$/);
  }
});
