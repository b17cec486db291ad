// Messages between the extension host and the webview (panel or custom editor). The webview sends `ready` first;
// the host sends nothing before it.
import type { InspectResult, Progress } from './results';

export type HostToWebview =
  | { type: 'progress'; title: string; progress: Progress }
  | { type: 'inspectResult'; result: InspectResult }
  | { type: 'error'; title: string; message: string };

export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'cancel' }
  | { type: 'retry' }
  /** Open a file of the checkpoint (config.json, a shard) in an editor. */
  | { type: 'openFile'; path: string };
