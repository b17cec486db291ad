// "Plan Pruning": on a model folder (or its config.json or weights), asks what to plan — a kind the model allows,
// a metric, an amount — runs generatePlan in the analysis process under a cancellable notification, writes the
// plan as a new *.pruneplan.json in the model folder and opens it, with the plan panel beside it. Scripts and
// tests pass {model, kind, metric, amount} and see no picker.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import * as vscode from 'vscode';
import { parseAmount } from '../../plan/amount';
import { planStem, writeNewPlanFile } from '../../plan/newFile';
import type { PlanChoice, PlanChoices, PlanKind, PlanRequest } from '../../protocol/plan';
import { runAnalysis } from '../shared/analysisService';
import { reportFailure } from './planJobs';
import { showPlanPanel } from './planPanel';
import { withCancellableProgress } from '../shared/progress';
import { chooseSampleText } from '../shared/sampleText';
import { runSettings } from '../shared/settings';
import { LAYER_METRIC_INFO } from '../../protocol/layerMetrics';

export interface PlanPruningArgs {
  model?: string;
  kind?: PlanKind;
  metric?: string;
  amount?: number;
}

const KINDS: Record<PlanKind, { label: string; detail: string; unit: string }> = {
  'drop-layers': { label: 'Drop layers', detail: 'The N blocks with the lowest score (ShortGPT)', unit: 'blocks to drop' },
  'contiguous-block': { label: 'Drop a contiguous block of layers', detail: 'The N consecutive blocks whose input and output are closest (angular distance on the text; lowest score sum without one)', unit: 'consecutive blocks to drop' },
  sparsity: { label: 'Unstructured sparsity', detail: 'Per-block ratios averaging S, OWL allocation; zeros are stored, so the files do not shrink', unit: 'mean sparsity' },
  'drop-heads': { label: 'Drop attention heads (KV groups)', detail: 'Whole KV groups in every block, so GQA stays valid', unit: 'KV groups to drop per block' },
  'drop-query-heads': { label: 'Drop query heads', detail: 'Query heads within every KV group; all groups keep as many', unit: 'query heads to drop per KV group' },
  'drop-experts': { label: 'Drop MoE experts', detail: 'The lowest-scoring experts of every MoE block (weight norm, or on a text Δ NLL when dropped or routing share); router rows follow', unit: 'experts to drop per block' },
  'drop-mlp-channels': { label: 'Shrink the MLP width', detail: 'The lowest-scoring intermediate channels of every block (Σ|W|, or LLM-Pruner group Taylor on a text): gate/up rows and down_proj columns', unit: 'MLP channels to drop per block' },
};

/** "Drop MoE experts" → "drop MoE experts" inside a sentence (toLowerCase would also give "moe", "kv", "mlp"). */
const lowerFirst = (label: string) => `${label[0]!.toLowerCase()}${label.slice(1)}`;

/** Plan metrics: the layer metrics of the registry, and the weight-only scores of sparsity, heads and experts. */
const METRICS: Record<string, string> = {
  ...Object.fromEntries(LAYER_METRIC_INFO.map((m) => [m.id, m.label])),
  magnitude: 'Magnitude |W|', 'head-l2': 'Head L2', 'head-taylor': 'Head group Taylor (LLM-Pruner)', 'expert-l2': 'Expert L2',
  'expert-drop': 'Expert drop Δ NLL', 'expert-share': 'Expert routing share', 'expert-taylor': 'Expert Taylor (LLM-Pruner)',
  'channel-magnitude': 'Channel magnitude Σ|W|', 'channel-taylor': 'Channel group Taylor (LLM-Pruner)',
};

/** Arguments from scripts and keybindings are untyped JSON: keep the well-formed fields. */
export function parsePlanPruningArgs(args: unknown): PlanPruningArgs {
  if (typeof args !== 'object' || args === null) return {};
  const a = args as Record<string, unknown>;
  return {
    ...(typeof a.model === 'string' ? { model: a.model } : {}),
    ...(typeof a.kind === 'string' && Object.hasOwn(KINDS, a.kind) ? { kind: a.kind as PlanKind } : {}),
    ...(typeof a.metric === 'string' ? { metric: a.metric } : {}),
    ...(typeof a.amount === 'number' && Number.isFinite(a.amount) ? { amount: a.amount } : {}),
  };
}

