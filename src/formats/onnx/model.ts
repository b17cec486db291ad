// ModelProto / GraphProto / NodeProto / AttributeProto: the fields that lead to tensors (initializers and the
// `value` of Constant nodes, in subgraphs too), the node names that say what opaque weights are for, and the model
// metadata. Everything else (value_info, doc strings, types) is skipped unread.
import { MAX_TENSORS, MAX_TENSOR_NAME_BYTES } from '../limits';
import {
  MAX_GRAPH_DEPTH, MAX_GRAPH_IO_LISTED, MAX_METADATA_PROPS, MAX_METADATA_VALUE_BYTES, MAX_NODE_INPUTS, MAX_NODES, MAX_OPSET_IMPORTS,
  MAX_USES_PER_TENSOR,
} from './limits';
import { readEntry, readTensor, type RawTensor } from './tensor';
import { WIRE_LEN, WIRE_VARINT, type Span, type Tag, type WireReader } from './wire';

export interface FoundTensor extends RawTensor {
  origin: 'initializer' | 'constant';
}

export interface IoList {
  names: string[];
  total: number;
}

/** A node input: the consuming node's op_type and the input's position in it. */
export interface Use {
  opType: string;
  slot: number;
}

export interface Collected {
  tensors: FoundTensor[];
  /**
   * Tensor name -> the first node that consumes it (node name, else its first output): what an opaque weight
   * (`onnx::MatMul_123`) or a Constant's output is for, and so its block.
   */
  firstConsumer: Map<string, string>;
  /** Tensor name -> how nodes use it (the first MAX_USES_PER_TENSOR uses): tells weights from graph constants. */
  uses: Map<string, Use[]>;
  metadata: Record<string, string>;
  /** metadata_props, kept apart so they cannot overwrite the keys we set. */
  props: Array<[string, string]>;
  /** Names of the main graph's inputs and outputs (the first MAX_GRAPH_IO_LISTED) and how many there are. */
  graphInputs: IoList;
  graphOutputs: IoList;
  hasGraph: boolean;
  nodes: number;
  subgraphs: number;
  sparseInitializers: number;
  functions: number;
  warnings: string[];
  /** MAX_TENSORS unless a test lowers it. */
  maxTensors: number;
}

/** Names exporters give weights that say nothing about their role: `onnx::MatMul_123`, bare numbers. */
export function isOpaqueName(name: string): boolean {
  return name.startsWith('onnx::') || /^\d+$/.test(name);
}

export async function readModel(r: WireReader, maxTensors = MAX_TENSORS): Promise<Collected> {
  const c: Collected = {
    tensors: [], firstConsumer: new Map(), uses: new Map(), metadata: {}, props: [], graphInputs: { names: [], total: 0 }, graphOutputs: { names: [], total: 0 }, hasGraph: false,
    nodes: 0, subgraphs: 0, sparseInitializers: 0, functions: 0, warnings: [], maxTensors,
  };
  const message = 'ModelProto';
  const end = r.size;
  const opsets: string[] = [];
  r.pos = 0;
  for (let tag = await r.tag(end, message); tag; tag = await r.tag(end, message)) {
    switch (tag.field) {
      case 1: // ir_version
      case 5: // model_version
        r.expect(tag, WIRE_VARINT, `${message} field ${tag.field}`);
        c.metadata[tag.field === 1 ? 'ir_version' : 'model_version'] = String(await r.int64(end, `${message} field ${tag.field}`));
        break;
      case 2:
      case 3:
      case 4: { // producer_name, producer_version, domain: descriptive only, so an overlong one is left out
        const text = await r.optionalString(tag, end, `${message} field ${tag.field}`, MAX_TENSOR_NAME_BYTES);
        if (text !== null) c.metadata[['producer_name', 'producer_version', 'domain'][tag.field - 2]!] = text;
        break;
      }
      case 7: // graph
        r.expect(tag, WIRE_LEN, `${message} graph`);
        c.hasGraph = true;
        await readGraph(r, c, await r.span(end, `${message} graph`, tag.at), 0);
        break;
      case 8: // opset_import
        if (opsets.length >= MAX_OPSET_IMPORTS) r.fail(`${message} has more than ${MAX_OPSET_IMPORTS} opset imports (at byte ${tag.at})`);
        r.expect(tag, WIRE_LEN, `${message} opset_import`);
        opsets.push(await readOpset(r, await r.span(end, `${message} opset_import`, tag.at)));
        break;
      case 14: // metadata_props
        await readProp(r, c, tag, end);
        break;
      case 25: // functions: their Constant nodes are function bodies, not model weights
        c.functions++;
        await r.skip(tag, end, message);
        break;
      default:
        await r.skip(tag, end, message);
    }
  }
  if (opsets.length > 0) c.metadata.opset_import = opsets.join(', ');
  return c;
}

