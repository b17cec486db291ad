// "Layer importance on text", the job card of the Layers view for a model with a tokenizer: pick a metric, run it on
// the sample text (progress and Cancel in place); when done, what the metric means, the device and how much text
// was used, and the model's perplexity on that text. The bars themselves are drawn by the Layers view, which keeps
// every metric computed so far.
import type { LayersResult, PerplexityResult, Progress } from '../../src/protocol/results';
import { formatCount } from '../../src/protocol/units';
import type { LayerMetricName, TextLayersResult } from '../../src/protocol/webview';
import { basename, h } from '../dom';
import { formatValue } from '../format';
import { progressText } from './statsSection';

export type LayersState =
  | { kind: 'unavailable' }
  | { kind: 'idle'; textFile: string | null }
  | { kind: 'running'; progress: Progress }
  | { kind: 'done'; result: TextLayersResult }
  | { kind: 'failed'; title: string; message: string };

export interface LayersActions {
  compute: (metric: LayerMetricName) => void;
  cancel: () => void;
  /** Keep the text picked in the dialog as the sample text setting. */
  remember: () => void;
}

export interface LayersSection {
  element: HTMLElement;
  update: (state: LayersState) => void;
}

export const TEXT_METRICS: { key: LayerMetricName; label: string; definition: string }[] = [
  { key: 'block-influence', label: 'Block Influence', definition: 'Block Influence = 1 − mean over tokens of cos(block input, block output) (ShortGPT); higher = the block changes the hidden state more.' },
  { key: 'angular', label: 'Angular distance', definition: 'Angular distance = mean over tokens of arccos(cos(block input, block output))/π; higher = the block turns the hidden state further.' },
  { key: 'ablation', label: 'Ablation Δ perplexity', definition: 'Δ perplexity = perplexity with the block skipped (its residual update left out) − the full model’s; higher = removing the block hurts more.' },
  { key: 'wanda', label: 'Wanda |W|·‖X‖', definition: 'Wanda = mean over the block’s linear weights of |W|·‖X‖₂, X the layer inputs on the text; higher = larger weights on stronger signals.' },
  { key: 'taylor', label: 'Taylor |W ⊙ ∂L/∂W|', definition: 'First-order Taylor importance (LLM-Pruner) = Σ over the block’s weights of |W ⊙ ∂L/∂W|, L the mean next-token NLL of the text, gradients from the engine’s backward graphs; higher = removing the block’s weights changes the loss more.' },
  { key: 'fisher', label: 'Fisher ½ΣF·W²', definition: 'Fisher importance = ½ Σ over the block’s weights of F·W², F the diagonal empirical Fisher (mean over the text’s tokens of the squared gradient of each token’s NLL): Optimal Brain Damage’s loss increase when the block’s weights are removed. One backward pass per token.' },
  { key: 'weight-l2', label: 'Weight L2', definition: 'Weight L2 = Frobenius norm of the block’s weights; reads no text (the perplexity beside it does).' },
];

