// A found TensorProto -> TensorInfo: dtype, shape and the byte range of its values, each checked against the
// others (byteLength = elements x element size) and against the file it lives in.
import { InputError } from '../../errors';
import type { TensorInfo } from '../types';
import { DTYPE_STRING, ONNX_DTYPES } from './dtypes';
import type { ExternalFiles } from './external';
import { MAX_NAMES_IN_WARNING } from './limits';
import type { FoundTensor } from './model';
import type { DataField } from './tensor';

/**
 * Where a tensor's values are. `raw_data`, `external`, `float_data` and `double_data` ranges hold fixed-width
 * little-endian elements an analysis can read as they are (a packed float_data payload is exactly raw f32 LE).
 * `int32_data`, `int64_data` and `uint64_data` ranges hold packed varints, which cannot be read as raw bytes.
 * `string_data` and `none` (no elements) have byteLength 0.
 */
export type OnnxStorage = DataField | 'external' | 'string_data' | 'none';

export interface OnnxTensorInfo extends TensorInfo {
  storage: OnnxStorage;
}

const DATA_LOCATION_EXTERNAL = 1n;

/** Warnings that would repeat once per tensor are grouped by kind: a count and the first few names. */
export class Notes {
  private readonly kinds = new Map<string, { names: string[]; count: number }>();

  add(kind: string, name: string): void {
    const entry = this.kinds.get(kind) ?? { names: [], count: 0 };
    if (entry.names.length < MAX_NAMES_IN_WARNING) entry.names.push(`'${name}'`);
    entry.count++;
    this.kinds.set(kind, entry);
  }

  /** kind is phrased for one tensor ("stores ..."); the others that share it are named after it. */
  lines(path: string): string[] {
    return [...this.kinds].map(([kind, { names, count }]) => {
      const [first, ...rest] = names;
      if (count === 1) return `${path}: tensor ${first} ${kind}`;
      const unnamed = count - names.length;
      return `${path}: tensor ${first} ${kind} (as do ${count - 1} more: ${rest.join(', ')}${unnamed > 0 ? ` and ${unnamed} others` : ''})`;
    });
  }
}

export async function describeTensor(t: FoundTensor, path: string, externalFiles: ExternalFiles, notes: Notes): Promise<OnnxTensorInfo | null> {
  const where = `tensor '${t.name}' (TensorProto at byte ${t.at})`;
  const fail = (message: string): never => {
    throw new InputError(`${path}: ${where} ${message}`);
  };
  if (t.segmented) {
    notes.add('is split into segments (TensorProto.segment), which this reader does not join; left out', t.name);
    return null;
  }
  if (t.dataType === 0) fail('has no data_type');
  const dtype = ONNX_DTYPES[t.dataType];
  if (dtype === undefined) {
    notes.add(`has a data_type this reader does not know (${t.dataType < 0 ? 'out of range' : t.dataType}); left out`, t.name);
    return null;
  }
  const shape = t.dims.map((d) => {
    if (d < 0n) fail(`has a negative dimension ${d} in [${t.dims.join(', ')}]`);
    if (d > BigInt(Number.MAX_SAFE_INTEGER)) fail(`has a dimension ${d} too large to address`);
    return Number(d);
  });
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (!Number.isSafeInteger(count)) fail(`has a shape [${shape.join(', ')}] whose element count overflows`);
  }
  if (!Number.isSafeInteger(count * dtype.bits)) fail(`has a shape [${shape.join(', ')}] whose byte size overflows`);
  const described = `${dtype.name}[${shape.join(', ')}]`;
  const base = { name: t.name, dtype: dtype.name, shape, count, file: path };
  const at = (storage: OnnxStorage, byteOffset: number, byteLength: number): OnnxTensorInfo => ({ ...base, storage, byteOffset, byteLength });

  const fields = [...t.fields];
  if (fields.length > 1) fail(`has more than one kind of data (${fields.join(' and ')})`);
  const external = t.dataLocation === DATA_LOCATION_EXTERNAL;
  if (t.dataLocation !== 0n && !external) fail(`has data_location ${t.dataLocation} (want 0 DEFAULT or 1 EXTERNAL)`);
  if (external && (fields.length > 0 || t.strings > 0)) fail(`is stored externally (data_location EXTERNAL) but also carries ${fields[0] ?? 'string_data'} inline`);
  if (t.dataType === DTYPE_STRING) {
    if (external || fields.length > 0) fail(`is a STRING tensor but stores ${external ? 'external data' : fields[0]}; strings live in string_data`);
    notes.add('holds strings (string_data): listed with byteLength 0, no byte range', t.name);
    return at('string_data', t.at, 0);
  }
  if (t.strings > 0) fail(`has data type ${dtype.name} but carries string_data`);
  const rawBytes = Math.ceil((count * dtype.bits) / 8);
  if (external) {
    const range = await externalFiles.resolve(where, t.external, rawBytes, described);
    return { ...base, file: range.file, storage: 'external', byteOffset: range.byteOffset, byteLength: range.byteLength };
  }
  if (t.scattered !== null) {
    notes.add(`stores ${t.scattered} unpacked or in several pieces, not as one byte range; left out`, t.name);
    return null;
  }
  const data = t.data;
  if (data === null) {
    if (count > 0) fail(`has ${count} elements (${described}) but no data`);
    return at('none', t.at, 0);
  }
  const length = data.end - data.start;
  switch (data.field) {
    case 'raw_data':
      if (length !== rawBytes) fail(`has ${length} bytes of raw_data but ${described} needs ${rawBytes}`);
      break;
    case 'float_data':
    case 'double_data': {
      // Packed fixed-width repeated floats are the elements themselves, little-endian: readable like raw_data.
      const scalar = data.field === 'float_data' ? 'F32' : 'F64';
      const complex = data.field === 'float_data' ? 'C64' : 'C128';
      if (dtype.name !== scalar && dtype.name !== complex) fail(`has data type ${dtype.name} but stores ${data.field}`);
      if (length !== rawBytes) fail(`has ${length} bytes of ${data.field} but ${described} needs ${rawBytes}`);
      break;
    }
    default:
      // Varints take 1 to 10 bytes each: a cheap bound without reading the payload.
      if (length < count || length > count * 10) {
        fail(`has ${length} bytes of ${data.field}, which cannot hold the ${count} varints ${described} needs`);
      }
      notes.add(`stores its values in ${data.field} (varints); statistics need raw_data`, t.name);
  }
  return at(data.field, data.start, length);
}
