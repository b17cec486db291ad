// Malformed and hostile plans: each one fails with a clear InputError before anything is written — the output
// directory does not exist afterwards, no temporary directory is left beside it, and the source is byte-identical.
// Structural mutations are also checked against pruneplan.schema.json (ajv), so the schema editors use and the
// validator apply uses agree.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { InputError } from '../../src/errors';
import { applyPlan } from '../../src/plan/apply';
import { checkAgainstModel } from '../../src/plan/checkAgainstModel';
import { openSource } from '../../src/plan/source';
import { validatePlan } from '../../src/plan/validate';
import { seededRandom } from '../../src/compute/random';
import { ROOT, tempDir } from './helpers';
import { hashDirectory, makePlan } from './planHelpers';

const MODEL = join(ROOT, 'test', 'fixtures', 'models', 'tiny-qwen2');
type Plan = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Case {
  name: string;
  base: 'drop' | 'sparse';
  mutate: (plan: Plan) => Plan | string;
  error: RegExp;
  /** Violates the JSON schema too (false: valid JSON-schema-wise, wrong for this checkpoint). */
  schema: boolean;
}

const CASES: Case[] = [
  { name: 'not JSON', base: 'drop', mutate: () => '{"kind": ', error: /is not valid JSON/, schema: true },
  { name: 'another kind of document', base: 'drop', mutate: (p) => ({ ...p, kind: 'something-else' }), error: /kind: expected "importance-lens\/pruneplan".*not a pruning plan/, schema: true },
  { name: 'a future version', base: 'drop', mutate: (p) => ({ ...p, version: 2 }), error: /version: version 2 is not supported/, schema: true },
  { name: 'an unknown top-level field', base: 'drop', mutate: (p) => ({ ...p, extra: 1 }), error: /unknown field "extra"/, schema: true },
  { name: 'no actions', base: 'drop', mutate: (p) => ({ ...p, actions: [] }), error: /actions: is empty/, schema: true },
  { name: 'an unknown action', base: 'drop', mutate: (p) => ({ ...p, actions: [{ type: 'quantize' }] }), error: /actions\[0\]\.type: "quantize" is not one of/, schema: true },
  { name: 'an unknown layer', base: 'drop', mutate: (p) => set(p, ['actions', 0, 'layers'], [7]), error: /actions\[0\]\.layers\[0\]: block 7 does not exist \(the model has blocks 0\.\.1\)/, schema: false },
  { name: 'a negative layer', base: 'drop', mutate: (p) => set(p, ['actions', 0, 'layers'], [-1]), error: /actions\[0\]\.layers\[0\]: -1 is not an integer ≥ 0/, schema: true },
  { name: 'a fractional layer', base: 'drop', mutate: (p) => set(p, ['actions', 0, 'layers'], [0.5]), error: /actions\[0\]\.layers\[0\]: 0\.5 is not an integer/, schema: true },
  { name: 'a layer as a string', base: 'drop', mutate: (p) => set(p, ['actions', 0, 'layers'], ['1']), error: /actions\[0\]\.layers\[0\]: "1" is not an integer/, schema: true },
  { name: 'a repeated layer', base: 'drop', mutate: (p) => set(p, ['actions', 0, 'layers'], [1, 1]), error: /ascending and distinct/, schema: true },
  { name: 'every layer dropped', base: 'drop', mutate: (p) => set(p, ['actions', 0, 'layers'], [0, 1]), error: /drops all 2 blocks; at least one must remain/, schema: false },
  { name: 'two drop-layers actions', base: 'drop', mutate: (p) => ({ ...p, actions: [p.actions[0], p.actions[0]] }), error: /a second "drop-layers" action/, schema: false },
  { name: 'another checkpoint', base: 'drop', mutate: (p) => set(p, ['model', 'fingerprint'], 'sha256:0000'), error: /model\.fingerprint does not match/, schema: false },
  { name: 'a model path that does not exist', base: 'drop', mutate: (p) => set(p, ['model', 'path'], 'no/such/model'), error: /no\/such\/model/, schema: false },
  { name: 'a sparsity ratio above 0.99', base: 'sparse', mutate: (p) => set(p, ['actions', 0, 'layers', 0, 'ratio'], 1.5), error: /actions\[0\]\.layers\[0\]\.ratio: 1\.5 is not a number in \[0, 0\.99\]/, schema: true },
  { name: 'sparsity on an unknown layer', base: 'sparse', mutate: (p) => set(p, ['actions', 0, 'layers', 1, 'layer'], 9), error: /actions\[0\]\.layers\[1\]\.layer: block 9 does not exist/, schema: false },
  { name: 'sparsity on a dropped layer', base: 'sparse', mutate: (p) => ({ ...p, actions: [...p.actions, { type: 'drop-layers', layers: [0], selection: 'manual' }] }), error: /block 0 is sparsified but also dropped/, schema: false },
  { name: 'wanda without a text', base: 'sparse', mutate: (p) => set(set(p, ['actions', 0, 'metric'], 'wanda'), ['metric', 'text'], null), error: /wanda needs the text in metric\.text/, schema: false },
  { name: 'an unknown allocation', base: 'sparse', mutate: (p) => set(p, ['actions', 0, 'allocation'], { method: 'random' }), error: /allocation\.method: "random" is not one of/, schema: true },
  { name: 'a head split with a non-numeric block', base: 'drop', mutate: (p) => ({ ...p, actions: [{ type: 'drop-heads', kvGroups: { first: [0] } }] }), error: /key "first" is not a block index/, schema: true },
  { name: 'a KV group that does not exist', base: 'drop', mutate: (p) => ({ ...p, actions: [{ type: 'drop-heads', kvGroups: { 0: [5] } }] }), error: /invalid head split: block 0 has KV groups 0\.\.1, not 5/, schema: false },
  { name: 'uneven head splits', base: 'drop', mutate: (p) => ({ ...p, actions: [{ type: 'drop-heads', kvGroups: { 0: [0], 1: [] } }] }), error: /invalid head split: .*same number/, schema: false },
  { name: 'a query head that does not exist', base: 'drop', mutate: (p) => ({ ...p, actions: [{ type: 'drop-heads', kvGroups: {}, queryHeads: { 0: [4], 1: [0] } }] }), error: /invalid head split: block 0 has query heads 0\.\.3, not 4/, schema: false },
  { name: 'query heads that unbalance the groups', base: 'drop', mutate: (p) => ({ ...p, actions: [{ type: 'drop-heads', kvGroups: {}, queryHeads: { 0: [0, 1], 1: [0, 1] } }] }), error: /invalid head split: .*would keep 0, 2 query heads; every group must keep the same number/, schema: false },
  { name: 'a query head of a dropped group', base: 'drop', mutate: (p) => ({ ...p, actions: [{ type: 'drop-heads', kvGroups: { 0: [0], 1: [0] }, queryHeads: { 0: [1] } }] }), error: /query head 1 is in KV group 0, which kvGroups already drops/, schema: false },
  { name: 'query heads in some blocks only', base: 'drop', mutate: (p) => ({ ...p, actions: [{ type: 'drop-heads', kvGroups: {}, queryHeads: { 0: [0, 2] } }] }), error: /every block must keep the same number of heads.*block 0: 2 KV groups of 1 query heads; block 1: 2 KV groups of 2 query heads/, schema: false },
  { name: 'every KV group dropped', base: 'drop', mutate: (p) => ({ ...p, actions: [{ type: 'drop-heads', kvGroups: { 0: [0, 1], 1: [0, 1] } }] }), error: /invalid head split: .*at least one KV group/, schema: false },
  { name: 'heads and sparsity in one plan', base: 'sparse', mutate: (p) => ({ ...p, actions: [...p.actions, { type: 'drop-heads', kvGroups: { 0: [0], 1: [0] } }] }), error: /drop-heads and sparsity in one plan are not supported/, schema: false },
  { name: 'heads of a dropped block', base: 'drop', mutate: (p) => ({ ...p, actions: [{ type: 'drop-layers', layers: [1], selection: 'manual' }, { type: 'drop-heads', kvGroups: { 0: [0], 1: [0] } }] }), error: /block 1 is dropped by drop-layers/, schema: false },
  { name: 'experts on a dense model', base: 'drop', mutate: (p) => ({ ...p, actions: [{ type: 'drop-experts', experts: { 0: [1] } }] }), error: /has no MoE experts/, schema: false },
  { name: 'a predicted count of the wrong type', base: 'drop', mutate: (p) => set(p, ['predicted', 'parameters', 'after'], 'many'), error: /predicted\.parameters\.after: "many" is not an integer/, schema: true },
];

