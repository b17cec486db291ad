// Bundles the extension host entry, the analysis worker (and its stats threads), the CLI (plain Node, CommonJS) and the webview (browser IIFE).
// `vscode` is provided by the editor; onnxruntime-node and tokenizers are native addons: all three stay external.
// The extension host's and the worker's metafiles (dist/*.meta.json, left out of the .vsix) record which modules
// each bundle holds: test/unit/hostBundle.test.ts reads them to keep graph and engine code out of the host.
import { build } from 'esbuild';
import { chmodSync, writeFileSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const common = { bundle: true, sourcemap: true, logLevel: 'warning', legalComments: 'none' };
const nodeTargets = {
  ...common,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  external: ['vscode', 'onnxruntime-node', 'tokenizers'],
};

const withMetafile = async (name, options) => {
  const result = await build({ ...options, metafile: true });
  writeFileSync(`dist/${name}.meta.json`, JSON.stringify(result.metafile));
};

await Promise.all([
  withMetafile('extension', { ...nodeTargets, entryPoints: { extension: 'src/extension.ts' }, outdir: 'dist' }),
  withMetafile('worker', { ...nodeTargets, entryPoints: { worker: 'src/worker/main.ts' }, outdir: 'dist' }),
  // The stats threads (worker_threads) that worker.js and cli.js start from their own directory.
  build({ ...nodeTargets, entryPoints: { statsThread: 'src/compute/statsThread.ts' }, outdir: 'dist' }),
  build({ ...nodeTargets, entryPoints: { cli: 'src/cli.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } }),
  build({ ...common, platform: 'browser', format: 'iife', target: 'es2022', entryPoints: { webview: 'webview/main.ts' }, outdir: 'dist', minify: !watch }),
]);
chmodSync('dist/cli.js', 0o755);
