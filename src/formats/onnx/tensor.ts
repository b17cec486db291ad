// TensorProto: the fields that say what a tensor is and where its values lie. Payload fields are recorded as
// byte ranges and skipped, never read. Field numbers are onnx.proto's (checked against Debian's python3-onnx).
import { MAX_DIMS, MAX_TENSOR_NAME_BYTES } from '../limits';
import { MAX_EXTERNAL_DATA_ENTRIES, MAX_EXTERNAL_VALUE_BYTES } from './limits';
import { WIRE_LEN, WIRE_VARINT, type Span, type Tag, type WireReader } from './wire';

const DIMS = 1;
const DATA_TYPE = 2;
const SEGMENT = 3;
const STRING_DATA = 6;
const NAME = 8;
const EXTERNAL_DATA = 13;
const DATA_LOCATION = 14;

export type DataField = 'raw_data' | 'float_data' | 'int32_data' | 'int64_data' | 'double_data' | 'uint64_data';

/** Payload fields by field number; all but raw_data are `repeated ... [packed = true]`. */
const DATA_FIELDS: Readonly<Record<number, DataField>> = {
  4: 'float_data', 5: 'int32_data', 7: 'int64_data', 9: 'raw_data', 10: 'double_data', 11: 'uint64_data',
};

export interface RawTensor {
  /** Byte offset of the TensorProto's contents. */
  at: number;
  name: string;
  dims: bigint[];
  /** TensorProto.DataType; 0 (UNDEFINED) when absent. */
  dataType: number;
  /** The payload as one contiguous range, when it is one. */
  data: { field: DataField; start: number; end: number } | null;
  /** Every payload field present (more than one kind is a malformed tensor). */
  fields: Set<DataField>;
  /** A repeated payload field sent unpacked or in several chunks: its values are not one contiguous range. */
  scattered: DataField | null;
  strings: number;
  /** external_data pairs; a value too long to be a path or number is null. */
  external: Array<[string, string | null]>;
  dataLocation: bigint;
  segmented: boolean;
}

export async function readTensor(r: WireReader, span: Span): Promise<RawTensor> {
  const tensor: RawTensor = {
    at: span.start, name: '', dims: [], dataType: 0, data: null, fields: new Set(), scattered: null,
    strings: 0, external: [], dataLocation: 0n, segmented: false,
  };
  const message = `TensorProto at byte ${span.start}`;
  r.pos = span.start;
  for (let tag = await r.tag(span.end, message); tag; tag = await r.tag(span.end, message)) {
    const payload = DATA_FIELDS[tag.field];
    if (payload !== undefined) {
      await readPayload(r, tensor, payload, tag, span.end, message);
      continue;
    }
    switch (tag.field) {
      case DIMS:
        await readDims(r, tensor, tag, span.end, message);
        break;
      case DATA_TYPE: {
        r.expect(tag, WIRE_VARINT, `${message} data_type`);
        const value = await r.int64(span.end, `${message} data_type`);
        tensor.dataType = value < 0n || value > 255n ? -1 : Number(value);
        break;
      }
      case NAME:
        tensor.name = await r.string(tag, span.end, `${message} name`, MAX_TENSOR_NAME_BYTES);
        break;
      case STRING_DATA:
        tensor.strings++;
        await r.skip(tag, span.end, message);
        break;
      case EXTERNAL_DATA:
        if (tensor.external.length >= MAX_EXTERNAL_DATA_ENTRIES) {
          r.fail(`${message} has more than ${MAX_EXTERNAL_DATA_ENTRIES} external_data entries`);
        }
        r.expect(tag, WIRE_LEN, `${message} external_data`);
        tensor.external.push(await readEntry(r, await r.span(span.end, `${message} external_data`, tag.at), message));
        break;
      case DATA_LOCATION:
        r.expect(tag, WIRE_VARINT, `${message} data_location`);
        tensor.dataLocation = await r.int64(span.end, `${message} data_location`);
        break;
      case SEGMENT:
        tensor.segmented = true;
        await r.skip(tag, span.end, message);
        break;
      default:
        await r.skip(tag, span.end, message);
    }
  }
  r.pos = span.end;
  return tensor;
}

async function readPayload(r: WireReader, tensor: RawTensor, field: DataField, tag: Tag, end: number, message: string): Promise<void> {
  tensor.fields.add(field);
  if (tag.wire !== WIRE_LEN) {
    if (field === 'raw_data') r.expect(tag, WIRE_LEN, `${message} raw_data`);
    tensor.scattered = field; // one element per tag: legal protobuf, but not a byte range
    await r.skip(tag, end, message);
    return;
  }
  const { start, end: stop } = await r.span(end, `${message} ${field}`, tag.at);
  // raw_data is singular (the last one wins); a packed field sent twice is concatenated by protobuf: two ranges.
  if (field !== 'raw_data' && tensor.data?.field === field) tensor.scattered = field;
  tensor.data = { field, start, end: stop };
  r.pos = stop;
}

async function readDims(r: WireReader, tensor: RawTensor, tag: Tag, end: number, message: string): Promise<void> {
  const push = (value: bigint) => {
    if (tensor.dims.length >= MAX_DIMS) r.fail(`${message} has more than ${MAX_DIMS} dimensions (at byte ${tag.at})`);
    tensor.dims.push(value);
  };
  if (tag.wire === WIRE_LEN) {
    const packed = await r.span(end, `${message} dims`, tag.at);
    while (r.pos < packed.end) push(await r.int64(packed.end, `${message} dims`));
    return;
  }
  r.expect(tag, WIRE_VARINT, `${message} dims`);
  push(await r.int64(end, `${message} dims`));
}

/** StringStringEntryProto (key = 1, value = 2). A value longer than `cap` comes back as null, skipped unread. */
export async function readEntry(r: WireReader, span: Span, parent: string, cap = MAX_EXTERNAL_VALUE_BYTES): Promise<[string, string | null]> {
  const message = `${parent} key/value entry at byte ${span.start}`;
  let key = '';
  let value: string | null = '';
  r.pos = span.start;
  for (let tag = await r.tag(span.end, message); tag; tag = await r.tag(span.end, message)) {
    if (tag.field === 1) key = await r.string(tag, span.end, `${message} key`, MAX_TENSOR_NAME_BYTES);
    else if (tag.field === 2) value = await r.optionalString(tag, span.end, `${message} value`, cap);
    else await r.skip(tag, span.end, message);
  }
  return [key, value];
}
