// The pruned config.json as text: the original file with only the changed values rewritten (and new keys added at
// the end), so numbers keep their spelling (1e-05 stays 1e-05, 10000.0 stays 10000.0) and a diff of the two
// files shows exactly what the plan changes. Anything this cannot splice cleanly falls back to a fresh
// serialization; either way the text parses to the planned config (checked).

/** Top-level entries of a JSON object text: each key with the offsets of its value. */
function topLevelEntries(text: string): { key: string; start: number; end: number }[] | null {
  const entries: { key: string; start: number; end: number }[] = [];
  let depth = 0;
  let key: string | null = null;
  let valueStart = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (depth === 1 && key === null && valueStart < 0) {
        key = JSON.parse(text.slice(start, i + 1)) as string;
      } else if (depth === 1 && valueStart < 0) valueStart = start;
      continue;
    }
    if (/\s/.test(c)) continue;
    if (depth === 1 && key !== null && c === ':') continue;
    if (depth === 1 && (c === ',' || c === '}')) {
      if (key !== null) entries.push({ key, start: valueStart, end: trimEnd(text, i) });
      key = null;
      valueStart = -1;
    } else if (depth === 1 && key !== null && valueStart < 0) valueStart = i;
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return depth === 0 && entries.every((e) => e.start >= 0) ? entries : null;
}

function trimEnd(text: string, end: number): number {
  while (end > 0 && /\s/.test(text[end - 1]!)) end--;
  return end;
}

/** `value` serialized as it would sit at `indent` in a two-space-indented file. */
function serialize(value: unknown, indent: string): string {
  return JSON.stringify(value, null, 2).replace(/\n/g, `\n${indent}`);
}

export function plannedConfigText(original: string, before: Record<string, unknown>, after: Record<string, unknown>): string {
  const fresh = `${JSON.stringify(after, null, 2)}\n`;
  const entries = topLevelEntries(original);
  if (!entries || Object.keys(before).some((k) => !(k in after))) return fresh;
  const indent = /\n([ \t]+)"/.exec(original)?.[1] ?? '  ';
  let text = original;
  // From the end, so earlier offsets stay valid.
  for (const entry of [...entries].reverse()) {
    if (JSON.stringify(before[entry.key]) === JSON.stringify(after[entry.key])) continue;
    text = `${text.slice(0, entry.start)}${serialize(after[entry.key], indent)}${text.slice(entry.end)}`;
  }
  const added = Object.keys(after).filter((k) => !(k in before));
  const last = entries[entries.length - 1];
  if (added.length > 0 && last) {
    const at = topLevelEntries(text)![entries.length - 1]!.end;
    text = `${text.slice(0, at)}${added.map((k) => `,\n${indent}${JSON.stringify(k)}: ${serialize(after[k], indent)}`).join('')}${text.slice(at)}`;
  }
  try {
    return JSON.stringify(JSON.parse(text)) === JSON.stringify(after) || sameEntries(JSON.parse(text), after) ? text : fresh;
  } catch {
    return fresh;
  }
}

/** Equal up to key order (an added key goes last in the text, wherever the planned object has it). */
function sameEntries(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
}
