// Hovers on Hugging Face config files: the key's meaning, what the config implies, and the model folder's last
// layer ranking. The text is composed in src/config/ (plain Node, unit-tested); this file only wires it to VS Code.
import { basename, dirname } from 'node:path';
import * as vscode from 'vscode';
import { configHoverSections } from '../../config/hoverText';
import { keyAtOffset } from '../../config/jsonPath';
import { configFileKind } from '../../config/keyDocs';
import type { LayerRankings } from './layerRankings';

export const CONFIG_FILES: vscode.DocumentSelector = [
  { pattern: '**/config.json' },
  { pattern: '**/adapter_config.json' },
  { pattern: '**/generation_config.json' },
];

export function register(context: vscode.ExtensionContext, rankings: LayerRankings): void {
  context.subscriptions.push(vscode.languages.registerHoverProvider(CONFIG_FILES, {
    provideHover(document, position) {
      const kind = configFileKind(basename(document.uri.path));
      if (kind === null) return undefined;
      const text = document.getText();
      const key = keyAtOffset(text, document.offsetAt(position));
      if (key === null) return undefined;
      const sections = configHoverSections({
        kind,
        path: key.path,
        config: parseObject(text),
        ranking: document.uri.scheme === 'file' ? rankings.get(dirname(document.uri.fsPath)) : null,
      });
      if (sections.length === 0) return undefined;
      const range = new vscode.Range(document.positionAt(key.start), document.positionAt(key.end));
      return new vscode.Hover(new vscode.MarkdownString(sections.join('\n\n---\n\n')), key.onValue ? undefined : range);
    },
  }));
}

/** The document as a JSON object, or null while it does not parse (being edited). */
export function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
