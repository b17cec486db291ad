// npm run bench (paint): how long the panel's webview takes from a host message to the painted frame, in headless
// Chromium (Debian's, through playwright-core) on the built bundle dist/webview.js with generated results: the
// model panel opened on its Layers view for 100 blocks (three metrics, so the rank-agreement strip is drawn too),
// a metric switch on it, Token Saliency of a 2 000-token text, and the Tensors view of a 100 000-tensor checkpoint.
// The baseline is an empty frame in the same page (what any paint costs there). Goal: < 100 ms for 100 layers and
// for 2 000 tokens. Nothing here is asserted in `npm test`.
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostToWebview } from '../src/protocol/webview';
import { inspectResult, saliency, stats, textLayers } from '../test/fixtures/panelMessages';
import { seededRandom } from '../src/compute/random';
import { launchBrowser, ROOT } from '../test/harness/codeServer';
import { paintMessages, webviewPageHtml } from '../test/harness/webviewPage';

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
    { name: 'model panel on Layers, 100 layers × 3 metrics + agreement strip (900 tensors)', state: { inspect: { ui: layersUi } }, messages: opened, goal: 100 },
    { name: 'Layers view, 100 layers: a new metric arrives and is drawn', state: { inspect: { ui: layersUi } }, messages: opened, then: [{ type: 'layersResult', result: textLayers('ablation', 100, random) }], goal: 100 },
    { name: 'Token Saliency, 2 000 tokens', messages: [{ type: 'saliencyResult', result: saliency(2000, random), document: 'john-1.txt' }], goal: 100 },
    { name: 'model panel on Tensors, 100 000 tensors (virtualised table)', state: { inspect: { ui: { ...layersUi, view: 'tensors' } } }, messages: [{ type: 'inspectResult', result: inspectResult(1000, 100_000) }] },
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
        // The saved state is what acquireVsCodeApi().getState() returns when the bundle starts: the choices (the
        // view the panel opens on); the results are the timed messages.
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
