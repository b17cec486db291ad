// ONNX reader: a model file is one protobuf ModelProto. We walk its wire format over a small read window and
// list every tensor with a byte range: graph initializers and the `value` of Constant nodes (some exporters keep
// every weight there), subgraphs (If/Loop/Scan bodies) included. Payloads are skipped, never read, so opening a
// multi-gigabyte model reads a few KiB per tensor. External data is resolved against the model's directory.
import { InputError } from '../../errors';
import { openForReading } from '../fileio';
import { MAX_TENSORS } from '../limits';
import type { CheckpointHeader } from '../types';
import { describeTensor, Notes, type OnnxTensorInfo } from './describe';
import { ExternalFiles } from './external';
import { isOpaqueName, readModel, type Collected, type IoList } from './model';
import { isParameterName, isWeight } from './weights';
import { ByteWindow, newReadStats, type ReadStats } from './window';
import { WireReader } from './wire';

export type { OnnxStorage, OnnxTensorInfo } from './describe';
export { ONNX_DTYPES } from './dtypes';
export { newReadStats, type ReadStats } from './window';

export interface ReadOnnxOptions {
  /** Filled with what was actually read from the model file (tests prove payloads are skipped). */
  stats?: ReadStats;
  /** Tests lower the tensor cap (MAX_TENSORS) to show where it bites without writing 200 000 tensors. */
  maxTensors?: number;
}

export async function readOnnxHeader(path: string, options: ReadOnnxOptions = {}): Promise<CheckpointHeader> {
  const { handle, size } = await openForReading(path);
  let collected: Collected;
  try {
    const reader = new WireReader(new ByteWindow(handle, size, path, options.stats ?? newReadStats()));
    collected = await readModel(reader, options.maxTensors ?? MAX_TENSORS);
  } finally {
    await handle.close();
  }
  if (!collected.hasGraph) throw new InputError(`${path}: not an ONNX model: its ${size} bytes hold no graph (ModelProto field 7)`);
  return describeModel(path, collected);
}

async function describeModel(path: string, c: Collected): Promise<CheckpointHeader> {
  const notes = new Notes();
  const external = new ExternalFiles(path);
  const tensors: OnnxTensorInfo[] = [];
  const seen = new Set<string>();
  let constants = 0;
  for (const found of c.tensors) {
    const tensor = await describeTensor(found, path, external, notes);
    if (tensor === null) continue;
    // Subgraphs may reuse a name; analyses key tensors by name, so the first one stands (as for sharded files).
    if (seen.has(tensor.name)) {
      notes.add('appears more than once (initializers or Constant outputs in several graphs); the first is used', tensor.name);
      continue;
    }
    seen.add(tensor.name);
    // A Constant's output name is the exporter's (`/model/constants/TensorProto.INT64/1D/9223372036854775807`):
    // unless it is a parameter's name, it says nothing about a block, so its role comes from the node that uses
    // it, as for opaque names.
    const byUse = isOpaqueName(tensor.name) || (found.origin === 'constant' && !isParameterName(tensor.name));
    const consumer = byUse ? c.firstConsumer.get(tensor.name) : undefined;
    if (consumer !== undefined) tensor.roleName = consumer;
    if (!isWeight(tensor, c.uses.get(tensor.name) ?? [])) {
      tensor.graphConstant = true;
      constants++;
    }
    if (tensor.storage === 'int32_data' || tensor.storage === 'int64_data' || tensor.storage === 'uint64_data') tensor.encoding = 'varint';
    else if (tensor.storage === 'string_data') tensor.encoding = 'none';
    tensors.push(tensor);
  }
  const warnings = [...c.warnings, ...notes.lines(path)];
  if (constants > 0) {
    warnings.push(`${path}: ${constants} tensor(s) are graph constants (shapes, indices, mask values), not weights: listed, but counted in no parameter total and no block`);
  }
  if (c.sparseInitializers > 0) {
    warnings.push(`${path}: ${c.sparseInitializers} sparse initializer(s) are not listed (their values and indices are separate tensors)`);
  }
  if (c.functions > 0) warnings.push(`${path}: ${c.functions} model-local function(s) are not inspected; tensors inside them are not listed`);
  return { format: 'onnx', files: [path, ...external.files], tensors, metadata: metadataOf(c, seen), warnings };
}

function metadataOf(c: Collected, tensorNames: ReadonlySet<string>): Record<string, string> {
  const metadata: Record<string, string> = { ...c.metadata };
  // Before IR version 4 every initializer was also a graph input; those are weights, not inputs a user feeds.
  const inputs = { ...c.graphInputs, names: c.graphInputs.names.filter((name) => !tensorNames.has(name)) };
  inputs.total -= c.graphInputs.names.length - inputs.names.length;
  metadata.graph_inputs = listed(inputs);
  metadata.graph_outputs = listed(c.graphOutputs);
  if (c.subgraphs > 0) metadata.subgraphs = String(c.subgraphs);
  metadata.nodes = String(c.nodes);
  const ours = new Set(Object.keys(metadata));
  for (const [key, value] of c.props) metadata[ours.has(key) ? `metadata_props.${key}` : key] = value;
  return metadata;
}

function listed(list: IoList): string {
  const more = list.total - list.names.length;
  return list.names.join(', ') + (more > 0 ? `, ... (${more} more)` : '');
}