function set(plan: Plan, path: (string | number)[], value: unknown): Plan {
  const copy = structuredClone(plan);
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key];
  at[path[path.length - 1]!] = value;
  return copy;
}

async function basePlans(dir: string): Promise<Record<Case['base'], Plan>> {
  await makePlan({ model: MODEL, dropLayers: 1 }, join(dir, 'drop.pruneplan.json'));
  await makePlan({ model: MODEL, sparsity: 0.5 }, join(dir, 'sparse.pruneplan.json'));
  return {
    drop: JSON.parse(readFileSync(join(dir, 'drop.pruneplan.json'), 'utf8')),
    sparse: JSON.parse(readFileSync(join(dir, 'sparse.pruneplan.json'), 'utf8')),
  };
}

test('malformed plans fail before anything is written', async () => {
  const dir = tempDir();
  const bases = await basePlans(dir);
  const source = hashDirectory(MODEL);
  for (const [i, c] of CASES.entries()) {
    const mutated = c.mutate(structuredClone(bases[c.base]));
    const planPath = join(dir, `case${i}.pruneplan.json`);
    writeFileSync(planPath, typeof mutated === 'string' ? mutated : JSON.stringify(mutated, null, 2));
    const parent = join(dir, `out${i}`);
    mkdirSync(parent);
    await assert.rejects(drain(applyPlan(planPath, join(parent, 'pruned'), { providers: ['cpu'] })), (error: Error) => {
      assert.ok(error instanceof InputError, `${c.name}: not an InputError: ${error.stack}`);
      assert.match(error.message, c.error, c.name);
      assert.ok(!error.message.includes('\n'), `${c.name}: one line`);
      return true;
    });
    assert.deepEqual(readdirSync(parent), [], `${c.name}: wrote ${readdirSync(parent).join(', ')}`);
  }
  assert.deepEqual(hashDirectory(MODEL), source);
});

