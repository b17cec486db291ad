// The pruning-plan panel: the plan on paper (removed parts with scores and links, predicted sizes, the latest
// apply/verify), and the commands it offers.
import type { PlanLinkTarget, PlanPanelCommand, PlanPanelView } from '../plan';
import type { JobControl, JobStatus, ViewReady } from './common';

export type PlanPanelToView = JobStatus | { type: 'planView'; view: PlanPanelView };

export type PlanPanelFromView =
  | ViewReady
  /** Cancel loading the plan; reload it after an error (a hand edit that did not validate). */
  | JobControl
  /** Open the source of plan row `row` (the host checks it against the rows it sent). */
  | { type: 'planOpenSource'; row: number; target: PlanLinkTarget }
  /** Preview diff, Apply or Verify the plan the panel shows. */
  | { type: 'planCommand'; command: PlanPanelCommand };
