// Token saliency of a text: the text with each token coloured on the diverging scale the editor uses (legend
// above), every token focusable with its score ± sd, the tokens that matter most in a table, and what was
// explained (target, method, seeds, device). Activating a token shows it in the editor.
import type { SaliencyResult, SaliencyToken } from '../../src/protocol/results';
import { formatScore, SALIENCY_LEVELS, SALIENCY_STEPS, saliencyColour, saliencyLevel, saliencyMethodName, saliencyRange } from '../../src/protocol/saliencyScale';
import { basename, h } from '../dom';
import { formatValue } from '../format';

const TOP = 10;

export interface SaliencyActions {
  /** Show token `index` in the editor; undefined where there is no editor (a standalone page). */
  reveal?: (index: number) => void;
}

export function saliencyView(result: SaliencyResult, document: string, actions: SaliencyActions): HTMLElement {
  const maxAbs = saliencyRange(result.tokens);
  const detail = h('p', { class: 'token-detail muted', 'aria-live': 'polite' }, 'Hover or focus a token for its score; Enter shows it in the editor.');
  return h('main', { class: 'saliency' },
    header(result, document),
    result.warnings.length > 0 ? h('ul', { class: 'warnings', 'aria-label': 'Warnings' }, ...result.warnings.map((w) => h('li', {}, w))) : null,
    legend(maxAbs),
    h('section', { 'aria-labelledby': 'saliency-text-title' },
      h('h2', { id: 'saliency-text-title' }, 'Text'),
      textView(result, maxAbs, detail, actions),
      detail,
    ),
    topTable(result, actions),
  );
}

function header(result: SaliencyResult, document: string): HTMLElement {
  const seeds = result.method === 'reagent' ? String(result.seeds) : `${result.seeds} (deterministic)`;
  const fields: [string, string, string][] = [
    ['target', JSON.stringify(result.target.text), result.target.fromText ? 'The text’s last token, predicted from the tokens before it' : 'A continuation after the text'],
    ['log p(target)', formatValue(result.target.logProbability), `Log-probability of the target (${result.target.tokens} token${result.target.tokens === 1 ? '' : 's'}) given the whole text`],
    ['method', saliencyMethodName(result.method), 'How each token’s support was measured'],
    ['seeds', seeds, 'Random seeds averaged; sd over them is the explanation’s stability'],
    ['tokens', String(result.tokens.length), 'Context tokens scored'],
    ['device', result.device, 'Where the model ran'],
  ];
  return h('header', {},
    h('h1', {}, 'Token saliency ', h('span', { class: 'muted vs' }, `in ${document}`)),
    h('p', { class: 'muted mono' }, `model ${basename(result.path)}`),
    h('dl', { class: 'arch-grid totals' }, ...fields.map(([label, value, title]) => h('div', { title }, h('dt', {}, label), h('dd', {}, value)))),
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

function textView(result: SaliencyResult, maxAbs: number, detail: HTMLElement, actions: SaliencyActions): HTMLElement {
  const container = h('div', { class: 'saliency-text', role: 'group', 'aria-label': 'Text coloured by saliency' });
  let at = 0;
  result.tokens.forEach((token, index) => {
    if (token.start > at) container.append(result.text.slice(at, token.start));
    container.append(tokenSpan(token, index, maxAbs, detail, actions));
    at = Math.max(at, token.end);
  });
  const rest = result.text.slice(at);
  if (rest) container.append(result.target.fromText ? h('span', { class: 'target', title: 'Target (the text’s last token)' }, rest) : rest);
  if (!result.target.fromText) container.append(h('span', { class: 'target continuation', title: 'Target (continuation)' }, result.target.text));
  return container;
}

function tokenSpan(token: SaliencyToken, index: number, maxAbs: number, detail: HTMLElement, actions: SaliencyActions): HTMLElement {
  const score = formatScore(token.score, token.sd);
  const describe = `${JSON.stringify(token.text)} ${score}`;
  const show = () => (detail.textContent = `${describe} — ${token.score >= 0 ? 'supports' : 'works against'} the prediction`);
  const span = h('span', {
    class: 'tok', tabindex: 0, title: score, 'aria-label': describe, 'data-index': index,
    role: actions.reveal ? 'button' : undefined,
    onfocus: show, onmouseenter: show,
    onclick: () => actions.reveal?.(index),
    onkeydown: (event: Event) => {
      const key = (event as KeyboardEvent).key;
      if (key === 'Enter' || key === ' ') (event.preventDefault(), actions.reveal?.(index));
    },
  }, token.text);
  const colour = saliencyColour(saliencyLevel(token.score, maxAbs));
  if (colour) span.style.background = colour;
  return span;
}

function topTable(result: SaliencyResult, actions: SaliencyActions): HTMLElement {
  const top = result.tokens.map((token, index) => ({ token, index })).sort((a, b) => Math.abs(b.token.score) - Math.abs(a.token.score)).slice(0, TOP);
  const maxAbs = saliencyRange(result.tokens);
  return h('section', { 'aria-labelledby': 'saliency-top-title' },
    h('h2', { id: 'saliency-top-title' }, 'Top tokens ', h('span', { class: 'muted small' }, `by |score|, ${top.length} of ${result.tokens.length}`)),
    h('table', { class: 'tensors saliency-top' },
      h('thead', {}, h('tr', {}, ...['#', 'Token', 'Score ± sd', 'Direction', 'Position'].map((label) => h('th', { scope: 'col' }, label)))),
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
