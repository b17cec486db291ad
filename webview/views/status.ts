// Progress and error states, each with the one action that makes sense there.
import type { Progress } from '../../src/protocol/results';
import { h } from '../dom';

export function progressView(title: string, progress: Progress, onCancel: (() => void) | undefined): HTMLElement {
  const percent = progress.fraction !== undefined ? ` (${Math.round(progress.fraction * 100)}%)` : '';
  return h('section', { class: 'status', role: 'status', 'aria-live': 'polite' },
    h('vscode-progress-ring'),
    h('div', {}, h('h2', {}, title), h('p', { class: 'muted' }, progress.message + percent)),
    onCancel ? h('vscode-button', { appearance: 'secondary', onclick: onCancel }, 'Cancel') : null,
  );
}

export function errorView(title: string, message: string, onRetry: (() => void) | undefined): HTMLElement {
  return h('section', { class: 'status error', role: 'alert' },
    h('div', {}, h('h2', {}, title), h('p', { class: 'error-message' }, message)),
    onRetry ? h('vscode-button', { onclick: onRetry }, 'Retry') : null,
  );
}
