// Pruning plans inside a real VS Code, through the commands as scripts call them: Plan Pruning writes and opens a
// plan, the preview documents hold the planned config and weight map (an unsaved edit included), CodeLens offers
// the four actions, a malformed plan writes nothing, Apply writes a new folder and leaves the original as it was.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { EXTENSION_ID, resetWorkbench, textTab, waitFor, workspaceFile } from './helpers';

const planDoc = (plan: vscode.Uri, side: 'original' | 'planned', doc: 'config.json' | 'weight_map.json') =>
  vscode.workspace.openTextDocument(vscode.Uri.from({ scheme: 'importance-lens-plan', path: `/${side}/${doc}`, query: plan.fsPath }));

function hashes(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).filter((n) => !n.endsWith('.pruneplan.json')).sort().map((n) => [n, createHash('sha256').update(readFileSync(join(dir, n))).digest('hex')]));
}

describe('Pruning plans in a real VS Code', () => {
  const model = workspaceFile('tiny-llama-random');
  const scratch = mkdtempSync(join(tmpdir(), 'il-plan-host-'));
  const written: vscode.Uri[] = [];
  const originals = hashes(model.fsPath);
  // The plan every test reads, written once here rather than by the first test, so a test does not depend on an
  // earlier `it` having passed (or run at all: `.only` on a later one).
  let plan: vscode.Uri | undefined;
  const thePlan = (): vscode.Uri => {
    assert.ok(plan, 'Plan Pruning wrote a plan (in before())');
    return plan;
  };

  before(async () => {
    await vscode.extensions.getExtension(EXTENSION_ID)!.activate();
    plan = await vscode.commands.executeCommand<vscode.Uri | undefined>('importanceLens.planPruning', { model: model.fsPath, kind: 'drop-layers', metric: 'weight-l2', amount: 1 });
    if (plan) written.push(plan);
  });
  // Editors and panels a test opened (and the unsaved edit of the copy) do not outlive it.
  afterEach(resetWorkbench);
  after(() => {
    for (const uri of written) rmSync(uri.fsPath, { force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('Plan Pruning writes a new plan next to the model and opens it with its panel', async () => {
    const uri = plan;
    assert.ok(uri, 'a plan was written');
    assert.equal(join(uri.fsPath, '..'), model.fsPath);
    assert.match(uri.fsPath, /drop-1-layers-weight-l2(-\d+)?\.pruneplan\.json$/);
    assert.equal(JSON.parse(readFileSync(uri.fsPath, 'utf8')).kind, 'importance-lens/pruneplan');
    // Its tab, in whichever group (was: the active text editor, which the panel opening beside it can take over).
    await waitFor('the plan in a text editor', () => textTab(uri));
    await waitFor('the plan panel', () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.label === `Plan: ${uri.path.split('/').pop()}`));
  });

  it('offers Preview diff, Show plan, Apply… and Verify as CodeLens on the plan', async () => {
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', thePlan());
    assert.deepEqual(lenses.map((l) => l.command?.title), ['Preview diff', 'Show plan', 'Apply…', 'Verify']);
  });

  it('Preview diff serves the original config.json as it is and the planned one, and the weight maps', async () => {
    assert.equal(await vscode.commands.executeCommand('importanceLens.previewPlan', thePlan()), true);
    const configPath = join(model.fsPath, 'config.json');
    assert.equal((await planDoc(thePlan(), 'original', 'config.json')).getText(), readFileSync(configPath, 'utf8'));
    assert.equal(JSON.parse((await planDoc(thePlan(), 'planned', 'config.json')).getText()).num_hidden_layers, 3);
    const mapBefore = JSON.parse((await planDoc(thePlan(), 'original', 'weight_map.json')).getText()).weight_map;
    const mapAfter = JSON.parse((await planDoc(thePlan(), 'planned', 'weight_map.json')).getText()).weight_map;
    assert.equal(Object.keys(mapBefore).length, 39);
    assert.equal(Object.keys(mapAfter).length, 30);
    await waitFor('the diff editor on config.json ↔ planned', () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputTextDiff && /^config\.json ↔ planned/.test(t.label)));
  });

  it('previews an unsaved edit of the plan, and leaves the file alone', async () => {
    // A copy of the plan next to the model, so the edit left unsaved here cannot reach the later tests, which use
    // the plan itself (a save or revert to clean up raced with VS Code's file model in CI: the document stayed dirty).
    const copy = vscode.Uri.joinPath(model, 'unsaved-edit.pruneplan.json');
    written.push(copy);
    const onDisk = readFileSync(thePlan().fsPath, 'utf8');
    writeFileSync(copy.fsPath, onDisk);
    const document = await vscode.workspace.openTextDocument(copy);
    const parsed = JSON.parse(document.getText());
    parsed.actions = [{ type: 'drop-layers', layers: [0, 1], selection: 'manual' }];
    const edit = new vscode.WorkspaceEdit();
    edit.replace(copy, new vscode.Range(document.positionAt(0), document.positionAt(document.getText().length)), JSON.stringify(parsed, null, 2));
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.ok(document.isDirty);
    assert.equal(await vscode.commands.executeCommand('importanceLens.previewPlan', copy), true);
    assert.equal(JSON.parse((await planDoc(copy, 'planned', 'config.json')).getText()).num_hidden_layers, 2);
    assert.equal(readFileSync(copy.fsPath, 'utf8'), onDisk);
  });

  it('a malformed plan is refused with the validator\'s reason and nothing is written', async () => {
    const bad = vscode.Uri.joinPath(model, 'bad-layer.pruneplan.json');
    written.push(bad);
    const parsed = JSON.parse(readFileSync(thePlan().fsPath, 'utf8'));
    writeFileSync(bad.fsPath, JSON.stringify({ ...parsed, actions: [{ type: 'drop-layers', layers: [9], selection: 'manual' }] }));
    assert.equal(await vscode.commands.executeCommand('importanceLens.previewPlan', bad), false);
    const out = join(scratch, 'from-bad');
    assert.equal(await vscode.commands.executeCommand('importanceLens.applyPlan', bad, out), undefined);
    assert.equal(existsSync(out), false);
  });

  it('*.pruneplan.json is validated by the contributed schema (jsonValidation)', async () => {
    const edited = vscode.Uri.joinPath(model, 'schema-check.pruneplan.json');
    written.push(edited);
    const parsed = JSON.parse(readFileSync(thePlan().fsPath, 'utf8'));
    writeFileSync(edited.fsPath, JSON.stringify({ ...parsed, actions: [{ type: 'drop-layers', layers: [1], selection: 'by-hand' }] }, null, 2));
    await vscode.window.showTextDocument(edited);
    const problems = await waitFor('schema diagnostics', () => {
      const found = vscode.languages.getDiagnostics(edited);
      return found.length > 0 ? found : undefined;
    }); // the default 60 s: the JSON language server starts on first use, slowly on a loaded machine (was 30 s)
    assert.ok(problems.some((d) => /lowest-score|contiguous-block|manual/.test(d.message)), problems.map((d) => d.message).join('; '));
  });

  it('Apply writes the pruned model to a new folder; the original is byte-identical', async () => {
    const out = join(scratch, 'pruned');
    const outcome = await vscode.commands.executeCommand<{ kept: boolean; layers: { after: number } } | undefined>('importanceLens.applyPlan', thePlan(), out);
    assert.ok(outcome?.kept);
    assert.equal(outcome.layers.after, 3);
    assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).num_hidden_layers, 3);
    assert.deepEqual(hashes(model.fsPath), originals);
    // A second apply to the same, now non-empty, folder is refused before anything runs.
    assert.equal(await vscode.commands.executeCommand('importanceLens.applyPlan', thePlan(), out), undefined);
  });
});
