// What every panel's messages share. A webview says `ready` first and the host sends nothing before it; a host
// answers `ready` with everything the view needs (it keeps its results, so the webview keeps none).
import type { Progress } from '../results';

export type ViewReady = { type: 'ready' };

/** The panel's main job: cancel it, or run it again after a failure. */
export type JobControl = { type: 'cancel' } | { type: 'retry' };

/** Open a file the host's result names (config.json, a shard) in an editor; `key`: select that JSON key's line. */
export type OpenFile = { type: 'openFile'; path: string; key?: string };

/** The main job's progress, or why it failed, shown in place of the panel's view. */
export type JobStatus = { type: 'progress'; title: string; progress: Progress } | { type: 'error'; title: string; message: string };
