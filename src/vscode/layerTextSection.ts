// The host half of the panel's "Layer importance on text" section: offered when the checkpoint is a model with a
// tokenizer, runs on the webview's request with progress and cancel, and keeps its result for a reloaded webview.
import { basename } from 'node:path';
import { CancelledError, errorMessage, InputError } from '../errors';
import type { HostToWebview, LayerMetricName, TextLayersResult } from '../protocol/webview';
import { layersOnText, textModelDirectory } from './layersOnText';
import { log } from './log';
import { rememberSampleTextFile, sampleTextFile } from './settings';

const METRIC_NAMES: Record<LayerMetricName, string> = {
  'block-influence': 'Block Influence',
  angular: 'angular distance',
  ablation: 'ablation Δ perplexity',
  'weight-l2': 'weight L2',
  wanda: 'Wanda scores',
};

export interface LayerTextSection {
  /** After the inspect result is shown: offer the section (and replay a kept result) when the model can run. */
  offer(): void;
  compute(metric: LayerMetricName): Promise<void>;
  /** Keeps the text of the shown result, when it was picked in a dialog, as the sample text setting. */
  remember(): Promise<void>;
  cancel(): void;
  dispose(): void;
}

export function layerTextSection(path: string, post: (message: HostToWebview) => void): LayerTextSection {
  const model = textModelDirectory(path);
  let controller: AbortController | undefined;
  let kept: TextLayersResult | undefined;

  const offer = () => {
    if (model === null) return;
    const text = sampleTextFile();
    post({ type: 'layersOffer', textFile: text.kind === 'file' ? text.path : null });
    if (kept) post({ type: 'layersResult', result: kept });
  };

  const compute = async (metric: LayerMetricName) => {
    if (model === null) return;
    controller?.abort();
    const current = new AbortController();
    controller = current;
    post({ type: 'layersProgress', progress: { message: 'Finding the sample text' } });
    try {
      const result = await layersOnText(model, metric, {
        signal: current.signal,
        askForText: true,
        onProgress: (progress) => post({ type: 'layersProgress', progress }),
      });
      if (controller !== current) return;
      kept = result;
      post({ type: 'layersResult', result });
    } catch (error) {
      if (controller !== current) return;
      if (error instanceof CancelledError) {
        post({ type: 'layersError', title: 'Cancelled', message: `Computing ${METRIC_NAMES[metric]} was cancelled.` });
      } else {
        if (!(error instanceof InputError)) log.error(`layers ${metric} ${model}: ${errorMessage(error)}`);
        post({ type: 'layersError', title: `Cannot compute ${METRIC_NAMES[metric]} of ${basename(model)}`, message: errorMessage(error) });
      }
    } finally {
      if (controller === current) controller = undefined;
    }
  };

  const remember = async () => {
    if (!kept || kept.textSource !== 'picked' || kept.textFile === null) return;
    await rememberSampleTextFile(kept.textFile);
    kept = { ...kept, textSource: 'remembered' };
    post({ type: 'layersResult', result: kept });
  };

  return { offer, compute, remember, cancel: () => controller?.abort(), dispose: () => controller?.abort() };
}

