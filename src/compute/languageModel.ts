// A language model ready to run, from a Hugging Face directory or a .gguf file: config.json (or the GGUF
// metadata) -> ModelSpec, its family's block graph on the block engine (engine/blockEngine.ts), weights streamed
// from the checkpoint block by block. forward() is the whole
// pass as analyses ask for it: embeddings, every block (skipped, head-masked, observed through onBlock), the head
// in vocabulary chunks (log-probabilities of targets, and full logits only when asked for).
import type { ModelSpec } from '../arch/modelSpec';
import { throwIfAborted } from '../errors';
import { ablationNll } from './engine/ablation';
import { BlockEngine, type BlockOutput } from './engine/blockEngine';
import type { ForwardOptions, ForwardOutput, LinearSite, ModelRunner } from './runner';
import type { ProviderName } from './session';

export class LanguageModel implements ModelRunner {
  readonly canSkipBlocks = true;
  readonly canExposeAttention = true;
  readonly streams = true;
  readonly linearSites: readonly LinearSite[];

  private constructor(readonly engine: BlockEngine) {
    this.linearSites = Array.from({ length: engine.layers }, (_, l) => engine.linearSites(l)).flat();
  }

  /** `path`: a Hugging Face model directory or a .gguf file. */
  static async open(path: string, providers?: readonly string[], signal?: AbortSignal): Promise<LanguageModel> {
    return new LanguageModel(await BlockEngine.open(path, providers, signal));
  }

  get spec(): ModelSpec {
    return this.engine.spec;
  }

  get directory(): string {
    return this.engine.directory;
  }

  /** The directory, or the .gguf file (which carries the tokenizer too). */
  get path(): string {
    return this.engine.path;
  }

  get device(): ProviderName {
    return this.engine.device;
  }

  get devices(): { blocks: ProviderName; head: ProviderName } {
    return { blocks: this.engine.device, head: this.engine.headDevice };
  }

  get devicesSkipped(): string[] {
    return this.engine.devicesSkipped;
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
    const own = this.engine.family.contextLength?.(spec);
    if (own !== undefined) return own;
    // Dynamic NTK scaling exists to run past max_position_embeddings: windows go up to factor × that many tokens.
    const scaling = 'ropeScaling' in spec ? spec.ropeScaling : undefined;
    const positions = scaling?.type === 'dynamic' ? Math.floor(spec.maxPositions * scaling.factor) : spec.maxPositions;
    return 'slidingWindow' in spec && spec.slidingWindow ? Math.min(positions, spec.slidingWindow) : positions;
  }

  /** Parameters per block from the architecture (MoE families: dense and sparse blocks differ). */
  get blockParameters(): number[] {
    return Array.from({ length: this.spec.layers }, (_, l) => this.engine.family.blockParameters(this.spec, l));
  }

