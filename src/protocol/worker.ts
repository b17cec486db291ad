// Messages between the extension host (or any parent) and the analysis child process. One union per direction,
// handled with an exhaustive switch on `type`.
import type { ErrorKind } from '../errors';
import type { InspectResult, Progress } from './results';

export type AnalysisRequest = { analysis: 'inspect'; path: string };

export type AnalysisResult = { analysis: 'inspect'; result: InspectResult };

export type HostToWorker =
  | { type: 'run'; id: number; request: AnalysisRequest }
  | { type: 'cancel'; id: number };

export type WorkerToHost =
  | { type: 'progress'; id: number; progress: Progress }
  | { type: 'result'; id: number; result: AnalysisResult }
  | { type: 'error'; id: number; kind: ErrorKind; message: string; stack?: string };
