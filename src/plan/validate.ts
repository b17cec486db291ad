// A plan file is user-editable, so it is distrusted like a checkpoint: every field is checked against the shape in
// media/pruneplan.schema.json and every error names where it is ("actions[0].layers[2]: 7 is not an integer ≥ 0"). This
// is the structural check; checkAgainstModel.ts then checks the plan against the checkpoint it names. Reading a
// plan file is here too, not beside apply: the extension host reads plans (Restricted Mode's admission) and must
// not load apply's engine code with it.
import { readFile, stat } from 'node:fs/promises';
import { InputError } from '../errors';
import { pathKind } from '../formats/fileio';
import { PLAN_KIND, PLAN_VERSION, type PlanAction, type PlanAlternative, type PrunePlan } from './types';

export const MAX_PLAN_BYTES = 16 * 2 ** 20;

export async function readPlanFile(planPath: string): Promise<PrunePlan> {
  if ((await pathKind(planPath)) !== 'file') throw new InputError(`${planPath}: no such plan file`);
  const { size } = await stat(planPath);
  if (size > MAX_PLAN_BYTES) throw new InputError(`${planPath}: ${size} bytes; plan files above ${MAX_PLAN_BYTES} bytes are refused`);
  return parsePlanText(await readFile(planPath, 'utf8'), planPath);
}

/** A plan document's text, parsed and validated; `where` names it in errors. */
export function parsePlanText(text: string, where: string): PrunePlan {
  if (Buffer.byteLength(text) > MAX_PLAN_BYTES) throw new InputError(`${where}: plan documents above ${MAX_PLAN_BYTES} bytes are refused`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${where} is not valid JSON: ${(error as Error).message}`);
  }
  return validatePlan(json, where);
}

type Json = unknown;

class Reader {
  constructor(private readonly where: string) {}

  fail(path: string, message: string): never {
    throw new InputError(`${this.where}: ${path ? `${path}: ` : ''}${message}`);
  }

  object(value: Json, path: string, keys: { required: string[]; optional?: string[] }): Record<string, Json> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(path, `expected an object, found ${describe(value)}`);
    const record = value as Record<string, Json>;
    const allowed = new Set([...keys.required, ...(keys.optional ?? [])]);
    for (const key of Object.keys(record)) if (!allowed.has(key)) this.fail(path, `unknown field "${key}" (expected ${[...allowed].join(', ')})`);
    for (const key of keys.required) if (!(key in record)) this.fail(path, `missing field "${key}"`);
    return record;
  }

  array(value: Json, path: string, maxItems = 1 << 20): Json[] {
    if (!Array.isArray(value)) this.fail(path, `expected an array, found ${describe(value)}`);
    if (value.length > maxItems) this.fail(path, `${value.length} items; at most ${maxItems} are allowed`);
    return value;
  }

  string(value: Json, path: string, allowed?: readonly string[]): string {
    if (typeof value !== 'string') this.fail(path, `expected a string, found ${describe(value)}`);
    if (allowed && !allowed.includes(value)) this.fail(path, `${JSON.stringify(value)} is not one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    return value;
  }

  integer(value: Json, path: string, min = 0): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) this.fail(path, `${describe(value)} is not an integer ≥ ${min}`);
    return value;
  }

  number(value: Json, path: string, min = -Infinity, max = Infinity): number {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) this.fail(path, `${describe(value)} is not a number in [${min}, ${max}]`);
    return value;
  }

  nullable<T>(value: Json, read: (v: Json) => T): T | null {
    return value === null ? null : read(value);
  }

  /** Ascending, distinct block indices. */
  indices(value: Json, path: string): number[] {
    const list = this.array(value, path).map((v, i) => this.integer(v, `${path}[${i}]`));
    for (let i = 1; i < list.length; i++) if (list[i]! <= list[i - 1]!) this.fail(`${path}[${i}]`, `indices must be ascending and distinct (${list[i - 1]} then ${list[i]})`);
    return list;
  }

  /** {"<block>": [indices]} with block keys written as plain non-negative integers. */
  perLayer(value: Json, path: string): Record<string, number[]> {
    const record = this.object(value, path, { required: [], optional: Object.keys((value ?? {}) as object) });
    const out: Record<string, number[]> = {};
    for (const [key, list] of Object.entries(record)) {
      if (!/^(0|[1-9]\d{0,5})$/.test(key)) this.fail(path, `key ${JSON.stringify(key)} is not a block index`);
      out[key] = this.indices(list, `${path}["${key}"]`);
    }
    return out;
  }
}