  /** Runs rows of token ids (all the same length) block by block; see ForwardOptions. */
  async forward(rows: readonly (readonly number[])[], options: ForwardOptions = {}): Promise<ForwardOutput> {
    const { engine } = this;
    const { signal } = options;
    const batch = rows.length;
    const seq = rows[0]?.length ?? 0;
    const layers = this.layers;
    const skip = new Set(typeof options.skip === 'number' ? [options.skip] : options.skip ?? []);
    const wantLogits = options.logits !== false;
    const linearWidth = options.linearInputs && !options.onBlock ? this.linearSites.reduce((s, site) => s + site.width, 0) / this.hidden : 0;
    engine.ensureFits(batch, seq, (options.hidden ? layers + 1 : 2) + linearWidth, wantLogits, !!options.attention);
    let h = await engine.embed(rows, signal);
    const hidden = options.hidden ? [h] : [];
    const attention: Float32Array[] = [];
    const linearInputs: Float32Array[] = [];
    const sweep = engine.sweep(Array.from({ length: layers }, (_, l) => l).filter((l) => !skip.has(l)), signal);
    const start = performance.now();
    try {
      for (let l = 0; l < layers; l++) {
        throwIfAborted(signal);
        let out: BlockOutput;
        if (skip.has(l)) {
          out = { hidden: h, ...(options.attention ? { attention: new Float32Array(batch * this.heads * seq * seq) } : {}) };
        } else {
          const block = (await sweep.next()).value!;
          options.editBlock?.(l, block.byName);
          const headMask = options.headMask?.(l);
          const drop = options.dropExperts?.(l);
          out = await engine.runBlock(block, h, batch, seq, { attention: options.attention, linearInputs: options.linearInputs, ...(headMask ? { headMask } : {}), ...(drop ? { moe: { drop } } : {}) });
        }
        options.onBlock?.({ layer: l, input: h, output: out.hidden, ...(out.attention ? { attention: out.attention } : {}), ...(out.linearInputs ? { linearInputs: out.linearInputs } : {}) });
        // Observed blocks are handed to onBlock and not kept: that is what keeps a pass's memory per block.
        if (out.attention && !options.onBlock) attention.push(out.attention);
        if (options.linearInputs && !options.onBlock) linearInputs.push(...(out.linearInputs ?? engine.linearSites(l).map((s) => new Float32Array(batch * seq * s.width))));
        options.onProgress?.(`block ${l + 1} / ${layers}, ${((performance.now() - start) / 1000).toFixed(1)} s`, (l + 1) / (layers + 1));
        h = out.hidden;
        if (options.hidden) hidden.push(h);
      }
    } finally {
      await sweep.return(undefined);
    }
    const targets = options.targets ? flatTargets(options.targets, batch, seq) : undefined;
    const onChunk = (c: number, chunks: number) => options.onProgress?.(`head ${c + 1} / ${chunks}, ${((performance.now() - start) / 1000).toFixed(1)} s`, (layers + (c + 1) / chunks) / (layers + 1));
    const head = wantLogits || !targets
      ? wantLogits ? await engine.runHead(h, batch * seq, { ...(targets ? { targets } : {}), logits: true, ...(signal ? { signal } : {}), onChunk }) : {}
      : { logProbs: await this.targetLogProbs(h, targets, signal, onChunk) };
    return { batch, seq, logits: head.logits ?? new Float32Array(0), hidden, attention, linearInputs, ...(head.logProbs ? { logProbs: head.logProbs } : {}) };
  }

  /**
   * log p(target) at the positions that have one (NaN elsewhere), the head run on those positions only: saliency's
   * batches ask for a target or two per row, and the head (a sweep of the whole vocabulary per pass) would otherwise
   * cost a quarter of a 0.5B model's pass on positions whose predictions nobody reads.
   */
  private async targetLogProbs(final: Float32Array, targets: Int32Array, signal: AbortSignal | undefined, onChunk: (c: number, chunks: number) => void): Promise<Float64Array> {
    const positions: number[] = [];
    targets.forEach((t, i) => { if (t >= 0) positions.push(i); });
    const request = { logits: false, ...(signal ? { signal } : {}), onChunk };
    if (positions.length === targets.length) return (await this.engine.runHead(final, targets.length, { ...request, targets })).logProbs!;
    const width = this.hidden;
    const picked = new Float32Array(positions.length * width);
    positions.forEach((p, i) => picked.set(final.subarray(p * width, (p + 1) * width), i * width));
    const out = positions.length > 0 ? (await this.engine.runHead(picked, positions.length, { ...request, targets: Int32Array.from(positions, (p) => targets[p]!) })).logProbs! : new Float64Array(0);
    const logProbs = new Float64Array(targets.length).fill(NaN);
    positions.forEach((p, i) => (logProbs[p] = out[i]!));
    return logProbs;
  }

  ablate(ids: readonly number[], options: Pick<ForwardOptions, 'signal' | 'onProgress'> = {}): Promise<Float64Array> {
    return ablationNll(this.engine, ids, options);
  }

  rowsPerPass(seq: number): number {
    return this.engine.rowsThatFit(seq, 2, 4096);
  }

  release(): Promise<void> {
    return this.engine.release();
  }
}

function flatTargets(targets: readonly (readonly number[])[], batch: number, seq: number): Int32Array {
  if (targets.length !== batch || targets.some((row) => row.length !== seq)) throw new Error('forward: targets must have the rows\' shape');
  const flat = new Int32Array(batch * seq);
  targets.forEach((row, b) => row.forEach((token, t) => (flat[b * seq + t] = token)));
  return flat;
}
