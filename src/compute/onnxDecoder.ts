// An exported decoder (.onnx, e.g. from torch.onnx.export or optimum) made to show its residual stream: the tensor
// entering each block and leaving the last are found from the exporter's node names (/model/layers.N/…,
// /transformer/h.N/…) or named by the user, and added as graph outputs of their own element type (FP16 decoders
// compute in float16); the model is re-serialised in memory (the user's file is never written) and run with
// whatever inputs it declares: input_ids, attention_mask, position_ids, token_type_ids, and empty past key/values.
// A decoder whose blocks cannot be found still runs for its logits (perplexity, saliency); only what needs the
// residual stream is refused, with the reason.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { onnx } from 'onnx-proto';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { InputError, throwIfAborted } from '../errors';
import { pathKind, readJsonObject } from '../formats/fileio';
import { MAX_JSON_FILE_BYTES } from '../formats/limits';
import type { ForwardOptions, ForwardOutput, ModelRunner } from './runner';
import { tensorRole } from '../arch/names';
import { readOnnxHeader } from '../formats/onnx';
import { halfToFloat } from './half';
import { elementTypes, runtimeType } from './onnxTypes';
import { createWithFallback, onnxruntime, parseProviders, type ProviderName } from './session';
import { blockCountFromNames, findResidualStream, namedResidualStream, type BlockCount } from './residualStream';

/** Models are read whole to add outputs; protobuf itself caps a model file at 2 GB. */
const MAX_ONNX_BYTES = 2 ** 31 - 1;
/** Context when neither the graph nor a config.json says: windows are cut to this many tokens. */
const DEFAULT_CONTEXT = 2048;

export class OnnxDecoder implements ModelRunner {
  readonly canSkipBlocks = false;
  readonly canExposeAttention = false;
  readonly linearSites = [];
  blockParameters: readonly number[] = [];

  private constructor(
    readonly path: string,
    private readonly session: InferenceSession,
    private readonly inputs: readonly onnx.IValueInfoProto[],
    private readonly logitsName: string,
    private readonly hiddenNames: readonly string[],
    /** Why there is no residual stream, when there is none: thrown by whatever needs it. */
    private readonly noStream: InputError | null,
    public vocab: number,
    public hidden: number,
    readonly heads: number,
    readonly contextLength: number,
    readonly device: ProviderName,
    readonly devicesSkipped: string[],
  ) {}

  get directory(): string {
    return dirname(this.path);
  }

  /** Blocks between the residual-stream tensors; throws why they are unknown when the stream was not found. */
  get layers(): number {
    if (this.noStream) throw this.noStream;
    return this.hiddenNames.length - 1;
  }

