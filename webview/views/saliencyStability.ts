// The Token Saliency panel's "across checkpoints" part (saliency --compare): the tokens the text view colours are
// the per-token means over the checkpoints, with |mean|/sd as an overlay (a token whose spread across checkpoints
// is larger than its mean is underlined as noise); a table of each token's mean ± sd, SNR and score per
// checkpoint; and the rank-agreement matrix between checkpoints (Spearman ρ above the diagonal, Kendall τ-b below)
// with the top-k overlap. The numbers are defined in docs/analyses.md.
import type { SaliencyStability, StabilityToken } from '../../src/protocol/results';
import { formatScore, saliencyColour, saliencyLevel, saliencyRange } from '../../src/protocol/saliencyScale';
import { basename, h } from '../dom';
import { formatValue } from '../format';

/** Below this |mean|/sd the spread across checkpoints outweighs the score: the token is marked as noise. */
export const NOISY_BELOW = 1;

export function isNoisy(token: StabilityToken): boolean {
  return token.meanOverSd !== null && token.meanOverSd < NOISY_BELOW;
}

/** |mean|/sd as text: ∞ where sd = 0 and the mean is not (no spread). */
export function formatSnr(value: number | null): string {
  return value === null ? '∞' : formatValue(value);
}

/** A token's hover and label text with checkpoints compared. */
export function stabilityLabel(token: StabilityToken, checkpoints: number): string {
  return `mean ${formatScore(token.mean, token.sd)} over ${checkpoints} checkpoints, |mean|/sd ${formatSnr(token.meanOverSd)}${isNoisy(token) ? ' (noise: the spread is larger than the mean)' : ''}`;
}

export function stabilitySection(stability: SaliencyStability, reveal?: (index: number) => void): HTMLElement {
  const names = checkpointNames(stability);
  const tokens = stability.tokens.map((token) => ({ token, score: token.mean }));
  const maxAbs = saliencyRange(tokens);
  const noisy = stability.tokens.filter(isNoisy).length;
  return h('section', { class: 'stability', 'aria-labelledby': 'stability-title' },
    h('h2', { id: 'stability-title' }, 'Across checkpoints ', h('span', { class: 'muted small' }, `${names.length} checkpoints, ${noisy} of ${stability.tokens.length} tokens noisy (|mean|/sd < ${NOISY_BELOW})`)),
    h('ul', { class: 'checkpoints mono' }, ...stability.checkpoints.map((c, i) => h('li', { title: c.path }, `#${i + 1} ${names[i]}`, h('span', { class: 'muted' }, ` · log p(target) ${formatValue(c.logProbability)}`)))),
    agreementMatrix(stability, names),
    h('table', { class: 'tensors stability-tokens' },
      h('thead', {}, h('tr', {},
        ...['Token', 'Mean ± sd', '|mean|/sd'].map((label) => h('th', { scope: 'col' }, label)),
        ...names.map((name, i) => h('th', { scope: 'col', title: name }, `#${i + 1}`)))),
      h('tbody', {}, ...stability.tokens.map((token, index) => {
        const cell = h('span', { class: 'tok' }, token.text);
        const colour = saliencyColour(saliencyLevel(token.mean, maxAbs));
        if (colour) cell.style.background = colour;
        return h('tr', { class: isNoisy(token) ? 'row noisy' : 'row' },
          h('td', { class: 'mono' }, reveal ? h('a', { href: '#', class: 'source-link', title: 'Show in the editor', onclick: (e: Event) => (e.preventDefault(), reveal(index)) }, cell) : cell),
          h('td', { class: 'num' }, formatScore(token.mean, token.sd)),
          h('td', { class: 'num snr', title: `snr = mean²/sd² = ${token.snr === null ? '∞' : formatValue(token.snr)}` }, formatSnr(token.meanOverSd)),
          ...token.scores.map((s) => h('td', { class: 'num' }, formatValue(s))),
        );
      })),
    ),
  );
}

/** Checkpoint names: the folder or file name, or the full path where two names are the same. */
function checkpointNames(stability: SaliencyStability): string[] {
  const names = stability.checkpoints.map((c) => basename(c.path));
  return names.map((n, i) => (names.indexOf(n) !== names.lastIndexOf(n) ? stability.checkpoints[i]!.path : n));
}

function agreementMatrix(stability: SaliencyStability, names: string[]): HTMLElement {
  const pair = (a: number, b: number) => stability.pairs.find((p) => p.a === Math.min(a, b) && p.b === Math.max(a, b))!;
  const value = (x: number | null) => (x === null ? '—' : x.toFixed(2));
  const rows = names.map((name, a) => h('tr', {},
    h('th', { scope: 'row', class: 'mono', title: stability.checkpoints[a]!.path }, `#${a + 1} ${name}`),
    ...names.map((_, b) => {
      if (a === b) return h('td', { class: 'num muted' }, '—');
      const p = pair(a, b);
      const [label, x] = a < b ? ['Spearman ρ', p.spearman] : ['Kendall τ-b', p.kendall];
      const cell = h('td', { class: 'num agreement', title: `#${a + 1} vs #${b + 1}: ${label} ${x === null ? 'undefined (constant scores)' : x.toFixed(4)}; top-${stability.topK} overlap ${p.topK.toFixed(2)}` }, value(x));
      // The cell's tint: agreement from 0 (none) to 1 (the same order); negative agreement stays untinted.
      if (x !== null && x > 0) cell.style.setProperty('--agreement', String(x));
      return cell;
    }),
  ));
  return h('div', { class: 'agreement-matrix' },
    h('p', { class: 'muted' }, 'Rank agreement of the per-token scores: Spearman ρ above the diagonal, Kendall τ-b below (1 = the same order)'),
    h('table', { class: 'tensors', 'aria-label': 'Rank agreement between checkpoints: Spearman ρ above the diagonal, Kendall τ-b below' },
      h('thead', {}, h('tr', {}, h('td', {}), ...names.map((_, b) => h('th', { scope: 'col' }, `#${b + 1}`)))),
      h('tbody', {}, ...rows),
    ),
    h('p', { class: 'muted agreement-summary' },
      `mean Spearman ρ ${value(stability.rankAgreement)} · Kendall τ-b ${value(stability.kendall)} · top-${stability.topK} overlap ${stability.topKOverlap.toFixed(2)} (of the ${stability.topK} highest-scoring tokens, the share two checkpoints have in common)`),
  );
}
