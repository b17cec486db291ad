// The model panel (Analyze Importance, and the custom editor of a checkpoint file): the inspect result, then jobs
// on top of it — weight statistics, layer importance on a text, a tensor's histogram — each answered with its own
// progress/result/error messages, which update a section and never replace the view.
import type { ExpertsResult, HistogramResult, InspectResult, LayersResult, PerplexityResult, Progress, StatsResult } from '../results';
import type { LayerMetric } from '../layerMetrics';
import type { JobControl, JobStatus, OpenFile, ViewReady } from './common';

/** The layer metrics the panel offers on a model with a tokenizer (weight-l2 needs no text). */
export type LayerMetricName = LayerMetric;

/** Layer importance of a model on the sample text, with the model's perplexity on the same text beside it. */
export interface TextLayersResult {
  layers: LayersResult;
  /** Null when no text was used (weight-l2 with no sample text set). */
  perplexity: PerplexityResult | null;
  /** The text file the model ran on. */
  textFile: string | null;
  /** Where it came from: the setting, a dialog (the view offers to keep it), or a dialog and then kept. */
  textSource: 'setting' | 'picked' | 'remembered' | null;
}

export type ModelPanelToView =
  | JobStatus
  | { type: 'inspectResult'; result: InspectResult }
  /** Answers computeStats. */
  | { type: 'statsProgress'; progress: Progress }
  | { type: 'statsResult'; result: StatsResult }
  | { type: 'statsError'; title: string; message: string }
  /** The checkpoint is a model with a tokenizer: the view offers layer importance on text (a section, like stats). */
  | { type: 'layersOffer'; textFile: string | null }
  /** Answer computeLayers (and rememberSampleText, with the kept result). */
  | { type: 'layersProgress'; progress: Progress }
  | { type: 'layersResult'; result: TextLayersResult }
  | { type: 'layersError'; title: string; message: string }
  /** The model is a Mixture of Experts with a tokenizer: the Layers view offers expert importance on the sample text. */
  | { type: 'expertsOffer' }
  /** Answer computeExperts. */
  | { type: 'expertsProgress'; progress: Progress }
  | { type: 'expertsResult'; result: ExpertsResult; textFile: string }
  | { type: 'expertsError'; title: string; message: string }
  /** Answer computeHistogram. */
  | { type: 'histogramResult'; result: HistogramResult }
  | { type: 'histogramError'; tensor: string; message: string };

export type ModelPanelFromView =
  | ViewReady
  | JobControl
  | OpenFile
  | { type: 'computeStats' }
  | { type: 'cancelStats' }
  | { type: 'computeLayers'; metric: LayerMetricName }
  | { type: 'cancelLayers' }
  /** taylor: also each expert's first-order Taylor importance (a backward pass; the card's checkbox). */
  | { type: 'computeExperts'; taylor?: boolean }
  | { type: 'cancelExperts' }
  /** Value histogram of one tensor of the inspected checkpoint (by name; the host checks it against the result). */
  | { type: 'computeHistogram'; tensor: string }
  /** Keep the text picked for the shown layer result as importanceLens.sampleTextFile. */
  | { type: 'rememberSampleText' };

/** The model panel's messages that update one of its sections in place. */
export type ModelPanelSectionMessage = Exclude<ModelPanelToView, JobStatus | { type: 'inspectResult' }>;
