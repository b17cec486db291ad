// The extension host's bundle carries no graph builder and no engine: the config hover, arch/ and plan/ read family
// declarations (src/compute/families/declarations.ts), never the graphs (index.ts, <family>Graph.ts, ops.ts,
// rotary.ts, onnxGraph.ts) or src/compute/engine/, which only the analysis process runs. Read from esbuild's
// metafiles, which scripts/build.mjs writes beside the bundles (the test runs after `npm run build`).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DIST } from './helpers';

/** Modules that build ONNX graphs or run the engine. */
const GRAPH_OR_ENGINE = [
  /^src\/compute\/families\/(\w*graphs?|index|ops|rotary)\.ts$/i,
  /^src\/compute\/onnxGraph\.ts$/,
  /^src\/compute\/engine\//,
  /^src\/compute\/languageModel\.ts$/,
];

interface Metafile {
  outputs: Record<string, { entryPoint?: string; inputs: Record<string, { bytesInOutput: number }> }>;
}

/** The source modules bundled into dist/<name>.js (with the bytes each left there). */
function bundled(name: string): Map<string, number> {
  const meta = JSON.parse(readFileSync(join(DIST, `${name}.meta.json`), 'utf8')) as Metafile;
  const output = meta.outputs[`dist/${name}.js`];
  assert.ok(output, `dist/${name}.meta.json has no dist/${name}.js output (run npm run build)`);
  return new Map(Object.entries(output.inputs).map(([path, input]) => [path, input.bytesInOutput]));
}

const graphOrEngine = (modules: Map<string, number>) => [...modules.keys()].filter((path) => GRAPH_OR_ENGINE.some((p) => p.test(path)));

test('the extension host bundle holds family declarations but no graph builder or engine module', () => {
  const host = bundled('extension');
  assert.deepEqual(graphOrEngine(host), [], 'graph or engine modules in dist/extension.js: find who imports them with the metafile');
  // The hover does read the declarations: the check above is not passing because families are absent altogether.
  assert.ok((host.get('src/compute/families/declarations.ts') ?? 0) > 0, 'the hover reads the family declarations');
  assert.ok((host.get('src/compute/families/llama.ts') ?? 0) > 0);
});

test('the patterns find the graph and engine modules where they belong (the analysis process)', () => {
  const found = graphOrEngine(bundled('worker'));
  for (const module of ['src/compute/families/llamaGraph.ts', 'src/compute/families/index.ts', 'src/compute/onnxGraph.ts', 'src/compute/engine/blockEngine.ts']) {
    assert.ok(found.includes(module), `${module} is in dist/worker.js and matched`);
  }
});
