// "Apply" and "Verify" on a plan file. Both check the plan first (the preview runs the validator and the checks
// against the checkpoint), so a malformed plan shows the validator's message and nothing is written. Apply writes a
// new folder the user names (a free sibling `<model>-pruned` by default; an existing non-empty folder is refused)
// and offers to reveal or analyse it; Verify measures perplexity before and after on the sample text, running the
// plan on the source model in memory where the engine can (else applying it into a scratch folder it then removes).
// The numbers go to a notification, the output channel and the plan panel.
import { rmdir } from 'node:fs/promises';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { freeSiblingFolder, outputFolderProblem } from '../../plan/newFile';
import type { ApplyOutcome } from '../../protocol/plan';
import { formatBytes, formatCount } from '../../protocol/units';
import { runAnalysis } from '../shared/analysisService';
import { log } from '../shared/log';
import { reportFailure } from './planJobs';
import { withCancellableProgress } from '../shared/progress';
import { refreshPreview } from './planPreview';
import { chooseSampleText } from '../shared/sampleText';
import { runSettings } from '../shared/settings';

const applied = new vscode.EventEmitter<{ plan: string; outcome: ApplyOutcome }>();
/** Fires after every successful apply or verification (the plan panel shows the latest). */
export const onDidApplyPlan = applied.event;
export const planApplyEvents: vscode.Disposable = applied;

/** The plan file as the command sees it: saved first when its editor has unsaved edits (apply reads the file). */
async function savedPlan(plan: vscode.Uri): Promise<string | undefined> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === plan.toString());
  if (open?.isDirty && !(await open.save())) return undefined;
  return plan.fsPath;
}

export async function applyPlanFile(plan: vscode.Uri, out?: string): Promise<ApplyOutcome | undefined> {
  const path = await savedPlan(plan);
  const preview = path ? await refreshPreview(path) : undefined;
  if (!path || !preview) return undefined;
  const folder = out ?? (await vscode.window.showInputBox({
    title: `Apply ${basename(path)}: output folder`,
    prompt: 'A new Hugging Face model folder (or an empty one); the original is only read',
    value: freeSiblingFolder(preview.model),
    validateInput: (value) => outputFolderProblem(value.trim()) ?? undefined,
  }))?.trim();
  if (!folder) return undefined;
  const problem = outputFolderProblem(folder);
  if (problem) {
    void vscode.window.showErrorMessage(`Importance Lens: cannot apply ${basename(path)}: ${problem}.`);
    return undefined;
  }
  // An empty folder the user picked: apply writes a new folder and renames it into place.
  await rmdir(folder).catch(() => undefined);
  const outcome = await withCancellableProgress(`Applying ${basename(path)}`, (signal, onProgress) =>
    runAnalysis({ analysis: 'apply', plan: path, out: folder, providers: runSettings().providers }, { signal, onProgress }))
    .then((o) => o.result, reportFailure(`Applying ${basename(path)}`));
  if (!outcome) return undefined;
  applied.fire({ plan: path, outcome });
  const summary = `parameters ${formatCount(outcome.parameters.before)} → ${formatCount(outcome.parameters.after)}, layers ${outcome.layers.before} → ${outcome.layers.after}, ${formatBytes(outcome.bytes.before)} → ${formatBytes(outcome.bytes.after)}`;
  log.info(`applied ${path} to ${outcome.out}: ${summary}; files ${outcome.files.join(', ')}${outcome.warnings.map((w) => `; warning: ${w}`).join('')}`);
  void vscode.window.showInformationMessage(`Importance Lens: wrote ${basename(outcome.out)} (${summary}).${outcome.warnings.length > 0 ? ` ${outcome.warnings.join(' ')}` : ''}`, 'Reveal in Explorer', 'Analyze Importance').then((choice) => {
    const uri = vscode.Uri.file(outcome.out);
    if (choice === 'Reveal in Explorer') void vscode.commands.executeCommand('revealInExplorer', uri);
    if (choice === 'Analyze Importance') void vscode.commands.executeCommand('importanceLens.analyze', uri);
  });
  return outcome;
}

export async function verifyPlanFile(plan: vscode.Uri): Promise<ApplyOutcome | undefined> {
  const path = await savedPlan(plan);
  if (!path || !(await refreshPreview(path))) return undefined;
  const text = await chooseSampleText(true);
  if (text.kind === 'none') return undefined;
  const { providers, maxTokens } = runSettings();
  const outcome = await withCancellableProgress(`Verifying ${basename(path)} on ${basename(text.path)}`, (signal, onProgress) =>
    runAnalysis({ analysis: 'apply', plan: path, out: null, verify: { textFile: text.path, maxTokens }, providers }, { signal, onProgress }))
    .then((o) => o.result, reportFailure(`Verifying ${basename(path)}`));
  const v = outcome?.verification;
  if (!outcome || !v) return undefined;
  applied.fire({ plan: path, outcome });
  const summary = `perplexity ${v.perplexity.before.toFixed(3)} → ${v.perplexity.after.toFixed(3)} on ${basename(v.textFile)} (${v.tokens} tokens, ${v.device}); parameters ${formatCount(outcome.parameters.before)} → ${formatCount(outcome.parameters.after)}`;
  log.info(`verified ${path}: ${summary}; exact parameters ${outcome.parameters.before} → ${outcome.parameters.after}, bytes ${outcome.bytes.before} → ${outcome.bytes.after}`);
  void vscode.window.showInformationMessage(`Importance Lens: ${basename(path)}: ${summary}.`);
  return outcome;
}
