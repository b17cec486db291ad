// Where a top-level key of a JSON config is written, so a view can open config.json on `num_hidden_layers` rather
// than at its first line. A scan that tracks strings and nesting depth, not a parser: the file may be hand-edited,
// and a nested config (text_config.num_hidden_layers) must not be taken for the top-level key.

/** UTF-16 offsets [start, end) of the key's string token, quotes included; null when the key is not at depth 1. */
export function topLevelKeyRange(text: string, key: string): { start: number; end: number } | null {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (depth !== 1) continue;
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j]!)) j++;
      if (text[j] !== ':') continue;
      let name: unknown;
      try {
        name = JSON.parse(text.slice(start, i + 1));
      } catch {
        continue;
      }
      if (name === key) return { start, end: i + 1 };
    }
  }
  return null;
}
