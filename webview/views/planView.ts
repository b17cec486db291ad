// A pruning plan on paper: what it removes and what that saves (parameters and bytes, before → after), every
// removed layer, KV group, query head or expert with its score and rank (one row per block for MLP channels), each linked to where it is defined (the
// config key, the tensor's checkpoint, the modeling_*.py class), and the latest verification and apply of the plan.
import type { ApplyOutcome, PlanLinkTarget, PlanPanelCommand, PlanPanelView, PlanRow } from '../../src/protocol/plan';
import type { PlanAction } from '../../src/protocol/pruneplan';
import { formatBytes, formatCount, formatPercent, formatValue } from '../../src/protocol/units';
import { basename, h } from '../dom';

export interface PlanActions {
  command?: (command: PlanPanelCommand) => void;
  open?: (row: number, target: PlanLinkTarget) => void;
}

export function planView(view: PlanPanelView, actions: PlanActions): HTMLElement {
  return h('main', { class: 'plan' },
    header(view, actions),
    h('section', { 'aria-labelledby': 'plan-rows-title' },
      h('h2', { id: 'plan-rows-title' }, 'Before → after ', h('span', { class: 'muted small' }, `${plural(view.rows.filter((r) => r.removed || r.kind === 'sparsity').length, 'part')} changed; scores by ${view.metric}, rank 1 = most important`)),
      rowTable(view, actions),
    ),
    view.verified ? appliedSection(view.verified) : null,
    view.applied ? appliedSection(view.applied) : null,
    view.notes.length > 0 ? h('section', {}, h('h2', {}, 'Notes'), h('ul', { class: 'notes' }, ...view.notes.map((n) => h('li', {}, n)))) : null,
  );
}

function header(view: PlanPanelView, actions: PlanActions): HTMLElement {
  const p = view.predicted;
  const fields: [string, string, string][] = [
    ['parameters', `${formatCount(p.parameters.before)} → ${formatCount(p.parameters.after)}`, `${p.parameters.before} → ${p.parameters.after} (predicted from the headers)`],
    ['size', `${formatBytes(p.bytes.before)} → ${formatBytes(p.bytes.after)}`, 'Tensor data bytes; sparsity stores its zeros, so it does not shrink the files'],
    ['layers', `${p.layers.before} → ${p.layers.after}`, 'Blocks before and after'],
    ...(p.zeroed > 0 ? [['zeroed', formatCount(p.zeroed), 'Weights sparsity sets to zero (still stored)'] as [string, string, string]] : []),
    ['config.json', view.configChanges.length > 0 ? view.configChanges.join(', ') : 'unchanged', 'Keys the plan changes'],
  ];
  const button = (command: PlanPanelCommand, label: string, primary = false) =>
    h('vscode-button', { class: `plan-${command}`, appearance: primary ? 'primary' : 'secondary', onclick: () => actions.command?.(command) }, label);
  return h('header', {},
    h('h1', {}, view.file),
    h('p', { class: 'muted' }, view.actions.map(describeAction).join('; ')),
    ...view.alternatives.map((a) => h('p', { class: 'muted small', title: 'Paste these layers into the action to use this choice instead' },
      `alternative: ${a.selection} ${a.layers.join(', ')} (score sum ${formatValue(a.scoreSum)}${a.angularDistance === null ? '' : `, angular distance ${formatValue(a.angularDistance)}`})`)),
    h('p', { class: 'muted mono' }, `model ${view.model}${view.textFile ? ` · text ${basename(view.textFile)}` : ''}`),
    h('dl', { class: 'arch-grid totals' }, ...fields.map(([label, value, title]) => h('div', { title }, h('dt', {}, label), h('dd', {}, value)))),
    actions.command ? h('div', { class: 'table-tools plan-buttons' }, button('preview', 'Preview diff', true), button('apply', 'Apply…'), button('verify', 'Verify')) : null,
  );
}

function describeAction(action: PlanAction): string {
  const count = (perLayer: Record<string, number[]>) => Object.values(perLayer)[0]?.length ?? 0;
  switch (action.type) {
    case 'drop-layers': return `drop block${action.layers.length === 1 ? '' : 's'} ${action.layers.join(', ')} (${action.selection})`;
    case 'sparsity': return `sparsity ${Math.round(action.target * 100)}% by ${action.metric} (${action.allocation.method})`;
    case 'drop-heads': return action.queryHeads ? `drop ${plural(count(action.queryHeads), 'query head')} per block` : `drop ${plural(count(action.kvGroups), 'KV group')} per block`;
    case 'drop-experts': return `drop ${plural(count(action.experts), 'expert')} per MoE block`;
    case 'drop-mlp-channels': return `drop ${plural(count(action.channels), 'MLP channel')} per block`;
  }
}

const KIND_NAMES: Record<PlanRow['kind'], string> = { layer: 'block', 'kv-group': 'KV group', 'query-head': 'query head', expert: 'expert', sparsity: 'block', 'mlp-channels': 'MLP of block' };

