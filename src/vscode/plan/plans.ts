// Pruning plans in the editor: "Plan Pruning" writes a plan next to its model and opens it with its panel; on a plan
// file, CodeLens and commands preview it as diffs, show its panel, apply it to a new folder and verify it.
import * as vscode from 'vscode';
import { applyPlanFile, planApplyEvents, verifyPlanFile } from './planApply';
import * as planLens from './planLens';
import { showPlanPanel } from './planPanel';
import * as planPreview from './planPreview';
import { parsePlanPruningArgs, planPruning } from './planPruning';

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
      target instanceof vscode.Uri ? planPruning(extensionUri, target) : planPruning(extensionUri, undefined, parsePlanPruningArgs(target))),
  );
}
