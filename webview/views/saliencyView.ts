// Token saliency of a text: the text with each token coloured on the diverging scale the editor uses (legend
// above), every token focusable with its score ± sd, the tokens that matter most in a table, and what was
// explained (target, method, seeds, device). Activating a token shows it in the editor. With checkpoints compared
// (saliencyStability.ts) the text shows the means over them, noisy tokens underlined, and the agreement between them.
import type { SaliencyResult, SaliencyToken } from '../../src/protocol/results';
import { formatScore, SALIENCY_LEVELS, SALIENCY_STEPS, saliencyColour, saliencyLevel, saliencyMethodName, saliencyRange, shownTokens } from '../../src/protocol/saliencyScale';
import { basename, h } from '../dom';
import { formatValue } from '../format';
import { isNoisy, stabilityLabel, stabilitySection } from './saliencyStability';

const TOP = 10;

export interface SaliencyActions {
  /** Show token `index` in the editor; undefined where there is no editor (a standalone page). */
  reveal?: (index: number) => void;
  /** Run the same method on the same text over more checkpoints (the host asks which); undefined in a standalone page. */
  compare?: () => void;
}

export function saliencyView(result: SaliencyResult, document: string, actions: SaliencyActions): HTMLElement {
  const tokens = shownTokens(result);
  const maxAbs = saliencyRange(tokens);
  const detail = h('p', { class: 'token-detail muted', 'aria-live': 'polite' }, 'Hover or focus a token for its score; Enter shows it in the editor.');
  return h('main', { class: 'saliency' },
    header(result, document, actions),
    result.warnings.length > 0 ? h('ul', { class: 'warnings', 'aria-label': 'Warnings' }, ...result.warnings.map((w) => h('li', {}, w))) : null,
    legend(maxAbs),
    h('section', { 'aria-labelledby': 'saliency-text-title' },
      h('h2', { id: 'saliency-text-title' }, 'Text'),
      textView(result, tokens, maxAbs, detail, actions),
      detail,
    ),
    result.stability ? stabilitySection(result.stability, actions.reveal) : null,
    topTable(result, tokens, actions),
  );
}

function header(result: SaliencyResult, document: string, actions: SaliencyActions): HTMLElement {
  const seeds = result.method === 'reagent' ? String(result.seeds) : `${result.seeds} (deterministic)`;
  const fields: [string, string, string][] = [
    ['target', JSON.stringify(result.target.text), result.target.fromText ? 'The text’s last token, predicted from the tokens before it' : 'A continuation after the text'],
    ['log p(target)', formatValue(result.target.logProbability), `Log-probability of the target (${result.target.tokens} token${result.target.tokens === 1 ? '' : 's'}) given the whole text`],
    ['method', saliencyMethodName(result.method), 'How each token’s support was measured'],
    ['seeds', seeds, 'Random seeds averaged; sd over them is the explanation’s stability'],
    ...(result.delta !== undefined ? [['IG delta', `${formatValue(result.delta)} (${result.steps} steps)`, 'Convergence delta of integrated gradients: |Σ scores − (log p(target) − log p(target | zero embeddings))|; large means more steps are needed'] as [string, string, string]] : []),
    ...(result.stability ? [
      ['checkpoints', String(result.stability.checkpoints.length), 'Checkpoints compared: the text shows each token’s mean over them ± sd'] as [string, string, string],
      ['rank agreement', result.stability.rankAgreement === null ? '—' : `ρ ${result.stability.rankAgreement.toFixed(2)}`, 'Mean pairwise Spearman ρ of the checkpoints’ per-token scores'] as [string, string, string],
    ] : []),
    ['tokens', String(result.tokens.length), 'Context tokens scored'],
    ['device', result.device, 'Where the model ran'],
  ];
  return h('header', {},
    h('h1', {}, 'Token saliency ', h('span', { class: 'muted vs' }, `in ${document}`)),
    h('p', { class: 'muted mono' }, `model ${basename(result.path)}`),
    h('dl', { class: 'arch-grid totals' }, ...fields.map(([label, value, title]) => h('div', { title }, h('dt', {}, label), h('dd', {}, value)))),
    actions.compare
      ? h('vscode-button', { class: 'compare-checkpoints', appearance: 'secondary', title: 'The same method on the same text over other checkpoints of this model (fine-tunes, a training run): mean, sd and SNR per token, and how well they agree', onclick: actions.compare }, 'Compare across checkpoints…')
      : null,
  );
}

function legend(maxAbs: number): HTMLElement {
  const swatch = (level: (typeof SALIENCY_LEVELS)[number]) => {
    const step = SALIENCY_STEPS[Math.abs(level) - 1];
    const title = step === undefined
      ? `|score| under ${formatValue(SALIENCY_STEPS[0] * maxAbs)}: negligible`
      : `${level > 0 ? 'supports' : 'against'}: |score| ≥ ${formatValue(step * maxAbs)}`;
    const cell = h('span', { class: 'swatch', title });
    const colour = saliencyColour(level);
    if (colour) cell.style.background = colour;
    return cell;
  };
  return h('div', { class: 'saliency-legend', role: 'img', 'aria-label': `Colour scale: blue against the prediction, orange supports it; strongest ±${formatValue(maxAbs)}` },
    h('span', { class: 'muted' }, `against −${formatValue(maxAbs)}`),
    ...SALIENCY_LEVELS.map(swatch),
    h('span', { class: 'muted' }, `+${formatValue(maxAbs)} supports`),
  );
}

/**
 * One listener set on the text rather than four per token, colours as classes over custom properties set once, and
 * one tab stop for the whole text (arrow keys move between tokens): 2 000 tokens draw in one frame.
 */