function describe(value: Json): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

export function validatePlan(value: Json, where: string): PrunePlan {
  const r = new Reader(where);
  // Kind and version first: a document that is not a plan (or a later one) gets that answer, not a field list.
  const head = r.object(value, '', { required: [], optional: Object.keys((value ?? {}) as object) });
  if (head.kind !== PLAN_KIND) r.fail('kind', `expected "${PLAN_KIND}", found ${describe(head.kind)}: not a pruning plan`);
  if (head.version !== PLAN_VERSION) r.fail('version', `version ${describe(head.version)} is not supported (this version reads ${PLAN_VERSION})`);
  const doc = r.object(value, '', { required: ['kind', 'version', 'model', 'metric', 'actions', 'predicted'], optional: ['$schema', 'alternatives', 'notes'] });

  const m = r.object(doc.model, 'model', { required: ['path', 'family', 'layers', 'parameters', 'bytes', 'fingerprint'] });
  const model = {
    path: r.string(m.path, 'model.path'),
    family: r.string(m.family, 'model.family'),
    layers: r.integer(m.layers, 'model.layers'),
    parameters: r.integer(m.parameters, 'model.parameters'),
    bytes: r.integer(m.bytes, 'model.bytes'),
    fingerprint: r.string(m.fingerprint, 'model.fingerprint'),
  };
  if (model.path === '') r.fail('model.path', 'is empty');

  const mt = r.object(doc.metric, 'metric', { required: ['name', 'text', 'scores'] });
  const text = r.nullable(mt.text, (t) => {
    const o = r.object(t, 'metric.text', { required: ['file', 'maxTokens'], optional: ['sha256'] });
    return { file: r.string(o.file, 'metric.text.file'), maxTokens: r.integer(o.maxTokens, 'metric.text.maxTokens', 2), ...(o.sha256 === undefined ? {} : { sha256: r.string(o.sha256, 'metric.text.sha256') }) };
  });
  const scores = r.array(mt.scores, 'metric.scores').map((s, i) => {
    const o = r.object(s, `metric.scores[${i}]`, { required: ['layer', 'score', 'rank'], optional: ['group', 'head'] });
    return { layer: r.integer(o.layer, `metric.scores[${i}].layer`), ...(o.group === undefined ? {} : { group: r.integer(o.group, `metric.scores[${i}].group`) }), ...(o.head === undefined ? {} : { head: r.integer(o.head, `metric.scores[${i}].head`) }), score: r.number(o.score, `metric.scores[${i}].score`), rank: r.integer(o.rank, `metric.scores[${i}].rank`, 1) };
  });
  const metric = { name: r.string(mt.name, 'metric.name'), text, scores };

  const actions = r.array(doc.actions, 'actions', 16).map((a, i) => readAction(r, a, `actions[${i}]`));
  if (actions.length === 0) r.fail('actions', 'is empty: the plan does nothing');
  const seen = new Set<string>();
  for (const [i, action] of actions.entries()) {
    if (seen.has(action.type)) r.fail(`actions[${i}]`, `a second "${action.type}" action; merge them into one`);
    seen.add(action.type);
  }

  const alternatives = doc.alternatives === undefined ? [] : r.array(doc.alternatives, 'alternatives', 64).map((a, i): PlanAlternative => {
    const o = r.object(a, `alternatives[${i}]`, { required: ['selection', 'layers', 'angularDistance', 'scoreSum'] });
    return {
      selection: r.string(o.selection, `alternatives[${i}].selection`, ['contiguous-block', 'lowest-score']) as PlanAlternative['selection'],
      layers: r.indices(o.layers, `alternatives[${i}].layers`),
      angularDistance: r.nullable(o.angularDistance, (v) => r.number(v, `alternatives[${i}].angularDistance`)),
      scoreSum: r.number(o.scoreSum, `alternatives[${i}].scoreSum`),
    };
  });

  const p = r.object(doc.predicted, 'predicted', { required: ['layers', 'parameters', 'bytes', 'zeroed'] });
  const counts = (v: Json, path: string) => {
    const o = r.object(v, path, { required: ['before', 'after'] });
    return { before: r.integer(o.before, `${path}.before`), after: r.integer(o.after, `${path}.after`) };
  };
  const predicted = { layers: counts(p.layers, 'predicted.layers'), parameters: counts(p.parameters, 'predicted.parameters'), bytes: counts(p.bytes, 'predicted.bytes'), zeroed: r.integer(p.zeroed, 'predicted.zeroed') };
  const notes = doc.notes === undefined ? [] : r.array(doc.notes, 'notes', 256).map((n, i) => r.string(n, `notes[${i}]`));
  return { kind: PLAN_KIND, version: PLAN_VERSION, model, metric, actions, alternatives, predicted, notes };
}

