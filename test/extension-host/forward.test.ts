// Inside a real VS Code: the forward-pass flows. Token Saliency on an editor selection (arguments instead of the
// dialogs) decorates the editor and opens the saliency panel; layer importance on the sample text setting runs
// perplexity and the layer metric as the panel does.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { SaliencyResult } from '../../src/protocol/results';
import type { ImportanceLensApi } from '../../src/vscode/shared/api';
import { EXTENSION_ID, resetWorkbench, waitFor, webviewTab, workspaceFile } from './helpers';

const PHRASE = 'The LORD is my shepherd; I shall not want';

const saliencyTab = () => webviewTab('importanceLens.saliency');

describe('forward-pass flows in a real VS Code', function () {
  this.timeout(90_000);
  let api: ImportanceLensApi;
  const model = () => workspaceFile('tiny-qwen2').fsPath;

  before(async () => {
    api = await vscode.extensions.getExtension<ImportanceLensApi>(EXTENSION_ID)!.activate();
  });
  // Was revertAndCloseActiveEditor + closeAllEditors: that reverts whichever editor is active, not necessarily the
  // psalm a test edited. Now the edited document itself is reverted, every tab closed and the decorations cleared,
  // so each test starts from an empty workbench whatever an earlier one did or where it failed.
  afterEach(async () => {
    await vscode.commands.executeCommand('importanceLens.clearSaliency');
    await resetWorkbench();
  });

  it('"Token Saliency" on a selection decorates its tokens and opens the saliency panel', async () => {
    const document = await vscode.workspace.openTextDocument(workspaceFile('text', 'psalms-23.txt'));
    const editor = await vscode.window.showTextDocument(document);
    const start = document.getText().indexOf(PHRASE);
    editor.selection = new vscode.Selection(document.positionAt(start), document.positionAt(start + PHRASE.length));

    const result = await vscode.commands.executeCommand<SaliencyResult | undefined>('importanceLens.saliency', { model: model(), method: 'reagent', seeds: 2 });
    assert.ok(result, 'the command returns its result');
    assert.equal(result.text, PHRASE);
    assert.equal(result.method, 'reagent');
    assert.equal(result.seeds, 2);
    // The target is the selection's last token (the tiny fixture's vocabulary splits " want").
    assert.equal(result.target.fromText, true);
    assert.ok(PHRASE.endsWith(result.target.text), `target ${JSON.stringify(result.target.text)} ends the selection`);
    assert.equal(result.tokens.at(-1)!.end, PHRASE.length - result.target.text.length, 'the context ends where the target starts');
    // Offsets point into the selection: each token's range in the document holds the token's text.
    for (const token of result.tokens) {
      const range = new vscode.Range(document.positionAt(start + token.start), document.positionAt(start + token.end));
      assert.equal(document.getText(range), token.text);
    }
    assert.ok(result.tokens.some((t) => t.sd > 0), 'two seeds give a spread');

    const shown = api.shownSaliency();
    assert.ok(shown, 'decorations are drawn');
    assert.equal(shown.document, document.uri.toString());
    assert.equal(shown.tokens, result.tokens.length);
    assert.equal(shown.target, 1);
    await waitFor('the saliency panel', saliencyTab);
    assert.equal(saliencyTab()!.label, 'Token Saliency');

    await vscode.commands.executeCommand('importanceLens.clearSaliency');
    assert.equal(api.shownSaliency(), undefined, 'Clear Token Saliency removes them');
  });

  it('"Saliency Across Checkpoints" re-runs the panel\'s result over more checkpoints; another architecture is refused', async () => {
    const document = await vscode.workspace.openTextDocument(workspaceFile('text', 'psalms-23.txt'));
    const editor = await vscode.window.showTextDocument(document);
    const start = document.getText().indexOf(PHRASE);
    editor.selection = new vscode.Selection(document.positionAt(start), document.positionAt(start + PHRASE.length));
    const first = await vscode.commands.executeCommand<SaliencyResult | undefined>('importanceLens.saliency', { model: model(), method: 'grad-input' });
    assert.ok(first);
    await waitFor('the saliency panel', saliencyTab);
    const tuned = ['tiny-qwen2-ft1', 'tiny-qwen2-ft2'].map((name) => workspaceFile(name).fsPath);
    const compared = await vscode.commands.executeCommand<SaliencyResult | undefined>('importanceLens.saliencyCompare', { models: tuned });
    assert.ok(compared?.stability, 'the command returns the result with its stability');
    assert.deepEqual(compared.stability.checkpoints.map((c) => c.path), [model(), ...tuned]);
    // The first model's own scores are kept (its sd over seeds as seedSd; sd is over the checkpoints, per the contract).
    assert.deepEqual(compared.tokens.map(({ text, start, end, score, seedSd }) => ({ text, start, end, score, sd: seedSd })), first.tokens, 'the first model\'s own scores are kept');
    assert.deepEqual(compared.tokens.map((t) => t.sd), compared.stability.tokens.map((t) => t.sd), 'tokens[].sd is over the checkpoints');
    assert.equal(compared.stability.tokens.length, first.tokens.length);
    assert.equal(compared.stability.pairs.length, 3);
    assert.equal(api.shownSaliency()?.tokens, first.tokens.length);
    // tiny-llama-random has another architecture (and tokenizer): refused, nothing returned.
    const refused = await vscode.commands.executeCommand<SaliencyResult | undefined>('importanceLens.saliencyCompare', { models: [workspaceFile('tiny-llama-random').fsPath] });
    assert.equal(refused, undefined);
  });

  it('an edit of the document clears its saliency decorations', async () => {
    const document = await vscode.workspace.openTextDocument(workspaceFile('text', 'psalms-23.txt'));
    const editor = await vscode.window.showTextDocument(document);
    editor.selection = new vscode.Selection(document.positionAt(0), document.positionAt(PHRASE.length));
    const result = await vscode.commands.executeCommand<SaliencyResult | undefined>('importanceLens.saliency', { model: model(), method: 'occlusion', target: ' forever' });
    assert.ok(result);
    assert.equal(result.target.fromText, false, 'a given continuation is the target');
    assert.equal(result.tokens.at(-1)!.end, PHRASE.length, 'the whole selection is context');
    assert.equal(api.shownSaliency()?.tokens, result.tokens.length);
    await editor.edit((edit) => edit.insert(document.positionAt(0), 'Yea, '));
    await waitFor('the decorations to clear', () => (api.shownSaliency() === undefined ? true : undefined));
  });

  it('layer importance on the sample text setting: perplexity and Block Influence of every block', async () => {
    const config = vscode.workspace.getConfiguration('importanceLens');
    await config.update('sampleTextFile', 'text/psalms-23.txt', vscode.ConfigurationTarget.Workspace);
    try {
      const run = await api.layersOnText(model(), 'block-influence');
      assert.equal(run.textFile, workspaceFile('text', 'psalms-23.txt').fsPath);
      assert.equal(run.layers.metric, 'block-influence');
      assert.deepEqual(run.layers.layers.map((l) => l.index), [0, 1]);
      assert.deepEqual(run.layers.layers.map((l) => l.rank).sort(), [1, 2]);
      assert.ok(run.perplexity && run.perplexity.perplexity > 1);
      assert.equal(run.layers.text?.tokens, run.perplexity.tokens, 'both ran on the same tokens');
      assert.equal(typeof run.layers.device, 'string');
    } finally {
      await config.update('sampleTextFile', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('layer importance refuses clearly when the sample text setting points nowhere or is empty', async () => {
    const config = vscode.workspace.getConfiguration('importanceLens');
    await config.update('sampleTextFile', 'text/missing.txt', vscode.ConfigurationTarget.Workspace);
    try {
      await assert.rejects(api.layersOnText(model(), 'angular'), /"text\/missing\.txt".*importanceLens\.sampleTextFile is not a file/);
    } finally {
      await config.update('sampleTextFile', undefined, vscode.ConfigurationTarget.Workspace);
    }
    await assert.rejects(api.layersOnText(model(), 'ablation', { askForText: false }), /No sample text: set importanceLens\.sampleTextFile/);
  });
});