async function readOpset(r: WireReader, span: Span): Promise<string> {
  const message = `OperatorSetIdProto at byte ${span.start}`;
  let domain = '';
  let version = '';
  for (let tag = await r.tag(span.end, message); tag; tag = await r.tag(span.end, message)) {
    if (tag.field === 1) domain = await r.string(tag, span.end, `${message} domain`, MAX_TENSOR_NAME_BYTES);
    else if (tag.field === 2) {
      r.expect(tag, WIRE_VARINT, `${message} version`);
      version = String(await r.int64(span.end, `${message} version`));
    } else await r.skip(tag, span.end, message);
  }
  return `${domain === '' ? 'ai.onnx' : domain}:${version}`;
}

async function readProp(r: WireReader, c: Collected, tag: Tag, end: number): Promise<void> {
  if (c.props.length >= MAX_METADATA_PROPS) r.fail(`ModelProto has more than ${MAX_METADATA_PROPS} metadata_props (at byte ${tag.at})`);
  r.expect(tag, WIRE_LEN, 'ModelProto metadata_props');
  const span = await r.span(end, 'ModelProto metadata_props', tag.at);
  const [key, value] = await readEntry(r, span, 'ModelProto metadata_props', MAX_METADATA_VALUE_BYTES);
  r.pos = span.end;
  if (value === null) c.warnings.push(`${r.path}: metadata_props '${key}' is longer than ${MAX_METADATA_VALUE_BYTES} bytes and was left out`);
  else c.props.push([key, value]);
}

async function readGraph(r: WireReader, c: Collected, span: Span, depth: number): Promise<void> {
  if (depth > MAX_GRAPH_DEPTH) r.fail(`subgraph at byte ${span.start} is nested more than ${MAX_GRAPH_DEPTH} levels deep`);
  if (depth > 0) c.subgraphs++;
  const message = `GraphProto at byte ${span.start}`;
  r.pos = span.start;
  for (let tag = await r.tag(span.end, message); tag; tag = await r.tag(span.end, message)) {
    switch (tag.field) {
      case 1: // node
        if (++c.nodes > MAX_NODES) r.fail(`the model has more than ${MAX_NODES} nodes (at byte ${tag.at})`);
        r.expect(tag, WIRE_LEN, `${message} node`);
        await readNode(r, c, await r.span(span.end, `${message} node`, tag.at), depth);
        break;
      case 2: // name
        if (depth === 0) c.metadata.graph_name = await r.string(tag, span.end, `${message} name`, MAX_TENSOR_NAME_BYTES);
        else await r.skip(tag, span.end, message);
        break;
      case 5: { // initializer
        r.expect(tag, WIRE_LEN, `${message} initializer`);
        const tensor = await readTensor(r, await r.span(span.end, `${message} initializer`, tag.at));
        if (tensor.name === '') r.fail(`initializer at byte ${tensor.at} has no name`);
        addTensor(r, c, { ...tensor, origin: 'initializer' });
        break;
      }
      case 11: // input
      case 12: // output
        if (depth === 0) await readValueName(r, tag, span.end, tag.field === 11 ? c.graphInputs : c.graphOutputs);
        else await r.skip(tag, span.end, message);
        break;
      case 15: // sparse_initializer: values and indices live in two tensors; not described as one range
        c.sparseInitializers++;
        await r.skip(tag, span.end, message);
        break;
      default:
        await r.skip(tag, span.end, message);
    }
  }
  r.pos = span.end;
}

function addTensor(r: WireReader, c: Collected, tensor: FoundTensor): void {
  // Checked as tensors are found, so a model with a million initializers costs at most the cap's worth of memory.
  if (c.tensors.length >= c.maxTensors) r.fail(`the model has more than ${c.maxTensors} tensors (initializers and Constant values); more are refused (at byte ${tensor.at})`);
  c.tensors.push(tensor);
}