export function layersSection(actions: LayersActions): LayersSection {
  let metric: LayerMetricName = 'block-influence';
  const source = h('span', { class: 'muted small' });
  const body = h('div', { class: 'job-body' });
  const element = h('section', { class: 'job layers-on-text', 'aria-labelledby': 'layers-text-title' },
    h('h3', { id: 'layers-text-title' }, 'Layer importance on text ', source), body);

  // One dropdown and button for the section's life: toolkit controls are costly to create, and a result, a progress
  // step or a failure only changes whether they can be used and which metric is chosen.
  const dropdown = h('vscode-dropdown', { class: 'layer-metric', 'aria-label': 'Metric to compute on the text' },
    ...TEXT_METRICS.map((m) => h('vscode-option', { value: m.key, selected: m.key === metric }, m.label))) as HTMLElement & { value: string; disabled: boolean };
  dropdown.addEventListener('change', (event) => {
    event.stopPropagation(); // not the view switcher's change
    const chosen = TEXT_METRICS.find((m) => m.key === dropdown.value);
    if (chosen) metric = chosen.key;
  });
  const computeButton = h('vscode-button', { class: 'compute-layers', onclick: () => actions.compute(metric) }, 'Compute');
  const controlsRow = h('div', { class: 'job-controls' }, dropdown, computeButton);
  const controls = (running: boolean) => {
    dropdown.disabled = running;
    if (dropdown.value !== metric) dropdown.value = metric;
    computeButton.hidden = running;
    return controlsRow;
  };

  const update = (state: LayersState) => {
    element.hidden = state.kind === 'unavailable';
    switch (state.kind) {
      case 'unavailable':
        return;
      case 'idle':
        source.textContent = state.textFile ? `on ${basename(state.textFile)}` : 'on the sample text (importanceLens.sampleTextFile; asked for when empty)';
        body.replaceChildren(controls(false));
        return;
      case 'running':
        body.replaceChildren(controls(true), h('div', { class: 'job-running', role: 'status', 'aria-live': 'polite' },
          h('vscode-progress-ring'),
          h('p', { class: 'muted' }, progressText(state.progress)),
          h('vscode-button', { appearance: 'secondary', class: 'cancel-layers', onclick: actions.cancel }, 'Cancel'),
        ));
        return;
      case 'failed':
        body.replaceChildren(controls(false), h('div', { role: 'alert' },
          h('p', { class: 'job-error-title' }, state.title), h('p', { class: 'error-message' }, state.message)));
        return;
      case 'done':
        metric = state.result.layers.metric as LayerMetricName;
        source.textContent = state.result.textFile ? `on ${basename(state.result.textFile)}` : '';
        body.replaceChildren(controls(false), ...resultView(state.result, actions));
        return;
      default: {
        const unexpected: never = state;
        console.error('Importance Lens: unexpected layer state', unexpected);
      }
    }
  };
  update({ kind: 'unavailable' });
  return { element, update };
}

function resultView({ layers, perplexity, textFile, textSource }: TextLayersResult, actions: LayersActions): HTMLElement[] {
  const definition = TEXT_METRICS.find((m) => m.key === layers.metric);
  return [
    ...(textFile !== null && textSource === 'picked'
      ? [h('div', { class: 'job-controls' },
          h('p', { class: 'muted' }, 'importanceLens.sampleTextFile is empty; this text was picked for this run.'),
          h('vscode-button', { appearance: 'secondary', class: 'remember-text', onclick: actions.remember }, `Remember ${basename(textFile)} as the sample text`))]
      : []),
    ...(textSource === 'remembered' ? [h('p', { class: 'muted' }, 'Kept as importanceLens.sampleTextFile for this workspace.')] : []),
    h('div', { class: 'layers-result' },
      h('div', {},
        h('p', { class: 'metric-definition' }, definition?.definition ?? layers.metric),
        h('p', { class: 'muted' }, usage(layers, perplexity)),
      ),
      perplexity ? perplexityCard(perplexity) : null,
    ),
    ...(layers.warnings.length > 0 ? [h('ul', { class: 'warnings', 'aria-label': 'Layer metric warnings' }, ...layers.warnings.map((w) => h('li', {}, w)))] : []),
  ];
}

function usage(layers: LayersResult, perplexity: PerplexityResult | null): string {
  const text = layers.text ?? (perplexity ? { tokens: perplexity.tokens, windows: perplexity.windows, truncated: perplexity.truncated } : null);
  const tokens = text
    ? `${formatCount(text.tokens)} tokens in ${text.windows} window${text.windows === 1 ? '' : 's'}${text.truncated ? ' (the text was cut at importanceLens.maxTokens)' : ''}`
    : 'no text';
  return `device ${layers.device} · ${tokens} · rank 1 = most important`;
}

function perplexityCard(p: PerplexityResult): HTMLElement {
  return h('dl', { class: 'arch-grid perplexity', 'aria-label': 'Perplexity on the text' },
    h('div', { title: 'exp(mean negative log-likelihood) over the predicted tokens' }, h('dt', {}, 'perplexity'), h('dd', {}, formatValue(p.perplexity))),
    h('div', { title: 'Mean negative log-likelihood per predicted token' }, h('dt', {}, 'NLL (nats/token)'), h('dd', {}, formatValue(p.nll))),
    h('div', { title: 'Tokens with a prediction (all but each window’s first)' }, h('dt', {}, 'predicted tokens'), h('dd', {}, formatCount(p.predicted))),
  );
}
