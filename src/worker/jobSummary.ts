// One-line summaries of a job for the output channel: the request's options (long strings cut, so an inline text
// does not flood the log) and the size of the result as the lengths of its lists.
import type { AnalysisRequest, AnalysisResult } from '../protocol/worker';

const LONGEST_STRING = 80;

/** The request as JSON, strings longer than LONGEST_STRING characters cut with their length noted. */
export function requestSummary(request: AnalysisRequest): string {
  return JSON.stringify(request, (_key, value: unknown) =>
    typeof value === 'string' && value.length > LONGEST_STRING ? `${value.slice(0, LONGEST_STRING)}… (${value.length} chars)` : value,
  );
}

/**
 * "39 tensors, 4 layers": the non-empty lists in the result and their lengths; a result without lists (perplexity)
 * gives its numbers instead.
 */
export function resultSize(result: AnalysisResult): string {
  const entries = Object.entries(result.result as object);
  const lists = entries
    .filter((entry): entry is [string, unknown[]] => Array.isArray(entry[1]) && entry[1].length > 0)
    .map(([name, list]) => `${list.length.toLocaleString('en-US')} ${name}`);
  if (lists.length > 0) return lists.join(', ');
  const numbers = entries.filter(([, value]) => typeof value === 'number').map(([name, value]) => `${name} ${Number((value as number).toPrecision(6))}`);
  return numbers.length > 0 ? numbers.join(', ') : 'empty';
}
