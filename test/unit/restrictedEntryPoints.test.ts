// Restricted Mode by what a request does, at every entry point: the decision for every kind of analysis request
// (the table below must name each kind, or this file does not compile), `apply` of a plan file that runs the model
// (Wanda sparsity: an inference session and forward passes) refused with no --verify, the CLI's --restricted, and
// the host-side check the plan panel's Apply goes through (its request through the worker client's admission,
// as analysisService.ts wires it; the exthost suite runs in a trusted workspace, so the check is tested here).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/errors';
import type { AnalysisRequest } from '../../src/protocol/worker';
import { AnalysisWorkerClient } from '../../src/worker/client';
import { restrictedModeAdmission, restrictedModeDecision, type RestrictedInputs } from '../../src/worker/restrictedMode';
import { DIST, ROOT, SAMPLE_DIR, tempDir } from './helpers';
import { makePlan } from './planHelpers';

type Kind = AnalysisRequest['analysis'];
type Of<K extends Kind> = Extract<AnalysisRequest, { analysis: K }>;
const NONE: RestrictedInputs = { pickles: [], planRunsModel: null };
const PICKLE: RestrictedInputs = { pickles: ['/m/pytorch_model.bin'], planRunsModel: null };
const WANDA_PLAN: RestrictedInputs = { pickles: [], planRunsModel: 'Applying w.pruneplan.json (its actions[0] is sparsity by wanda, scored on a text)' };
const TEXT = { text: 'In the beginning' };

/** Per kind: requests that run untrusted, and requests refused (with the facts their files would give). */
const EVERY_KIND: { [K in Kind]: { allowed: Of<K>[]; refused: [Of<K>, RestrictedInputs, RegExp][] } } = {
  inspect: { allowed: [{ analysis: 'inspect', path: SAMPLE_DIR }], refused: [[{ analysis: 'inspect', path: '/m' }, PICKLE, /PyTorch pickle/]] },
  stats: { allowed: [{ analysis: 'stats', path: SAMPLE_DIR }], refused: [[{ analysis: 'stats', path: '/m' }, PICKLE, /PyTorch pickle/]] },
  layers: {
    allowed: [{ analysis: 'layers', path: SAMPLE_DIR, metric: 'weight-l2' }],
    refused: [[{ analysis: 'layers', path: SAMPLE_DIR, metric: 'wanda', text: TEXT }, NONE, /^Layer importance by wanda runs a model/]],
  },
  delta: { allowed: [{ analysis: 'delta', base: SAMPLE_DIR, tuned: SAMPLE_DIR }], refused: [[{ analysis: 'delta', base: '/m', tuned: '/m' }, PICKLE, /PyTorch pickle/]] },
  histogram: { allowed: [{ analysis: 'histogram', path: SAMPLE_DIR, tensor: 'x' }], refused: [[{ analysis: 'histogram', path: '/m', tensor: 'x' }, PICKLE, /PyTorch pickle/]] },
  perplexity: { allowed: [], refused: [[{ analysis: 'perplexity', model: SAMPLE_DIR, text: TEXT }, NONE, /^Perplexity runs a model/]] },
  experts: { allowed: [], refused: [[{ analysis: 'experts', model: SAMPLE_DIR, text: TEXT }, NONE, /^Expert importance runs a model/]] },
  saliency: { allowed: [], refused: [[{ analysis: 'saliency', model: SAMPLE_DIR, text: TEXT, method: 'occlusion', seeds: 1 }, NONE, /^Token saliency runs a model/]] },
  csv: {
    allowed: [{ analysis: 'csv', mode: 'columns', path: 'a.csv', target: 'y' }],
    refused: [[{ analysis: 'csv', mode: 'columns', path: 'a.csv', target: 'y', model: '/x/m.onnx' }, NONE, /^Column importance with m\.onnx runs a model/]],
  },
  plan: {
    allowed: [{ analysis: 'plan', model: SAMPLE_DIR, sparsity: 0.5, metric: 'magnitude' }],
    refused: [[{ analysis: 'plan', model: SAMPLE_DIR, sparsity: 0.5, metric: 'wanda', textFile: 't' }, NONE, /^A pruning plan by wanda runs a model/]],
  },
  'plan-choices': { allowed: [{ analysis: 'plan-choices', model: SAMPLE_DIR }], refused: [[{ analysis: 'plan-choices', model: '/m' }, PICKLE, /PyTorch pickle/]] },
  // A preview reads the plan and the checkpoint's headers only, whatever the plan's metric.
  'plan-preview': { allowed: [{ analysis: 'plan-preview', plan: 'p.pruneplan.json' }], refused: [] },
  apply: {
    allowed: [{ analysis: 'apply', plan: 'p.pruneplan.json', out: '/tmp/o' }],
    refused: [
      [{ analysis: 'apply', plan: 'w.pruneplan.json', out: '/tmp/o' }, WANDA_PLAN, /^Applying w\.pruneplan\.json \(its actions\[0\] is sparsity by wanda, scored on a text\) runs a model/],
      [{ analysis: 'apply', plan: 'p.pruneplan.json', out: null, verify: { textFile: 't' } }, NONE, /^Verifying a pruned model runs a model/],
    ],
  },
};

