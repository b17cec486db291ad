// A Hugging Face language model ready to run: config.json -> ModelSpec, the checkpoint's weights -> an ONNX graph
// built in code, one onnxruntime session on the first execution provider of the user's order that starts.
// Forward passes take token id rows of one length and return logits and every block's residual stream.
import { join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { modelSpecFromConfig, type ModelSpec } from '../arch/modelSpec';
import { InputError, throwIfAborted } from '../errors';
import { readJsonObject } from '../formats/fileio';
import { MAX_JSON_FILE_BYTES } from '../formats/limits';
import { openCheckpoint } from '../formats/open';
import { attentionOutput, buildDecoderModel, hiddenOutput, linearInputOutput, type LinearSite } from './graphs/decoder';
import type { ForwardOptions, ForwardOutput, ModelRunner } from './modelRunner';
import { WeightSource } from './graphs/weights';
import { createWithFallback, onnxruntime, parseProviders, type ProviderName } from './session';

export class LanguageModel implements ModelRunner {
  readonly canSkipBlocks = true;
  readonly canExposeAttention = true;

  private constructor(
    readonly directory: string,
    readonly spec: ModelSpec,
    private readonly session: InferenceSession,
    readonly device: ProviderName,
    readonly devicesSkipped: string[],
    /** The inputs of the blocks' linear layers that forward({ linearInputs: true }) returns, in that order. */
    readonly linearSites: readonly Omit<LinearSite, 'tensor'>[],
  ) {}

  static async open(directory: string, providers?: readonly string[], signal?: AbortSignal): Promise<LanguageModel> {
    const configPath = join(directory, 'config.json');
    const spec = modelSpecFromConfig(await readJsonObject(configPath, MAX_JSON_FILE_BYTES), configPath);
    const { header } = await openCheckpoint(directory);
    if (!header) throw new InputError(`${directory}: holds config.json but no weights`);
    const weights = new WeightSource(header, directory, signal);
    let built: Awaited<ReturnType<typeof buildDecoderModel>>;
    try {
      built = await buildDecoderModel(spec, weights);
    } finally {
      await weights.close();
    }
    throwIfAborted(signal);
    const { session, provider, skipped } = await createWithFallback(built.model, parseProviders(providers ?? process.env.IMPORTANCE_LENS_PROVIDERS));
    return new LanguageModel(directory, spec, session, provider, skipped, built.linearSites);
  }

  get path(): string {
    return this.directory;
  }

  get layers(): number {
    return this.spec.layers;
  }

  get vocab(): number {
    return this.spec.vocab;
  }

  get hidden(): number {
    return this.spec.hidden;
  }

  get heads(): number {
    return this.spec.heads;
  }

  get contextLength(): number {
    const spec = this.spec;
    return spec.kind === 'llama' && spec.slidingWindow ? Math.min(spec.maxPositions, spec.slidingWindow) : spec.maxPositions;
  }

  /** Parameters per block from the architecture (the same for every block of these families). */
  get blockParameters(): number[] {
    const s = this.spec;
    const perBlock = s.kind === 'llama'
      ? s.hidden * s.headDim * (s.heads * 2 + s.kvHeads * 2) + 3 * s.hidden * s.intermediate + 2 * s.hidden + (s.qkvBias ? s.headDim * (s.heads + 2 * s.kvHeads) : 0)
      : 4 * s.hidden * s.hidden + 4 * s.hidden + 2 * s.hidden * s.intermediate + s.intermediate + s.hidden + 4 * s.hidden;
    return new Array<number>(s.layers).fill(perBlock);
  }

  /** Runs rows of token ids (all the same length); `skip` names a block whose residual updates are left out. */
  async forward(rows: readonly (readonly number[])[], options: ForwardOptions = {}): Promise<ForwardOutput> {
    const { Tensor } = onnxruntime();
    const batch = rows.length;
    const seq = rows[0]?.length ?? 0;
    if (batch === 0 || seq === 0 || rows.some((r) => r.length !== seq)) throw new Error('forward: rows must be non-empty and of one length');
    const ids = new BigInt64Array(batch * seq);
    rows.forEach((row, b) => row.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.spec.vocab) throw new InputError(`token id ${id} is outside the model's vocabulary of ${this.spec.vocab}`);
      ids[b * seq + t] = BigInt(id);
    }));
    const gates = new Float32Array(this.spec.layers).fill(1);
    if (options.skip !== undefined) gates[options.skip] = 0;
    const layers = this.spec.layers;
    const wanted = [
      'logits',
      ...(options.hidden ? Array.from({ length: layers + 1 }, (_, l) => hiddenOutput(l)) : []),
      ...(options.attention ? Array.from({ length: layers }, (_, l) => attentionOutput(l)) : []),
      ...(options.linearInputs ? this.linearSites.map(linearInputOutput) : []),
    ];
    const out = await this.session.run({ input_ids: new Tensor('int64', ids, [batch, seq]), block_gate: new Tensor('float32', gates, [this.spec.layers]) }, wanted);
    return {
      batch,
      seq,
      logits: out.logits!.data as Float32Array,
      hidden: options.hidden ? Array.from({ length: layers + 1 }, (_, l) => out[hiddenOutput(l)]!.data as Float32Array) : [],
      attention: options.attention ? Array.from({ length: layers }, (_, l) => out[attentionOutput(l)]!.data as Float32Array) : [],
      linearInputs: options.linearInputs ? this.linearSites.map((site) => out[linearInputOutput(site)]!.data as Float32Array) : [],
    };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