/**
 * The model a URI stands for: the folder itself, or the folder of its config.json or safetensors weights; a .gguf
 * file is a model by itself (its plans are verified in memory, not written).
 */
export function modelFolder(uri: vscode.Uri | undefined): string | null {
  if (!uri || uri.scheme !== 'file' || !existsSync(uri.fsPath)) return null;
  if (statSync(uri.fsPath).isDirectory()) return uri.fsPath;
  if (/\.gguf$/i.test(uri.fsPath)) return uri.fsPath;
  return /^(config\.json|.*\.safetensors(\.index\.json)?)$/.test(basename(uri.fsPath)) ? dirname(uri.fsPath) : null;
}

export async function planPruning(extensionUri: vscode.Uri, target: vscode.Uri | undefined, args: PlanPruningArgs = {}): Promise<vscode.Uri | undefined> {
  // The palette: the model of the file in the active editor (its config.json, say), else a folder dialog.
  const model = args.model ?? modelFolder(target ?? vscode.window.activeTextEditor?.document.uri) ?? (await pickModelFolder());
  if (!model) return undefined;
  const choices = await withCancellableProgress(`Plan Pruning: reading ${basename(model)}`, (signal) => runAnalysis({ analysis: 'plan-choices', model }, { signal })).then((o) => o.result, reportFailure('Plan Pruning'));
  if (!choices) return undefined;
  const choice = args.kind ? choices.available.find((c) => c.kind === args.kind) : await pickKind(choices);
  if (!choice) {
    if (args.kind) void vscode.window.showErrorMessage(`Importance Lens: ${args.kind} is not available for ${basename(model)}: ${choices.unavailable.find((u) => u.kind === args.kind)?.reason ?? 'unknown kind'}`);
    return undefined;
  }
  const metric = args.metric ? choice.metrics.find((m) => m.name === args.metric) : await pickMetric(choice);
  if (!metric) {
    if (args.metric) void vscode.window.showErrorMessage(`Importance Lens: ${lowerFirst(KINDS[choice.kind].label)} of ${basename(model)} is scored by ${choice.metrics.map((m) => m.name).join(', ')}, not ${args.metric}`);
    return undefined;
  }
  let textFile: string | undefined;
  if (metric.needsText) {
    const text = await chooseSampleText(true);
    if (text.kind === 'none') return undefined;
    textFile = text.path;
  }
  const amount = args.amount ?? (await askAmount(choice));
  if (amount === undefined) return undefined;
  const { providers, maxTokens } = runSettings();
  // The plan is written next to the model: in its folder, or beside its .gguf file.
  const planDirectory = /\.gguf$/i.test(model) ? dirname(model) : model;
  const request: { analysis: 'plan' } & PlanRequest = {
    analysis: 'plan', model, planDirectory, metric: metric.name, providers, maxTokens, ...(textFile ? { textFile } : {}), ...amountOption(choice.kind, amount),
  };
  const outcome = await withCancellableProgress(`Plan Pruning: ${lowerFirst(KINDS[choice.kind].label)} by ${METRICS[metric.name] ?? metric.name}`, (signal, onProgress) => runAnalysis(request, { signal, onProgress }))
    .then((o) => o.result, reportFailure('Plan Pruning'));
  if (!outcome) return undefined;
  const written = await writeNewPlanFile(planDirectory, planStem(choice.kind, amount, metric.name), `${JSON.stringify(outcome.plan, null, 2)}\n`).catch(reportFailure('Plan Pruning'));
  if (!written) return undefined;
  const uri = vscode.Uri.file(written);
  await vscode.window.showTextDocument(uri, { preview: false });
  showPlanPanel(extensionUri, uri);
  return uri;
}

