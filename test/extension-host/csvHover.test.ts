// Inside a real VS Code: the hover on a CSV header cell, asked for through VS Code's own hover command (what the
// editor runs when the mouse rests on a cell), on files with quoted header cells and tabs.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { EXTENSION_ID, workspaceFile } from './helpers';

async function hoverText(uri: vscode.Uri, position: vscode.Position): Promise<string> {
  const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, position);
  return hovers.flatMap((hover) => hover.contents).map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : '')).join('\n');
}

async function writeDocument(name: string, text: string): Promise<{ uri: vscode.Uri; at: (needle: string) => vscode.Position }> {
  const uri = workspaceFile('csv-hover', name);
  await vscode.workspace.fs.writeFile(uri, Buffer.from(text));
  const document = await vscode.workspace.openTextDocument(uri);
  return { uri, at: (needle) => document.positionAt(document.getText().indexOf(needle) + 1) };
}

describe('CSV header hover', () => {
  before(async () => {
    await vscode.extensions.getExtension(EXTENSION_ID)!.activate();
  });

  it('shows the stats of the quoted header cell under the cursor; nothing on a delimiter or a data line', async () => {
    const { uri, at } = await writeDocument('quoted.csv', 'id,"weight, kg","say ""hi"""\n1,2.5,a\n2,3.5,b\n3,,c\n');
    const text = await hoverText(uri, at('weight'));
    assert.match(text, /\*\*weight, kg\*\* — column 2 of 3 · number/);
    assert.match(text, /\| missing \| 1 of 3 \(33\.3%\) \|/);
    assert.match(text, /\| min … max \| 2\.5 … 3\.5 \|/);
    assert.match(text, /run \*\*Analyze CSV Importance\*\*/);
    assert.match(await hoverText(uri, at('hi')), /\*\*say "hi"\*\* — column 3 of 3 · category/);
    assert.doesNotMatch(await hoverText(uri, new vscode.Position(0, 2)), /column \d+ of/, 'on the delimiter after "id"');
    assert.doesNotMatch(await hoverText(uri, new vscode.Position(1, 0)), /column \d+ of/, 'on a data line');
  });

  it('reads a TSV with its sniffed delimiter', async () => {
    const { uri, at } = await writeDocument('table.tsv', 'name\tscore\nada\t3\nalan\t5\n');
    assert.match(await hoverText(uri, at('score')), /\*\*score\*\* — column 2 of 2 · number[\s\S]*\| mean \| 4 \|/);
  });
});
