// npm run bench (paint): how long the panel's webview takes from a host message to the painted frame, in headless
// Chromium (Debian's, through playwright-core) on the built bundle dist/webview.js with generated results: the
// model panel opened on its Layers view for 100 blocks (three metrics, so the rank-agreement strip is drawn too),
// a metric switch on it, Token Saliency of a 2 000-token text, and the Tensors view of a 100 000-tensor checkpoint.
// The baseline is an empty frame in the same page (what any paint costs there). Goal: < 100 ms for 100 layers and
// for 2 000 tokens. Nothing here is asserted in `npm test`.
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InspectResult, InspectTensor, LayersResult, SaliencyResult, StatsResult, TensorStats } from '../src/protocol/results';
import type { HostToWebview, TextLayersResult } from '../src/protocol/webview';
import { seededRandom } from '../src/compute/random';
import { launchBrowser, ROOT } from '../test/e2e/codeServer';
import { paintMessages, webviewPageHtml } from '../test/e2e/webviewPage';

const MODULES = [['input_layernorm', 'norm'], ['self_attn.q_proj', 'attn.q'], ['self_attn.k_proj', 'attn.k'], ['self_attn.v_proj', 'attn.v'], ['self_attn.o_proj', 'attn.o'],
  ['post_attention_layernorm', 'norm'], ['mlp.gate_proj', 'mlp.gate'], ['mlp.up_proj', 'mlp.up'], ['mlp.down_proj', 'mlp.down']] as const;

/** A Llama-shaped summary: `layers` blocks of 9 tensors, or `tensors` in total when given (experts-style names). */
export function inspectResult(layers: number, tensors?: number): InspectResult {
  const list: InspectTensor[] = [];
  const count = tensors ?? layers * MODULES.length;
  for (let i = 0; i < count; i++) {
    const layer = tensors ? i % layers : Math.floor(i / MODULES.length);
    const [name, module] = MODULES[i % MODULES.length]!;
    const shape = module === 'norm' ? [4096] : [4096, 4096];
    const elements = shape.reduce((a, b) => a * b, 1);
    list.push({ name: `model.layers.${layer}.${tensors ? `experts.${Math.floor(i / layers)}.` : ''}${name}.weight`, dtype: 'BF16', shape, count: elements, layer, module, file: '/models/m/model.safetensors', byteOffset: i * elements * 2, byteLength: elements * 2 });
  }
  const parameters = list.reduce((s, t) => s + t.count, 0);
  const perLayer = new Map<number, number>();
  for (const t of list) perLayer.set(t.layer!, (perLayer.get(t.layer!) ?? 0) + t.count);
  return {
    format: 'safetensors', path: '/models/m', files: ['/models/m/model.safetensors'], bytes: parameters * 2, parameters, tensors: list,
    architecture: { family: 'llama', layers, hidden: 4096, heads: 32, kvHeads: 8, intermediate: 11008, vocab: 32000, experts: null, source: 'config', configPath: '/models/m/config.json' },
    adapter: null, layers: [...perLayer.entries()].map(([index, params]) => ({ index, params, share: params / parameters })), metadata: {}, warnings: [],
  };
}

function layerScores(metric: string, layers: number, random: () => number): LayersResult {
  const scores = Array.from({ length: layers }, (_, index) => ({ index, score: random() }));
  const order = [...scores].sort((a, b) => b.score - a.score);
  return { metric, device: 'cpu', path: '/models/m', warnings: [], layers: scores.map((s) => ({ ...s, rank: order.indexOf(s) + 1, params: 202_383_360 })) };
}

export function textLayers(metric: string, layers: number, random: () => number): TextLayersResult {
  return { layers: layerScores(metric, layers, random), perplexity: null, textFile: '/texts/sample.txt', textSource: 'setting' };
}

export function stats(result: InspectResult, random: () => number): StatsResult {
  const tensors: TensorStats[] = result.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, count: t.count, layer: t.layer, module: t.module, l2: random() * 100, mean: 0, std: 0.02, absmax: random(), zeros: 0, kurtosis: random() * 3, outliers: 0, stableRank: random() * 50, stableRankBound: 1e-3, nonFinite: 0 }));
  const layers = result.layers.map((l) => ({ index: l.index, params: l.params, share: l.share, l2: random() * 300, kurtosis: 0.1, outliers: 0 }));
  return { path: result.path, format: 'safetensors', device: 'cpu', devicesSkipped: [], parameters: result.parameters, tensors, layers, lora: null, warnings: [] };
}

