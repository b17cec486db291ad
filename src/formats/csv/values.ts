// Field values straight from bytes: numbers, missing-value markers and dates, without making a string for the
// common case (a plain decimal number), which is what keeps numeric columns fast.

/** pandas' default na_values, so "missing" means the same here as in a pandas script. */
export const MISSING_TOKENS = new Set(['', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null']);
const MAX_MISSING_TOKEN = 9;

/** Exact powers of ten: with ≤ 15 significant digits and |exponent| ≤ 22 one multiply or divide is correctly
 * rounded (Clinger's fast path), so these numbers equal what Number() gives. */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/** NaN marks "not a number"; callers check missing first. */
export function parseNumber(buf: Buffer, start: number, end: number): number {
  // Trim spaces (pandas accepts " 1.5").
  while (start < end && buf[start] === 0x20) start++;
  while (end > start && buf[end - 1] === 0x20) end--;
  if (start === end) return NaN;
  let i = start;
  let negative = false;
  if (buf[i] === 0x2d) { negative = true; i++; } else if (buf[i] === 0x2b) i++;
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  let any = false;
  while (i < end) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) break;
    if (digits > 0 || d > 0) digits++;
    mantissa = mantissa * 10 + d;
    any = true;
    i++;
  }
  if (i < end && buf[i] === 0x2e) {
    i++;
    while (i < end) {
      const d = buf[i]! - 0x30;
      if (d < 0 || d > 9) break;
      if (digits > 0 || d > 0) digits++;
      mantissa = mantissa * 10 + d;
      scale--;
      any = true;
      i++;
    }
  }
  if (!any) return slowNumber(buf, start, end);
  if (i < end && (buf[i] === 0x65 || buf[i] === 0x45)) {
    i++;
    let expNegative = false;
    if (buf[i] === 0x2d) { expNegative = true; i++; } else if (buf[i] === 0x2b) i++;
    let exponent = 0;
    let expDigits = 0;
    while (i < end) {
      const d = buf[i]! - 0x30;
      if (d < 0 || d > 9) break;
      exponent = exponent * 10 + d;
      expDigits++;
      i++;
      if (exponent > 100000) return slowNumber(buf, start, end);
    }
    if (expDigits === 0) return NaN;
    scale += expNegative ? -exponent : exponent;
  }
  if (i !== end) return slowNumber(buf, start, end);
  if (digits > 15 || scale < -22 || scale > 22) return Number(buf.toString('latin1', start, end));
  const value = scale < 0 ? mantissa / POW10[-scale]! : mantissa * POW10[scale]!;
  return negative ? -value : value;
}

/** Forms the fast path does not take: "inf", "1_000" (refused), hex (refused). Only what pandas reads as a float. */
function slowNumber(buf: Buffer, start: number, end: number): number {
  const text = buf.toString('latin1', start, end).toLowerCase();
  if (text === 'inf' || text === '+inf' || text === 'infinity' || text === '+infinity') return Infinity;
  if (text === '-inf' || text === '-infinity') return -Infinity;
  return NaN;
}

/** Whether the field is one of the missing markers. Cheap: only short fields are compared. */
export function isMissing(buf: Buffer, start: number, end: number): boolean {
  const length = end - start;
  if (length === 0) return true;
  if (length > MAX_MISSING_TOKEN) return false;
  const first = buf[start]!;
  // Every marker starts with one of # - 1 < N n: skip the string for everything else (digits 2–9, ".", letters).
  if (first !== 0x23 && first !== 0x2d && first !== 0x31 && first !== 0x3c && first !== 0x4e && first !== 0x6e) return false;
  return MISSING_TOKENS.has(buf.toString('latin1', start, end));
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const SLASH_DATE = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/;

/** Milliseconds since the epoch for ISO 8601 dates (and m/d/yyyy), NaN for anything else. */
export function parseDate(text: string): number {
  if (ISO_DATE.test(text)) return Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
  const slash = SLASH_DATE.exec(text);
  if (slash) return Date.UTC(Number(slash[3]), Number(slash[1]) - 1, Number(slash[2]));
  return NaN;
}
