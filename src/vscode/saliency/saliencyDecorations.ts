// Token saliency drawn on the editor: one decoration type per colour level of the shared diverging scale (created
// once, disposed with the extension), every token with a hover "score ± sd (method, seeds)", and the target
// outlined — or, for a continuation that is not in the document, shown after the text. One result is shown at a
// time; it goes away on "Clear Token Saliency" and on any edit of its document (the offsets would be stale).
import * as vscode from 'vscode';
import type { SaliencyResult } from '../../protocol/results';
import { formatScore, SALIENCY_LEVELS, saliencyColour, saliencyLevel, saliencyMethodName, saliencyRange, shownTokens, type SaliencyLevel } from '../../protocol/saliencyScale';

/** A result placed in a document: its text starts at `offset` and was analysed at `version`. */
export interface PlacedSaliency {
  document: vscode.TextDocument;
  version: number;
  offset: number;
  result: SaliencyResult;
}

export interface ShownDecorations {
  document: string;
  /** Ranges per decoration type, as last applied. */
  tokens: number;
  target: number;
}

let levelTypes: Map<SaliencyLevel, vscode.TextEditorDecorationType> | undefined;
let targetType: vscode.TextEditorDecorationType | undefined;
let continuationType: vscode.TextEditorDecorationType | undefined;
let shown: PlacedSaliency | undefined;
let applied: ShownDecorations | undefined;

export function register(context: vscode.ExtensionContext): void {
  levelTypes = new Map(SALIENCY_LEVELS.map((level) => {
    const colour = saliencyColour(level);
    return [level, vscode.window.createTextEditorDecorationType(colour ? { backgroundColor: colour, borderRadius: '2px' } : {})];
  }));
  const outline = { border: '1px solid', borderColor: new vscode.ThemeColor('focusBorder'), borderRadius: '2px' };
  targetType = vscode.window.createTextEditorDecorationType(outline);
  continuationType = vscode.window.createTextEditorDecorationType({
    after: { ...outline, border: '1px dashed', color: new vscode.ThemeColor('editorCodeLens.foreground'), margin: '0 0 0 4px' },
  });
  context.subscriptions.push(
    ...levelTypes.values(), targetType, continuationType,
    vscode.workspace.onDidChangeTextDocument((event) => {
      if (shown && event.document === shown.document && event.contentChanges.length > 0) clearSaliency();
    }),
    // Decorations belong to editors: an editor that shows the document again (reopened, split) gets them back.
    vscode.window.onDidChangeVisibleTextEditors((editors) => {
      if (shown) for (const editor of editors) if (editor.document === shown.document) decorate(editor, shown);
    }),
  );
}

export function showSaliency(placed: PlacedSaliency): void {
  clearSaliency();
  shown = placed;
  for (const editor of vscode.window.visibleTextEditors) if (editor.document === placed.document) decorate(editor, placed);
}

export function clearSaliency(): void {
  const types = [...(levelTypes?.values() ?? []), targetType, continuationType];
  for (const editor of vscode.window.visibleTextEditors) for (const type of types) if (type) editor.setDecorations(type, []);
  shown = undefined;
  applied = undefined;
}

/** What is drawn now (the in-host tests and scripts read it; undefined when nothing is). */
export function shownDecorations(): ShownDecorations | undefined {
  return applied;
}

function decorate(editor: vscode.TextEditor, placed: PlacedSaliency): void {
  if (!levelTypes || !targetType || !continuationType) return;
  const { result, document, offset } = placed;
  // With checkpoints compared, the means over them (as the panel colours them).
  const tokens = shownTokens(result);
  const maxAbs = saliencyRange(tokens);
  const seeds = result.stability
    ? `mean ± sd over ${result.stability.checkpoints.length} checkpoints`
    : result.method === 'reagent' ? `${result.seeds} seed${result.seeds === 1 ? '' : 's'}` : 'deterministic';
  const byLevel = new Map<SaliencyLevel, vscode.DecorationOptions[]>(SALIENCY_LEVELS.map((level) => [level, []]));
  for (const token of tokens) {
    const range = new vscode.Range(document.positionAt(offset + token.start), document.positionAt(offset + token.end));
    const hover = new vscode.MarkdownString();
    hover.appendMarkdown(`**${formatScore(token.score, token.sd)}** (${saliencyMethodName(result.method)}, ${seeds})  \n`);
    hover.appendText(`${JSON.stringify(token.text)} ${token.score >= 0 ? 'supports' : 'works against'} the prediction of ${JSON.stringify(result.target.text)}`);
    byLevel.get(saliencyLevel(token.score, maxAbs))!.push({ range, hoverMessage: hover });
  }
  for (const [level, options] of byLevel) editor.setDecorations(levelTypes.get(level)!, options);
  const target = targetDecoration(placed);
  editor.setDecorations(targetType, target.inText ? [target.options] : []);
  editor.setDecorations(continuationType, target.inText ? [] : [target.options]);
  applied = { document: document.uri.toString(), tokens: result.tokens.length, target: 1 };
}

/** The text's last token (from the text) is outlined where it is; a continuation is drawn after the text. */
function targetDecoration({ result, document, offset }: PlacedSaliency): { inText: boolean; options: vscode.DecorationOptions } {
  const hoverMessage = new vscode.MarkdownString().appendText(`Target: ${JSON.stringify(result.target.text)} — log p = ${result.target.logProbability.toFixed(3)} (${result.target.tokens} token${result.target.tokens === 1 ? '' : 's'})`);
  const lastEnd = result.tokens.length > 0 ? result.tokens[result.tokens.length - 1]!.end : 0;
  if (result.target.fromText) {
    const start = offset + lastEnd + (result.text.slice(lastEnd).length - result.text.slice(lastEnd).trimStart().length);
    const end = offset + result.text.trimEnd().length;
    return { inText: true, options: { range: new vscode.Range(document.positionAt(start), document.positionAt(Math.max(start, end))), hoverMessage } };
  }
  const at = document.positionAt(offset + result.text.length);
  return { inText: false, options: { range: new vscode.Range(at, at), hoverMessage, renderOptions: { after: { contentText: result.target.text } } } };
}
