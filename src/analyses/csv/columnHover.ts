// The Markdown of the hover on a CSV header cell: the column's profile (type, missing, distinct, range, mean) and,
// once column importance has run on the file, where the column ranks against that target.
import type { CsvColumnsResult, CsvInspectResult } from '../../protocol/csv';
import { formatPercent, formatValue } from '../../protocol/units';

/** Column names come from the file: escape everything Markdown would read as markup (and table pipes). */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

export function columnHoverMarkdown(profile: CsvInspectResult, column: number, importance: CsvColumnsResult | undefined): string {
  const c = profile.columns[column];
  if (!c) return '';
  const share = profile.rows > 0 ? c.missing / profile.rows : 0;
  const lines = [
    `**${escapeMarkdown(c.name)}** — column ${column + 1} of ${profile.columns.length} · ${c.type}`,
    '',
    '| | |',
    '|---|---:|',
    `| missing | ${c.missing} of ${profile.rows} (${formatPercent(share)}) |`,
    `| distinct | ${c.distinct === null ? 'many' : c.distinct} |`,
  ];
  if (c.min !== null && c.max !== null) lines.push(`| min … max | ${formatValue(c.min)} … ${formatValue(c.max)} |`);
  if (c.mean !== null) lines.push(`| mean | ${formatValue(c.mean)} |`);
  lines.push('', importanceLine(c.name, importance));
  return lines.join('\n');
}

function importanceLine(name: string, result: CsvColumnsResult | undefined): string {
  if (!result) return '_Importance: run **Analyze CSV Importance** on this file._';
  const target = `\`${result.target.replace(/`/g, "'")}\``;
  if (result.target === name) return `Target of the last column importance (${result.task}).`;
  const skipped = result.skipped.find((s) => s.name === name);
  if (skipped) return `Not scored against ${target}: ${escapeMarkdown(skipped.reason)}.`;
  const scored = result.columns.find((s) => s.name === name);
  if (!scored) return `Not scored against ${target}.`;
  const metric = result.model?.metric === 'r2' ? 'R²' : 'accuracy';
  const permutation = scored.permutation ? ` · permutation ${formatValue(scored.permutation.mean)} ± ${formatValue(scored.permutation.sd)} (drop in ${metric})` : '';
  return `**Importance vs ${target}: rank ${scored.rank} of ${result.columns.length}** · mutual information ${formatValue(scored.mutualInformation)} nats${permutation}`;
}