test('every kind of request has a Restricted Mode decision, and the ones that run a model or read a pickle are refused', () => {
  for (const [kind, { allowed, refused }] of Object.entries(EVERY_KIND) as [Kind, { allowed: AnalysisRequest[]; refused: [AnalysisRequest, RestrictedInputs, RegExp][] }][]) {
    assert.ok(allowed.length + refused.length > 0, `${kind} has no case`);
    for (const request of allowed) assert.deepEqual(restrictedModeDecision(request, NONE), { allowed: true }, kind);
    for (const [request, inputs, why] of refused) {
      const decision = restrictedModeDecision(request, inputs);
      assert.ok(!decision.allowed, `${kind} ${JSON.stringify(request)} must be refused`);
      assert.match(decision.reason, why);
      assert.match(decision.reason, /Trust the workspace to/);
    }
  }
});

/** A magnitude sparsity plan of the sample model and the same plan scored by Wanda on a text, in a fresh folder. */
async function plans(): Promise<{ dir: string; magnitude: string; wanda: string }> {
  const dir = tempDir();
  const magnitude = join(dir, 'm.pruneplan.json');
  await makePlan({ model: SAMPLE_DIR, sparsity: 0.5, metric: 'magnitude', allocation: 'uniform' }, magnitude);
  copyFileSync(join(ROOT, 'samples', 'text', 'psalms-23.txt'), join(dir, 'text.txt'));
  const plan = JSON.parse(readFileSync(magnitude, 'utf8'));
  plan.actions[0].metric = 'wanda';
  plan.metric = { ...plan.metric, name: 'wanda', text: { file: 'text.txt', maxTokens: 32 } };
  const wanda = join(dir, 'w.pruneplan.json');
  writeFileSync(wanda, JSON.stringify(plan, null, 2));
  return { dir, magnitude, wanda };
}

test('apply with no --verify is refused when its plan file runs the model (Wanda sparsity), allowed for magnitude', async () => {
  const { dir, magnitude, wanda } = await plans();
  const refused = await restrictedModeAdmission({ analysis: 'apply', plan: wanda, out: join(dir, 'out') });
  assert.ok(!refused.allowed);
  assert.match(refused.reason, /^Applying w\.pruneplan\.json \(its actions\[0\] is sparsity by wanda, scored on a text\) runs a model; Restricted Mode/);
  assert.deepEqual(await restrictedModeAdmission({ analysis: 'apply', plan: magnitude, out: join(dir, 'out') }), { allowed: true });
});

test('the plan panel\'s Apply, through the worker client\'s admission: a Wanda plan is refused before any process starts', async (t) => {
  const { dir, wanda } = await plans();
  // What analysisService.ts's admit (workspaceTrust.ts) does in an untrusted workspace.
  const client = new AnalysisWorkerClient(join(DIST, 'worker.js'), {
    admit: async (request) => {
      const decision = await restrictedModeAdmission(request);
      if (!decision.allowed) throw new InputError(decision.reason);
    },
  });
  t.after(() => client.dispose());
  // The request planApply.ts sends for the panel's planCommand 'apply'.
  await assert.rejects(client.run({ analysis: 'apply', plan: wanda, out: join(dir, 'pruned'), providers: ['cpu'] }), (e: unknown) => e instanceof InputError && /sparsity by wanda.* runs a model/.test(e.message));
  assert.equal(client.pid, undefined, 'no analysis process was started');
  assert.equal(existsSync(join(dir, 'pruned')), false);
});

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('the CLI\'s --restricted refuses what runs a model (exit 2, one line saying how to lift it) and runs the rest', async () => {
  const { dir, magnitude, wanda } = await plans();
  const text = join(dir, 'text.txt');
  const refused: [string[], RegExp][] = [
    [['apply', wanda, '--out', join(dir, 'a')], /^importance-lens: Applying w\.pruneplan\.json \(its actions\[0\] is sparsity by wanda, scored on a text\) runs a model; --restricted runs only checkpoint headers and weight statistics\. Run without --restricted to run it\.\n$/],
    [['apply', magnitude, '--out', join(dir, 'b'), '--verify', '--text-file', text], /^importance-lens: Verifying a pruned model runs a model/],
    [['perplexity', SAMPLE_DIR, '--text-file', text], /^importance-lens: Perplexity runs a model/],
    [['experts', SAMPLE_DIR, '--text-file', text], /^importance-lens: Expert importance runs a model/],
    [['layers', SAMPLE_DIR, '--metric', 'angular', '--text-file', text], /^importance-lens: Layer importance by angular runs a model/],
    [['plan', SAMPLE_DIR, '--sparsity', '0.5', '--text-file', text], /^importance-lens: A pruning plan on a text runs a model/],
    [['inspect', join(ROOT, 'test', 'fixtures', 'pytorch', 'legacy.pt')], /^importance-lens: legacy\.pt is a PyTorch pickle .*Run without --restricted to read it/],
  ];
  for (const [args, why] of refused) {
    const { code, stdout, stderr } = cli(...args, '--restricted');
    assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
    assert.equal(stdout, '');
    assert.match(stderr, why);
  }
  assert.equal(existsSync(join(dir, 'a')), false);
  assert.equal(cli('inspect', SAMPLE_DIR, '--restricted', '--json').code, 0);
  const applied = cli('apply', magnitude, '--out', join(dir, 'c'), '--restricted', '--json');
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(cli('--help').stdout, /--restricted {2}refuse, as VS Code's Restricted Mode does, anything that runs a model/);
});
