// A checkpoint's tensors by name, decoded to float32 for a graph's initializers, each checked against the shape
// the architecture expects before it is read.
import { InputError } from '../../errors';
import type { CheckpointHeader, TensorInfo } from '../../formats/types';
import { isDecodable } from '../decode';
import { FileHandles, readWholeTensor } from '../tensorStream';

/**
 * Weights go into the ONNX model inline, as float32; protobuf caps a message at 2 GB. Larger checkpoints need
 * external-data graphs, which this version does not build.
 */
export const MAX_GRAPH_WEIGHT_BYTES = 1.5 * 2 ** 30;

export class WeightSource {
  private readonly byName: Map<string, TensorInfo>;
  private readonly handles = new FileHandles();

  constructor(header: CheckpointHeader, private readonly where: string, private readonly signal?: AbortSignal) {
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
    const bytes = header.tensors.reduce((sum, t) => sum + t.count * 4, 0);
    if (bytes > MAX_GRAPH_WEIGHT_BYTES) {
      throw new InputError(`${where}: ${(bytes / 2 ** 30).toFixed(1)} GB of float32 weights is more than the ${MAX_GRAPH_WEIGHT_BYTES / 2 ** 30} GB a built graph holds in this version; export the model to ONNX with external data instead`);
    }
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  async get(name: string, shape: number[]): Promise<Float32Array> {
    const tensor = this.byName.get(name);
    if (!tensor) throw new InputError(`${this.where}: tensor '${name}' is missing (the ${shape.length}-D weight [${shape.join(', ')}] the architecture needs)`);
    if (tensor.shape.join() !== shape.join()) {
      throw new InputError(`${this.where}: tensor '${name}' has shape [${tensor.shape.join(', ')}], but config.json implies [${shape.join(', ')}]`);
    }
    if (!isDecodable(tensor.dtype) || tensor.encoding !== undefined) throw new InputError(`${this.where}: tensor '${name}' is ${tensor.dtype}, which cannot be decoded for a forward pass`);
    return readWholeTensor(tensor, this.handles, this.signal);
  }

  close(): Promise<void> {
    return this.handles.close();
  }
}

/** Row-major [rows, cols] -> [cols, rows]: Linear weights are [out, in], MatMul wants [in, out]. */
export function transposed(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}