function amountOption(kind: PlanKind, amount: number): Partial<PlanRequest> {
  switch (kind) {
    case 'drop-layers': return { dropLayers: amount };
    case 'contiguous-block': return { dropLayers: amount, contiguous: true };
    case 'sparsity': return { sparsity: amount };
    case 'drop-heads': return { dropHeads: amount };
    case 'drop-query-heads': return { dropQueryHeads: amount };
    case 'drop-experts': return { dropExperts: amount };
    case 'drop-mlp-channels': return { dropMlpChannels: amount };
  }
}

async function pickModelFolder(): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title: 'Pick the model folder to plan pruning for (config.json and *.safetensors)',
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri, canSelectFiles: false, canSelectFolders: true, canSelectMany: false,
  });
  return modelFolder(picked?.[0]) ?? undefined;
}

interface Item<T> extends vscode.QuickPickItem {
  value?: T;
}

async function pickKind(choices: PlanChoices): Promise<PlanChoice | undefined> {
  const items: Item<PlanChoice>[] = choices.available.map((c) => ({ label: KINDS[c.kind].label, description: `up to ${c.max}`, detail: KINDS[c.kind].detail, value: c }));
  if (choices.unavailable.length > 0) {
    items.push({ label: 'Not available for this model', kind: vscode.QuickPickItemKind.Separator });
    items.push(...choices.unavailable.map((u) => ({ label: `$(circle-slash) ${KINDS[u.kind].label}`, detail: u.reason })));
  }
  const title = `Plan Pruning: ${basename(choices.model)} (${choices.family}, ${choices.layers} blocks)`;
  for (;;) {
    const picked = await vscode.window.showQuickPick(items, { title, placeHolder: 'What to remove', matchOnDetail: true });
    if (!picked || picked.value) return picked?.value;
    // An unavailable kind was picked: its reason is on screen already; ask again.
  }
}

async function pickMetric(choice: PlanChoice): Promise<PlanChoice['metrics'][number] | undefined> {
  if (choice.metrics.length === 1) return choice.metrics[0];
  const items: Item<PlanChoice['metrics'][number]>[] = choice.metrics.map((m) => ({
    label: METRICS[m.name] ?? m.name, description: m.name, detail: m.needsText ? 'Runs the model on the sample text (importanceLens.sampleTextFile)' : 'Weight-only: no text needed', value: m,
  }));
  return (await vscode.window.showQuickPick(items, { title: `Plan Pruning: ${lowerFirst(KINDS[choice.kind].label)}, scored by`, placeHolder: 'Metric' }))?.value;
}

/** What the amount box takes; MLP channels (max = intermediate_size − 1) say the width, since they also take a fraction. */
function amountRange(choice: PlanChoice): string {
  if (choice.kind === 'sparsity') return `0–${choice.max}`;
  if (choice.kind === 'drop-mlp-channels') return `1–${choice.max} of ${choice.max + 1}, or a fraction of the width such as 25%`;
  return `1–${choice.max}`;
}

async function askAmount(choice: PlanChoice): Promise<number | undefined> {
  const kind = KINDS[choice.kind];
  const raw = await vscode.window.showInputBox({
    title: `Plan Pruning: ${lowerFirst(kind.label)}`,
    prompt: `${kind.unit[0]!.toUpperCase()}${kind.unit.slice(1)} (${amountRange(choice)})`,
    // Width cuts are sized as a share of the width; one channel (the other kinds' default) would change next to nothing.
    value: choice.kind === 'sparsity' ? '0.5' : choice.kind === 'drop-mlp-channels' ? '25%' : '1',
    validateInput: (value) => {
      const parsed = parseAmount(choice.kind, choice.max, value);
      return typeof parsed === 'string' ? parsed : undefined;
    },
  });
  if (raw === undefined) return undefined;
  const parsed = parseAmount(choice.kind, choice.max, raw);
  return typeof parsed === 'number' ? parsed : undefined;
}
