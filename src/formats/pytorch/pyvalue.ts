// The values the restricted unpickler builds. Nothing here is a live Python object: globals are names, calls
// to anything but a few tensor-rebuilding functions become inert `PyObject` records, and storages are
// references to bytes in the file that are never read here.

/** Python int -> bigint (shapes need exact integers); Python float -> number. */
export type PyValue =
  | null
  | boolean
  | bigint
  | number
  | string
  | PyBytes
  | PyList
  | PyTuple
  | PyDict
  | PySet
  | PyGlobal
  | PyObject
  | PyStorage
  | PyTensor;

export interface PyBytes { kind: 'bytes'; value: Buffer }
export interface PyList { kind: 'list'; items: PyValue[] }
export interface PyTuple { kind: 'tuple'; items: PyValue[] }
export interface PySet { kind: 'set'; items: PyValue[] }

/** Insertion-ordered like a Python dict; `index` finds primitive keys so SETITEM overwrites as Python does. */
export interface PyDict { kind: 'dict'; keys: PyValue[]; values: PyValue[]; index: Map<string, number> }

/** A class or function named by GLOBAL / STACK_GLOBAL. `trusted` globals are ones this reader models. */
export interface PyGlobal { kind: 'global'; name: string; trusted: boolean }

/**
 * The inert stand-in for whatever a call would have produced. `type` is the callable's name; `unsupported`
 * says why a known torch object (a quantized tensor, ...) yields no tensor.
 */
export interface PyObject { kind: 'object'; type: string; args: PyValue; state: PyValue | undefined; unsupported?: string }

/** A persistent id resolved to "bytes of storage `key`", typed by the storage class torch pickled. */
export interface PyStorage {
  kind: 'storage';
  key: string;
  dtype: string;
  elementSize: number;
  /** Elements the storage holds according to the persistent id. */
  numel: number;
  location: string;
}

export interface PyTensor {
  kind: 'tensor';
  storage: PyStorage;
  /** In elements of the storage's dtype. */
  storageOffset: number;
  shape: number[];
  stride: number[];
}

/** Thrown for malformed pickles by the machine and its host; the machine adds where it happened. */
export class PickleError extends Error {}

export function newDict(): PyDict {
  return { kind: 'dict', keys: [], values: [], index: new Map() };
}

/** A key for primitive dict keys (Python's hash equality for the types torch uses); undefined = never equal. */
export function dictKey(key: PyValue): string | undefined {
  if (typeof key === 'string') return `s:${key}`;
  if (typeof key === 'bigint') return `i:${key}`;
  if (typeof key === 'boolean') return `i:${key ? 1 : 0}`;
  if (typeof key === 'number') return Number.isInteger(key) ? `i:${key}` : `f:${key}`;
  if (key === null) return 'n:';
  return undefined;
}

/** Sets (or overwrites) `key`; returns false when the dict would grow past `maxItems`. */
export function dictSet(dict: PyDict, key: PyValue, value: PyValue, maxItems: number): boolean {
  const canonical = dictKey(key);
  const existing = canonical === undefined ? undefined : dict.index.get(canonical);
  if (existing !== undefined) {
    dict.values[existing] = value;
    return true;
  }
  if (dict.keys.length >= maxItems) return false;
  if (canonical !== undefined) dict.index.set(canonical, dict.keys.length);
  dict.keys.push(key);
  dict.values.push(value);
  return true;
}

export function dictGet(dict: PyDict, key: string): PyValue | undefined {
  const at = dict.index.get(`s:${key}`);
  return at === undefined ? undefined : dict.values[at];
}

/** A short description for error messages ("a tuple of 3", "str 'cpu'"), never the whole value. */
export function describe(value: PyValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'None';
  switch (typeof value) {
    case 'boolean':
      return value ? 'True' : 'False';
    case 'bigint':
      return `int ${value}`;
    case 'number':
      return `float ${value}`;
    case 'string':
      return `str ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  }
  switch (value.kind) {
    case 'bytes':
      return `bytes of length ${value.value.length}`;
    case 'list':
    case 'tuple':
    case 'set':
      return `a ${value.kind} of ${value.items.length}`;
    case 'dict':
      return `a dict of ${value.keys.length}`;
    case 'global':
      return `global ${value.name}`;
    case 'object':
      return `an object made by ${value.type}`;
    case 'storage':
      return `storage '${value.key}'`;
    case 'tensor':
      return 'a tensor';
  }
}

/** Items of a tuple or list, else undefined. */
export function sequenceItems(value: PyValue | undefined): PyValue[] | undefined {
  if (value !== null && typeof value === 'object' && (value.kind === 'tuple' || value.kind === 'list')) return value.items;
  return undefined;
}

export function isContainer(value: PyValue): value is PyList | PyTuple | PyDict | PySet | PyObject {
  return value !== null && typeof value === 'object' && ['list', 'tuple', 'dict', 'set', 'object'].includes(value.kind);
}
