// Inside a real VS Code: activation, contributed commands and menus, the custom editor, the panel.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import * as vscode from 'vscode';
import type { FinishedAnalysis } from '../../src/vscode/shared/analysisService';
import type { ImportanceLensApi } from '../../src/vscode/shared/api';
import { awaitWithin, EXTENSION_ID, resetWorkbench, waitFor, webviewTab, workspaceFile } from './helpers';

const COMMANDS = ['analyze', 'saliency', 'clearSaliency', 'saliencyCompare', 'planPruning', 'applyPlan', 'previewPlan', 'verifyPlan', 'showPlan', 'compareWithBase', 'analyzeCsv', 'openReport', 'cancelJob'].map((c) => `importanceLens.${c}`);

describe('Importance Lens in a real VS Code', () => {
  // Each test closes what it opened even when it fails, so the next one never finds an earlier test's tab.
  afterEach(resetWorkbench);

  it('activates without loading onnxruntime-node', async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is installed`);
    await extension.activate();
    assert.equal(extension.isActive, true);
    const loaded = Object.keys(require.cache).filter((path) => path.includes('onnxruntime'));
    assert.deepEqual(loaded, [], 'activation loads no onnxruntime module');
  });

  it('contributes every command, under the "Importance Lens" category', async () => {
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const command of COMMANDS) assert.ok(registered.has(command), `${command} is registered`);
    const contributed = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes.commands as { command: string; category: string }[];
    assert.deepEqual(contributed.map((c) => c.command).sort(), [...COMMANDS].sort());
    assert.ok(contributed.every((c) => c.category === 'Importance Lens'));
  });

  it('puts "Analyze Importance" in the explorer context menu for checkpoints, configs, CSVs and folders', () => {
    const menus = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes.menus['explorer/context'] as { command: string; when: string }[];
    const item = menus.find((m) => m.command === 'importanceLens.analyze');
    assert.ok(item, 'menu item contributed');
    for (const part of ['safetensors', 'onnx', 'gguf', 'bin', 'pt', 'pth', 'csv', 'config.json', 'explorerResourceIsFolder']) {
      assert.ok(item.when.includes(part), `when clause covers ${part}`);
    }
  });

  it('puts "Compare With Base Checkpoint" in the explorer context menu for checkpoints and folders', () => {
    const menus = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes.menus['explorer/context'] as { command: string; when: string; group: string }[];
    const item = menus.find((m) => m.command === 'importanceLens.compareWithBase');
    assert.ok(item, 'menu item contributed');
    assert.equal(item.group, 'navigation@91');
    for (const part of ['safetensors', 'onnx', 'gguf', 'bin', 'pt', 'pth', 'explorerResourceIsFolder']) {
      assert.ok(item.when.includes(part), `when clause covers ${part}`);
    }
  });

  it('"Compare With Base Checkpoint" with (tuned, base) opens the delta panel and runs the comparison', async () => {
    const api = await vscode.extensions.getExtension<ImportanceLensApi>(EXTENSION_ID)!.activate();
    const tuned = workspaceFile('delta', 'tuned.safetensors');
    const base = workspaceFile('delta', 'base.safetensors');
    const finished = new Promise<FinishedAnalysis>((resolve) => {
      const subscription = api.onDidFinishAnalysis((run) => {
        if (run.request.analysis !== 'delta' || run.request.tuned !== tuned.fsPath) return;
        subscription.dispose();
        resolve(run);
      });
    });
    await vscode.commands.executeCommand('importanceLens.compareWithBase', tuned, base);
    const tab = await waitFor('the delta panel tab', () => webviewTab('importanceLens.delta'));
    assert.equal(tab.label, 'Delta: tuned.safetensors vs base.safetensors');
    // The panel's session ran the delta analysis (once its webview was ready) on exactly this pair.
    const run = await awaitWithin('the delta analysis of tuned vs base to finish', finished);
    assert.equal(run.request.analysis === 'delta' && run.request.base, base.fsPath);
    assert.equal(run.result.analysis, 'delta');
    if (run.result.analysis !== 'delta') return;
    assert.equal(run.result.result.totals.compared, 5);
    assert.deepEqual(run.result.result.mismatched.map((m) => m.reason).sort(), ['only-in-base', 'only-in-tuned', 'shape']);
  });

  it('opens a .safetensors file in the checkpoint custom editor', async () => {
    const uri = workspaceFile('tiny-llama-random', 'model.safetensors');
    await vscode.commands.executeCommand('vscode.open', uri);
    // The tab on this file, whichever group it opened in; its input says which editor shows it.
    const input = await waitFor('a tab on tiny-llama-random/model.safetensors', () => vscode.window.tabGroups.all.flatMap((g) => g.tabs)
      .map((tab) => tab.input).find((i) => i instanceof vscode.TabInputCustom && i.uri.toString() === uri.toString()) as vscode.TabInputCustom | undefined);
    assert.equal(input.viewType, 'importanceLens.checkpoint');
  });

  it('"Analyze Importance" on a model folder opens the Importance Lens panel', async () => {
    await vscode.commands.executeCommand('importanceLens.analyze', workspaceFile('tiny-llama-random'));
    const tab = await waitFor('the Importance Lens panel tab', () => webviewTab('importanceLens.panel'));
    assert.equal(tab.label, 'Importance: tiny-llama-random');
  });

  it('"Open Report" writes a self-contained HTML report to the chosen path', async () => {
    const destination = workspaceFile('report.html');
    try {
      const written = await vscode.commands.executeCommand<vscode.Uri | undefined>('importanceLens.openReport', workspaceFile('tiny-llama-random', 'config.json'), destination);
      assert.equal(written?.toString(), destination.toString());
      const html = Buffer.from(await vscode.workspace.fs.readFile(destination)).toString('utf8');
      assert.match(html, /<meta name="generator" content="importance-lens">/);
      assert.match(html, /model\.layers\.0\.self_attn\.q_proj\.weight/);
    } finally {
      rmSync(destination.fsPath, { force: true }); // no file left in the workspace for a later test to find
    }
  });
});