  static async open(path: string, providers?: readonly string[], signal?: AbortSignal, residualStream?: readonly string[]): Promise<OnnxDecoder> {
    const bytes = await readFile(path);
    if (bytes.length > MAX_ONNX_BYTES) throw new InputError(`${path}: larger than the 2 GB a protobuf model can be`);
    let model: onnx.ModelProto;
    try {
      model = onnx.ModelProto.decode(bytes);
    } catch (error) {
      throw new InputError(`${path}: not a readable ONNX model: ${(error as Error).message}`);
    }
    const graph = model.graph;
    if (!graph) throw new InputError(`${path}: the model has no graph`);
    if ((graph.initializer ?? []).some((t) => (t.externalData ?? []).length > 0)) {
      throw new InputError(`${path}: weights in external data files cannot be re-loaded from memory in this version; export with the weights inside the .onnx`);
    }
    const logits = (graph.output ?? []).find((o) => o.name === 'logits') ?? graph.output?.[0];
    if (!logits?.name) throw new InputError(`${path}: the graph has no outputs`);
    const config = await siblingConfig(path);
    const weights = await parametersByBlock(path);
    let stream: string[] = [];
    let noStream: InputError | null = null;
    if (residualStream && residualStream.length > 0) {
      stream = namedResidualStream(graph, residualStream, path, blockCount(graph, config, weights)).tensors;
    } else {
      try {
        stream = findResidualStream(graph, path).tensors;
      } catch (error) {
        // The logits need no blocks: keep the reason for whatever asks for the residual stream.
        if (!(error instanceof InputError)) throw error;
        noStream = error;
      }
    }
    const types = elementTypes(graph);
    for (const name of stream) {
      const elemType = types.get(name) ?? onnx.TensorProto.DataType.FLOAT;
      if (runtimeType(elemType) === undefined) throw new InputError(`${path}: residual-stream tensor '${name}' is not a float tensor (ONNX element type ${elemType})`);
      graph.output!.push({ name, type: { tensorType: { elemType } } });
    }
    throwIfAborted(signal);
    const { session, provider, skipped } = await createWithFallback(onnx.ModelProto.encode(model).finish(), parseProviders(providers ?? process.env.IMPORTANCE_LENS_PROVIDERS))
      .catch((error: Error) => {
        // Even on the CPU it does not load: the file's graph is at fault (invalid types, unknown ops), not the machine.
        throw new InputError(`${path}: onnxruntime cannot load the model: ${error.message.split('\n')[0]}`);
      });
    const decoder = new OnnxDecoder(
      path, session, graph.input ?? [], logits.name, stream, noStream, 0, 0,
      numberFrom(config, ['num_attention_heads', 'n_head']) ?? 0,
      numberFrom(config, ['max_position_embeddings', 'n_positions']) ?? DEFAULT_CONTEXT,
      provider, skipped,
    );
    // One token through the graph tells the widths, and checks that what was found is a residual stream.
    const probe = await decoder.run([[0]], noStream === null).catch(async (error: unknown) => {
      await session.release();
      throw error;
    });
    const widths = probe.hiddenDims.map((d) => (d.length === 3 ? d[2]! : -1));
    if (probe.logitsDims.length !== 3 || widths.some((w) => w <= 0 || w !== widths[0])) {
      await session.release();
      if (probe.logitsDims.length !== 3) throw new InputError(`${path}: output '${logits.name}' is [${probe.logitsDims.join(', ')}], not the [batch, seq, vocab] logits of a decoder`);
      throw new InputError(`${path}: the tensors found as the residual stream (${stream.join(', ')}) are not all [batch, seq, hidden]`);
    }
    decoder.vocab = probe.logitsDims[2]!;
    decoder.hidden = widths[0] ?? 0;
    // Each block's weights, when the weights' names show as many blocks as the stream has.
    if (noStream === null && weights.length === stream.length - 1) decoder.blockParameters = weights;
    return decoder;
  }

  async forward(rows: readonly (readonly number[])[], options: ForwardOptions = {}): Promise<ForwardOutput> {
    if (options.skip !== undefined || options.attention || options.linearInputs) throw new InputError(`${this.path}: an exported .onnx graph can only give logits and the residual stream`);
    for (const id of rows.flat()) if (!Number.isInteger(id) || id < 0 || id >= this.vocab) throw new InputError(`token id ${id} is outside the model's vocabulary of ${this.vocab}`);
    const out = await this.run(rows, options.hidden === true);
    return { batch: rows.length, seq: rows[0]?.length ?? 0, logits: out.logits, hidden: out.hidden, attention: [], linearInputs: [] };
  }

  private async run(rows: readonly (readonly number[])[], hidden: boolean) {
    const batch = rows.length;
    const seq = rows[0]?.length ?? 0;
    const ids = BigInt64Array.from(rows.flat(), (id) => BigInt(id));
    const feeds: Record<string, Tensor> = {};
    for (const input of this.inputs) feeds[input.name!] = this.feed(input, ids, batch, seq);
    if (hidden && this.noStream) throw this.noStream;
    const out = await this.session.run(feeds, [this.logitsName, ...(hidden ? this.hiddenNames : [])]);
    const states = hidden ? this.hiddenNames.map((name) => out[name]!) : [];
    return {
      logits: this.float32(out[this.logitsName]!, this.logitsName),
      logitsDims: [...out[this.logitsName]!.dims],
      hidden: states.map((t, i) => this.float32(t, this.hiddenNames[i]!)),
      hiddenDims: states.map((t) => [...t.dims]),
    };
  }

