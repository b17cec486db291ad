// The Compare With Base Checkpoint panel: one job (the delta, optionally weighed by the base's Fisher on a text), its
// progress, result or error.
import type { DeltaResult } from '../results';
import type { JobControl, JobStatus, ViewReady } from './common';

export type DeltaPanelToView = JobStatus | { type: 'deltaResult'; result: DeltaResult };

/** weighByFisher: "Weight by Fisher on a text…" — the host asks for a text and runs the delta again with it. */
export type DeltaPanelFromView = ViewReady | JobControl | { type: 'weighByFisher' };
