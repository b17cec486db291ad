// Bundles the extension host entry, the analysis worker (and its stats threads), the CLI (plain Node, CommonJS) and the webview (browser IIFE).
// `vscode` is provided by the editor; onnxruntime-node and tokenizers are native addons: all three stay external.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const common = { bundle: true, sourcemap: true, logLevel: 'warning', legalComments: 'none' };
const nodeTargets = {
  ...common,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  external: ['vscode', 'onnxruntime-node', 'tokenizers'],
};

await Promise.all([
  build({ ...nodeTargets, entryPoints: { extension: 'src/extension.ts' }, outdir: 'dist' }),
  build({ ...nodeTargets, entryPoints: { worker: 'src/worker/main.ts' }, outdir: 'dist' }),
  // The stats threads (worker_threads) that worker.js and cli.js start from their own directory.
  build({ ...nodeTargets, entryPoints: { statsThread: 'src/compute/statsThread.ts' }, outdir: 'dist' }),
  build({ ...nodeTargets, entryPoints: { cli: 'src/cli.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } }),
  build({ ...common, platform: 'browser', format: 'iife', target: 'es2022', entryPoints: { webview: 'webview/main.ts' }, outdir: 'dist', minify: !watch }),
]);
chmodSync('dist/cli.js', 0o755);
