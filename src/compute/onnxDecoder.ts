// An exported decoder (.onnx, e.g. from torch.onnx.export or optimum) made to show its residual stream: the tensor
// entering each block and leaving the last are found from the exporter's node names (/model/layers.N/…,
// /transformer/h.N/…) and added as graph outputs; the model is re-serialised in memory (the user's file is never
// written) and run with whatever inputs it declares: input_ids, attention_mask, position_ids, token_type_ids, and
// empty past key/values.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { onnx } from 'onnx-proto';
import type { InferenceSession } from 'onnxruntime-node';
import { InputError, throwIfAborted } from '../errors';
import { pathKind, readJsonObject } from '../formats/fileio';
import { MAX_JSON_FILE_BYTES } from '../formats/limits';
import type { ForwardOptions, ForwardOutput, ModelRunner } from './runner';
import { createWithFallback, onnxruntime, parseProviders, type ProviderName } from './session';
import { findResidualStream, namedResidualStream } from './residualStream';

/** Models are read whole to add outputs; protobuf itself caps a model file at 2 GB. */
const MAX_ONNX_BYTES = 2 ** 31 - 1;
/** Context when neither the graph nor a config.json says: windows are cut to this many tokens. */
const DEFAULT_CONTEXT = 2048;

export class OnnxDecoder implements ModelRunner {
  readonly canSkipBlocks = false;
  readonly canExposeAttention = false;
  readonly linearSites = [];
  readonly blockParameters: readonly number[] = [];

  private constructor(
    readonly path: string,
    private readonly session: InferenceSession,
    private readonly inputs: readonly onnx.IValueInfoProto[],
    private readonly logitsName: string,
    private readonly hiddenNames: readonly string[],
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

  get layers(): number {
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
    const stream = residualStream && residualStream.length > 0 ? namedResidualStream(graph, residualStream, path) : findResidualStream(graph, path);
    for (const name of stream.tensors) graph.output!.push({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } });
    throwIfAborted(signal);
    const config = await siblingConfig(path);
    const { session, provider, skipped } = await createWithFallback(onnx.ModelProto.encode(model).finish(), parseProviders(providers ?? process.env.IMPORTANCE_LENS_PROVIDERS));
    const decoder = new OnnxDecoder(
      path, session, graph.input ?? [], logits.name, stream.tensors, 0, 0,
      numberFrom(config, ['num_attention_heads', 'n_head']) ?? 0,
      numberFrom(config, ['max_position_embeddings', 'n_positions']) ?? DEFAULT_CONTEXT,
      provider, skipped,
    );
    // One token through the graph tells the widths, and checks that what was found is a residual stream.
    const probe = await decoder.run([[0]], true);
    const widths = probe.hiddenDims.map((d) => (d.length === 3 ? d[2]! : -1));
    if (probe.logitsDims.length !== 3 || widths.some((w) => w <= 0 || w !== widths[0])) {
      await session.release();
      throw new InputError(`${path}: the tensors found as the residual stream (${stream.tensors.join(', ')}) are not all [batch, seq, hidden]`);
    }
    decoder.vocab = probe.logitsDims[2]!;
    decoder.hidden = widths[0]!;
    return decoder;
  }

  async forward(rows: readonly (readonly number[])[], options: ForwardOptions = {}): Promise<ForwardOutput> {
    if (options.skip !== undefined || options.attention || options.linearInputs) throw new InputError(`${this.path}: an exported .onnx graph can only give logits and the residual stream`);
    for (const id of rows.flat()) if (!Number.isInteger(id) || id < 0 || id >= this.vocab) throw new InputError(`token id ${id} is outside the model's vocabulary of ${this.vocab}`);
    const out = await this.run(rows, options.hidden === true);
    return { batch: rows.length, seq: rows[0]?.length ?? 0, logits: out.logits, hidden: out.hidden, attention: [], linearInputs: [] };
  }

  private async run(rows: readonly (readonly number[])[], hidden: boolean) {
    const { Tensor } = onnxruntime();
    const batch = rows.length;
    const seq = rows[0]?.length ?? 0;
    const ids = BigInt64Array.from(rows.flat(), (id) => BigInt(id));
    const feeds: Record<string, InstanceType<typeof Tensor>> = {};
    for (const input of this.inputs) feeds[input.name!] = this.feed(input, ids, batch, seq);
    const out = await this.session.run(feeds, [this.logitsName, ...(hidden ? this.hiddenNames : [])]);
    const states = hidden ? this.hiddenNames.map((name) => out[name]!) : [];
    return {
      logits: out[this.logitsName]!.data as Float32Array,
      logitsDims: [...out[this.logitsName]!.dims],
      hidden: states.map((t) => t.data as Float32Array),
      hiddenDims: states.map((t) => [...t.dims]),
    };
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
      return new Tensor('float32', new Float32Array(0), dims);
    }
    if (name === 'use_cache_branch') return new Tensor('bool', [false], [1]);
    throw new InputError(`${this.path}: the graph needs an input '${name}' that a plain forward pass cannot fill (known: input_ids, attention_mask, position_ids, token_type_ids, past_key_values.*)`);
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

async function siblingConfig(path: string): Promise<Record<string, unknown>> {
  const config = join(dirname(path), 'config.json');
  return (await pathKind(config)) === 'file' ? readJsonObject(config, MAX_JSON_FILE_BYTES) : {};
}

function numberFrom(config: Record<string, unknown>, keys: string[]): number | undefined {
  for (const key of keys) if (typeof config[key] === 'number' && Number.isSafeInteger(config[key])) return config[key] as number;
  return undefined;
}
