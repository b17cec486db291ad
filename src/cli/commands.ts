// The CLI's commands: usage, options and what each runs. Results go to stdout as JSON (--json) or text.
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { runAnalysis } from '../worker/dispatch';
import { parseLayerMetric } from '../analyses/layers';
import type { AnalysisRequest, ResultFor } from '../protocol/worker';
import { renderReport } from '../report/html';
import { assertReplaceableReport, writeFileAtomically } from '../report/write';
import { parse, requireString, type Parsed } from './args';
import { admitRequest } from './restricted';
import { renderDelta, renderExperts, renderInspect, renderLayers, renderPerplexity, renderSaliency, renderStability, renderStats } from './text';
import { SALIENCY_METHODS } from '../analyses/saliency';
import type { SaliencyMethod } from '../protocol/results';
import { DEFAULT_REAGENT_MAX_STEPS, REAGENT_STEP_MASKS } from '../protocol/saliencyMethods';
import type { TextSource } from '../protocol/worker';
import { InputError } from '../errors';
import { loadModelTokenizer } from '../compute/modelTokenizer';
import { readText } from '../analyses/textInput';
import { CSV_REPORT_OPTIONS, csvCommand, csvReportView, inspectCsvIfCsv } from './csvCommand';
import type { HostToWebview } from '../protocol/webview';
import { PLAN_COMMANDS } from './planCommands';
import { json, withTerminalProgress, type Command } from './command';
import { MOE_MODEL_TYPES } from '../compute/families/moeSpec';

async function analyse<R extends AnalysisRequest>(request: R): Promise<ResultFor<R>> {
  await admitRequest(request);
  return withTerminalProgress(runAnalysis(request)) as Promise<ResultFor<R>>;
}

const path = (args: Parsed) => resolve(args.positionals[0]!);

const TEXT_OPTIONS = { 'text-file': { type: 'string' }, 'max-tokens': { type: 'string' }, 'residual-stream': { type: 'string' } } as const;

/** --residual-stream a,b,c: an exported decoder's residual stream by tensor name. */
function residualStream(args: Parsed): { residualStream?: string[] } {
  const value = args.values['residual-stream'];
  return typeof value === 'string' ? { residualStream: value.split(',').map((s) => s.trim()).filter(Boolean) } : {};
}

function textSource(args: Parsed, command: string, inline = false): TextSource | undefined {
  const file = args.values['text-file'];
  const text = inline ? args.values.text : undefined;
  if (typeof file === 'string' && typeof text === 'string') throw new InputError(`${command}: give --text or --text-file, not both`);
  if (typeof text === 'string') return { text };
  return typeof file === 'string' ? { file: resolve(file) } : undefined;
}

function positiveInteger(args: Parsed, name: string, command: string): number | undefined {
  const raw = args.values[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isSafeInteger(value) || value < 1) throw new InputError(`${command}: --${name} must be a positive integer (got ${JSON.stringify(raw)})`);
  return value;
}

