// Which Python globals a checkpoint pickle may name. The list follows what torch.save writes (checked with
// pickletools.dis on torch 1.13 files) and torch's own weights_only allowlist; everything else is a security
// finding. Nothing is ever imported or called: a name is only looked up in these tables.

export interface ElementType {
  dtype: string;
  elementSize: number;
}

/** The storage classes torch pickles into persistent ids (legacy typed-storage names are still written in 2.x). */
export const STORAGE_TYPES: Readonly<Record<string, ElementType>> = {
  'torch.FloatStorage': { dtype: 'F32', elementSize: 4 },
  'torch.DoubleStorage': { dtype: 'F64', elementSize: 8 },
  'torch.HalfStorage': { dtype: 'F16', elementSize: 2 },
  'torch.BFloat16Storage': { dtype: 'BF16', elementSize: 2 },
  'torch.LongStorage': { dtype: 'I64', elementSize: 8 },
  'torch.IntStorage': { dtype: 'I32', elementSize: 4 },
  'torch.ShortStorage': { dtype: 'I16', elementSize: 2 },
  'torch.CharStorage': { dtype: 'I8', elementSize: 1 },
  'torch.ByteStorage': { dtype: 'U8', elementSize: 1 },
  'torch.BoolStorage': { dtype: 'BOOL', elementSize: 1 },
  'torch.ComplexFloatStorage': { dtype: 'C64', elementSize: 8 },
  'torch.ComplexDoubleStorage': { dtype: 'C128', elementSize: 16 },
  'torch.Float8_e4m3fnStorage': { dtype: 'F8_E4M3', elementSize: 1 },
  'torch.Float8_e5m2Storage': { dtype: 'F8_E5M2', elementSize: 1 },
  'torch.UInt16Storage': { dtype: 'U16', elementSize: 2 },
  'torch.UInt32Storage': { dtype: 'U32', elementSize: 4 },
  'torch.UInt64Storage': { dtype: 'U64', elementSize: 8 },
  // Untyped storages are bytes; _rebuild_tensor_v3 says the dtype.
  'torch.UntypedStorage': { dtype: 'U8', elementSize: 1 },
  'torch.storage.UntypedStorage': { dtype: 'U8', elementSize: 1 },
};

/** Storage classes torch knows but whose bytes are not plain elements (quantized). */
const QUANTIZED_STORAGE_TYPES = new Set([
  'torch.QInt8Storage', 'torch.QUInt8Storage', 'torch.QInt32Storage', 'torch.QUInt4x2Storage', 'torch.QUInt2x4Storage',
]);

/** torch dtype objects (`torch.float16`), used by _rebuild_tensor_v3 and as plain values. */
export const DTYPES: Readonly<Record<string, ElementType>> = {
  'torch.float32': { dtype: 'F32', elementSize: 4 },
  'torch.float': { dtype: 'F32', elementSize: 4 },
  'torch.float64': { dtype: 'F64', elementSize: 8 },
  'torch.double': { dtype: 'F64', elementSize: 8 },
  'torch.float16': { dtype: 'F16', elementSize: 2 },
  'torch.half': { dtype: 'F16', elementSize: 2 },
  'torch.bfloat16': { dtype: 'BF16', elementSize: 2 },
  'torch.int64': { dtype: 'I64', elementSize: 8 },
  'torch.long': { dtype: 'I64', elementSize: 8 },
  'torch.int32': { dtype: 'I32', elementSize: 4 },
  'torch.int': { dtype: 'I32', elementSize: 4 },
  'torch.int16': { dtype: 'I16', elementSize: 2 },
  'torch.short': { dtype: 'I16', elementSize: 2 },
  'torch.int8': { dtype: 'I8', elementSize: 1 },
  'torch.uint8': { dtype: 'U8', elementSize: 1 },
  'torch.bool': { dtype: 'BOOL', elementSize: 1 },
  'torch.complex64': { dtype: 'C64', elementSize: 8 },
  'torch.cfloat': { dtype: 'C64', elementSize: 8 },
  'torch.complex128': { dtype: 'C128', elementSize: 16 },
  'torch.cdouble': { dtype: 'C128', elementSize: 16 },
  'torch.float8_e4m3fn': { dtype: 'F8_E4M3', elementSize: 1 },
  'torch.float8_e5m2': { dtype: 'F8_E5M2', elementSize: 1 },
  'torch.uint16': { dtype: 'U16', elementSize: 2 },
  'torch.uint32': { dtype: 'U32', elementSize: 4 },
  'torch.uint64': { dtype: 'U64', elementSize: 8 },
};

/** Functions and classes whose effect the host models symbolically (see torchHost.ts). */
export const MODELLED = new Set([
  'torch._utils._rebuild_tensor', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter', 'torch._utils._rebuild_parameter_with_state',
  'torch._tensor._rebuild_from_type', 'torch._tensor._rebuild_from_type_v2',
  'collections.OrderedDict', 'builtins.set', 'builtins.frozenset', 'builtins.bytes', 'builtins.bytearray', '_codecs.encode',
  'torch.Size',
]);

/** Harmless torch names that only ever appear as values (types, devices, layouts, quantization schemes). */
const INERT = new Set([
  'torch.device', 'torch.Tensor', 'torch.nn.parameter.Parameter', 'torch.nn.parameter.Buffer', 'torch.strided', 'torch.sparse_coo',
  'torch.sparse_csr', 'torch.contiguous_format', 'torch.channels_last', 'torch.preserve_format', 'torch.serialization._get_layout',
  'torch.per_tensor_affine', 'torch.per_channel_affine', 'torch.per_tensor_symmetric', 'torch.per_channel_symmetric',
  'torch.per_channel_affine_float_qparams', 'torch.qint8', 'torch.quint8', 'torch.qint32', 'torch.quint4x2', 'torch.quint2x4',
]);

