// Number formatting for measured values lives in protocol/units.ts, shared with the editor's hovers.
export { formatPercent, formatValue } from '../src/protocol/units';
