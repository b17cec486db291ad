// The Compare With Base Checkpoint panel: one job (the delta), its progress, result or error.
import type { DeltaResult } from '../results';
import type { JobControl, JobStatus, ViewReady } from './common';

export type DeltaPanelToView = JobStatus | { type: 'deltaResult'; result: DeltaResult };

export type DeltaPanelFromView = ViewReady | JobControl;
