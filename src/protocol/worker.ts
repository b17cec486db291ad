// Messages between the extension host (or any parent) and the analysis child process. One union per direction,
// handled with an exhaustive switch on `type`.
import type { ErrorKind } from '../errors';
import type { DeltaResult, InspectResult, LayersResult, Progress, StatsResult } from './results';

export type AnalysisRequest =
  | { analysis: 'inspect'; path: string }
  | { analysis: 'stats'; path: string; providers?: string[] }
  | { analysis: 'layers'; path: string; metric: 'weight-l2' | 'block-influence' | 'angular' | 'ablation'; providers?: string[] }
  | { analysis: 'delta'; base: string; tuned: string };

export type AnalysisResult =
  | { analysis: 'inspect'; result: InspectResult }
  | { analysis: 'stats'; result: StatsResult }
  | { analysis: 'layers'; result: LayersResult }
  | { analysis: 'delta'; result: DeltaResult };

/** The result type that answers a given request type. */
export type ResultFor<R extends AnalysisRequest> = Extract<AnalysisResult, { analysis: R['analysis'] }>;

export type HostToWorker =
  | { type: 'run'; id: number; request: AnalysisRequest }
  | { type: 'cancel'; id: number };

export type WorkerToHost =
  | { type: 'progress'; id: number; progress: Progress }
  | { type: 'result'; id: number; result: AnalysisResult }
  | { type: 'error'; id: number; kind: ErrorKind; message: string; stack?: string };
