// The host half of the panel's "Layer importance on text" section: offered when the checkpoint is a model with a
// tokenizer, runs on the webview's request with progress and cancel, and keeps one result per metric so a reloaded
// webview gets them all back (the Layers view compares the metrics' rankings).
import { basename } from 'node:path';
import { layerMetricInfo } from '../../protocol/layerMetrics';
import type { LayerMetricName, ModelPanelToView, TextLayersResult } from '../../protocol/panels/model';
import { layersOnText, textModelDirectory } from './layersOnText';
import { rememberSampleTextFile, sampleTextFile } from '../shared/settings';
import { LatestJob } from '../shared/sessionJob';

const inSentence = (metric: LayerMetricName): string => layerMetricInfo(metric)?.inSentence ?? metric;

export interface LayerTextSection {
  /** After the inspect result is shown: offer the section (and replay kept results) when the model can run. */
  offer(): void;
  compute(metric: LayerMetricName): Promise<void>;
  /** Keeps the text of the latest result, when it was picked in a dialog, as the sample text setting. */
  remember(): Promise<void>;
  cancel(): void;
  dispose(): void;
}

export function layerTextSection(path: string, post: (message: ModelPanelToView) => void): LayerTextSection {
  const model = textModelDirectory(path);
  const job = new LatestJob(`layers ${model}`);
  /** Results by metric, in the order computed: the latest is last. */
  const kept = new Map<LayerMetricName, TextLayersResult>();
  const latest = () => [...kept.values()].pop();

  const offer = () => {
    if (model === null) return;
    const text = sampleTextFile();
    post({ type: 'layersOffer', textFile: text.kind === 'file' ? text.path : null });
    for (const result of kept.values()) post({ type: 'layersResult', result });
  };

  const compute = async (metric: LayerMetricName) => {
    if (model === null) return;
    post({ type: 'layersProgress', progress: { message: 'Finding the sample text' } });
    await job.run((signal) => layersOnText(model, metric, { signal, askForText: true, onProgress: (progress) => post({ type: 'layersProgress', progress }) }), {
      result: (result) => {
        kept.delete(metric);
        kept.set(metric, result);
        post({ type: 'layersResult', result });
      },
      cancelled: () => post({ type: 'layersError', title: 'Cancelled', message: `Computing ${inSentence(metric)} was cancelled.` }),
      failed: (message) => post({ type: 'layersError', title: `Cannot compute ${inSentence(metric)} of ${basename(model)}`, message }),
    });
  };

  const remember = async () => {
    const last = latest();
    if (!last || last.textSource !== 'picked' || last.textFile === null) return;
    await rememberSampleTextFile(last.textFile);
    const metric = last.layers.metric as LayerMetricName;
    const updated: TextLayersResult = { ...last, textSource: 'remembered' };
    kept.set(metric, updated);
    post({ type: 'layersResult', result: updated });
  };

  return { offer, compute, remember, cancel: () => job.cancel(), dispose: () => job.cancel() };
}
