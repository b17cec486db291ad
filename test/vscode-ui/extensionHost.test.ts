// The in-host suite (test/extension-host) through @vscode/test-electron's runTests, given the stand-in executable that
// runs a real VS Code (code-server 1.139) offline.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runTests } from '@vscode/test-electron';
import { ROOT } from '../harness/codeServer';

// The limit is above runExtensionTests' own (360 s after the workbench opens), which reports a suite that hangs.
test('extension-host suite passes in a real VS Code', { timeout: 450_000 }, async (t) => {
  const workspace = mkdtempSync(join(tmpdir(), 'il-ws-'));
  t.after(() => rmSync(workspace, { recursive: true, force: true }));
  cpSync(join(ROOT, 'samples', 'tiny-llama-random'), join(workspace, 'tiny-llama-random'), { recursive: true });
  for (const name of ['base.safetensors', 'tuned.safetensors']) cpSync(join(ROOT, 'test', 'fixtures', 'delta', name), join(workspace, 'delta', name));
  // A small Qwen2 model with a tokenizer and a text for the forward-pass flows (token saliency, layers on text).
  cpSync(join(ROOT, 'test', 'fixtures', 'models', 'tiny-qwen2'), join(workspace, 'tiny-qwen2'), { recursive: true });
  // Two seeded "fine-tunes" of it (BF16) for Token Saliency across checkpoints.
  for (const name of ['tiny-qwen2-ft1', 'tiny-qwen2-ft2']) cpSync(join(ROOT, 'test', 'fixtures', 'stability', name), join(workspace, name), { recursive: true });
  cpSync(join(ROOT, 'samples', 'text', 'psalms-23.txt'), join(workspace, 'text', 'psalms-23.txt'));
  await runTests({
    vscodeExecutablePath: join(ROOT, 'test', 'harness', 'code-shim.js'),
    extensionDevelopmentPath: ROOT,
    extensionTestsPath: join(ROOT, 'out', 'test', 'extension-host', 'index.js'),
    launchArgs: [workspace],
  });
});