  /** An output's values as float32, whatever float type the graph computes it in. */
  private float32(tensor: { type: string; data: unknown }, name: string): Float32Array {
    const { data } = tensor;
    if (tensor.type === 'float32') return data as Float32Array;
    // onnxruntime gives float16 as raw bits (Uint16Array) where JavaScript has no Float16Array.
    if (tensor.type === 'float16' && data instanceof Uint16Array) return Float32Array.from(data, halfToFloat);
    if (tensor.type === 'float16' || tensor.type === 'float64') return Float32Array.from(data as ArrayLike<number>);
    throw new InputError(`${this.path}: output '${name}' is ${tensor.type}; logits and the residual stream must be float32, float16 or float64`);
  }

  private feed(input: onnx.IValueInfoProto, ids: BigInt64Array, batch: number, seq: number) {
    const { Tensor } = onnxruntime();
    const name = input.name!;
    const filled = (value: (b: number, t: number) => number) => {
      const data = new BigInt64Array(batch * seq);
      for (let b = 0; b < batch; b++) for (let t = 0; t < seq; t++) data[b * seq + t] = BigInt(value(b, t));
      return new Tensor('int64', data, [batch, seq]);
    };
    if (name === 'input_ids') return new Tensor('int64', ids, [batch, seq]);
    if (name === 'attention_mask') return filled(() => 1);
    if (name === 'position_ids') return filled((_, t) => t);
    if (name === 'token_type_ids') return filled(() => 0);
    if (/^past_key_values\.|^past\./.test(name)) {
      // No cache yet: every fixed dim as declared, the batch as given, the past sequence empty.
      const dims = (input.type?.tensorType?.shape?.dim ?? []).map((d, i) => (i === 0 ? batch : d.dimValue ? Number(d.dimValue) : 0));
      // An FP16 decoder's cache is float16: the empty tensor must say so.
      const type = runtimeType(input.type?.tensorType?.elemType ?? undefined) ?? 'float32';
      if (type === 'float16') return new Tensor('float16', new Uint16Array(0), dims);
      if (type === 'float64') return new Tensor('float64', new Float64Array(0), dims);
      return new Tensor('float32', new Float32Array(0), dims);
    }
    if (name === 'use_cache_branch') return new Tensor('bool', [false], [1]);
    throw new InputError(`${this.path}: the graph needs an input '${name}' that a plain forward pass cannot fill (known: input_ids, attention_mask, position_ids, token_type_ids, past_key_values.*)`);
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** Parameters of each block by the weights' names (graph constants left out); empty when no name shows a block. */
async function parametersByBlock(path: string): Promise<number[]> {
  const header = await readOnnxHeader(path);
  const sums: number[] = [];
  for (const tensor of header.tensors) {
    if (tensor.graphConstant) continue;
    const { layer } = tensorRole(tensor.roleName ?? tensor.name);
    if (layer !== null) sums[layer] = (sums[layer] ?? 0) + tensor.count;
  }
  return Array.from(sums, (sum) => sum ?? 0);
}

/** How many blocks the decoder has: by its node names, else config.json beside it, else its weights' names. */
function blockCount(graph: onnx.IGraphProto, config: Record<string, unknown>, weights: readonly number[]): BlockCount | null {
  const named = blockCountFromNames(graph);
  if (named !== null) return { blocks: named, source: `graph has ${named} blocks (by its node names)` };
  const configured = numberFrom(config, ['num_hidden_layers', 'n_layer']);
  if (configured !== undefined) return { blocks: configured, source: `model has ${configured} blocks (num_hidden_layers in the config.json beside it)` };
  if (weights.length > 0) return { blocks: weights.length, source: `weights have ${weights.length} blocks (by their names)` };
  return null;
}

async function siblingConfig(path: string): Promise<Record<string, unknown>> {
  const config = join(dirname(path), 'config.json');
  return (await pathKind(config)) === 'file' ? readJsonObject(config, MAX_JSON_FILE_BYTES) : {};
}

function numberFrom(config: Record<string, unknown>, keys: string[]): number | undefined {
  for (const key of keys) if (typeof config[key] === 'number' && Number.isSafeInteger(config[key])) return config[key] as number;
  return undefined;
}
