// "Layer importance on text" inside the checkpoint summary of a model with a tokenizer: pick a metric, run it on the
// sample text (progress and Cancel in place), then per-layer bars with rank, what the metric means in one line, the
// device and how much text was used, and the model's perplexity on that text beside it.
import type { LayersResult, PerplexityResult, Progress } from '../../src/protocol/results';
import { formatCount } from '../../src/protocol/units';
import type { LayerMetricName, TextLayersResult } from '../../src/protocol/webview';
import { basename, h } from '../dom';
import { formatValue } from '../format';
import { barChart, type Bar } from './barChart';

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

const METRICS: { key: LayerMetricName; label: string; definition: string }[] = [
  { key: 'block-influence', label: 'Block Influence', definition: 'Block Influence = 1 − mean over tokens of cos(block input, block output) (ShortGPT); higher = the block changes the hidden state more.' },
  { key: 'angular', label: 'Angular distance', definition: 'Angular distance = mean over tokens of arccos(cos(block input, block output))/π; higher = the block turns the hidden state further.' },
  { key: 'ablation', label: 'Ablation Δ perplexity', definition: 'Δ perplexity = perplexity with the block skipped (its residual update left out) − the full model’s; higher = removing the block hurts more.' },
  { key: 'wanda', label: 'Wanda |W|·‖X‖', definition: 'Wanda = mean over the block’s linear weights of |W|·‖X‖₂, X the layer inputs on the text; higher = larger weights on stronger signals.' },
  { key: 'weight-l2', label: 'Weight L2', definition: 'Weight L2 = Frobenius norm of the block’s weights; reads no text (the perplexity beside it does).' },
];

export function layersSection(actions: LayersActions): LayersSection {
  let metric: LayerMetricName = 'block-influence';
  const source = h('span', { class: 'muted small' });
  const body = h('div', { class: 'layers-body' });
  const element = h('section', { class: 'layers-on-text', 'aria-labelledby': 'layers-text-title' },
    h('h2', { id: 'layers-text-title' }, 'Layer importance on text ', source), body);

  const controls = (running: boolean) => {
    const dropdown = h('vscode-dropdown', { class: 'layer-metric', 'aria-label': 'Layer metric', disabled: running },
      ...METRICS.map((m) => h('vscode-option', { value: m.key, selected: m.key === metric }, m.label)));
    dropdown.addEventListener('change', () => {
      const value = (dropdown as HTMLElement & { value: string }).value;
      const chosen = METRICS.find((m) => m.key === value);
      if (chosen) metric = chosen.key;
    });
    return h('div', { class: 'stats-offer' },
      h('label', { class: 'muted' }, 'Metric'),
      dropdown,
      running ? null : h('vscode-button', { class: 'compute-layers', onclick: () => actions.compute(metric) }, 'Compute'),
    );
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
      case 'running': {
        const percent = state.progress.fraction !== undefined ? ` (${Math.round(state.progress.fraction * 100)}%)` : '';
        body.replaceChildren(controls(true), h('div', { class: 'stats-running', role: 'status', 'aria-live': 'polite' },
          h('vscode-progress-ring'),
          h('p', { class: 'muted' }, state.progress.message + percent),
          h('vscode-button', { appearance: 'secondary', class: 'cancel-layers', onclick: actions.cancel }, 'Cancel'),
        ));
        return;
      }
      case 'failed':
        body.replaceChildren(controls(false), h('div', { role: 'alert' },
          h('p', { class: 'stats-error-title' }, state.title), h('p', { class: 'error-message' }, state.message)));
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
  const definition = METRICS.find((m) => m.key === layers.metric);
  return [
    ...(textFile !== null && textSource === 'picked'
      ? [h('div', { class: 'stats-offer' },
          h('p', { class: 'muted' }, 'importanceLens.sampleTextFile is empty; this text was picked for this run.'),
          h('vscode-button', { appearance: 'secondary', class: 'remember-text', onclick: actions.remember }, `Remember ${basename(textFile)} as the sample text`))]
      : []),
    ...(textSource === 'remembered' ? [h('p', { class: 'muted' }, 'Kept as importanceLens.sampleTextFile for this workspace.')] : []),
    h('p', { class: 'metric-definition' }, definition?.definition ?? layers.metric),
    h('p', { class: 'muted' }, usage(layers, perplexity)),
    h('div', { class: 'layers-result' },
      h('div', { class: 'layer-bars' }, barChart(layerBars(layers, perplexity), `${definition?.label ?? layers.metric} per layer`)),
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

/** Ablation bars show the rise over the full model's perplexity, which is what a reader compares blocks by. */
function layerBars(layers: LayersResult, perplexity: PerplexityResult | null): Bar[] {
  const delta = layers.metric === 'ablation' && perplexity !== null;
  return layers.layers.map((layer) => {
    const value = delta ? layer.score - perplexity.perplexity : layer.score;
    const shown = delta ? `${value >= 0 ? '+' : ''}${formatValue(value)}` : formatValue(value);
    return {
      label: `layer ${layer.index}`,
      value,
      valueText: `${shown} · #${layer.rank}`,
      title: `layer ${layer.index}: ${layers.metric} ${formatValue(layer.score)}${delta ? ` (perplexity without it; Δ ${shown})` : ''}, rank ${layer.rank}, ${formatCount(layer.params)} parameters`,
    };
  });
}

function perplexityCard(p: PerplexityResult): HTMLElement {
  return h('dl', { class: 'arch-grid perplexity', 'aria-label': 'Perplexity on the text' },
    h('div', { title: 'exp(mean negative log-likelihood) over the predicted tokens' }, h('dt', {}, 'perplexity'), h('dd', {}, formatValue(p.perplexity))),
    h('div', { title: 'Mean negative log-likelihood per predicted token' }, h('dt', {}, 'NLL (nats/token)'), h('dd', {}, formatValue(p.nll))),
    h('div', { title: 'Tokens with a prediction (all but each window’s first)' }, h('dt', {}, 'predicted tokens'), h('dd', {}, formatCount(p.predicted))),
  );
}
