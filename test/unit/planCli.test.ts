// `plan` and `apply` as a user runs them (node dist/cli.js; docs/cli.md), and the pruned directories checked by
// the independent torch reference (test/fixtures/plan/check_pruned.py, Debian's python3 with torch, numpy and
// regex: skipped where they are missing, failed under CI).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { DIST, needsReference, PYTHON, ROOT, tempDir } from './helpers';
import { hashDirectory } from './planHelpers';

const SAMPLE = join(ROOT, 'samples', 'tiny-llama-kjv');
const TEXT = join(ROOT, 'samples', 'text', 'john-1.txt');
const GPT2 = join(ROOT, 'test', 'fixtures', 'models', 'tiny-gpt2');
const CHECK = join(ROOT, 'test', 'fixtures', 'plan', 'check_pruned.py');

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args], { encoding: 'utf8', env: { ...process.env, IMPORTANCE_LENS_PROVIDERS: 'cpu' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** What check_pruned.py imports (itself, and the reference model and tokenizer under scripts/sample-model/). */
const TORCH_REFERENCE = ['torch', 'numpy', 'regex'];
const hasTorch = (t: TestContext) => needsReference(t, TORCH_REFERENCE);

function torchCheck(plan: string, source: string, pruned: string): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const run = spawnSync(PYTHON, [CHECK, plan, source, pruned, TEXT], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout);
}

test('plan --drop-layers prints the plan and writes it; apply --verify reports the contract fields', async (t) => {
  const dir = tempDir();
  const before = hashDirectory(SAMPLE);
  const planPath = join(dir, 'sample.pruneplan.json');
  const planned = cli('plan', SAMPLE, '--drop-layers', '1', '--text-file', TEXT, '--out', planPath, '--json');
  assert.equal(planned.code, 0, planned.stderr);
  const plan = JSON.parse(planned.stdout);
  assert.deepEqual(JSON.parse(readFileSync(planPath, 'utf8')), plan);
  assert.equal(plan.kind, 'importance-lens/pruneplan');
  assert.equal(plan.metric.name, 'block-influence');
  assert.equal(plan.metric.scores.length, 4);
  assert.deepEqual(plan.actions[0].layers, [plan.metric.scores.find((s: { rank: number }) => s.rank === 4).layer]);
  assert.equal(plan.alternatives[0]?.selection, 'contiguous-block');

  const out = join(dir, 'pruned');
  const applied = cli('apply', planPath, '--out', out, '--verify', '--text-file', TEXT, '--json');
  assert.equal(applied.code, 0, applied.stderr);
  const result = JSON.parse(applied.stdout);
  assert.equal(result.out, out);
  assert.ok(result.files.includes('model.safetensors') && result.files.includes('config.json') && result.files.includes('tokenizer.json'));
  assert.ok(result.parameters.after < result.parameters.before);
  assert.ok(result.perplexity.before > 1 && result.perplexity.after > result.perplexity.before);
  // The perplexity of the pruned directory is what `perplexity` says of it, and the before is the source's.
  const direct = JSON.parse(cli('perplexity', out, '--text-file', TEXT, '--json').stdout);
  assert.equal(direct.perplexity, result.perplexity.after);
  assert.deepEqual(hashDirectory(SAMPLE), before);

  const again = cli('apply', planPath, '--out', out, '--json');
  assert.equal(again.code, 2);
  assert.match(again.stderr, /^importance-lens: .*already exists.*never overwrites[^\n]*\n$/);

  await t.test('the torch reference agrees: 3 blocks left, logits equal to skipping the dropped one, same perplexity', (t) => {
    if (!hasTorch(t)) return;
    const check = torchCheck(planPath, SAMPLE, out);
    assert.equal(check.layers.pruned, 3);
    assert.equal(check.logitsMaxDiffVsSkipping, 0);
    assert.ok(Math.abs(check.perplexity.pruned - result.perplexity.after) <= 1e-4 * result.perplexity.after, `${check.perplexity.pruned} vs ${result.perplexity.after}`);
    assert.ok(Math.abs(check.perplexity.source - result.perplexity.before) <= 1e-4 * result.perplexity.before);
  });
});

test('plan --sparsity with wanda on GPT-2 (Conv1D columns): the zeros are the ones torch computes', (t) => {
  if (!hasTorch(t)) return;
  const dir = tempDir();
  const planPath = join(dir, 'gpt2.pruneplan.json');
  assert.equal(cli('plan', GPT2, '--sparsity', '0.5', '--text-file', TEXT, '--out', planPath).code, 0);
  const out = join(dir, 'sparse');
  const applied = cli('apply', planPath, '--out', out, '--verify', '--text-file', TEXT, '--json');
  assert.equal(applied.code, 0, applied.stderr);
  const result = JSON.parse(applied.stdout);
  assert.equal(result.parameters.after, result.parameters.before);
  const check = torchCheck(planPath, GPT2, out);
  assert.equal(check.sparsity.mismatches, 0);
  assert.equal(check.sparsity.zeros, result.zeroed);
  assert.ok(Math.abs(check.perplexity.pruned - result.perplexity.after) <= 1e-4 * result.perplexity.after);
});

test('plan --drop-heads on the sample (GQA, 2 KV groups of 2 query heads): smaller, and equal to silencing those heads', async (t) => {
  const dir = tempDir();
  const planPath = join(dir, 'heads.pruneplan.json');
  const planned = cli('plan', SAMPLE, '--drop-heads', '1', '--out', planPath, '--json');
  assert.equal(planned.code, 0, planned.stderr);
  const plan = JSON.parse(planned.stdout);
  assert.equal(plan.actions[0].type, 'drop-heads');
  for (let l = 0; l < 4; l++) assert.equal(plan.actions[0].kvGroups[String(l)].length, 1);
  const out = join(dir, 'pruned');
  const applied = cli('apply', planPath, '--out', out, '--verify', '--text-file', TEXT, '--json');
  assert.equal(applied.code, 0, applied.stderr);
  const result = JSON.parse(applied.stdout);
  assert.equal(result.parameters.after, plan.predicted.parameters.after);
  assert.ok(result.bytes.after < result.bytes.before);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual([config.num_attention_heads, config.num_key_value_heads, config.head_dim, config.hidden_size], [2, 1, 32, 128]);
  await t.test('the torch reference agrees: logits equal to silencing the dropped heads, same perplexity', (t) => {
    if (!hasTorch(t)) return;
    const check = torchCheck(planPath, SAMPLE, out);
    assert.ok(check.logitsMaxDiffVsSilencedHeads < 1e-3, String(check.logitsMaxDiffVsSilencedHeads));
    assert.ok(Math.abs(check.perplexity.pruned - result.perplexity.after) <= 1e-4 * result.perplexity.after);
  });
});

test('plan --drop-mlp-channels on the sample: a narrower MLP, equal in torch to silencing those channels', (t) => {
  if (!hasTorch(t)) return;
  const dir = tempDir();
  const planPath = join(dir, 'width.pruneplan.json');
  assert.equal(cli('plan', SAMPLE, '--drop-mlp-channels', '0.25', '--text-file', TEXT, '--max-tokens', '64', '--out', planPath).code, 0);
  const out = join(dir, 'pruned');
  const applied = cli('apply', planPath, '--out', out, '--verify', '--text-file', TEXT, '--json');
  assert.equal(applied.code, 0, applied.stderr);
  const result = JSON.parse(applied.stdout);
  const check = torchCheck(planPath, SAMPLE, out);
  assert.deepEqual(check.intermediate, { source: 352, pruned: 264 });
  assert.equal(check.parameters.pruned, result.parameters.after);
  assert.ok(check.logitsMaxDiffVsSilencedChannels < 1e-4, String(check.logitsMaxDiffVsSilencedChannels));
  assert.ok(Math.abs(check.perplexity.pruned - result.perplexity.after) <= 1e-4 * result.perplexity.after);
});

test('plan --drop-query-heads: every KV group keeps as many query heads; equal to silencing the dropped ones', (t) => {
  if (!hasTorch(t)) return;
  const dir = tempDir();
  const planPath = join(dir, 'q.pruneplan.json');
  assert.equal(cli('plan', SAMPLE, '--drop-query-heads', '1', '--out', planPath).code, 0);
  const out = join(dir, 'pruned');
  const applied = cli('apply', planPath, '--out', out, '--verify', '--text-file', TEXT, '--json');
  assert.equal(applied.code, 0, applied.stderr);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual([config.num_attention_heads, config.num_key_value_heads], [2, 2]);
  const check = torchCheck(planPath, SAMPLE, out);
  assert.ok(check.logitsMaxDiffVsSilencedHeads < 1e-3, String(check.logitsMaxDiffVsSilencedHeads));
  assert.ok(Math.abs(check.perplexity.pruned - JSON.parse(applied.stdout).perplexity.after) <= 1e-4 * check.perplexity.pruned);
});

test('plan and apply usage errors: exit 2 with one importance-lens: line, nothing written', () => {
  const dir = tempDir();
  const notAPlan = join(dir, 'notes.json');
  writeFileSync(notAPlan, '{"mine": true}');
  const cases: [string[], RegExp][] = [
    [['plan', SAMPLE], /give one of --drop-layers N, --sparsity S, --drop-heads G, --drop-query-heads Q, --drop-experts E or --drop-mlp-channels C/],
    [['plan', SAMPLE, '--drop-layers', '1', '--sparsity', '0.5'], /give one of/],
    [['plan', SAMPLE, '--drop-heads', '2'], /--drop-heads must be between 1 and 1 KV groups for a model with 2 KV heads/],
    [['plan', GPT2, '--drop-heads', '1'], /dropping heads needs a Llama-family checkpoint/],
    [['plan', SAMPLE, '--drop-layers', '4'], /--drop-layers must be between 1 and 3/],
    [['plan', SAMPLE, '--drop-layers', 'two'], /--drop-layers must be an integer/],
    [['plan', SAMPLE, '--drop-layers', '1', '--metric', 'ablation'], /runs the model on a text; give --text-file/],
    [['plan', SAMPLE, '--sparsity', '1.5'], /--sparsity must be a fraction/],
    [['plan', SAMPLE, '--sparsity', '0.5', '--metric', 'wanda'], /needs the layer inputs on a text/],
    [['plan', SAMPLE, '--drop-layers', '1', '--out', notAPlan], /exists and is not an Importance Lens pruning plan/],
    [['plan', join(ROOT, 'samples', 'text'), '--drop-layers', '1'], /holds no checkpoint/],
    [['apply', notAPlan, '--out', join(dir, 'x')], /kind: expected "importance-lens\/pruneplan"/],
    [['apply', notAPlan], /--out DIR is required/],
    [['apply', notAPlan, '--out', join(dir, 'x'), '--verify'], /--verify needs --text-file/],
  ];
  for (const [args, error] of cases) {
    const { code, stdout, stderr } = cli(...args);
    assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
    assert.equal(stdout, '');
    assert.match(stderr, /^importance-lens: [^\n]+\n$/, args.join(' '));
    assert.match(stderr, error, args.join(' '));
  }
  assert.equal(readFileSync(notAPlan, 'utf8'), '{"mine": true}');
  assert.deepEqual(readdirSync(dir), ['notes.json']);
});
