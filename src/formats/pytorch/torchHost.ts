// Gives torch's pickles their meaning without running them: the rebuild functions become `PyTensor` records,
// persistent ids become `PyStorage` references, a few containers are rebuilt, and every other call yields an inert
// `PyObject`. Globals outside the allowlist are recorded as security findings when they are named.
import { MAX_DIMS } from '../limits';
import {
  classifyGlobal, canRunCode, DTYPES, qualifiedName, STORAGE_TYPES, UNSUPPORTED_REBUILDS, unsupportedStorage,
} from './globals';
import type { UnpickleHost } from './unpickle';
import {
  describe, dictSet, newDict, PickleError, sequenceItems, type PyDict, type PyObject, type PyStorage, type PyTensor, type PyValue,
} from './pyvalue';
import { MAX_CONTAINER_ITEMS } from './caps';

export class TorchHost implements UnpickleHost {
  /** Forbidden globals, in the order first seen. */
  readonly findings = new Set<string>();
  /** Every storage a persistent id named, by key (the legacy reader needs their element sizes). */
  readonly storages = new Map<string, PyStorage>();

  findClass(module: string, name: string): PyValue {
    const qualified = qualifiedName(module, name);
    const kind = classifyGlobal(qualified);
    if (kind === 'forbidden') this.findings.add(qualified);
    return { kind: 'global', name: qualified, trusted: kind !== 'forbidden' };
  }

  extension(code: number): PyValue {
    const name = `copyreg extension code ${code}`;
    this.findings.add(name);
    return { kind: 'global', name, trusted: false };
  }

  call(callable: PyValue, args: PyValue[]): PyValue {
    if (callable === null || typeof callable !== 'object' || (callable.kind !== 'global' && callable.kind !== 'object')) {
      throw new PickleError(`REDUCE calls ${describe(callable)}, which is not callable`);
    }
    if (callable.kind === 'object') return inert(`${callable.type}(...)`, args);
    if (!callable.trusted) return inert(callable.name, args);
    const unsupported = UNSUPPORTED_REBUILDS[callable.name];
    if (unsupported !== undefined) return { ...inert(callable.name, args), unsupported };
    switch (callable.name) {
      case 'torch._utils._rebuild_tensor':
      case 'torch._utils._rebuild_tensor_v2':
        return rebuildTensor(callable.name, args, undefined);
      case 'torch._utils._rebuild_tensor_v3':
        return rebuildTensor(callable.name, args, args[6]);
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state':
        return args[0] ?? null;
      case 'torch._tensor._rebuild_from_type':
      case 'torch._tensor._rebuild_from_type_v2': {
        // (func, new_type, args, state): the tensor is func(*args); a foreign new_type was reported when named.
        const inner = sequenceItems(args[2]);
        if (args[0] === undefined || inner === undefined) throw new PickleError(`${callable.name} wants (func, type, args, state)`);
        return this.call(args[0], inner);
      }
      case 'collections.OrderedDict':
        return orderedDict(args[0]);
      case 'builtins.set':
      case 'builtins.frozenset':
        return { kind: 'set', items: [...(sequenceItems(args[0]) ?? setItems(args[0]))] };
      case 'builtins.bytes':
      case 'builtins.bytearray':
      case '_codecs.encode':
        return toBytes(args);
      case 'torch.Size':
        return { kind: 'tuple', items: [...(sequenceItems(args[0]) ?? [])] };
      default:
        return inert(callable.name, args);
    }
  }

  newObject(cls: PyValue, args: PyValue[]): PyValue {
    if (cls === null || typeof cls !== 'object' || (cls.kind !== 'global' && cls.kind !== 'object')) {
      throw new PickleError(`NEWOBJ on ${describe(cls)}, which is not a class`);
    }
    if (cls.kind === 'global' && cls.trusted) {
      if (cls.name === 'collections.OrderedDict') return newDict();
      if (cls.name === 'builtins.set' || cls.name === 'builtins.frozenset') return { kind: 'set', items: [] };
    }
    return inert(cls.kind === 'global' ? cls.name : cls.type, args);
  }

  build(target: PyValue, state: PyValue): void {
    if (target !== null && typeof target === 'object') {
      // Objects keep their state so tensors inside whole pickled modules can still be found.
      if (target.kind === 'object') target.state = state;
      // OrderedDict state (a state_dict's _metadata), tensor and storage states carry no tensors of their own.
      if (['object', 'dict', 'tensor', 'storage', 'set', 'list'].includes(target.kind)) return;
    }
    throw new PickleError(`BUILD on ${describe(target)}, which has no state to set`);
  }

  persistentLoad(pid: PyValue): PyValue {
    const items = sequenceItems(pid);
    if (items === undefined || items[0] !== 'storage' || (items.length !== 5 && items.length !== 6)) {
      throw new PickleError(`persistent id ${describe(pid)} is not ('storage', type, key, location, numel)`);
    }
    const [, type, key, location, numel, view] = items;
    if (type === null || typeof type !== 'object' || type.kind !== 'global') {
      throw new PickleError(`persistent id names ${describe(type)} as its storage type`);
    }
    if (typeof key !== 'string' || key.length === 0 || key.length > 1024) throw new PickleError(`persistent id has storage key ${describe(key)}`);
    if (typeof location !== 'string') throw new PickleError(`storage '${key}' has location ${describe(location)}`);
    const count = toCount(numel, `storage '${key}' element count`);
    const unsupported = unsupportedStorage(type.name);
    if (unsupported !== undefined) return { ...inert(type.name, items), unsupported };
    if (view !== undefined && view !== null) {
      return { ...inert(type.name, items), unsupported: 'storage views of the pre-1.0 legacy format are not supported' };
    }
    const element = STORAGE_TYPES[type.name];
    // A foreign class here was already reported as a finding; its "storage" cannot be trusted to mean bytes.
    if (element === undefined) return { ...inert(type.name, items), unsupported: `${type.name} is not a torch storage class` };
    const storage: PyStorage = { kind: 'storage', key, dtype: element.dtype, elementSize: element.elementSize, numel: count, location };
    if (!this.storages.has(key)) this.storages.set(key, storage);
    return storage;
  }