/** ValueInfoProto: only its name (field 1); at most MAX_GRAPH_IO_LISTED are kept. */
async function readValueName(r: WireReader, tag: Tag, end: number, into: IoList): Promise<void> {
  r.expect(tag, WIRE_LEN, 'GraphProto input/output');
  const span = await r.span(end, 'GraphProto input/output', tag.at);
  if (into.total++ < MAX_GRAPH_IO_LISTED) {
    const message = `ValueInfoProto at byte ${span.start}`;
    let name = '';
    for (let inner = await r.tag(span.end, message); inner; inner = await r.tag(span.end, message)) {
      if (inner.field === 1) name = await r.string(inner, span.end, `${message} name`, MAX_TENSOR_NAME_BYTES);
      else await r.skip(inner, span.end, message);
    }
    into.names.push(name);
  }
  r.pos = span.end;
}

async function readNode(r: WireReader, c: Collected, span: Span, depth: number): Promise<void> {
  const message = `NodeProto at byte ${span.start}`;
  let name = '';
  let opType = '';
  let domain = '';
  let firstOutput: string | undefined;
  let value: RawTensor | undefined;
  const inputs: string[] = [];
  for (let tag = await r.tag(span.end, message); tag; tag = await r.tag(span.end, message)) {
    switch (tag.field) {
      case 1: // input: kept with its position, for roleName and to tell weights from graph constants
        if (inputs.length >= MAX_NODE_INPUTS) r.fail(`${message} has more than ${MAX_NODE_INPUTS} inputs`);
        inputs.push(await r.string(tag, span.end, `${message} input`, MAX_TENSOR_NAME_BYTES));
        break;
      case 2: // output: only the first names a Constant's tensor
        if (firstOutput === undefined) firstOutput = await r.string(tag, span.end, `${message} output`, MAX_TENSOR_NAME_BYTES);
        else await r.skip(tag, span.end, message);
        break;
      case 3:
        name = await r.string(tag, span.end, `${message} name`, MAX_TENSOR_NAME_BYTES);
        break;
      case 4:
        opType = await r.string(tag, span.end, `${message} op_type`, MAX_TENSOR_NAME_BYTES);
        break;
      case 7:
        domain = await r.string(tag, span.end, `${message} domain`, MAX_TENSOR_NAME_BYTES);
        break;
      case 5: { // attribute
        r.expect(tag, WIRE_LEN, `${message} attribute`);
        const found = await readAttribute(r, c, await r.span(span.end, `${message} attribute`, tag.at), depth);
        if (found !== undefined) value = found;
        break;
      }
      default:
        await r.skip(tag, span.end, message);
    }
  }
  r.pos = span.end;
  // op_type and domain may follow the attributes in the stream, so the Constant is recognised only now.
  if (opType === 'Constant' && (domain === '' || domain === 'ai.onnx') && value !== undefined && firstOutput) {
    addTensor(r, c, { ...value, name: firstOutput, origin: 'constant' });
  }
  inputs.forEach((input, slot) => {
    if (input === '') return; // an omitted optional input
    const uses = c.uses.get(input);
    if (uses === undefined) {
      if (c.uses.size < c.maxTensors) c.uses.set(input, [{ opType, slot }]);
    } else if (uses.length < MAX_USES_PER_TENSOR) uses.push({ opType, slot });
  });
  const consumer = name !== '' ? name : firstOutput;
  if (consumer === undefined || consumer === '') return;
  for (const input of inputs) {
    if (input === '' || c.firstConsumer.has(input) || c.firstConsumer.size >= c.maxTensors) continue;
    c.firstConsumer.set(input, consumer);
  }
}

/** AttributeProto: returns the tensor of an attribute named `value`; walks subgraphs (g = 6, graphs = 11). */
async function readAttribute(r: WireReader, c: Collected, span: Span, depth: number): Promise<RawTensor | undefined> {
  const message = `AttributeProto at byte ${span.start}`;
  let name = '';
  let tensor: RawTensor | undefined;
  r.pos = span.start;
  for (let tag = await r.tag(span.end, message); tag; tag = await r.tag(span.end, message)) {
    switch (tag.field) {
      case 1:
        name = await r.string(tag, span.end, `${message} name`, MAX_TENSOR_NAME_BYTES);
        break;
      case 5: // t
        r.expect(tag, WIRE_LEN, `${message} t`);
        tensor = await readTensor(r, await r.span(span.end, `${message} t`, tag.at));
        break;
      case 6: // g
      case 11: // graphs
        r.expect(tag, WIRE_LEN, `${message} subgraph`);
        await readGraph(r, c, await r.span(span.end, `${message} subgraph`, tag.at), depth + 1);
        break;
      default:
        await r.skip(tag, span.end, message);
    }
  }
  r.pos = span.end;
  return name === 'value' ? tensor : undefined;
}
