// "Experts on text", a job card of the Layers view for a Mixture-of-Experts model: run expert importance on the
// sample text (progress and Cancel in place); when done, a grid with one row per MoE block and one cell per routed
// expert, shaded by its Δ NLL when dropped (rank 1 darkest in its block), showing its routing share; a cell's title
// gives share, mean gate, score, rank and output change (docs/analyses.md), and its first-order Taylor importance
// when asked for: a checkbox beside Compute (or, on a result without it, "Compute again with Taylor") adds the
// analysis's opt-in backward pass, which costs several forwards on a real MoE, so it is off by default.
import type { ExpertScore, ExpertsResult, Progress } from '../../src/protocol/results';
import { formatCount } from '../../src/protocol/units';
import { basename, h } from '../dom';
import { progressText } from './statsSection';

export type ExpertsState =
  | { kind: 'unavailable' }
  | { kind: 'idle' }
  | { kind: 'running'; progress: Progress }
  | { kind: 'done'; result: ExpertsResult; textFile: string }
  | { kind: 'failed'; title: string; message: string };

export interface ExpertsSection {
  element: HTMLElement;
  update: (state: ExpertsState) => void;
}

export const EXPERTS_DEFINITION =
  'Δ NLL = mean negative log-likelihood on the text with the expert dropped (its router row removed, so its tokens go to their next choice) − the full model’s; higher = the block needs it more. Each cell shows the expert’s share of the router’s token-slots; darker = higher Δ NLL in its block, dashed = the lowest (what a drop-experts plan removes first).';

/** What the card asks the host: compute (taylor: with the Taylor backward pass), or cancel. */
export interface ExpertsActions {
  compute: (taylor: boolean) => void;
  cancel: () => void;
}

const TAYLOR_TITLE = 'Also each expert’s first-order Taylor importance Σ |W ⊙ ∂L/∂W| over its weights (LLM-Pruner): one backward pass over the text, which costs several forward passes on a real MoE';

export function expertsSection(actions: ExpertsActions): ExpertsSection {
  const body = h('div', { class: 'job-body' });
  const element = h('section', { class: 'job experts-on-text', 'aria-labelledby': 'experts-title' }, h('h3', { id: 'experts-title' }, 'Experts on text'), body);
  // The checkbox's choice outlives the card's re-renders (running, failed) until the panel reloads.
  let taylor = false;
  const computeButton = () => {
    const box = h('vscode-checkbox', { class: 'experts-taylor', checked: taylor, title: TAYLOR_TITLE }, 'With Taylor importance (backward pass)');
    box.addEventListener('change', (event) => {
      event.stopPropagation(); // not the view switcher's change
      taylor = (event.target as HTMLInputElement).checked;
    });
    return h('div', { class: 'table-tools' }, h('vscode-button', { class: 'compute-experts', onclick: () => actions.compute(taylor) }, 'Compute expert importance'), box);
  };
  // A result without Taylor offers to run again with it (the drops are run again too: the analysis is one job).
  const againWithTaylor = (r: ExpertsResult) => (hasTaylor(r) ? null : h('div', { class: 'table-tools' }, h('vscode-button', {
    appearance: 'secondary', class: 'experts-again-taylor', title: `${TAYLOR_TITLE}; the drops run again too`,
    onclick: () => ((taylor = true), actions.compute(true)),
  }, 'Compute again with Taylor importance')));
  const update = (state: ExpertsState) => {
    element.hidden = state.kind === 'unavailable';
    switch (state.kind) {
      case 'unavailable':
        return;
      case 'idle':
        body.replaceChildren(h('p', { class: 'muted' }, 'Per MoE block and expert on the sample text: routing share, mean gate, and Δ NLL when the expert is dropped. One pass per MoE block from it to the end.'), computeButton());
        return;
      case 'running':
        body.replaceChildren(h('div', { class: 'job-running', role: 'status', 'aria-live': 'polite' },
          h('vscode-progress-ring'),
          h('p', { class: 'muted' }, progressText(state.progress)),
          h('vscode-button', { appearance: 'secondary', class: 'cancel-experts', onclick: actions.cancel }, 'Cancel'),
        ));
        return;
      case 'failed':
        body.replaceChildren(computeButton(), h('div', { role: 'alert' }, h('p', { class: 'job-error-title' }, state.title), h('p', { class: 'error-message' }, state.message)));
        return;
      case 'done':
        body.replaceChildren(h('div', { class: 'experts-result' },
          h('p', { class: 'metric-definition' }, EXPERTS_DEFINITION),
          h('p', { class: 'muted' }, usage(state.result, state.textFile)),
          expertGrid(state.result),
          againWithTaylor(state.result),
        ));
        return;
      default: {
        const unexpected: never = state;
        console.error('Importance Lens: unexpected experts state', unexpected);
      }
    }
  };
  update({ kind: 'unavailable' });
  return { element, update };
}

function hasTaylor(r: ExpertsResult): boolean {
  return r.blocks.some((b) => b.experts.some((e) => e.taylor !== null));
}

function usage(r: ExpertsResult, textFile: string): string {
  const dense = r.denseBlocks.length > 0 ? ` · dense blocks ${r.denseBlocks.join(', ')}` : '';
  return `${basename(textFile)} · ${formatCount(r.tokens)} tokens · ${r.modelType}, ${r.experts} experts, top-${r.topK} · device ${r.device}${dense}`;
}

function expertGrid(r: ExpertsResult): HTMLElement {
  const header = h('tr', {}, h('th', { scope: 'col' }, 'block \\ expert'), ...Array.from({ length: r.experts }, (_, e) => h('th', { scope: 'col' }, String(e))));
  const rows = r.blocks.map((b) => h('tr', {}, h('th', { scope: 'row' }, String(b.index)), ...b.experts.map((e) => cell(e, b.experts.length))));
  return h('div', { class: 'expert-grid-scroll' }, h('table', { class: 'expert-grid', 'aria-label': 'Expert importance per block: cells show routing share, shaded by Δ NLL rank' }, h('thead', {}, header), h('tbody', {}, ...rows)));
}

function cell(e: ExpertScore, experts: number): HTMLElement {
  // Rank 1 (most important) darkest; the shade is the rank's, so blocks compare by order, not by raw Δ NLL.
  const weight = experts > 1 ? (experts - e.rank) / (experts - 1) : 1;
  const title = `expert ${e.index}: share ${(e.share * 100).toFixed(1)}% · mean gate ${e.meanGate === null ? '—' : e.meanGate.toFixed(3)} · Δ NLL ${e.score.toPrecision(3)} · rank ${e.rank} · output change ${e.outputChange.toPrecision(3)}${e.taylor === null ? '' : ` · Taylor ${e.taylor.toPrecision(3)}`}`;
  const td = h('td', { title, class: e.rank === experts ? 'least' : '' }, `${(e.share * 100).toFixed(0)}%`);
  // Through the CSSOM: the panel's CSP allows no inline style attributes.
  td.style.setProperty('--weight', weight.toFixed(3));
  return td;
}
