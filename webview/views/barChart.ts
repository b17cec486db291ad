// Horizontal SVG bars, one row per item (layer, module kind, dtype), with the exact numbers in each row's tooltip.
import { svg } from '../dom';

export interface Bar {
  label: string;
  /** Bar length, scaled to the largest value; null draws no bar. */
  value: number | null;
  /** Text after the bar. */
  valueText: string;
  /** Tooltip. */
  title: string;
  /** Rows outside any block are drawn in another colour. */
  other?: boolean;
}

export function barChart(bars: Bar[], ariaLabel: string, size: { labelWidth?: number; barWidth?: number } = {}): SVGElement {
  const rowHeight = 20;
  const labelWidth = size.labelWidth ?? 110;
  const barWidth = size.barWidth ?? 360;
  const max = Math.max(...bars.map((b) => b.value ?? 0), 1e-12);
  return svg('svg', { class: 'bars', width: labelWidth + barWidth + 170, height: bars.length * rowHeight, role: 'img', 'aria-label': ariaLabel },
    ...bars.map((bar, i) => {
      const y = i * rowHeight;
      const width = bar.value === null ? 0 : Math.max(1, (Math.max(bar.value, 0) / max) * barWidth);
      return svg('g', {},
        svg('title', {}, bar.title),
        svg('text', { x: labelWidth - 8, y: y + 14, 'text-anchor': 'end', class: 'bar-label' }, bar.label),
        bar.value === null ? null : svg('rect', { x: labelWidth, y: y + 4, width, height: rowHeight - 8, rx: 2, class: bar.other ? 'bar other' : 'bar' }),
        svg('text', { x: labelWidth + width + 6, y: y + 14, class: 'bar-value' }, bar.valueText),
      );
    }),
  );
}
