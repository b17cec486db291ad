// Which JSON key the cursor is on, for hovers on config files. A small tolerant scanner rather than a parser: the
// document is being edited, so it may be unfinished or invalid, and the keys before the cursor still count.
// JSONC comments are skipped (some tools write them into configs).

export type JsonPathSegment = string | number;

export interface KeyAtOffset {
  /** Keys and array indices from the document root to the key, the key last. */
  path: JsonPathSegment[];
  /** The key's string token, quotes included: [start, end) in UTF-16 offsets. */
  start: number;
  end: number;
  /** The offset was on the key's value rather than on the key itself. */
  onValue: boolean;
}

interface Container {
  kind: 'object' | 'array';
  /** The key (object) or index (array) this container sits under in its parent; null at the root. */
  segment: JsonPathSegment | null;
  /** Object: the last key read and where it was; array: the index of the current element. */
  key: { name: string; start: number; end: number } | null;
  index: number;
  expectKey: boolean;
}

/** The key at `offset` (on the key, or on a scalar value of it), or null when the offset is elsewhere. */
export function keyAtOffset(text: string, offset: number): KeyAtOffset | null {
  const stack: Container[] = [];
  const pathOf = (leaf: JsonPathSegment): JsonPathSegment[] => [...stack.map((c) => c.segment).filter((s): s is JsonPathSegment => s !== null), leaf];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    const top = stack[stack.length - 1];
    if (ch === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end + 1;
      continue;
    }
    if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
      continue;
    }
    if (ch === '{' || ch === '[') {
      const segment = top === undefined ? null : top.kind === 'object' ? top.key?.name ?? null : top.index;
      stack.push({ kind: ch === '{' ? 'object' : 'array', segment, key: null, index: 0, expectKey: ch === '{' });
      i++;
      continue;
    }
    if (ch === '}' || ch === ']') {
      stack.pop();
      i++;
      continue;
    }
    if (ch === ',') {
      if (top?.kind === 'object') top.expectKey = true;
      else if (top?.kind === 'array') top.index++;
      i++;
      continue;
    }
    if (ch === ':') {
      if (top?.kind === 'object') top.expectKey = false;
      i++;
      continue;
    }
    if (ch === '"') {
      const end = stringEnd(text, i);
      if (top?.kind === 'object' && top.expectKey) {
        const name = decodeString(text.slice(i, end));
        top.key = { name, start: i, end };
        if (offset >= i && offset < end) return { path: pathOf(name), start: i, end, onValue: false };
      } else if (top?.kind === 'object' && top.key && offset >= i && offset < end) {
        return { path: pathOf(top.key.name), start: top.key.start, end: top.key.end, onValue: true };
      }
      i = end;
      continue;
    }
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    // A bare literal: number, true, false, null (or garbage, read the same way).
    let end = i;
    while (end < text.length && !/[\s,:{}[\]"/]/.test(text[end]!)) end++;
    if (end === i) end++;
    if (top?.kind === 'object' && !top.expectKey && top.key && offset >= i && offset < end) {
      return { path: pathOf(top.key.name), start: top.key.start, end: top.key.end, onValue: true };
    }
    i = end;
  }
  return null;
}

/** The offset just past the closing quote of the string starting at `start` (or the end of the line if unclosed). */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\') i++;
    else if (ch === '"') return i + 1;
    else if (ch === '\n') return i;
  }
  return text.length;
}

function decodeString(token: string): string {
  try {
    return JSON.parse(token.endsWith('"') && token.length > 1 ? token : `${token}"`) as string;
  } catch {
    return token.replace(/^"|"$/g, '');
  }
}
