// A self-contained HTML report: the panel's own webview bundle and stylesheet inlined, the result embedded as
// JSON. Opened from disk it renders the same views as the panel, with a default light theme standing in for VS
// Code's theme variables.
import type { HostToWebview } from '../protocol/webview';
import { REPORT_MARKER } from './write';

export interface ReportAssets {
  webviewJs: string;
  css: string;
}

/** Theme variables VS Code would inject; the report needs its own values outside the editor. */
const STANDALONE_THEME = `:root {
  --vscode-font-family: system-ui, -apple-system, "Segoe UI", sans-serif; --vscode-font-size: 13px;
  --vscode-editor-font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace;
  --vscode-foreground: #1f1f1f; --vscode-descriptionForeground: #616161; --vscode-editor-background: #ffffff;
  --vscode-panel-border: #e0e0e0; --vscode-textLink-foreground: #005fb8; --vscode-charts-blue: #1a85ff;
  --vscode-charts-orange: #d18616; --vscode-list-hoverBackground: #f2f2f2; --vscode-errorForeground: #c72e0f;
  --vscode-editorWarning-foreground: #bf8803; --vscode-badge-background: #cccccc; --vscode-badge-foreground: #333333;
  --vscode-input-background: #ffffff; --vscode-input-foreground: #1f1f1f; --vscode-input-border: #cecece;
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
