// The plan panel: one per plan file. It shows the plan on paper (the preview the analysis process computes), links
// each row to its source — config.json at the key, the checkpoint holding the tensor (its custom editor), the
// modeling_*.py class when the workspace has one — and runs Preview diff, Apply and Verify. It follows the file:
// saved edits are previewed again, and the latest verification and apply of this plan are shown.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { errorMessage } from '../../errors';
import type { ApplyOutcome, PlanPanelView, PlanPreview, PlanRow, PlanRowLinks } from '../../protocol/plan';
import type { PlanPanelFromView, PlanPanelToView } from '../../protocol/panels/plan';
import { showPanel } from '../shared/panel';
import { applyPlanFile, onDidApplyPlan, verifyPlanFile } from './planApply';
import { computePreview, previewDiff } from './planPreview';
import { onWebviewMessage } from '../shared/sessionJob';

export const PLAN_VIEW_TYPE = 'importanceLens.plan';

/** Beside the plan's editor, which keeps the focus. */
export function showPlanPanel(extensionUri: vscode.Uri, plan: vscode.Uri): vscode.WebviewPanel {
  return showPanel(extensionUri, {
    viewType: PLAN_VIEW_TYPE,
    key: plan.fsPath,
    title: `Plan: ${basename(plan.fsPath)}`,
    attach: (webview) => attachPlanSession(webview, plan),
    column: { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
  });
}

interface Definition {
  uri: vscode.Uri;
  line: number;
  name: string;
}

function attachPlanSession(webview: vscode.Webview, plan: vscode.Uri): vscode.Disposable {
  const title = `Plan ${basename(plan.fsPath)}`;
  let preview: PlanPreview | undefined;
  let definitions = new Map<PlanRow['kind'], Definition>();
  let applied: ApplyOutcome | null = null;
  let verified: ApplyOutcome | null = null;
  let controller: AbortController | undefined;
  const post = (message: PlanPanelToView) => void webview.postMessage(message);

  const show = () => {
    if (!preview) return;
    const links = (row: PlanRow): PlanRowLinks => ({ config: row.configKey !== null && keyLine(preview!.config.before, row.configKey) !== null, tensor: row.tensor !== null, modeling: definitions.get(row.kind)?.name ?? null });
    const p = preview.plan;
    const view: PlanPanelView = {
      file: basename(plan.fsPath), model: preview.model, metric: p.metric.name, textFile: p.metric.text?.file ?? null, actions: p.actions, alternatives: p.alternatives,
      predicted: p.predicted, configChanges: describeConfigChanges(preview), rows: preview.rows.map((row) => ({ ...row, links: links(row) })), notes: p.notes, verified, applied,
    };
    post({ type: 'planView', view });
  };
  const load = async () => {
    controller?.abort();
    const current = new AbortController();
    controller = current;
    post({ type: 'progress', title, progress: { message: 'Checking the plan against its checkpoint' } });
    try {
      const result = await computePreview(plan.fsPath, current.signal);
      definitions = await findDefinitions(result.plan.model.family);
      if (controller !== current) return;
      preview = result;
      show();
    } catch (error) {
      if (controller === current) post({ type: 'error', title: `Cannot show ${basename(plan.fsPath)}`, message: errorMessage(error) });
    }
  };

  const open = async (index: number, target: keyof PlanRowLinks) => {
    const row = preview?.rows[index];
    if (!preview || !row) return;
    if (target === 'config' && row.configKey) {
      const line = keyLine(preview.config.before, row.configKey) ?? 0;
      await vscode.window.showTextDocument(vscode.Uri.file(preview.configPath), { selection: new vscode.Range(line, 0, line, 0), viewColumn: vscode.ViewColumn.One });
    } else if (target === 'tensor' && row.tensor) {
      await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(row.tensor.file), 'importanceLens.checkpoint', vscode.ViewColumn.One);
    } else if (target === 'modeling') {
      const definition = definitions.get(row.kind);
      if (definition) await vscode.window.showTextDocument(definition.uri, { selection: new vscode.Range(definition.line, 0, definition.line, 0), viewColumn: vscode.ViewColumn.One });
    }
  };

  return vscode.Disposable.from(
    onWebviewMessage<PlanPanelFromView>(webview, {
      ready: () => void load(),
      retry: () => void load(),
      cancel: () => controller?.abort(),
      planOpenSource: (m) => void open(m.row, m.target),
      planCommand: (m) => void (m.command === 'preview' ? previewDiff(plan.fsPath) : m.command === 'apply' ? applyPlanFile(plan) : verifyPlanFile(plan)),
    }),
    onDidApplyPlan((event) => {
      if (event.plan !== plan.fsPath) return;
      if (event.outcome.kept) applied = event.outcome;
      else verified = event.outcome;
      show();
    }),
    vscode.workspace.onDidSaveTextDocument((document) => {
      if (document.uri.fsPath === plan.fsPath) void load();
    }),
    { dispose: () => controller?.abort() },
  );
}

/** Each changed key with its values before → after where both are numbers or strings (`intermediate_size 352 → 264`); a list or object by its key alone. */
function describeConfigChanges(preview: PlanPreview): string[] {
  const parse = (text: string): Record<string, unknown> => {
    try {
      const value: unknown = JSON.parse(text);
      return typeof value === 'object' && value !== null ? value as Record<string, unknown> : {};
    } catch {
      return {};
    }
  };
  const [before, after] = [parse(preview.config.before), parse(preview.config.after)];
  const scalar = (v: unknown) => typeof v === 'number' || typeof v === 'string';
  return preview.configChanges.map((key) => (scalar(before[key]) && scalar(after[key]) ? `${key} ${String(before[key])} → ${String(after[key])}` : key));
}

/** 0-based line of a top-level key in config.json (plans refuse nested text_config, so the key is written once). */
function keyLine(text: string, key: string): number | null {
  const match = new RegExp(`^\\s*"${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"\\s*:`, 'm').exec(text);
  return match ? text.slice(0, match.index).split('\n').length - 1 : null;
}

/** Classes that define each kind of row, by the names transformers gives them. */
const CLASSES: Record<PlanRow['kind'], RegExp> = {
  layer: /^class (\w*(?:DecoderLayer|Block))\b/m,
  sparsity: /^class (\w*(?:DecoderLayer|Block))\b/m,
  'kv-group': /^class (\w*Attention)\b/m,
  'query-head': /^class (\w*Attention)\b/m,
  expert: /^class (\w*(?:SparseMoeBlock|MoE|Moe\w*Block))\b/m,
  'mlp-channels': /^class (\w*(?:MLP|Mlp))\b/m,
};

/** The modeling_*.py classes in the workspace, the model family's own file first. */
async function findDefinitions(family: string): Promise<Map<PlanRow['kind'], Definition>> {
  const found = new Map<PlanRow['kind'], Definition>();
  const files = await vscode.workspace.findFiles('**/modeling_*.py', '**/node_modules/**', 50);
  files.sort((a, b) => Number(basename(b.fsPath) === `modeling_${family}.py`) - Number(basename(a.fsPath) === `modeling_${family}.py`));
  for (const uri of files) {
    const text = await readFile(uri.fsPath, 'utf8').catch(() => '');
    for (const [kind, pattern] of Object.entries(CLASSES) as [PlanRow['kind'], RegExp][]) {
      const match = found.has(kind) ? null : pattern.exec(text);
      if (match) found.set(kind, { uri, line: text.slice(0, match.index).split('\n').length - 1, name: match[1]! });
    }
  }
  return found;
}
