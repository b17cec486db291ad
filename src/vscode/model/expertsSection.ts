// The host half of the panel's "Experts on text" card (Layers view): offered when the checkpoint is a Mixture-of-
// Experts model the engine runs (Mixtral, Qwen2-MoE, Qwen3-MoE) with a tokenizer; runs the `experts` analysis on the
// sample text with progress and cancel (with each expert's Taylor importance when the card asks: a backward pass),
// and keeps the result so a reloaded webview gets it back.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { MOE_MODEL_TYPES } from '../../compute/families/moeSpec';
import { InputError } from '../../errors';
import type { ExpertsResult } from '../../protocol/results';
import type { ModelPanelToView } from '../../protocol/panels/model';
import { runAnalysis } from '../shared/analysisService';
import { textModelDirectory } from './layersOnText';
import { chooseSampleText } from '../shared/sampleText';
import { LatestJob } from '../shared/sessionJob';
import { runSettings } from '../shared/settings';
import { admitInThisWorkspace } from '../shared/workspaceTrust';

export interface ExpertsSection {
  offer(): void;
  /** taylor: also the experts' first-order Taylor importance (the analysis's opt-in backward pass). */
  compute(taylor: boolean): Promise<void>;
  cancel(): void;
  dispose(): void;
}

/** The model directory when it is an MoE model the experts analysis runs, else null (the card is not offered). */
export function expertsModelDirectory(path: string): string | null {
  const directory = textModelDirectory(path);
  if (directory === null) return null;
  try {
    const config = JSON.parse(readFileSync(join(directory, 'config.json'), 'utf8')) as { model_type?: unknown };
    return (MOE_MODEL_TYPES as readonly unknown[]).includes(config.model_type) ? directory : null;
  } catch {
    return null;
  }
}

export function expertsSection(path: string, post: (message: ModelPanelToView) => void): ExpertsSection {
  const model = expertsModelDirectory(path);
  const job = new LatestJob(`experts ${model}`);
  let kept: { result: ExpertsResult; textFile: string } | undefined;

  const offer = () => {
    if (model === null) return;
    post({ type: 'expertsOffer' });
    if (kept) post({ type: 'expertsResult', ...kept });
  };

  const compute = async (taylor: boolean) => {
    if (model === null) return;
    post({ type: 'expertsProgress', progress: { message: 'Finding the sample text' } });
    await job.run(async (signal) => {
      await admitInThisWorkspace({ analysis: 'experts', model, text: { text: '' } });
      const text = await chooseSampleText(true);
      if (text.kind === 'none') throw new InputError(text.message);
      const { providers, maxTokens } = runSettings();
      const { result } = await runAnalysis({ analysis: 'experts', model, text: { file: text.path }, maxTokens, providers, ...(taylor ? { taylor } : {}) }, { signal, onProgress: (progress) => post({ type: 'expertsProgress', progress }) });
      return { result, textFile: text.path };
    }, {
      result: (outcome) => {
        kept = outcome;
        post({ type: 'expertsResult', ...outcome });
      },
      cancelled: () => post({ type: 'expertsError', title: 'Cancelled', message: 'Computing expert importance was cancelled.' }),
      failed: (message) => post({ type: 'expertsError', title: `Cannot compute expert importance of ${basename(model)}`, message }),
    });
  };

  return { offer, compute, cancel: () => job.cancel(), dispose: () => job.cancel() };
}
