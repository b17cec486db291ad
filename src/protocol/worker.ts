// Messages between the extension host (or any parent) and the analysis child process. One union per direction,
// handled with an exhaustive switch on `type`.
import type { ErrorKind } from '../errors';
import type { LayerMetric } from './layerMetrics';
import type { CsvRequest, CsvResult } from './csv';
import type { PlanWorkerRequest, PlanWorkerResult } from './plan';
import type { DeltaResult, ExpertsResult, HistogramResult, InspectResult, LayersResult, PerplexityResult, Progress, SaliencyMethod, SaliencyResult, StatsResult } from './results';

/**
 * residualStream (on forward-pass requests): for an exported .onnx decoder, the tensors entering block 0 and leaving
 * each block, named by the user when the exporter-name heuristics do not find them.
 */

/** The text of an activation analysis: inline, or a file to read. */
export type TextSource = { text: string } | { file: string };

export type AnalysisRequest =
  | { analysis: 'inspect'; path: string }
  /**
   * stableRank: false leaves stable rank out of the run (it costs most of the time); threads: worker threads that
   * reduce tensors (default: the machine's cores, capped at 4; the numbers are the same for any count).
   */
  | { analysis: 'stats'; path: string; providers?: string[]; stableRank?: boolean; threads?: number }
  | { analysis: 'layers'; path: string; metric: LayerMetric; text?: TextSource; maxTokens?: number; providers?: string[]; residualStream?: string[] }
  /** fisherText: also weigh the change by the base's diagonal empirical Fisher on this text (runs the base model). */
  | { analysis: 'delta'; base: string; tuned: string; fisherText?: TextSource; maxTokens?: number; providers?: string[] }
  /** One tensor's value histogram (the panel's tensor detail). */
  | { analysis: 'histogram'; path: string; tensor: string; bins?: number }
  | { analysis: 'perplexity'; model: string; text: TextSource; maxTokens?: number; providers?: string[]; residualStream?: string[] }
  /**
   * MoE models: per block and routed expert, routing share, mean gate and Δ NLL when dropped (analyses/experts.ts);
   * taylor: also each expert's first-order Taylor importance (one backward pass, several forwards' cost).
   */
  | { analysis: 'experts'; model: string; text: TextSource; maxTokens?: number; providers?: string[]; taylor?: boolean }
  /** compare: more checkpoints of the same model to run the same method on (stability across checkpoints; topK: k of the top-k overlap). */
  | { analysis: 'saliency'; model: string; text: TextSource; target?: string; method: SaliencyMethod; seeds: number; steps?: number; maxSteps?: number; maxTokens?: number; providers?: string[]; residualStream?: string[]; compare?: string[]; topK?: number }
  | CsvRequest
  | PlanWorkerRequest;

export type AnalysisResult =
  | { analysis: 'inspect'; result: InspectResult }
  | { analysis: 'stats'; result: StatsResult }
  | { analysis: 'layers'; result: LayersResult }
  | { analysis: 'delta'; result: DeltaResult }
  | { analysis: 'histogram'; result: HistogramResult }
  | { analysis: 'perplexity'; result: PerplexityResult }
  | { analysis: 'saliency'; result: SaliencyResult }
  | { analysis: 'experts'; result: ExpertsResult }
  | { analysis: 'csv'; result: CsvResult }
  | PlanWorkerResult;

/** The result type that answers a given request type. */
export type ResultFor<R extends AnalysisRequest> = Extract<AnalysisResult, { analysis: R['analysis'] }>;

export type HostToWorker =
  | { type: 'run'; id: number; request: AnalysisRequest }
  | { type: 'cancel'; id: number }
  /** Is the process's event loop free? Answered with a pong of the same id (ids of their own, not job ids). */
  | { type: 'ping'; id: number };

export type WorkerToHost =
  | { type: 'progress'; id: number; progress: Progress }
  | { type: 'result'; id: number; result: AnalysisResult }
  | { type: 'error'; id: number; kind: ErrorKind; message: string; stack?: string }
  | { type: 'pong'; id: number };
