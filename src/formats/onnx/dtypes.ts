// TensorProto.DataType -> the dtype names the rest of the project uses (safetensors style), with element sizes.
// Codes 17-26 postdate Debian's onnx 1.12 proto; their numbers follow the current onnx.proto.

export interface OnnxDtype {
  name: string;
  /** Bits per element in raw_data (sub-byte types are packed); 0 for STRING, which has no raw layout. */
  bits: number;
}

export const ONNX_DTYPES: Readonly<Record<number, OnnxDtype>> = {
  1: { name: 'F32', bits: 32 },
  2: { name: 'U8', bits: 8 },
  3: { name: 'I8', bits: 8 },
  4: { name: 'U16', bits: 16 },
  5: { name: 'I16', bits: 16 },
  6: { name: 'I32', bits: 32 },
  7: { name: 'I64', bits: 64 },
  8: { name: 'STRING', bits: 0 },
  9: { name: 'BOOL', bits: 8 },
  10: { name: 'F16', bits: 16 },
  11: { name: 'F64', bits: 64 },
  12: { name: 'U32', bits: 32 },
  13: { name: 'U64', bits: 64 },
  14: { name: 'C64', bits: 64 },
  15: { name: 'C128', bits: 128 },
  16: { name: 'BF16', bits: 16 },
  17: { name: 'F8_E4M3FN', bits: 8 },
  18: { name: 'F8_E4M3FNUZ', bits: 8 },
  19: { name: 'F8_E5M2', bits: 8 },
  20: { name: 'F8_E5M2FNUZ', bits: 8 },
  21: { name: 'U4', bits: 4 },
  22: { name: 'I4', bits: 4 },
  23: { name: 'F4', bits: 4 }, // FLOAT4E2M1; safetensors calls the same type F4
  24: { name: 'F8_E8M0', bits: 8 },
  25: { name: 'U2', bits: 2 },
  26: { name: 'I2', bits: 2 },
};

export const DTYPE_STRING = 8;
