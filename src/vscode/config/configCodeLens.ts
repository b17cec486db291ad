// CodeLens at the top of a model's config.json (one that names its model_type or architectures; a tokenizer's or
// a dataset's config.json gets none): "Analyze importance" and "Plan pruning" of that model folder.
import * as vscode from 'vscode';
import { isModelConfig } from '../../config/keyDocs';
import { parseObject } from './configHover';

export function register(context: vscode.ExtensionContext): void {
  context.subscriptions.push(vscode.languages.registerCodeLensProvider({ pattern: '**/config.json' }, {
    provideCodeLenses(document) {
      const config = parseObject(document.getText());
      if (config === null || !isModelConfig(config)) return [];
      const top = new vscode.Range(0, 0, 0, 0);
      return [
        new vscode.CodeLens(top, { title: 'Analyze importance', tooltip: 'Importance Lens: tensors, weight statistics and layer importance of this model', command: 'importanceLens.analyze', arguments: [document.uri] }),
        new vscode.CodeLens(top, { title: 'Plan pruning', tooltip: 'Importance Lens: propose layers, heads or experts to drop from this model', command: 'importanceLens.planPruning', arguments: [document.uri] }),
      ];
    },
  }));
}