function readAction(r: Reader, value: Json, path: string): PlanAction {
  const type = r.string(r.object(value, path, { required: ['type'], optional: Object.keys((value ?? {}) as object) }).type, `${path}.type`, ['drop-layers', 'sparsity', 'drop-heads', 'drop-experts', 'drop-mlp-channels']);
  switch (type) {
    case 'drop-layers': {
      const o = r.object(value, path, { required: ['type', 'layers', 'selection'] });
      const layers = r.indices(o.layers, `${path}.layers`);
      if (layers.length === 0) r.fail(`${path}.layers`, 'is empty: drop at least one layer or remove the action');
      return { type, layers, selection: r.string(o.selection, `${path}.selection`, ['lowest-score', 'contiguous-block', 'manual']) as 'manual' };
    }
    case 'sparsity': {
      const o = r.object(value, path, { required: ['type', 'metric', 'target', 'allocation', 'layers'] });
      const a = r.object(o.allocation, `${path}.allocation`, { required: ['method'], optional: ['lambda', 'threshold'] });
      const method = r.string(a.method, `${path}.allocation.method`, ['uniform', 'owl']);
      const allocation = method === 'uniform'
        ? (r.object(a, `${path}.allocation`, { required: ['method'] }), { method: 'uniform' as const })
        : (r.object(a, `${path}.allocation`, { required: ['method', 'lambda', 'threshold'] }),
          { method: 'owl' as const, lambda: r.number(a.lambda, `${path}.allocation.lambda`, 0, 1), threshold: r.number(a.threshold, `${path}.allocation.threshold`, 0) });
      const layers = r.array(o.layers, `${path}.layers`).map((l, i) => {
        const e = r.object(l, `${path}.layers[${i}]`, { required: ['layer', 'ratio', 'outlierRatio'] });
        return {
          layer: r.integer(e.layer, `${path}.layers[${i}].layer`),
          ratio: r.number(e.ratio, `${path}.layers[${i}].ratio`, 0, 0.99),
          outlierRatio: r.nullable(e.outlierRatio, (v) => r.number(v, `${path}.layers[${i}].outlierRatio`, 0, 1)),
        };
      });
      for (let i = 1; i < layers.length; i++) if (layers[i]!.layer <= layers[i - 1]!.layer) r.fail(`${path}.layers[${i}].layer`, 'layers must be ascending and distinct');
      return { type, metric: r.string(o.metric, `${path}.metric`, ['magnitude', 'wanda']) as 'wanda', target: r.number(o.target, `${path}.target`, 0, 0.99), allocation, layers };
    }
    case 'drop-heads': {
      const o = r.object(value, path, { required: ['type', 'kvGroups'], optional: ['queryHeads'] });
      return { type, kvGroups: r.perLayer(o.kvGroups, `${path}.kvGroups`), ...(o.queryHeads === undefined ? {} : { queryHeads: r.perLayer(o.queryHeads, `${path}.queryHeads`) }) };
    }
    case 'drop-mlp-channels': {
      const o = r.object(value, path, { required: ['type', 'channels'] });
      return { type, channels: r.perLayer(o.channels, `${path}.channels`) };
    }
    default: {
      const o = r.object(value, path, { required: ['type', 'experts'] });
      return { type: 'drop-experts', experts: r.perLayer(o.experts, `${path}.experts`) };
    }
  }
}
