// Messages between the extension host and the webview (panel or custom editor). The webview sends `ready` first;
// the host sends nothing before it.
import type { CsvDatasetView } from './csv';
import type { PlanLinkTarget, PlanPanelCommand, PlanPanelView } from './plan';
import type { DeltaResult, ExpertsResult, HistogramResult, InspectResult, LayersResult, PerplexityResult, Progress, SaliencyResult, StatsResult } from './results';
import type { AnalysisRequest } from './worker';

/** The layer metrics the panel offers on a model with a tokenizer (weight-l2 needs no text). */
export type LayerMetricName = Extract<AnalysisRequest, { analysis: 'layers' }>['metric'];

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

export type HostToWebview =
  | { type: 'progress'; title: string; progress: Progress }
  | { type: 'inspectResult'; result: InspectResult }
  | { type: 'deltaResult'; result: DeltaResult }
  | { type: 'error'; title: string; message: string }
  /** Weight statistics run on top of a shown inspect result: they update a section, never replace the view. */
  | { type: 'statsProgress'; progress: Progress }
  | { type: 'statsResult'; result: StatsResult }
  | { type: 'statsError'; title: string; message: string }
  /** The checkpoint is a model with a tokenizer: the view offers layer importance on text (a section, like stats). */
  | { type: 'layersOffer'; textFile: string | null }
  | { type: 'layersProgress'; progress: Progress }
  | { type: 'layersResult'; result: TextLayersResult }
  | { type: 'layersError'; title: string; message: string }
  /** The model is a Mixture of Experts with a tokenizer: the Layers view offers expert importance on the sample text. */
  | { type: 'expertsOffer' }
  | { type: 'expertsProgress'; progress: Progress }
  | { type: 'expertsResult'; result: ExpertsResult; textFile: string }
  | { type: 'expertsError'; title: string; message: string }
  /** The value histogram of one tensor, asked for by the tensor detail of the inspect view. */
  | { type: 'histogramResult'; result: HistogramResult }
  | { type: 'histogramError'; tensor: string; message: string }
  /** Token saliency of a text in an editor; `document` names it. */
  | { type: 'saliencyResult'; result: SaliencyResult; document: string }
  /** A CSV's profile and its column or row importance (the Dataset panel). */
  | { type: 'datasetResult'; view: CsvDatasetView }
  /** A pruning plan on paper: removed parts with scores and links, predicted sizes, the latest apply/verify. */
  | { type: 'planView'; view: PlanPanelView };

export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'cancel' }
  | { type: 'retry' }
  /** Open a file of the checkpoint (config.json, a shard) in an editor; `key`: select that JSON key's line. */
  | { type: 'openFile'; path: string; key?: string }
  | { type: 'computeStats' }
  | { type: 'cancelStats' }
  | { type: 'computeLayers'; metric: LayerMetricName }
  | { type: 'cancelLayers' }
  | { type: 'computeExperts' }
  | { type: 'cancelExperts' }
  /** Value histogram of one tensor of the inspected checkpoint (by name; the host checks it against the result). */
  | { type: 'computeHistogram'; tensor: string }
  /** Keep the text picked for the shown layer result as importanceLens.sampleTextFile. */
  | { type: 'rememberSampleText' }
  /** Select and reveal 1-based `line` of the CSV the Dataset panel shows; the host checks it against the result. */
  | { type: 'revealLine'; line: number }
  /** Show token `index` of the saliency result in its editor; the host checks it against the result. */
  | { type: 'revealToken'; index: number }
  /** Open the source of plan row `row` (the host checks it against the rows it sent). */
  | { type: 'planOpenSource'; row: number; target: PlanLinkTarget }
  /** Preview diff, Apply or Verify the plan the panel shows. */
  | { type: 'planCommand'; command: PlanPanelCommand };
