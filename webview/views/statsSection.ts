// Weight statistics on demand: they read every tensor's data, so the summary shows first and the user asks for
// them. This is the job's card (offer -> progress with Cancel -> done, or the failure with a retry); the numbers
// themselves appear where they are read: weight L2 in the Layers view, per-tensor columns in the Tensors table.
import type { Progress, StatsResult } from '../../src/protocol/results';
import { formatCount } from '../../src/protocol/units';
import { h } from '../dom';

export type StatsState =
  | { kind: 'idle' }
  | { kind: 'running'; progress: Progress }
  | { kind: 'done'; result: StatsResult }
  | { kind: 'failed'; title: string; message: string };

export interface StatsActions {
  compute: () => void;
  cancel: () => void;
}

export interface StatsSection {
  element: HTMLElement;
  update: (state: StatsState) => void;
}

export function progressText(progress: Progress): string {
  return progress.message + (progress.fraction !== undefined ? ` (${Math.round(progress.fraction * 100)}%)` : '');
}

export function statsSection(actions: StatsActions): StatsSection {
  const body = h('div', { class: 'job-body' });
  const element = h('section', { class: 'job weight-stats', 'aria-labelledby': 'stats-title' }, h('h3', { id: 'stats-title' }, 'Weight statistics'), body);
  const computeButton = (label: string, appearance = 'primary') => h('vscode-button', { class: 'compute-stats', appearance, onclick: actions.compute }, label);
  const update = (state: StatsState) => {
    switch (state.kind) {
      case 'idle':
        body.replaceChildren(
          h('p', { class: 'muted' }, 'L2, std, absmax, kurtosis, 6σ outliers and stable rank of every tensor. Reads all tensor data.'),
          computeButton('Compute weight statistics'),
        );
        return;
      case 'running':
        body.replaceChildren(h('div', { class: 'job-running', role: 'status', 'aria-live': 'polite' },
          h('vscode-progress-ring'),
          h('p', { class: 'muted' }, progressText(state.progress)),
          h('vscode-button', { appearance: 'secondary', class: 'cancel-stats', onclick: actions.cancel }, 'Cancel'),
        ));
        return;
      case 'failed':
        body.replaceChildren(h('div', { role: 'alert' }, h('p', { class: 'job-error-title' }, state.title), h('p', { class: 'error-message' }, state.message)),
          computeButton('Compute weight statistics'));
        return;
      case 'done': {
        const r = state.result;
        body.replaceChildren(
          h('p', { class: 'muted stats-summary' }, `✓ ${r.tensors.length} tensors · ${formatCount(r.parameters)} parameters · device ${r.device}`),
          ...(r.warnings.length > 0 ? [h('ul', { class: 'warnings', 'aria-label': 'Statistics warnings' }, ...r.warnings.map((w) => h('li', {}, w)))] : []),
          computeButton('Recompute', 'secondary'),
        );
        return;
      }
      default: {
        const unexpected: never = state;
        console.error('Importance Lens: unexpected statistics state', unexpected);
      }
    }
  };
  update({ kind: 'idle' });
  return { element, update };
}