export const COMMANDS: Record<string, Command> = {
  inspect: {
    summary: 'inspect PATH               format, tensors (name, dtype, shape, layer, module), architecture, warnings',
    help: 'Usage: importance-lens inspect PATH [--json]\n\nLists the tensors of a checkpoint with their layer and module, and the architecture from config.json (or the\nfile\'s metadata, or inferred from tensor names). Reads headers only.',
    options: {},
    positionals: 1,
    run: async (args) => {
      const csv = await inspectCsvIfCsv(path(args), Boolean(args.values.json));
      if (csv !== undefined) return csv;
      const { result } = await analyse({ analysis: 'inspect', path: path(args) });
      return args.values.json ? json(result) : `${renderInspect(result)}\n`;
    },
  },
  stats: {
    summary: 'stats PATH                 per-tensor l2, mean, std, absmax, zeros, kurtosis, outliers, stable rank; per layer',
    help: 'Usage: importance-lens stats PATH [--no-stable-rank] [--threads N] [--json]\n\nStreams every tensor (bounded memory) and computes its statistics in float64: L2, mean, population std, absmax,\nfraction of exact zeros, excess kurtosis, fraction of |x − mean| > 6σ, stable rank of 2-D weights (Lanczos, with\nits relative bound in stableRankBound); and per-layer sums. --no-stable-rank: moments only, several times faster.\n--threads N: worker threads that reduce tensors (default: the machine\'s cores, at most 4); the numbers are\nthe same for any N.',
    options: { 'no-stable-rank': { type: 'boolean' }, threads: { type: 'string' } },
    positionals: 1,
    run: async (args) => {
      const threads = positiveInteger(args, 'threads', 'stats');
      const { result } = await analyse({ analysis: 'stats', path: path(args), ...(args.values['no-stable-rank'] ? { stableRank: false } : {}), ...(threads !== undefined ? { threads } : {}) });
      return args.values.json ? json(result) : `${renderStats(result)}\n`;
    },
  },
  layers: {
    summary: 'layers PATH [--metric M]   one score per block, ranked (weight-l2)',
    help:
      'Usage: importance-lens layers PATH [--metric weight-l2|block-influence|angular|ablation|wanda|taylor|fisher]\n' +
      '                                [--text-file F] [--max-tokens N] [--json]\n\n' +
      'Scores every block and ranks them (rank 1 = most important). weight-l2: Frobenius norm of the block\'s weights.\n' +
      'The activation metrics run the model (a Hugging Face directory of a supported family; a .gguf file: llama,\n' +
      'qwen2, qwen3, gemma, gemma2, gemma3, phi3) on the text of F (its first N tokens, default 512, in windows of the model\'s context):\n' +
      'block-influence = 1 − mean cos(input, output) of the block over all positions (ShortGPT); angular = mean\n' +
      'arccos(cos)/π; ablation = perplexity with the block skipped; wanda = mean |W|·‖X‖₂ over the block\'s linear weights (Wanda), X the layer inputs on the text;\n' +
      'taylor = Σ |W ⊙ ∂L/∂W| over the block\'s weights (LLM-Pruner\'s first-order Taylor), L the mean NLL of the text,\n' +
      'gradients from the backward graphs the engine builds (Hugging Face GPT-2 and Llama-family models); fisher = ½ Σ F·W² over the block\'s weights, F the diagonal\n' +
      'empirical Fisher (mean over tokens of the squared gradient of each token\'s NLL; one backward pass per token).',
    options: { metric: { type: 'string' }, ...TEXT_OPTIONS },
    positionals: 1,
    run: async (args) => {
      const metric = parseLayerMetric(args.values.metric as string | undefined);
      const text = textSource(args, 'layers');
      const maxTokens = positiveInteger(args, 'max-tokens', 'layers');
      const { result } = await analyse({ analysis: 'layers', path: path(args), metric, ...(text ? { text } : {}), ...(maxTokens ? { maxTokens } : {}), ...residualStream(args) });
      return args.values.json ? json(result) : `${renderLayers(result)}\n`;
    },
  },
  perplexity: {
    summary: 'perplexity MODEL --text-file F  exp(mean NLL) of the model on a text',
    help:
      'Usage: importance-lens perplexity MODEL --text-file F [--max-tokens N] [--json]\n\n' +
      'Runs the model (a Hugging Face directory with config.json, weights and tokenizer.json, or a .gguf file with\n' +
      'its own tokenizer) over the first N tokens (default 512) of F in windows of its context; nll is the mean\n' +
      'negative log-likelihood in nats per predicted token (every position but a window\'s first), perplexity = exp(nll).',
    options: TEXT_OPTIONS,
    positionals: 1,
    run: async (args) => {
      const text = textSource(args, 'perplexity');
      if (!text) throw new InputError('perplexity: --text-file is required');
      const maxTokens = positiveInteger(args, 'max-tokens', 'perplexity');
      const { result } = await analyse({ analysis: 'perplexity', model: path(args), text, ...(maxTokens ? { maxTokens } : {}), ...residualStream(args) });
      return args.values.json ? json(result) : `${renderPerplexity(result)}\n`;
    },
  },
  experts: {
    summary: 'experts MODEL --text-file F  routing share, mean gate and Δ NLL of each MoE expert (extension)',
    help:
      'Usage: importance-lens experts MODEL --text-file F [--max-tokens N] [--taylor] [--json]\n\n' +
      `Mixture-of-Experts models (model_type ${MOE_MODEL_TYPES.join(', ')}): per MoE block and routed expert, on the\n` +
      'first N tokens (default 512) of F: share = token-slots routed to it / (tokens · num_experts_per_tok); meanGate =\n' +
      'its mean routing weight when chosen; score = Δ mean NLL (nats per predicted token) when it is dropped as a pruned\n' +
      'checkpoint drops it (router row removed: its tokens go to their next choice); rank 1 = highest score in its block;\n' +
      'outputChange = mean ‖Δh‖/‖h‖ of the block output. --taylor: also taylor = Σ over its weights of |W ⊙ ∂L/∂W| (L\n' +
      'the mean NLL on F), from one extra backward pass (several forwards\' cost on a real MoE); without it taylor is\n' +
      'null. An extension of docs/cli.md.',
    options: { 'text-file': { type: 'string' }, 'max-tokens': { type: 'string' }, taylor: { type: 'boolean' } },
    positionals: 1,
    run: async (args) => {
      const text = textSource(args, 'experts');
      if (!text) throw new InputError('experts: --text-file is required');
      const maxTokens = positiveInteger(args, 'max-tokens', 'experts');
      const { result } = await analyse({ analysis: 'experts', model: path(args), text, ...(maxTokens ? { maxTokens } : {}), ...(args.values.taylor ? { taylor: true } : {}) });
      return args.values.json ? json(result) : `${renderExperts(result)}\n`;
    },
  },
  saliency: {
    summary: 'saliency MODEL --text T     which tokens drove the prediction (occlusion, reagent, attention, ig, grad-input, grad)',
    help:
      'Usage: importance-lens saliency MODEL (--text T | --text-file F) [--target C]\n' +
      '                                [--method occlusion|reagent|attention|ig|grad-input|grad] [--seeds R] [--steps N]\n' +
      '                                [--max-steps K] [--max-tokens N] [--json]\n\n' +
      'Scores every token of the text by how much it supports the model\'s prediction of the target: the text\'s last\n' +
      'token, or the continuation C. occlusion (default): drop in log p(target) when the token is left out.\n' +
      'reagent: random replacement of ~30% of the tokens over R seeds (default 5); score = mean drop when replaced −\n' +
      `when kept, with the sd over seeds; it runs R × max(32, 4 × tokens) forward rows of the text in steps of ${REAGENT_STEP_MASKS},\n` +
      `at most K steps (default ${DEFAULT_REAGENT_MAX_STEPS}; beyond that each seed runs its first masks only, with a warning).\n` +
      'attention: attention rollout. Gradient methods (a Hugging Face directory;\n' +
      'gradients of log p(target) w.r.t. the token embeddings, computed by the backward graphs the engine builds): ig:\n' +
      'integrated gradients from the zero embedding over N steps (default 20; the result adds delta, the\n' +
      'completeness gap |Σ scores − (F(text) − F(zero))|); grad-input: Σ embedding × gradient; grad: the gradient\'s\n' +
      'L2 norm. start/end are offsets into the text.\n\n' +
      '--compare MODEL2 [MODEL3 …]: the same method on the same tokens over more checkpoints of the same model\n' +
      '(fine-tunes, a training run; same architecture and tokenizer, else exit 2 naming both): per token the mean, sd\n' +
      'and SNR over the checkpoints and each one\'s score, and their rank agreement (pairwise Spearman ρ, Kendall τ-b\n' +
      'and the overlap of the --top-k K highest-scoring tokens, default 5). The JSON keeps the first model\'s result\n' +
      'and adds rankAgreement and stability (docs/cli.md).',
    options: { text: { type: 'string' }, target: { type: 'string' }, method: { type: 'string' }, seeds: { type: 'string' }, steps: { type: 'string' }, 'top-k': { type: 'string' }, 'max-steps': { type: 'string' }, ...TEXT_OPTIONS },
    positionals: 1,
    variadic: ['compare'],
    run: async (args) => {
      const text = textSource(args, 'saliency', true);
      if (!text) throw new InputError('saliency: give the text with --text or --text-file');
      const method = (args.values.method ?? 'occlusion') as SaliencyMethod;
      if (!SALIENCY_METHODS.includes(method)) throw new InputError(`saliency: unknown method '${String(method)}' (one of ${SALIENCY_METHODS.join(', ')})`);
      const seeds = positiveInteger(args, 'seeds', 'saliency') ?? (method === 'reagent' ? 5 : 1);
      const steps = positiveInteger(args, 'steps', 'saliency');
      if (steps !== undefined && method !== 'ig') throw new InputError(`saliency: --steps applies to --method ig only (got --method ${method})`);
      const maxSteps = positiveInteger(args, 'max-steps', 'saliency');
      if (maxSteps !== undefined && method !== 'reagent') throw new InputError(`saliency: --max-steps applies to --method reagent only (got --method ${method})`);
      const maxTokens = positiveInteger(args, 'max-tokens', 'saliency');
      const target = typeof args.values.target === 'string' ? args.values.target : undefined;
      const compare = args.lists.compare?.map((p) => resolve(p));
      const topK = positiveInteger(args, 'top-k', 'saliency');
      if (topK !== undefined && !compare) throw new InputError('saliency: --top-k applies with --compare only');
      const { result } = await analyse({
        analysis: 'saliency', model: path(args), text, method, seeds, ...(steps ? { steps } : {}), ...(maxSteps ? { maxSteps } : {}), ...(target !== undefined ? { target } : {}), ...(maxTokens ? { maxTokens } : {}), ...residualStream(args),
        ...(compare ? { compare } : {}), ...(topK ? { topK } : {}),
      });
      return args.values.json ? json(result) : `${renderSaliency(result)}\n${result.stability ? `\n${renderStability(result.stability)}\n` : ''}`;
    },
  },
  tokenize: {
    summary: 'tokenize MODEL --text T     the model\'s tokens of a text: ids and spans (a .gguf file\'s own tokenizer)',
    help:
      'Usage: importance-lens tokenize MODEL (--text T | --text-file F) [--json]\n\n' +
      'Tokenizes the text as the activation analyses do: a .gguf file with the tokenizer in its metadata (llama.cpp\'s\n' +
      'SentencePiece or byte-level BPE), any other model with the tokenizer.json of its directory. Special tokens the\n' +
      'model adds (BOS/EOS) are included; start/end are offsets into the text.',
    options: { text: { type: 'string' }, 'text-file': { type: 'string' } },
    positionals: 1,
    run: async (args) => {
      const source = textSource(args, 'tokenize', true);
      if (!source) throw new InputError('tokenize: give the text with --text or --text-file');
      const model = path(args);
      const kind = await stat(model).then((s) => (s.isDirectory() ? 'directory' : 'file'), () => 'missing');
      if (kind === 'missing') throw new InputError(`${model}: no such file or directory`);
      const tokenizer = await loadModelTokenizer({ path: model, directory: kind === 'directory' ? model : dirname(model) });
      const text = await readText(source);
      const tokens = await tokenizer.encode(text);
      const result = { path: model, tokenizer: tokenizer.path, tokens };
      if (args.values.json) return json(result);
      const rows = tokens.map((t) => `${String(t.id).padStart(8)}  ${`${t.start}-${t.end}`.padEnd(11)} ${t.special ? '(special) ' : ''}${JSON.stringify(t.text)}`);
      return `${model}: ${tokens.length} tokens (tokenizer: ${tokenizer.path})\n${rows.join('\n')}\n`;
    },
  },
  delta: {
    summary: 'delta BASE TUNED           what a fine-tune changed: ‖Δ‖, ‖Δ‖/‖W‖, sign flips, DARE drop tolerance; per layer',
    help:
      'Usage: importance-lens delta BASE TUNED [--fisher-text F [--max-tokens N]] [--json]\n\nCompares two checkpoints of one architecture tensor by tensor (matched by name), streaming both:\n' +
      '‖Δ‖ = ‖W_tuned − W_base‖_F, relative ‖Δ‖/‖W_base‖, signConflict (fraction of weights whose sign flipped),\n' +
      'changed (fraction that moved at all), dropTolerance (DARE: the largest fraction of Δ, smallest |Δ| first, that\n' +
      'can be dropped keeping 99% of ‖Δ‖), and the same norms per layer. Names or shapes found in only one are listed\n' +
      'under "mismatched", not fatal.\n\n' +
      '--fisher-text F  also weigh the change by the BASE model\'s diagonal empirical Fisher on the text F (mean over\n' +
      '                 its tokens of the squared gradient of each token\'s NLL; one backward pass per token): Σ F·Δ²\n' +
      '                 per block tensor and layer (fisherWeighted), its share (fisherShare) and the layers\' rank by it\n' +
      '                 (fisherRank). BASE must be a model the engine runs (Hugging Face directory or .gguf), TUNED the\n' +
      '                 same architecture (on Mixture-of-Experts models the router and every expert are weighed too).\n' +
      '                 --max-tokens N caps the text (default 512).',
    options: { 'fisher-text': { type: 'string' }, 'max-tokens': { type: 'string' } },
    positionals: 2,
    run: async (args) => {
      const [base, tuned] = args.positionals.map((p) => resolve(p)) as [string, string];
      const file = args.values['fisher-text'];
      const maxTokens = positiveInteger(args, 'max-tokens', 'delta');
      if (maxTokens !== undefined && typeof file !== 'string') throw new InputError('delta: --max-tokens caps the --fisher-text text; give --fisher-text too');
      const fisher = typeof file === 'string' ? { fisherText: { file: resolve(file) }, ...(maxTokens !== undefined ? { maxTokens } : {}) } : {};
      const { result } = await analyse({ analysis: 'delta', base, tuned, ...fisher });
      return args.values.json ? json(result) : `${renderDelta(result)}\n`;
    },
  },
  csv: csvCommand,
  report: {
    summary: 'report PATH --out R.html   a self-contained HTML report with the same views as the editor panel',
    help: 'Usage: importance-lens report PATH --out R.html [--json]\n' +
      '       importance-lens report FILE.csv --out R.html [--target COL [--model M.onnx] | --text-column C --target-file T]\n\n' +
      'Writes a self-contained HTML report of PATH. An existing --out file is replaced only if it is an earlier\nImportance Lens report. ' +
      'For a CSV: the Dataset view, the profile of every column and, with --target or --text-column, the column or\nrow importance (as the csv command computes it).',
    options: { out: { type: 'string' }, ...CSV_REPORT_OPTIONS },
    positionals: 1,
    run: async (args) => {
      const out = resolve(requireString(args, 'out', 'report'));
      await assertReplaceableReport(out);
      const csv = await csvReportView(args, path(args));
      const csvOnly = Object.keys(CSV_REPORT_OPTIONS).find((name) => args.values[name] !== undefined);
      if (!csv && csvOnly) throw new InputError(`report: --${csvOnly} applies to a CSV file only`);
      const [title, message]: [string, HostToWebview] = csv
        ? [basename(csv.profile.path), { type: 'datasetResult', view: csv }]
        : await analyse({ analysis: 'inspect', path: path(args) }).then(({ result }) => [basename(result.path), { type: 'inspectResult', result }]);
      const assets = {
        webviewJs: await readFile(join(__dirname, 'webview.js'), 'utf8'),
        css: await readFile(join(__dirname, '..', 'media', 'panel.css'), 'utf8'),
      };
      await writeFileAtomically(out, renderReport(title, message, assets));
      return args.values.json ? json({ out, analysis: csv ? 'csv' : 'inspect' }) : `wrote ${out}\n`;
    },
  },
  ...PLAN_COMMANDS,
};

export function parseCommand(name: string, argv: string[]): Parsed {
  const command = COMMANDS[name]!;
  return parse(name, argv, command.options, command.positionals, command.variadic);
}
