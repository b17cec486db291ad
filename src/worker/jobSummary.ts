// One-line summaries of a job for the output channel and the status bar: the request's options (long strings cut,
// so an inline text does not flood the log), the size of the result as the lengths of its lists, and the device a
// running job is expected on.
import { parseProviders, providersWorthProbing } from '../compute/session';
import type { AnalysisRequest, AnalysisResult } from '../protocol/worker';

const LONGEST_STRING = 80;

/** The request as JSON, strings longer than LONGEST_STRING characters cut with their length noted. */
export function requestSummary(request: AnalysisRequest): string {
  return JSON.stringify(request, (_key, value: unknown) =>
    typeof value === 'string' && value.length > LONGEST_STRING ? `${value.slice(0, LONGEST_STRING)}… (${value.length} chars)` : value,
  );
}

/**
 * "tensors 39, layers 4": the non-empty lists in the result and their lengths; a result without lists (perplexity)
 * gives its numbers instead.
 */
export function resultSize(result: AnalysisResult): string {
  const entries = Object.entries(result.result as object);
  const lists = entries
    .filter((entry): entry is [string, unknown[]] => Array.isArray(entry[1]) && entry[1].length > 0)
    .map(([name, list]) => `${name} ${list.length.toLocaleString('en-US')}`);
  if (lists.length > 0) return lists.join(', ');
  const numbers = entries.filter(([, value]) => typeof value === 'number').map(([name, value]) => `${name} ${Number((value as number).toPrecision(6))}`);
  return numbers.length > 0 ? numbers.join(', ') : 'empty';
}

/** The execution providers a request names, as a key; null for a request that names none. */
export function providerKey(request: AnalysisRequest): string | null {
  return 'providers' in request && request.providers !== undefined ? request.providers.join(',') : null;
}

/**
 * Where a running request will compute, before its result says: where the last request with the same providers ran
 * (the analysis process keeps its provider choice per order), else the first of its providers that can start on
 * this machine — `sure` only for cpu, since a GPU provider can still fail its probe. Null for requests that name
 * no providers (header reads, CPU-only analyses).
 */
export function expectedDevice(request: AnalysisRequest, seen: ReadonlyMap<string, string>): { device: string; sure: boolean } | null {
  const key = providerKey(request);
  if (key === null) return null;
  const known = seen.get(key);
  if (known !== undefined) return { device: known, sure: true };
  try {
    const first = providersWorthProbing(parseProviders(key)).worth[0];
    return first === undefined ? null : { device: first, sure: first === 'cpu' };
  } catch {
    return null; // a provider name the compute layer does not know: the analysis will say so
  }
}

/**
 * The output channel's line for each step of a job. The TextMate grammar syntaxes/importance-lens-log.json colours
 * exactly these shapes (test/unit/logGrammar.test.ts keeps the two in step).
 */
export const jobLogLine = {
  started: (id: number, what: string, summary: string): string => `job ${id} started: ${what} · ${summary}`,
  finished: (id: number, wallMs: number, device: string, size: string): string => `job ${id} finished in ${seconds(wallMs)} on ${device}: ${size}`,
  cancelled: (id: number, wallMs: number): string => `job ${id} cancelled after ${seconds(wallMs)}`,
  failed: (id: number, wallMs: number, message: string): string => `job ${id} failed after ${seconds(wallMs)}: ${message}`,
};

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
