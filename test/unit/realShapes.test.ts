// The real-shape generator (test/fixtures/realShapes.ts) and the torch baseline of the real-shape benchmarks
// (bench/torch_real.py) checked against the project on tiny folders of the same families: Block Influence and
// perplexity from `node dist/cli.js` and from the torch script agree to ~1e-4. This validates the benchmark's
// baseline and cross-checks the engine on Qwen2 (tied head, q/k/v biases, GQA) and Llama-2 (separate head) layouts.
// Needs Debian's python3-torch: skipped without it on a developer machine, a failure under CI (CI is set).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SHAPES, llama7bConfig, qwen05bConfig, shardPlan, tensorList, writeModelFolder } from '../fixtures/realShapes';
import { TextTokenizer } from '../../src/compute/tokenizer';
import { DIST, needsReference, PYTHON, ROOT, tempDir } from './helpers';

const TORCH = join(ROOT, 'bench', 'torch_real.py');
const TEXT = join(ROOT, 'samples', 'text', 'john-1.txt');

function cli(...args: string[]): Record<string, unknown> {
  const run = spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args, '--json'], { encoding: 'utf8', env: { ...process.env, IMPORTANCE_LENS_PROVIDERS: 'cpu' } });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

function torch(dir: string, ids: string, analysis: string, tokens: number): Record<string, unknown> {
  const run = spawnSync(PYTHON, [TORCH, dir, ids, '--analysis', analysis, '--tokens', String(tokens), '--threads', '1'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr + run.stdout);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

test('real shapes: tensor names and shard plan are what transformers saves', () => {
  const qwen = tensorList(qwen05bConfig());
  assert.equal(qwen.length, 1 + 24 * 12 + 1); // embed, 12 per block (3 biases), final norm; tied: no lm_head
  assert.ok(qwen.some((t) => t.name === 'model.layers.23.self_attn.k_proj.bias' && t.shape.join() === '128'));
  assert.equal(qwen.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0), 494_032_768); // Qwen2.5-0.5B's parameter count
  const shards = shardPlan({ config: llama7bConfig(), maxShardBytes: 10e9 });
  assert.deepEqual(shards.map((s) => s.file), ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  assert.equal(shards.flatMap((s) => s.tensors).reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1) * 2, 0), 13_476_831_232); // Llama-2-7b's total_size less its 32 rotary_emb.inv_freq buffers (8 KiB)
  const llama8b = shardPlan(SHAPES.llama8b!());
  assert.deepEqual(llama8b.map((s) => s.file), [1, 2, 3, 4].map((i) => `model-0000${i}-of-00004.safetensors`));
  assert.equal(llama8b.flatMap((s) => s.tensors).reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1) * 2, 0), 16_060_522_496); // Llama-3.1-8B's total_size
  assert.equal(llama8b[0]!.tensors.length, 1 + 9 * 9); // embed and blocks 0-8: 4.98 GB, as the real first shard
});

for (const name of ['tiny-qwen', 'tiny-llama']) {
  test(`real shapes: bench/torch_real.py agrees with the CLI on a ${name} folder (random weights) (Block Influence, perplexity)`, async (t) => {
    if (!needsReference(t, ['torch', 'numpy'])) return;
    const dir = tempDir();
    const model = join(dir, 'model');
    assert.equal(writeModelFolder(model, SHAPES[name]!()).reused, false);
    assert.equal(writeModelFolder(model, SHAPES[name]!()).reused, true); // a complete folder is recognised
    const ids = (await (await TextTokenizer.load(model)).encode(readFileSync(TEXT, 'utf8'))).map((s) => s.id);
    const idsFile = join(dir, 'ids.json');
    writeFileSync(idsFile, JSON.stringify(ids));

    const ours = cli('layers', model, '--metric', 'block-influence', '--text-file', TEXT, '--max-tokens', '256') as { layers: { index: number; score: number }[] };
    const theirs = torch(model, idsFile, 'bi', 256) as { values: number[] };
    const scores = [...ours.layers].sort((a, b) => a.index - b.index).map((l) => l.score);
    assert.equal(scores.length, theirs.values.length);
    scores.forEach((s, l) => assert.ok(Math.abs(s - theirs.values[l]!) < 1e-4, `block ${l}: ours ${s}, torch ${theirs.values[l]}`));

    const ppl = cli('perplexity', model, '--text-file', TEXT, '--max-tokens', '256') as { nll: number; tokens: number };
    const reference = torch(model, idsFile, 'ppl', 256) as { nll: number; tokens: number };
    assert.equal(ppl.tokens, reference.tokens);
    assert.ok(Math.abs(ppl.nll - reference.nll) < 1e-4, `nll: ours ${ppl.nll}, torch ${reference.nll}`);
  });
}

test('real shapes: past one attention query chunk (700 tokens = 3 chunks of ≤ 256), the CLI still agrees with torch on tiny-qwen', async (t) => {
  if (!needsReference(t, ['torch', 'numpy'])) return;
  const dir = tempDir();
  const model = join(dir, 'model');
  writeModelFolder(model, SHAPES['tiny-qwen']!());
  const text = join(dir, 'text.txt');
  writeFileSync(text, readFileSync(TEXT, 'utf8').repeat(3));
  const ids = (await (await TextTokenizer.load(model)).encode(readFileSync(text, 'utf8'))).map((s) => s.id);
  assert.ok(ids.length >= 700, `${ids.length} tokens`);
  const idsFile = join(dir, 'ids.json');
  writeFileSync(idsFile, JSON.stringify(ids));
  const ppl = cli('perplexity', model, '--text-file', text, '--max-tokens', '700') as { nll: number; tokens: number };
  const reference = torch(model, idsFile, 'ppl', 700) as { nll: number; tokens: number };
  assert.equal(ppl.tokens, 700);
  assert.ok(Math.abs(ppl.nll - reference.nll) < 1e-4, `nll: ours ${ppl.nll}, torch ${reference.nll}`);
  const ours = cli('layers', model, '--metric', 'block-influence', '--text-file', text, '--max-tokens', '700') as { layers: { index: number; score: number }[] };
  const theirs = torch(model, idsFile, 'bi', 700) as { values: number[] };
  [...ours.layers].sort((a, b) => a.index - b.index).forEach((l) => assert.ok(Math.abs(l.score - theirs.values[l.index]!) < 1e-4, `block ${l.index}: ours ${l.score}, torch ${theirs.values[l.index]}`));
});
