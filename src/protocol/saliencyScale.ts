// The diverging colour scale of token saliency, shared by the editor decorations and the saliency view so a token
// has the same colour in both. Orange = supports the prediction, blue = against (readable with the common colour
// vision deficiencies); translucent, so the text stays legible on light and dark themes. Pure: the webview imports it.
import type { SaliencyMethod, SaliencyResult, SaliencyToken } from './results';
import { SALIENCY_METHOD_INFO } from './saliencyMethods';

/**
 * −3..3: sign = direction, magnitude = strength relative to the largest |score| of the result; 0 = negligible.
 * The steps grow about fivefold, not linearly: one dominant token would otherwise leave every other one blank.
 */
export type SaliencyLevel = -3 | -2 | -1 | 0 | 1 | 2 | 3;

export const SALIENCY_LEVELS: readonly SaliencyLevel[] = [-3, -2, -1, 0, 1, 2, 3];

const ALPHA = [0, 0.22, 0.42, 0.66];
/** Smallest |score|/max of levels 1, 2, 3. */
export const SALIENCY_STEPS = [0.03, 0.15, 0.5] as const;
const SUPPORTS = '230, 97, 1';
const AGAINST = '33, 113, 181';

export function saliencyLevel(score: number, maxAbs: number): SaliencyLevel {
  if (!(maxAbs > 0) || !Number.isFinite(score)) return 0;
  const t = Math.abs(score) / maxAbs;
  const magnitude = t < SALIENCY_STEPS[0] ? 0 : t < SALIENCY_STEPS[1] ? 1 : t < SALIENCY_STEPS[2] ? 2 : 3;
  return (magnitude === 0 ? 0 : Math.sign(score) * magnitude) as SaliencyLevel;
}

/** The background of a level; null for 0 (no colour). */
export function saliencyColour(level: SaliencyLevel): string | null {
  if (level === 0) return null;
  return `rgba(${level > 0 ? SUPPORTS : AGAINST}, ${ALPHA[Math.abs(level)]})`;
}

/** The largest |score| of a result's tokens: the scale's end. */
export function saliencyRange(tokens: readonly { score: number }[]): number {
  return tokens.reduce((max, t) => (Number.isFinite(t.score) ? Math.max(max, Math.abs(t.score)) : max), 0);
}

export function formatScore(score: number, sd: number): string {
  const digits = (x: number) => (x === 0 ? '0' : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(2) : x.toPrecision(3));
  return `${score > 0 ? '+' : ''}${digits(score)} ± ${digits(sd)}`;
}

export function saliencyMethodName(method: SaliencyMethod): string {
  return SALIENCY_METHOD_INFO[method].name;
}

/** The tokens to colour, in the editor and the panel alike: the result's own, or with checkpoints compared, each token's mean ± sd over them. */
export function shownTokens(result: SaliencyResult): SaliencyToken[] {
  return result.stability ? result.stability.tokens.map((t) => ({ text: t.text, start: t.start, end: t.end, score: t.mean, sd: t.sd })) : result.tokens;
}