function rowTable(view: PlanPanelView, actions: PlanActions): HTMLElement {
  const link = (row: number, target: PlanLinkTarget, label: string, title: string) => actions.open
    ? h('a', { href: '#', class: 'source-link', title, onclick: (e: Event) => (e.preventDefault(), actions.open!(row, target)) }, label)
    : h('span', {}, label);
  const body = view.rows.map((row, i) => {
    const part = row.index === null ? `${KIND_NAMES[row.kind]} ${row.layer}` : `block ${row.layer} · ${KIND_NAMES[row.kind]} ${row.index}`;
    const after = row.kind === 'sparsity' ? `${formatValue(row.ratio)} zeroed` : row.channels ? `${row.channels.dropped} of ${row.channels.width} channels removed` : row.removed ? 'removed' : `block ${row.after}`;
    return h('tr', { class: `row${row.removed ? ' removed' : ''}` },
      h('td', {}, part),
      h('td', row.channels ? { title: `${formatPercent(row.ratio)} of the block's MLP width: intermediate channels ${row.channels.width} → ${row.channels.width - row.channels.dropped}` } : {}, after),
      ...(row.channels ? channelScore(row.channels) : [
        h('td', { class: 'num' }, formatValue(row.score)),
        h('td', { class: 'num' }, row.rank === null ? '—' : `#${row.rank}`),
      ]),
      h('td', { class: 'links' }, ...[
        row.links.config && row.configKey ? link(i, 'config', row.configKey, `Open config.json at "${row.configKey}"`) : null,
        row.links.tensor && row.tensor ? link(i, 'tensor', tensorLabel(row), `Open ${basename(row.tensor.file)}, which holds ${row.tensor.name}`) : null,
        row.links.modeling ? link(i, 'modeling', row.links.modeling, `Open the definition of ${row.links.modeling}`) : null,
      ].filter((a) => a !== null).flatMap((a, k) => (k === 0 ? [a] : [' ', a]))),
    );
  });
  return h('div', { class: 'plan-rows-scroll' }, h('table', { class: 'tensors plan-rows' },
    h('thead', {}, h('tr', {}, ...['Before', 'After', 'Score', 'Rank', 'Source'].map((label) => h('th', { scope: 'col' }, label)))),
    h('tbody', {}, ...body),
  ));
}

/** A block's dropped MLP channels: the span of their scores and ranks (lowest–highest), one row standing for all of them. */
function channelScore(c: NonNullable<PlanRow['channels']>): HTMLElement[] {
  if (!c.score || !c.rank) {
    const why = 'metric.scores does not list every dropped channel of this block';
    return [h('td', { class: 'num', title: why }, '—'), h('td', { class: 'num', title: why }, '—')];
  }
  const span = (a: string, b: string) => (a === b ? a : `${a}–${b}`);
  return [
    h('td', { class: 'num', title: `Scores of the ${c.dropped} dropped channels, lowest–highest` }, span(formatValue(c.score[0]), formatValue(c.score[1]))),
    h('td', { class: 'num', title: `Ranks of the ${c.dropped} dropped channels among all channels of the model, most important–least` }, span(`#${c.rank[0]}`, `#${c.rank[1]}`)),
  ];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * A block row stands for all the block's tensors (`model.layers.1.*`), an MLP-channels row for its MLP's
 * (`model.layers.1.mlp.*`: gate/up rows and down_proj columns); other rows name their tensor.
 */
function tensorLabel(row: PlanRow): string {
  const name = row.tensor!.name;
  const keep = row.kind === 'layer' || row.kind === 'sparsity' ? 1 : row.kind === 'mlp-channels' ? 2 : 0;
  const parts = name.split('.');
  const at = parts.indexOf(String(row.layer));
  return keep > 0 && at >= 0 && at + keep < parts.length ? `${parts.slice(0, at + keep).join('.')}.*` : name;
}

function appliedSection(a: ApplyOutcome): HTMLElement {
  const v = a.verification;
  const fields: [string, string][] = [
    ...(v ? [['perplexity', `${v.perplexity.before.toFixed(3)} → ${v.perplexity.after.toFixed(3)}`], ['on', `${basename(v.textFile)} · ${v.tokens} tokens · ${v.device}`]] as [string, string][] : []),
    ['parameters', `${formatCount(a.parameters.before)} → ${formatCount(a.parameters.after)}`],
    ['size', `${formatBytes(a.bytes.before)} → ${formatBytes(a.bytes.after)}`],
    ['layers', `${a.layers.before} → ${a.layers.after}`],
  ];
  const id = a.kept ? 'plan-applied-title' : 'plan-verified-title';
  return h('section', { class: a.kept ? 'plan-applied' : 'plan-applied plan-verified', 'aria-labelledby': id },
    h('h2', { id }, v ? 'Verified ' : 'Applied ', h('span', { class: 'muted small' }, a.kept ? `written to ${a.out}` : a.out === '' ? 'run on the source model in memory; nothing written' : 'applied to a scratch folder, measured and removed')),
    h('dl', { class: 'arch-grid' }, ...fields.map(([label, value]) => h('div', {}, h('dt', {}, label), h('dd', {}, value)))),
    a.warnings.length > 0 ? h('ul', { class: 'warnings' }, ...a.warnings.map((w) => h('li', {}, w))) : null,
  );
}
