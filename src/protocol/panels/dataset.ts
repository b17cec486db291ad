// The Dataset panel of a CSV: its profile and column or row importance (computed by the command, with its own
// progress), a row's line revealed in the CSV, a written file opened.
import type { CsvDatasetView } from '../csv';
import type { OpenFile, ViewReady } from './common';

export type DatasetPanelToView = { type: 'datasetResult'; view: CsvDatasetView };

export type DatasetPanelFromView =
  | ViewReady
  | OpenFile
  /** Select and reveal 1-based `line` of the CSV; the host checks it against the result. */
  | { type: 'revealLine'; line: number };
