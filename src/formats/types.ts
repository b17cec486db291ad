// The one shape every checkpoint reader produces: a header turned into tensors with byte ranges. Tensor data is
// never read here; analyses read it by range, in bounded chunks.
import type { ArchitectureSummary } from '../protocol/results';

export type CheckpointFormat = 'safetensors' | 'onnx' | 'gguf' | 'pytorch';

export interface TensorInfo {
  /** The checkpoint's own tensor name. */
  name: string;
  /**
   * A more telling name for mapping to {layer, module} when the own name is opaque: ONNX exporters name weights
   * `onnx::MatMul_123`, and the node that consumes it (`/model/layers.0/self_attn/q_proj/MatMul`) says what it is.
   */
  roleName?: string;
  /** The checkpoint's own dtype name (`F32`, `BF16`, `Q4_K`, ...). */
  dtype: string;
  shape: number[];
  /** Number of elements (product of shape). */
  count: number;
  /** Absolute path of the file that holds the tensor's bytes. */
  file: string;
  /**
   * How the bytes in range encode the values. Absent: fixed-width little-endian elements of `dtype`, readable as
   * they are. 'varint': packed protobuf varints (ONNX int32_data/int64_data); 'none': no readable payload
   * (ONNX strings). Analyses skip tensors whose values they cannot decode, and say so.
   */
  encoding?: 'varint' | 'none';
  /**
   * A graph constant, not a weight (ONNX: shape and index values, mask fills such as INT64 max or FP16 −65504):
   * listed with its bytes, but it holds no parameters and belongs to no block.
   */
  graphConstant?: true;
  /** Absolute byte offset of the first data byte in `file`. */
  byteOffset: number;
  byteLength: number;
}

export interface CheckpointHeader {
  format: CheckpointFormat;
  /** Every file the checkpoint's tensors live in (one, or the shards of a sharded checkpoint). */
  files: string[];
  tensors: TensorInfo[];
  /** Free-form string metadata the format carries (safetensors `__metadata__`, GGUF KV as strings, ...). */
  metadata: Record<string, string>;
  /** Things a user should know that did not stop the read (security findings start with "security: "). */
  warnings: string[];
  /** Architecture numbers the file itself declares (GGUF metadata); config.json, when present, wins. */
  architecture?: Partial<Omit<ArchitectureSummary, 'source' | 'configPath'>>;
}
