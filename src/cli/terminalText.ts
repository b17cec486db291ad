// Text from files (tensor names, metadata, CSV headers, paths, error messages quoting them) reaches a terminal when
// the CLI prints it. A name holding ESC [ 31 m, or OSC ... BEL, would recolour or retitle the user's terminal, or
// hide text; a C1 CSI (U+009B) does the same on terminals that honour it. Everything printed in text mode and every
// stderr line goes through here, so such characters show as visible escapes instead of acting.

/** C0 controls but newline, DEL, C1 controls, and the bidirectional overrides that reorder what is shown. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
/** In a JSON document JSON.stringify has already escaped C0; C1 and DEL stay raw, and bidi overrides reorder. */
const RAW_IN_JSON = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const hex = (char: string, width: number) => char.charCodeAt(0).toString(16).padStart(width, '0');

/** `text` with its control characters as visible escapes (ESC as \x1b, U+202E as \u202e); newlines kept. */
export function escapeControls(text: string): string {
  return text.replace(CONTROL, (char) => (char.charCodeAt(0) <= 0xff ? `\\x${hex(char, 2)}` : `\\u${hex(char, 4)}`));
}

/** A JSON document with the controls JSON.stringify leaves raw written as \u escapes: it parses to the same values. */
export function escapeControlsInJson(json: string): string {
  return json.replace(RAW_IN_JSON, (char) => `\\u${hex(char, 4)}`);
}

/** One stderr line: line breaks folded to spaces, controls escaped. */
export function terminalLine(message: string): string {
  return escapeControls(message.replace(/\s*[\r\n]+\s*/g, ' '));
}

/** Aligned columns of text cells; each cell escaped before it is measured, so control characters keep alignment. */
export function table(cells: string[][]): string {
  const rows = cells.map((row) => row.map(escapeControls));
  // A loop, not Math.max(...column): a spread of 120 000+ rows overflows the call stack.
  const widths = rows[0]!.map((_, col) => rows.reduce((widest, row) => Math.max(widest, row[col]!.length), 0));
  return rows.map((row) => row.map((cell, col) => cell.padEnd(widths[col]!)).join('  ').trimEnd()).join('\n');
}