  /**
   * The findings as one clause for an error that refuses the file for another reason (a truncated pickle, a missing
   * storage): torch.load would have run the calls before reaching that error, so they must still be reported.
   */
  securityClause(source: string): string {
    const names = [...this.findings];
    const running = names.filter((name) => canRunCode(name));
    const what = running.length > 0
      ? `${running.join(', ')}, which can run code or touch the system${names.length > running.length ? `, and ${names.filter((n) => !canRunCode(n)).join(', ')}, outside the allowlist` : ''}`
      : `${names.join(', ')}, outside the allowlist of tensor-rebuilding globals`;
    return `security: ${source} references ${what}; nothing was executed, but torch.load runs such calls before it fails on this file (never load it with torch.load(weights_only=False))`;
  }

  /** One "security: " warning per forbidden global; `source` names the pickle ("data.pkl"). */
  securityWarnings(path: string, source: string): string[] {
    return [...this.findings].map((name) => canRunCode(name)
      ? `security: ${path}: ${source} references ${name}, which can run code or touch the system; it was not executed (never load this file with torch.load(weights_only=False))`
      : `security: ${path}: ${source} references ${name}, which is outside the allowlist of tensor-rebuilding globals; it was not executed`);
  }
}

function inert(type: string, args: PyValue[]): PyObject {
  return { kind: 'object', type, args: { kind: 'tuple', items: args }, state: undefined };
}

function rebuildTensor(name: string, args: PyValue[], dtype: PyValue | undefined): PyValue {
  const [storage, offset, size, stride] = args;
  if (storage !== null && typeof storage === 'object' && storage.kind === 'object') {
    // The storage itself was unsupported (quantized, foreign): the tensor is too, for the same reason.
    return { ...inert(name, args), unsupported: storage.unsupported ?? `its storage is ${describe(storage)}` };
  }
  if (storage === null || typeof storage !== 'object' || storage.kind !== 'storage') {
    throw new PickleError(`${name} wants a storage first, got ${describe(storage)}`);
  }
  const shape = toDims(size, `${name} size`);
  const strides = toDims(stride, `${name} stride`);
  if (shape.length !== strides.length) throw new PickleError(`${name} has ${shape.length} sizes but ${strides.length} strides`);
  const tensor: PyTensor = { kind: 'tensor', storage, storageOffset: toCount(offset, `${name} storage offset`), shape, stride: strides };
  if (dtype === undefined) return tensor;
  const element = dtype !== null && typeof dtype === 'object' && dtype.kind === 'global' ? DTYPES[dtype.name] : undefined;
  if (element === undefined) throw new PickleError(`${name} has dtype ${describe(dtype)}, not a torch dtype`);
  // v3 views the storage's bytes as `dtype`; offsets are then in elements of that dtype.
  const numel = Math.floor((storage.numel * storage.elementSize) / element.elementSize);
  return { ...tensor, storage: { ...storage, dtype: element.dtype, elementSize: element.elementSize, numel } };
}

function toDims(value: PyValue | undefined, what: string): number[] {
  const items = sequenceItems(value);
  if (items === undefined || items.length > MAX_DIMS) throw new PickleError(`${what} must be a tuple of at most ${MAX_DIMS} ints, got ${describe(value)}`);
  return items.map((item) => toCount(item, what));
}

function toCount(value: PyValue | undefined, what: string): number {
  if (typeof value !== 'bigint' || value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new PickleError(`${what} must be a non-negative integer below 2^53, got ${describe(value)}`);
  }
  return Number(value);
}

function orderedDict(init: PyValue | undefined): PyDict {
  const dict = newDict();
  for (const pair of sequenceItems(init) ?? []) {
    const kv = sequenceItems(pair);
    if (kv === undefined || kv.length !== 2) throw new PickleError(`OrderedDict wants (key, value) pairs, got ${describe(pair)}`);
    if (!dictSet(dict, kv[0]!, kv[1]!, MAX_CONTAINER_ITEMS)) throw new PickleError(`a dict grew past ${MAX_CONTAINER_ITEMS} items; refused`);
  }
  return dict;
}

function setItems(value: PyValue | undefined): PyValue[] {
  return value !== null && typeof value === 'object' && value !== undefined && value.kind === 'set' ? value.items : [];
}

/** bytes(...), bytearray(...) and _codecs.encode(str, 'latin1'): how protocol 2 spells a bytes object. */
function toBytes(args: PyValue[]): PyValue {
  const [first] = args;
  if (typeof first === 'string') return { kind: 'bytes', value: Buffer.from(first, 'latin1') };
  if (first !== null && typeof first === 'object' && first !== undefined && first.kind === 'bytes') return first;
  return { kind: 'bytes', value: Buffer.alloc(0) };
}