test('the output path: never over an existing directory or file, never inside the source', async () => {
  const dir = tempDir();
  await basePlans(dir);
  const planPath = join(dir, 'drop.pruneplan.json');
  mkdirSync(join(dir, 'exists'));
  writeFileSync(join(dir, 'file'), 'x');
  for (const [out, error] of [
    [join(dir, 'exists'), /already exists; apply writes a new directory and never overwrites/],
    [join(dir, 'file'), /already exists/],
    [join(dir, 'missing-parent', 'out'), /the parent of --out is not a directory/],
    [join(MODEL, 'pruned'), /inside the source checkpoint/],
  ] as const) {
    await assert.rejects(drain(applyPlan(planPath, out, { providers: ['cpu'] })), error);
  }
  assert.deepEqual(readdirSync(join(dir, 'exists')), []);
  assert.equal(readFileSync(join(dir, 'file'), 'utf8'), 'x');
});

test('the JSON schema agrees with the validator on every case', async () => {
  const dir = tempDir();
  const bases = await basePlans(dir);
  const Ajv = require('ajv'); // eslint-disable-line @typescript-eslint/no-require-imports
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'media', 'pruneplan.schema.json'), 'utf8')));
  for (const base of Object.values(bases)) assert.ok(validate(base), JSON.stringify(validate.errors));
  for (const c of CASES) {
    const mutated = c.mutate(structuredClone(bases[c.base]));
    if (typeof mutated === 'string') continue;
    assert.equal(!validate(mutated), c.schema, `${c.name}: schema ${c.schema ? 'should reject' : 'should accept'} (${JSON.stringify(validate.errors)})`);
  }
});

