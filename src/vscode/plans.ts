// Pruning plans in the editor: "Plan Pruning" writes a plan next to its model and opens it.
import * as vscode from 'vscode';
import type { PlanKind } from '../protocol/plan';
import { planPruning, type PlanPruningArgs } from './planPruning';

export function register(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    // From the explorer (a folder, config.json or weights), the config.json CodeLens (a Uri), the palette (nothing)
    // or a script ({model, kind, metric, amount}).
    vscode.commands.registerCommand('importanceLens.planPruning', (target?: unknown) =>
      target instanceof vscode.Uri ? planPruning(target) : planPruning(undefined, parseArgs(target))),
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
