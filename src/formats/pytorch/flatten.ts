// From the unpickled object to named tensors. A state_dict gives its own keys; wrappers such as
// {'model': {...}} or {'state_dict': {...}} give dotted prefixes ('model.layers.0.weight'); lists give indices.
// Whole pickled modules (torch.save(model)) are inert objects here, and their _parameters/_buffers/_modules
// state is walked without those segments so the names match the module's state_dict. Walking is bounded in
// depth and in visits, and cycles are cut, because the memo lets a tiny pickle describe a huge or cyclic graph.
import { InputError } from '../../errors';
import { MAX_TENSORS } from '../limits';
import { MAX_NESTING_DEPTH, MAX_VISITS } from './caps';
import type { PyTensor, PyValue } from './pyvalue';

export interface NamedTensor {
  name: string;
  tensor: PyTensor;
}

export interface Flattened {
  tensors: NamedTensor[];
  /** Non-tensor leaves (step counters, hyperparameters, ...): how many, and the first few names. */
  skipped: { count: number; examples: string[] };
  /** Tensors of a kind this reader cannot describe, by name, with the reason. */
  unsupported: { name: string; reason: string }[];
  warnings: string[];
}

/** Module attributes that hold a module's tensors and children; left out of names as state_dict() does. */
const TRANSPARENT_ATTRIBUTES = new Set(['_parameters', '_buffers', '_modules']);
const ROOT_TENSOR_NAME = 'tensor';

/** `where` names the pickle in the errors that refuse it (too many tensors or objects through shared references). */
export function flattenTensors(root: PyValue, where: string): Flattened {
  const out: Flattened = { tensors: [], skipped: { count: 0, examples: [] }, unsupported: [], warnings: [] };
  const onPath = new Set<object>();
  let visits = 0;
  let tooDeep = false;

  const skip = (name: string): void => {
    out.skipped.count++;
    if (out.skipped.examples.length < 3) out.skipped.examples.push(name === '' ? '(root)' : name);
  };

  const walk = (value: PyValue, name: string, depth: number): void => {
    // Refused, not cut short: a graph this large is a memo-built DAG (or a damaged file), and what was found so far
    // would be an arbitrary part of it.
    if (++visits > MAX_VISITS) {
      throw new InputError(`${where}: the object graph has more than ${MAX_VISITS} nodes counting shared references once per path (a small pickle can describe a huge tree); refused`);
    }
    if (value === null || typeof value !== 'object') return skip(name);
    if (value.kind === 'tensor') {
      if (out.tensors.length >= MAX_TENSORS) {
        throw new InputError(`${where}: holds more than ${MAX_TENSORS} tensors (counting each path to a shared tensor); more are refused`);
      }
      out.tensors.push({ name: name === '' ? ROOT_TENSOR_NAME : name, tensor: value });
      return;
    }
    if (value.kind === 'object' && value.unsupported !== undefined) {
      out.unsupported.push({ name: name === '' ? ROOT_TENSOR_NAME : name, reason: value.unsupported });
      return;
    }
    if (!['dict', 'list', 'tuple', 'object'].includes(value.kind)) return skip(name);
    if (onPath.has(value)) return; // a cycle: the object is already being walked above us
    if (depth >= MAX_NESTING_DEPTH) {
      if (!tooDeep) out.warnings.push(`objects nested deeper than ${MAX_NESTING_DEPTH} levels (under '${name}') were not searched for tensors`);
      tooDeep = true;
      return;
    }
    onPath.add(value);
    try {
      walkChildren(value, name, depth);
    } finally {
      onPath.delete(value);
    }
  };

  const walkChildren = (value: PyValue & object, name: string, depth: number): void => {
    switch (value.kind) {
      case 'dict':
        for (let i = 0; i < value.keys.length; i++) {
          const segment = keySegment(value.keys[i]!);
          if (segment === undefined) skip(`${name}[?]`);
          else walk(value.values[i]!, join(name, segment), depth + 1);
        }
        return;
      case 'list':
      case 'tuple':
        value.items.forEach((item, i) => walk(item, join(name, String(i)), depth + 1));
        return;
      case 'object': {
        const state = value.state;
        // No state: the constructor arguments are all there is (namedtuples, wrappers around a tensor).
        if (state === undefined) return walk(value.args, name, depth + 1);
        // BUILD state may be (dict, slots) for objects with __slots__.
        const dict = state !== null && typeof state === 'object' && state.kind === 'tuple' ? state.items[0] : state;
        if (dict === null || dict === undefined || typeof dict !== 'object' || dict.kind !== 'dict') return walk(state, name, depth + 1);
        for (let i = 0; i < dict.keys.length; i++) {
          const segment = keySegment(dict.keys[i]!);
          if (segment === undefined) continue;
          walk(dict.values[i]!, TRANSPARENT_ATTRIBUTES.has(segment) ? name : join(name, segment), depth + 1);
        }
        return;
      }
      default:
        return;
    }
  };

  walk(root, '', 0);
  return out;
}

function join(prefix: string, segment: string): string {
  return prefix === '' ? segment : `${prefix}.${segment}`;
}

function keySegment(key: PyValue): string | undefined {
  if (typeof key === 'string') return key;
  if (typeof key === 'bigint') return String(key);
  return undefined;
}
