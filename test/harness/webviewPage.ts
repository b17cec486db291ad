// The panel's webview bundle (dist/webview.js) and stylesheet in a plain page, with a stand-in for VS Code's
// webview API: what the webview posts is recorded, host messages are dispatched from the test, getState/setState
// keep a value. For timing the paint of generated results and for looking at views without a workbench; the
// theme variables stand in for a few of VS Code's (the real themes are checked in code-server by the UI tests).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { HostToWebview, WebviewToHost } from '../../src/protocol/webview';

export const THEME_VARIABLES = {
  light: {
    'font-family': 'system-ui, sans-serif', 'font-size': '13px', 'editor-font-family': 'monospace',
    foreground: '#3b3b3b', descriptionForeground: '#717171', 'editor-background': '#ffffff', 'panel-border': '#e5e5e5',
    'textLink-foreground': '#005fb8', 'charts-blue': '#1a85ff', 'charts-orange': '#d18616', 'list-hoverBackground': '#f2f2f2',
    errorForeground: '#f85149', 'editorWarning-foreground': '#bf8803', 'badge-background': '#cccccc', 'badge-foreground': '#3b3b3b',
    focusBorder: '#005fb8', 'list-inactiveSelectionBackground': '#e4e6f1',
  },
  dark: {
    'font-family': 'system-ui, sans-serif', 'font-size': '13px', 'editor-font-family': 'monospace',
    foreground: '#cccccc', descriptionForeground: '#9d9d9d', 'editor-background': '#1f1f1f', 'panel-border': '#2b2b2b',
    'textLink-foreground': '#4daafc', 'charts-blue': '#3794ff', 'charts-orange': '#d18616', 'list-hoverBackground': '#2a2d2e',
    errorForeground: '#f85149', 'editorWarning-foreground': '#cca700', 'badge-background': '#616161', 'badge-foreground': '#f8f8f8',
    focusBorder: '#0078d4', 'list-inactiveSelectionBackground': '#37373d',
  },
} as const;

export function webviewPageHtml(root: string, theme: keyof typeof THEME_VARIABLES = 'light'): string {
  const variables = Object.entries(THEME_VARIABLES[theme]).map(([k, v]) => `--vscode-${k}: ${v};`).join(' ');
  const stub = `window.__posted = []; window.__state = undefined;
window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => window.__state, setState: (s) => { window.__state = s; } });`;
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<style>:root { ${variables} }</style><style>${readFileSync(join(root, 'media', 'panel.css'), 'utf8')}</style></head>
<body><div id="app"></div><script>${stub}</script><script>${readFileSync(join(root, 'dist', 'webview.js'), 'utf8').replace(/<\/script/gi, '<\\/script')}</script></body></html>`;
}

/** Runs in the page (the test build has no DOM types, so the page-side code is plain text). */
const PAINT = `async (list) => {
  const start = performance.now();
  for (const data of list) window.dispatchEvent(new MessageEvent('message', { data }));
  // rAF runs before the frame's style, layout and paint; a message posted from it is handled after that frame.
  await new Promise((resolve) => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  }));
  return performance.now() - start;
}`;

/** Dispatches host messages in order and resolves once the frame they produced has been painted: milliseconds. */
export async function paintMessages(page: Page, messages: HostToWebview[]): Promise<number> {
  return page.evaluate(`(${PAINT})(${JSON.stringify(messages)})`) as Promise<number>;
}

export async function posted(page: Page): Promise<WebviewToHost[]> {
  return page.evaluate('window.__posted') as Promise<WebviewToHost[]>;
}
