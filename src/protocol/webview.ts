// Messages between the extension host and the webview (panel or custom editor). The webview sends `ready` first;
// the host sends nothing before it.
import type { DeltaResult, InspectResult, Progress, StatsResult } from './results';

export type HostToWebview =
  | { type: 'progress'; title: string; progress: Progress }
  | { type: 'inspectResult'; result: InspectResult }
  | { type: 'deltaResult'; result: DeltaResult }
  | { type: 'error'; title: string; message: string }
  /** Weight statistics run on top of a shown inspect result: they update a section, never replace the view. */
  | { type: 'statsProgress'; progress: Progress }
  | { type: 'statsResult'; result: StatsResult }
  | { type: 'statsError'; title: string; message: string };

export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'cancel' }
  | { type: 'retry' }
  /** Open a file of the checkpoint (config.json, a shard) in an editor. */
  | { type: 'openFile'; path: string }
  | { type: 'computeStats' }
  | { type: 'cancelStats' };
