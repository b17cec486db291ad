// Finds the residual stream of an exported decoder graph from the exporter's names: nodes scoped
// /model/layers.N/… (Llama family), /transformer/h.N/… (GPT-2), /…/blocks.N/… belong to block N. The tensor
// entering block 0 and each block's output are the tensors that cross a block boundary and carry the tokens' data:
// they depend on input_ids through something other than its shape (masks and positions built from Shape(…) or
// from attention_mask/position_ids do not).
import type { onnx } from 'onnx-proto';
import { InputError } from '../errors';

const BLOCK = /(?:^|\/)(?:model\/)?(?:layers|layer|h|blocks|block|decoder\.layers|encoder\.layers)\.(\d+)\//;
const SHAPE_ONLY = new Set(['Shape', 'Size']);

/** The block each node belongs to by its name (null: outside every block). */
function nodeBlocks(nodes: readonly onnx.INodeProto[]): Array<number | null> {
  return nodes.map((n) => {
    const match = BLOCK.exec(`${n.name || n.output?.[0] || ''}`);
    return match ? Number(match[1]) : null;
  });
}

/** How many blocks the node names show (null: no node name says). */
export function blockCountFromNames(graph: onnx.IGraphProto): number | null {
  const blocks = new Set(nodeBlocks(graph.node ?? []).filter((b): b is number => b !== null));
  return blocks.size > 0 ? Math.max(...blocks) + 1 : null;
}

export function findResidualStream(graph: onnx.IGraphProto, path: string): { tensors: string[] } {
  const nodes = graph.node ?? [];
  const blockOf = nodeBlocks(nodes);
  const blocks = [...new Set(blockOf.filter((b): b is number => b !== null))].sort((a, b) => a - b);
  if (blocks.length === 0) {
    throw new InputError(`${path}: no node names like /model/layers.0/… or /transformer/h.0/…, so its blocks cannot be told apart: name the residual stream with --residual-stream (setting importanceLens.onnxResidualStream), or export with torch.onnx.export or optimum, which keep module names`);
  }
  if (blocks.some((b, i) => b !== i)) throw new InputError(`${path}: block numbers in node names are not 0..${blocks.length - 1} (found ${blocks.join(', ')})`);

  const tokenData = dataDependents(nodes, 'input_ids');
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name));
  const consumers = new Map<string, number[]>();
  nodes.forEach((n, i) => (n.input ?? []).forEach((t) => consumers.set(t, [...(consumers.get(t) ?? []), i])));
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((t) => producer.set(t, i)));

  const crossing = (candidates: Iterable<string>, what: string): string => {
    const found = [...new Set(candidates)].filter((t) => tokenData.has(t) && !/^present/.test(t));
    if (found.length !== 1) {
      throw new InputError(`${path}: expected one residual-stream tensor ${what}, found ${found.length}${found.length > 0 ? ` (${found.slice(0, 4).join(', ')})` : ''}`);
    }
    return found[0]!;
  };
  const entering = crossing(
    nodes.flatMap((n, i) => (blockOf[i] === 0 ? (n.input ?? []).filter((t) => { const p = producer.get(t); return p === undefined ? t === 'input_ids' : blockOf[p] === null; }) : [])),
    'entering block 0',
  );
  const outputs = blocks.map((b) =>
    crossing(
      nodes.flatMap((n, i) => (blockOf[i] === b ? (n.output ?? []).filter((t) => graphOutputs.has(t) || (consumers.get(t) ?? []).some((c) => blockOf[c] !== b)) : [])),
      `leaving block ${b}`,
    ),
  );
  return { tensors: [entering, ...outputs] };
}

/** Tensors whose values depend on `input`'s values (not only on its shape). */
function dataDependents(nodes: readonly onnx.INodeProto[], input: string): Set<string> {
  const marked = new Set([input]);
  // Exported graphs are topologically sorted (ONNX requires it), so one pass suffices.
  for (const n of nodes) {
    if (SHAPE_ONLY.has(n.opType ?? '')) continue;
    if ((n.input ?? []).some((t) => marked.has(t))) for (const t of n.output ?? []) marked.add(t);
  }
  return marked;
}

/** Where a decoder's block count was read, to say so when the named stream does not match it. */
export interface BlockCount {
  blocks: number;
  source: string;
}

/**
 * The user's names for the residual stream (setting importanceLens.onnxResidualStream, CLI --residual-stream): the
 * input of block 0 and the output of every block, so one more than the model's blocks when they are known.
 */
export function namedResidualStream(graph: onnx.IGraphProto, names: readonly string[], path: string, count: BlockCount | null): { tensors: string[] } {
  if (names.length < 2) throw new InputError(`${path}: name at least two residual-stream tensors (the input of block 0 and the output of each block)`);
  const known = new Set([...(graph.input ?? []).map((i) => i.name), ...(graph.node ?? []).flatMap((n) => n.output ?? [])]);
  const missing = names.filter((n) => !known.has(n));
  if (missing.length > 0) throw new InputError(`${path}: no tensor named ${missing.map((n) => `'${n}'`).join(', ')} in the graph`);
  if (count !== null && names.length !== count.blocks + 1) {
    throw new InputError(`${path}: --residual-stream names ${names.length} tensors (the input of block 0 and the outputs of ${names.length - 1} block(s)), but the ${count.source}: give ${count.blocks + 1} names`);
  }
  return { tensors: [...names] };
}