/** Every node of a JSON tree, as a path. */
function paths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  const own = [at];
  if (Array.isArray(value)) return own.concat(...value.map((v, i) => paths(v, [...at, i])));
  if (value && typeof value === 'object') return own.concat(...Object.entries(value).map(([k, v]) => paths(v, [...at, k])));
  return own;
}

test('seeded mutations of valid plans: an InputError or a valid plan, never a crash', async () => {
  const dir = tempDir();
  const bases = await basePlans(dir);
  const source = await openSource(MODEL);
  const random = seededRandom(2026);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const values = [null, -1, 0, 1, 1.5, 2 ** 60, 'x', '', [], {}, [0], { 0: [0] }, true, 0.99, 1e-300, 'drop-layers', 'wanda', 'owl'];
  const iterations = Number(process.env.FUZZ_ITERATIONS ?? 400);
  let accepted = 0;
  for (let i = 0; i < iterations; i++) {
    let plan: Plan = structuredClone(pick(Object.values(bases)));
    for (let m = 0; m < 1 + Math.floor(random() * 3); m++) {
      const nodes = paths(plan).slice(1);
      if (nodes.length === 0) break;
      const path = pick(nodes);
      const parentPath = path.slice(0, -1);
      const parent = parentPath.reduce<any>((node, key) => node[key], plan); // eslint-disable-line @typescript-eslint/no-explicit-any
      const key = path[path.length - 1]!;
      const op = random();
      if (op < 0.6) parent[key] = structuredClone(pick(values));
      else if (op < 0.8 && !Array.isArray(parent)) delete parent[key];
      else if (Array.isArray(parent)) parent.push(structuredClone(pick(values)));
      else parent[`extra${m}`] = 1;
      if (m === 0 && random() < 0.05) plan = pick(values) as Plan;
    }
    try {
      const valid = validatePlan(plan, 'fuzz');
      checkAgainstModel(valid, source, 'fuzz');
      accepted++;
    } catch (error) {
      assert.ok(error instanceof InputError, `iteration ${i}: ${(error as Error).stack}\n${JSON.stringify(plan)}`);
    }
  }
  assert.ok(accepted < iterations, 'some mutations must be refused');
});

test('a Wanda plan whose text changed since it was made is refused before writing', async () => {
  const dir = tempDir();
  const text = join(dir, 'text.txt');
  writeFileSync(text, readFileSync(join(ROOT, 'samples', 'text', 'psalms-23.txt')));
  const planPath = join(dir, 'w.pruneplan.json');
  await makePlan({ model: MODEL, sparsity: 0.5, textFile: text, maxTokens: 64 }, planPath);
  const plan = JSON.parse(readFileSync(planPath, 'utf8'));
  assert.equal(plan.actions[0].metric, 'wanda');
  assert.deepEqual([plan.metric.text.file, plan.metric.text.sha256.startsWith('sha256:')], ['text.txt', true]);
  writeFileSync(text, 'The LORD is my shepherd; I shall not want. He maketh me to lie down.');
  await assert.rejects(drain(applyPlan(planPath, join(dir, 'out'), { providers: ['cpu'] })), /metric\.text .*text\.txt changed since the plan was made/);
  assert.deepEqual(readdirSync(dir).sort(), ['text.txt', 'w.pruneplan.json']);
});
