// Pruning plans in the editor: "Plan Pruning" writes a plan next to its model and opens it with its panel; on a plan
// file, CodeLens and commands preview it as diffs, show its panel, apply it to a new folder and verify it.
import * as vscode from 'vscode';
import type { PlanKind } from '../protocol/plan';
import { applyPlanFile, planApplyEvents, verifyPlanFile } from './planApply';
import * as planLens from './planLens';
import { showPlanPanel } from './planPanel';
import * as planPreview from './planPreview';
import { planPruning, type PlanPruningArgs } from './planPruning';

export function register(context: vscode.ExtensionContext): void {
  const { extensionUri } = context;
  planPreview.register(context);
  planLens.register(context);
  const onPlan = <T>(run: (plan: vscode.Uri) => Promise<T>) => async (arg?: unknown) => {
    const plan = await planLens.planTarget(arg);
    return plan ? run(plan) : undefined;
  };
  context.subscriptions.push(
    planApplyEvents,
    vscode.commands.registerCommand('importanceLens.previewPlan', onPlan((plan) => planPreview.previewDiff(plan.fsPath))),
    // A script may name the output folder (second argument) and skip the box that asks for it.
    vscode.commands.registerCommand('importanceLens.applyPlan', (arg?: unknown, out?: unknown) => onPlan((plan) => applyPlanFile(plan, typeof out === 'string' ? out : undefined))(arg)),
    vscode.commands.registerCommand('importanceLens.verifyPlan', onPlan((plan) => verifyPlanFile(plan))),
    vscode.commands.registerCommand('importanceLens.showPlan', onPlan(async (plan) => showPlanPanel(extensionUri, plan))),
    // From the explorer (a folder, config.json or weights), the config.json CodeLens (a Uri), the palette (nothing)
    // or a script ({model, kind, metric, amount}).
    vscode.commands.registerCommand('importanceLens.planPruning', (target?: unknown) =>
      target instanceof vscode.Uri ? planPruning(extensionUri, target) : planPruning(extensionUri, undefined, parseArgs(target))),
  );
}

const KINDS: readonly PlanKind[] = ['drop-layers', 'contiguous-block', 'sparsity', 'drop-heads', 'drop-query-heads', 'drop-experts'];

/** Arguments from scripts and keybindings are untyped JSON: keep the well-formed fields. */
function parseArgs(args: unknown): PlanPruningArgs {
  if (typeof args !== 'object' || args === null) return {};
  const a = args as Record<string, unknown>;
  return {
    ...(typeof a.model === 'string' ? { model: a.model } : {}),
    ...(typeof a.kind === 'string' && (KINDS as readonly string[]).includes(a.kind) ? { kind: a.kind as PlanKind } : {}),
    ...(typeof a.metric === 'string' ? { metric: a.metric } : {}),
    ...(typeof a.amount === 'number' && Number.isFinite(a.amount) ? { amount: a.amount } : {}),
  };
}