/** Torch rebuild functions for tensors this reader cannot describe as one byte range. */
export const UNSUPPORTED_REBUILDS: Readonly<Record<string, string>> = {
  'torch._utils._rebuild_qtensor': 'quantized tensors are not supported',
  'torch._utils._rebuild_sparse_tensor': 'sparse tensors are not supported',
  'torch._utils._rebuild_sparse_csr_tensor': 'sparse tensors are not supported',
  'torch._utils._rebuild_nested_tensor': 'nested tensors are not supported',
  'torch._utils._rebuild_meta_tensor_no_storage': 'meta tensors have no data',
  'torch._utils._rebuild_wrapper_subclass': 'tensor subclasses without storage are not supported',
  'torch._utils._rebuild_device_tensor_from_numpy': 'tensors pickled through numpy are not supported',
  'torch._utils._rebuild_device_tensor_from_cpu_tensor': 'device tensors pickled through a CPU copy are not supported',
  'torch._utils._rebuild_xla_tensor': 'XLA tensors are not supported',
  'torch._utils._rebuild_mlc_tensor': 'MLC tensors are not supported',
};

/** Python 2 names that pickle protocol 2 writes for Python 3 modules (fix_imports). */
const MODULE_ALIASES: Readonly<Record<string, string>> = { __builtin__: 'builtins', copy_reg: 'copyreg', _codecs: '_codecs' };

export function qualifiedName(module: string, name: string): string {
  return `${MODULE_ALIASES[module] ?? module}.${name}`;
}

export type GlobalKind = 'modelled' | 'storage' | 'dtype' | 'inert' | 'unsupported' | 'forbidden';

export function classifyGlobal(qualified: string): GlobalKind {
  if (MODELLED.has(qualified)) return 'modelled';
  if (qualified in STORAGE_TYPES) return 'storage';
  if (qualified in DTYPES) return 'dtype';
  if (INERT.has(qualified)) return 'inert';
  if (qualified in UNSUPPORTED_REBUILDS || QUANTIZED_STORAGE_TYPES.has(qualified)) return 'unsupported';
  return 'forbidden';
}

/** Why a tensor built with this storage class cannot be described, if it cannot. */
export function unsupportedStorage(qualified: string): string | undefined {
  return QUANTIZED_STORAGE_TYPES.has(qualified) ? 'quantized storages are not supported' : undefined;
}

/** Modules and builtins that run code, touch the system or reach arbitrary attributes when called. */
const DANGEROUS_MODULES = [
  'os', 'posix', 'nt', 'posixpath', 'ntpath', 'subprocess', 'sys', 'runpy', 'importlib', 'shutil', 'socket', 'pty', 'ctypes',
  'code', 'codeop', 'pickle', '_pickle', 'cPickle', 'marshal', 'types', 'webbrowser', 'multiprocessing', 'asyncio', 'pdb',
  'timeit', 'commands', 'popen2', 'platform', 'signal', 'operator', 'functools', 'pip', 'setuptools', 'urllib', 'http',
  'requests', 'tempfile', 'glob', 'io', '_io', 'pathlib', 'torch.hub', 'torch.jit', 'torch.serialization', 'numpy.load',
];
const DANGEROUS_BUILTINS = new Set([
  'eval', 'exec', 'execfile', 'compile', 'getattr', 'setattr', 'delattr', '__import__', 'open', 'globals', 'locals', 'vars',
  'input', 'breakpoint', 'apply', 'exit', 'quit', 'help', 'memoryview', 'object', 'type', 'super', 'classmethod', 'staticmethod',
]);

/**
 * Attribute names that run code or reach what does, wherever they sit in a dotted name: pickle protocol 4 resolves
 * `torch` + `os.system` (or `storage._load_from_bytes`) by getattr from the module, so `torch.os.system` is
 * os.system and `torch.storage._load_from_bytes` is torch.load (another pickle) on bytes of the file's choosing.
 */
const DANGEROUS_ATTRIBUTES = new Set([
  'eval', 'exec', 'execfile', 'compile', '__import__', 'getattr', 'setattr', 'delattr', 'globals', 'locals', 'breakpoint',
  'system', 'popen', 'spawn', 'spawnv', 'spawnl', 'execv', 'execve', 'execl', 'fork', 'load', 'loads', '_load_from_bytes',
  '__builtins__', '__globals__', '__subclasses__', '__getattribute__', '__reduce__', '__reduce_ex__', '__code__', '__dict__',
]);

export function canRunCode(qualified: string): boolean {
  if (qualified.startsWith('builtins.') && !qualified.slice('builtins.'.length).includes('.')) {
    return DANGEROUS_BUILTINS.has(qualified.slice('builtins.'.length));
  }
  const segments = qualified.split('.');
  for (let i = 0; i < segments.length; i++) {
    const rest = segments.slice(i).join('.');
    if (DANGEROUS_MODULES.some((m) => rest === m || rest.startsWith(`${m}.`))) return true;
    if (i === 0) continue;
    // Past the first segment: an attribute chain (torch.os.system, torch.builtins.eval, x.__globals__).
    if (DANGEROUS_ATTRIBUTES.has(segments[i]!)) return true;
    if ((segments[i] === 'builtins' || segments[i] === '__builtin__') && DANGEROUS_BUILTINS.has(segments[i + 1] ?? '')) return true;
  }
  return false;
}
