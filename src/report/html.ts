// A self-contained HTML report: the panel's own webview bundle and stylesheet inlined, the result embedded as
// JSON. Opened from disk it renders the same views as the panel, with a default light theme standing in for VS
// Code's theme variables.
import type { HostToWebview } from '../protocol/webview';
import { REPORT_MARKER } from './write';

export interface ReportAssets {
  webviewJs: string;
  css: string;
}

/** Theme variables VS Code would inject (VS Code's Light Modern values, the toolkit's controls included); the report needs its own outside the editor. */
const STANDALONE_THEME = `:root {
  --vscode-font-family: system-ui, -apple-system, "Segoe UI", sans-serif; --vscode-font-size: 13px;
  --vscode-editor-font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace;
  --vscode-foreground: #1f1f1f; --vscode-descriptionForeground: #616161; --vscode-editor-background: #ffffff;
  --vscode-panel-border: #e0e0e0; --vscode-textLink-foreground: #005fb8; --vscode-charts-blue: #1a85ff;
  --vscode-charts-orange: #d18616; --vscode-list-hoverBackground: #f2f2f2; --vscode-errorForeground: #c72e0f;
  --vscode-editorWarning-foreground: #bf8803; --vscode-badge-background: #cccccc; --vscode-badge-foreground: #333333;
  --vscode-input-background: #ffffff; --vscode-input-foreground: #1f1f1f; --vscode-input-border: #cecece;
  --vscode-input-placeholderForeground: #767676; --vscode-focusBorder: #005fb8; --vscode-list-inactiveSelectionBackground: #e4e6f1;
  --vscode-button-background: #005fb8; --vscode-button-foreground: #ffffff; --vscode-button-hoverBackground: #0258a8;
  --vscode-button-secondaryBackground: #e5e5e5; --vscode-button-secondaryForeground: #3b3b3b; --vscode-button-secondaryHoverBackground: #cccccc;
  --vscode-button-border: transparent; --vscode-checkbox-background: #f8f8f8; --vscode-checkbox-border: #cecece; --vscode-checkbox-foreground: #3b3b3b;
  --vscode-dropdown-background: #ffffff; --vscode-dropdown-border: #cecece; --vscode-dropdown-foreground: #3b3b3b; --vscode-settings-dropdownListBorder: #cecece;
  --vscode-panelTitle-activeBorder: #005fb8; --vscode-panelTitle-activeForeground: #3b3b3b; --vscode-panelTitle-inactiveForeground: #616161;
  --vscode-progressBar-background: #005fb8;
}`;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON inside <script> must not be able to close the element. */
function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function renderReport(title: string, message: HostToWebview, assets: ReportAssets): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
${REPORT_MARKER}
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} — Importance Lens report</title>
<style>${STANDALONE_THEME}</style>
<style>${assets.css}</style>
</head>
<body class="standalone-report">
<div id="app"></div>
<script type="application/json" id="importance-lens-initial">${scriptSafeJson(message)}</script>
<script>${assets.webviewJs.replace(/<\/script/gi, '<\\/script')}</script>
</body>
</html>
`;
}