export function saliency(tokens: number, random: () => number): SaliencyResult {
  const words = ['In', ' the', ' beginning', ' was', ' the', ' Word', ',', ' and', ' light', ' shineth', ' in', ' darkness', '.', '\n'];
  let text = '';
  const list = [];
  for (let i = 0; i < tokens; i++) {
    const word = words[i % words.length]!;
    list.push({ text: word, start: text.length, end: text.length + word.length, score: (random() - 0.5) * 2, sd: random() * 0.2 });
    text += word;
  }
  return { path: '/models/m', method: 'reagent', device: 'cpu', text, target: { text: ' Word', tokens: 1, logProbability: -2.3, fromText: true }, seeds: 5, tokens: list, devicesSkipped: [], warnings: [] };
}

interface Case {
  name: string;
  /** The webview's saved state when it loads (which view the panel opens on). */
  state?: unknown;
  messages: HostToWebview[];
  /** Run after the messages painted; the timed part is `then` when given. */
  then?: HostToWebview[];
  goal?: number;
}

export async function paintBench(runs = 7): Promise<string[]> {
  const random = seededRandom(3);
  const hundred = inspectResult(100);
  const layersUi = { view: 'layers', metric: 'block-influence', sort: 'index', table: { filter: '', sort: null, descending: false, grouped: true, selected: null } };
  const opened: HostToWebview[] = [
    { type: 'inspectResult', result: hundred },
    { type: 'statsResult', result: stats(hundred, random) },
    { type: 'layersResult', result: textLayers('angular', 100, random) },
    { type: 'layersResult', result: textLayers('block-influence', 100, random) },
  ];
  const cases: Case[] = [
    { name: 'empty frame (baseline)', messages: [] },
    { name: 'model panel on Layers, 100 layers × 3 metrics + agreement strip (900 tensors)', state: { view: opened[0], inspect: { textResults: [], ui: layersUi } }, messages: opened, goal: 100 },
    { name: 'Layers view, 100 layers: a new metric arrives and is drawn', state: { view: opened[0], inspect: { textResults: [], ui: layersUi } }, messages: opened, then: [{ type: 'layersResult', result: textLayers('ablation', 100, random) }], goal: 100 },
    { name: 'Token Saliency, 2 000 tokens', messages: [{ type: 'saliencyResult', result: saliency(2000, random), document: 'john-1.txt' }], goal: 100 },
    { name: 'model panel on Tensors, 100 000 tensors (virtualised table)', state: { view: { type: 'inspectResult', result: { ...hundred, tensors: [] } }, inspect: { textResults: [], ui: { ...layersUi, view: 'tensors' } } }, messages: [{ type: 'inspectResult', result: inspectResult(1000, 100_000) }] },
  ];
  const dir = mkdtempSync(join(tmpdir(), 'il-paint-'));
  const browser = await launchBrowser();
  const lines: string[] = [];
  try {
    for (const theCase of cases) {
      const times: number[] = [];
      for (let run = 0; run < runs; run++) {
        const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
        const errors: string[] = [];
        page.on('pageerror', (error) => errors.push(String(error)));
        const file = join(dir, 'page.html');
        // The saved state is what acquireVsCodeApi().getState() returns when the bundle starts; the restored view
        // is replaced by the timed messages, so only the state's choices (the view opened) matter.
        writeFileSync(file, webviewPageHtml(ROOT).replace('window.__state = undefined;', `window.__state = ${JSON.stringify(theCase.state ?? null)};`));
        await page.goto(`file://${file}`);
        await paintMessages(page, []);
        let ms = await paintMessages(page, theCase.messages);
        if (theCase.then) ms = await paintMessages(page, theCase.then);
        if (errors.length > 0) throw new Error(`${theCase.name}: ${errors.join('; ')}`);
        times.push(ms);
        await page.close();
      }
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)]!;
      const goal = theCase.goal ? ` (goal < ${theCase.goal} ms${median < theCase.goal ? ', met' : ', NOT met'})` : '';
      lines.push(`paint, ${theCase.name}: median ${median.toFixed(1)} ms, best ${times[0]!.toFixed(1)}, worst ${times[times.length - 1]!.toFixed(1)} over ${runs} page loads${goal}`);
    }
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}

if (require.main === module) void paintBench().then((lines) => console.log(lines.join('\n')));