function textView(result: SaliencyResult, tokens: readonly SaliencyToken[], maxAbs: number, detail: HTMLElement, actions: SaliencyActions): HTMLElement {
  const container = h('div', { class: 'saliency-text', role: 'group', 'aria-label': 'Text coloured by saliency; arrow keys move between tokens' });
  for (const level of SALIENCY_LEVELS) {
    const colour = saliencyColour(level);
    if (colour) container.style.setProperty(`--saliency${level}`, colour);
  }
  const fragment = document.createDocumentFragment();
  let at = 0;
  tokens.forEach((token, index) => {
    if (token.start > at) fragment.append(result.text.slice(at, token.start));
    fragment.append(tokenSpan(token, index, maxAbs, actions, index === 0, result));
    at = Math.max(at, token.end);
  });
  const rest = result.text.slice(at);
  if (rest) fragment.append(result.target.fromText ? h('span', { class: 'target', title: 'Target (the text’s last token)' }, rest) : rest);
  if (!result.target.fromText) fragment.append(h('span', { class: 'target continuation', title: 'Target (continuation)' }, result.target.text));
  container.append(fragment);

  const tokenAt = (target: EventTarget | null): { span: HTMLElement; index: number } | null => {
    const span = (target as HTMLElement | null)?.closest?.('.tok') as HTMLElement | null;
    const index = Number(span?.dataset.index);
    return span && Number.isInteger(index) && tokens[index] ? { span, index } : null;
  };
  const show = (event: Event) => {
    const hit = tokenAt(event.target);
    if (!hit) return;
    const token = tokens[hit.index]!;
    const stable = result.stability?.tokens[hit.index];
    detail.textContent = `${JSON.stringify(token.text)} ${stable ? stabilityLabel(stable, result.stability!.checkpoints.length) : formatScore(token.score, token.sd)} — ${token.score >= 0 ? 'supports' : 'works against'} the prediction`;
  };
  container.addEventListener('mouseover', show);
  container.addEventListener('focusin', show);
  container.addEventListener('click', (event) => {
    const hit = tokenAt(event.target);
    if (hit) actions.reveal?.(hit.index);
  });
  container.addEventListener('keydown', (event) => {
    const hit = tokenAt(event.target);
    if (!hit) return;
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      actions.reveal?.(hit.index);
      return;
    }
    const step = event.key === 'ArrowRight' || event.key === 'ArrowDown' ? 1 : event.key === 'ArrowLeft' || event.key === 'ArrowUp' ? -1 : event.key === 'Home' ? -Infinity : event.key === 'End' ? Infinity : 0;
    if (step === 0) return;
    event.preventDefault();
    const next = Math.min(tokens.length - 1, Math.max(0, hit.index + step));
    const target = container.querySelector(`.tok[data-index="${next}"]`) as HTMLElement | null;
    if (!target) return;
    hit.span.tabIndex = -1;
    target.tabIndex = 0;
    target.focus();
  });
  return container;
}

function tokenSpan(token: SaliencyToken, index: number, maxAbs: number, actions: SaliencyActions, tabStop: boolean, result: SaliencyResult): HTMLElement {
  const stable = result.stability?.tokens[index];
  const score = stable ? stabilityLabel(stable, result.stability!.checkpoints.length) : formatScore(token.score, token.sd);
  const level = saliencyLevel(token.score, maxAbs);
  const span = document.createElement('span');
  span.className = `${level === 0 ? 'tok' : `tok s${level}`}${stable && isNoisy(stable) ? ' noisy' : ''}`;
  span.tabIndex = tabStop ? 0 : -1;
  span.title = score;
  span.dataset.index = String(index);
  span.setAttribute('aria-label', `${JSON.stringify(token.text)} ${score}`);
  if (actions.reveal) span.setAttribute('role', 'button');
  span.textContent = token.text;
  return span;
}

function topTable(result: SaliencyResult, tokens: readonly SaliencyToken[], actions: SaliencyActions): HTMLElement {
  const top = tokens.map((token, index) => ({ token, index })).sort((a, b) => Math.abs(b.token.score) - Math.abs(a.token.score)).slice(0, TOP);
  const maxAbs = saliencyRange(tokens);
  return h('section', { 'aria-labelledby': 'saliency-top-title' },
    h('h2', { id: 'saliency-top-title' }, 'Top tokens ', h('span', { class: 'muted small' }, `by |${result.stability ? 'mean' : 'score'}|, ${top.length} of ${tokens.length}`)),
    h('table', { class: 'tensors saliency-top' },
      h('thead', {}, h('tr', {}, ...['#', 'Token', result.stability ? 'Mean ± sd' : 'Score ± sd', 'Direction', 'Position'].map((label) => h('th', { scope: 'col' }, label)))),
      h('tbody', {}, ...top.map(({ token, index }, rank) => {
        const cell = h('span', { class: 'tok' }, token.text);
        const colour = saliencyColour(saliencyLevel(token.score, maxAbs));
        if (colour) cell.style.background = colour;
        return h('tr', { class: 'row' },
          h('td', { class: 'num' }, String(rank + 1)),
          h('td', { class: 'mono' }, actions.reveal
            ? h('a', { href: '#', class: 'source-link', title: 'Show in the editor', onclick: (e: Event) => (e.preventDefault(), actions.reveal!(index)) }, cell)
            : cell),
          h('td', { class: 'num' }, formatScore(token.score, token.sd)),
          h('td', {}, token.score >= 0 ? 'supports' : 'against'),
          h('td', { class: 'num' }, `${token.start}–${token.end}`),
        );
      })),
    ),
  );
}
