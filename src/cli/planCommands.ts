// The CLI's `plan` and `apply` (docs/cli.md). `plan` always prints the plan document (it is JSON by nature);
// with --out it also writes it, atomically, replacing only an earlier plan. `apply --verify` measures perplexity
// of the source and of the result on the same text with the same code the `perplexity` command runs.
import { dirname, resolve } from 'node:path';
import type { Parsed } from './args';
import { json, withTerminalProgress as run, type Command } from './command';
import { admitRequest } from './restricted';
import { InputError } from '../errors';
import { writeFileAtomically } from '../report/write';
import { applyPlan } from '../plan/apply';
import { openForReading, pathKind } from '../formats/fileio';
import { generatePlan } from '../plan/generate';
import { PLAN_KIND, type ApplyResult, type PlanRequest } from '../plan/types';
import { verifyApplied } from '../plan/verify';
import { planRunsVirtually, verifyVirtually } from '../plan/virtual';

function number(args: Parsed, name: string, integer: boolean): number | undefined {
  const raw = args.values[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value) || (integer && !Number.isSafeInteger(value))) {
    throw new InputError(`--${name} must be ${integer ? 'an integer' : 'a number'} (got ${JSON.stringify(raw)})`);
  }
  return value;
}

/** Refuses to replace a file that is not an earlier plan (a JSON document whose "kind" is ours). */
async function assertReplaceablePlan(target: string): Promise<void> {
  const kind = await pathKind(target);
  if (kind === 'missing') return;
  // A named pipe or a device here would block the read below forever; a folder cannot be a plan.
  if (kind !== 'file') throw new InputError(`${target} exists and is not a regular file; choose another --out path`);
  const { handle } = await openForReading(target);
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    // Any formatting of the kind field counts: plans are edited by hand and by formatters.
    if (!new RegExp(`"kind"\\s*:\\s*"${PLAN_KIND.replace('/', '\\/')}"`).test(head.subarray(0, bytesRead).toString('utf8'))) {
      throw new InputError(`${target} exists and is not an Importance Lens pruning plan; choose another --out path`);
    }
  } finally {
    await handle.close();
  }
}

export const PLAN_COMMANDS: Record<string, Command> = {
  plan: {
    printsJson: true,
    summary: 'plan MODEL --drop-layers N  a pruning plan (*.pruneplan.json); or --sparsity S, --drop-heads G, --drop-query-heads Q, --drop-experts E, --drop-mlp-channels C',
    help:
      'Usage: importance-lens plan MODEL (--drop-layers N | --sparsity S | --drop-heads G | --drop-query-heads Q |\n' +
      '                            --drop-experts E | --drop-mlp-channels C) [--metric M] [--text-file F] [--max-tokens N]\n' +
      '                            [--contiguous] [--allocation owl|uniform] [--lambda L] [--out P.pruneplan.json] [--json]\n\n' +
      'Prints a pruning plan for a Hugging Face model directory (safetensors); --out also writes it (replacing only an\n' +
      'earlier plan). Edit it, commit it, then carry it out with `apply`. For a .gguf file (llama, qwen2, qwen3, gemma*, phi3):\n' +
      'drop layers and sparsity, verified with `apply PLAN --verify --text-file F` (a pruned GGUF is not written).\n' +
      '--drop-layers N: drop the N blocks with the lowest score of --metric (weight-l2, or with --text-file F:\n' +
      '  block-influence (default), angular, ablation, wanda). The best contiguous block of N (lowest angular distance\n' +
      '  between its input and output on the text; lowest score sum without a text) is listed under "alternatives", or\n' +
      '  is the action with --contiguous.\n' +
      '--sparsity S: per-block unstructured sparsity ratios averaging S, for every linear weight of the blocks; --metric\n' +
      '  magnitude (|W|, default without a text) or wanda (|W|·‖X‖₂, default with --text-file). --allocation owl\n' +
      '  (default): blocks with more outliers (scores > 5× their mean) get less sparsity, within S ± lambda (default\n' +
      '  0.08); uniform: S everywhere. Applying zeroes the lowest-scoring weights of each output row.\n' +
      '--drop-heads G: drop G whole KV groups (a K/V head and the query heads sharing it, so GQA stays valid) in every\n' +
      '  block, the lowest by head-l2 (norm of the group\'s q/k/v rows and o_proj columns; the default) or, with\n' +
      '  --metric head-taylor --text-file F, LLM-Pruner\'s group Taylor (Σ |W·∂L/∂W| over the same weights, L the mean\n' +
      '  NLL on the text). Llama-family checkpoints.\n' +
      '--drop-query-heads Q: drop the Q lowest query heads (head-l2 or head-taylor: q rows and o_proj columns) of every\n' +
      '  KV group.\n' +
      '--drop-experts E: drop the E lowest-scoring experts in every MoE block; router rows follow. --metric expert-l2\n' +
      '  (weight norm; default without a text), expert-drop (Δ NLL on --text-file with the expert dropped and its tokens\n' +
      '  re-routed; default with a text), expert-share (the router\'s share of token-slots on the text) or expert-taylor\n' +
      '  (Σ |W·∂L/∂W| over the expert\'s weights, L the mean NLL on the text).\n' +
      '--drop-mlp-channels C: shrink the MLP width: drop the C lowest-scoring intermediate channels of every block (C a\n' +
      '  count, or a fraction of intermediate_size below 1 such as 0.25): gate/up rows (both halves of Phi-3\'s fused\n' +
      '  gate_up_proj) and down_proj columns, biases with their rows. --metric channel-magnitude (Σ|W| over the group;\n' +
      '  default without a text) or channel-taylor (LLM-Pruner\'s group Taylor Σ |W·∂L/∂W| on --text-file F; default\n' +
      '  with a text). Dense Llama-family, Phi-3 and GPT-NeoX checkpoints.',
    options: {
      'drop-layers': { type: 'string' }, 'drop-heads': { type: 'string' }, 'drop-query-heads': { type: 'string' }, 'drop-experts': { type: 'string' }, 'drop-mlp-channels': { type: 'string' }, sparsity: { type: 'string' }, metric: { type: 'string' }, 'text-file': { type: 'string' },
      'max-tokens': { type: 'string' }, out: { type: 'string' }, allocation: { type: 'string' }, lambda: { type: 'string' }, contiguous: { type: 'boolean' },
    },
    positionals: 1,
    run: async (args) => {
      const allocation = args.values.allocation;
      if (allocation !== undefined && allocation !== 'owl' && allocation !== 'uniform') throw new InputError(`plan: --allocation must be owl or uniform (got ${JSON.stringify(allocation)})`);
      const out = typeof args.values.out === 'string' ? resolve(args.values.out) : undefined;
      if (out) await assertReplaceablePlan(out);
      const maxTokens = number(args, 'max-tokens', true);
      const dropLayers = number(args, 'drop-layers', true);
      const dropHeads = number(args, 'drop-heads', true);
      const dropQueryHeads = number(args, 'drop-query-heads', true);
      const dropExperts = number(args, 'drop-experts', true);
      const dropMlpChannels = number(args, 'drop-mlp-channels', false);
      const sparsity = number(args, 'sparsity', false);
      const lambda = number(args, 'lambda', false);
      const request: PlanRequest = {
        model: args.positionals[0]!,
        ...(dropLayers !== undefined ? { dropLayers } : {}),
        ...(dropHeads !== undefined ? { dropHeads } : {}),
        ...(dropQueryHeads !== undefined ? { dropQueryHeads } : {}),
        ...(dropExperts !== undefined ? { dropExperts } : {}),
        ...(dropMlpChannels !== undefined ? { dropMlpChannels } : {}),
        ...(sparsity !== undefined ? { sparsity } : {}),
        ...(typeof args.values.metric === 'string' ? { metric: args.values.metric } : {}),
        ...(typeof args.values['text-file'] === 'string' ? { textFile: args.values['text-file'] } : {}),
        ...(maxTokens !== undefined ? { maxTokens } : {}),
        ...(allocation ? { allocation } : {}),
        ...(lambda !== undefined ? { lambda } : {}),
        ...(args.values.contiguous ? { contiguous: true } : {}),
        ...(out ? { planDirectory: dirname(out) } : {}),
      };
      await admitRequest({ analysis: 'plan', ...request });
      const plan = await run(generatePlan(request));
      const text = json(plan);
      if (out) await writeFileAtomically(out, text);
      return text;
    },
  },
  apply: {
    summary: 'apply PLAN --out DIR        carry out a pruning plan into a new checkpoint directory; --verify: perplexity before/after',
    help:
      'Usage: importance-lens apply PLAN --out DIR [--verify --text-file F [--max-tokens N]] [--json]\n' +
      '       importance-lens apply PLAN --verify --text-file F [--max-tokens N] [--json]   (verify without writing)\n\n' +
      'Writes a new Hugging Face directory DIR (which must not exist): dropped blocks removed and the rest renumbered,\n' +
      'heads, experts and MLP channels sliced out (router rows too), config.json and the shard index updated, sparsified weights\n' +
      'with their zeros stored (the files do not shrink), tokenizer files copied.\n' +
      'Tensors are streamed; DIR is built under a temporary name and renamed at the end; the source is only read.\n' +
      'The plan is checked (schema, checkpoint fingerprint, indices, head and expert splits) before anything is\n' +
      'written. --verify runs the source and the result on F and reports both perplexities.',
    options: { out: { type: 'string' }, verify: { type: 'boolean' }, 'text-file': { type: 'string' }, 'max-tokens': { type: 'string' } },
    positionals: 1,
    run: async (args) => {
      const out = args.values.out;
      const textFile = args.values['text-file'];
      if (args.values.verify && typeof textFile !== 'string') throw new InputError('apply: --verify needs --text-file F');
      if ((typeof out !== 'string' || out === '') && !args.values.verify) throw new InputError('apply: --out DIR is required (or --verify --text-file F alone, to verify without writing)');
      if (!args.values.verify && textFile !== undefined) throw new InputError('apply: --text-file is used by --verify; add --verify');
      const maxTokens = number(args, 'max-tokens', true);
      const planPath = resolve(args.positionals[0]!);
      if (typeof textFile === 'string' && (await pathKind(resolve(textFile))) !== 'file') throw new InputError(`apply: --text-file ${textFile}: no such file`);
      await admitRequest({ analysis: 'apply', plan: planPath, out: typeof out === 'string' && out !== '' ? resolve(out) : null, ...(args.values.verify ? { verify: { textFile: resolve(textFile as string) } } : {}) });
      if (typeof out !== 'string' || out === '') {
        // Verify without writing: the plan runs on the source model in memory (plan/virtual.ts).
        if (!(await planRunsVirtually(planPath))) throw new InputError('apply: this plan drops experts, which cannot be verified without writing; give --out DIR');
        const { result, verification } = await run(verifyVirtually(planPath, resolve(textFile as string), maxTokens !== undefined ? { maxTokens } : {}));
        const virtual = { ...result, perplexity: verification.perplexity };
        if (args.values.json) return json(virtual);
        return `verified without writing: parameters ${result.parameters.before} → ${result.parameters.after}; layers ${result.layers.before} → ${result.layers.after}\nperplexity ${verification.perplexity.before.toFixed(3)} → ${verification.perplexity.after.toFixed(3)}\n`;
      }
      // Ctrl-C cancels between tensors, so the temporary directory is removed instead of left behind.
      const controller = new AbortController();
      const cancel = () => controller.abort();
      process.once('SIGINT', cancel);
      let result: ApplyResult & { perplexity?: { before: number; after: number } };
      try {
        result = await run(applyPlan(planPath, out, {}, controller.signal));
      } finally {
        process.off('SIGINT', cancel);
      }
      if (args.values.verify) {
        const verification = await run(verifyApplied(result.source, result.out, resolve(textFile as string), maxTokens !== undefined ? { maxTokens } : {}));
        result.perplexity = verification.perplexity;
      }
      if (args.values.json) return json(result);
      const lines = [
        `wrote ${result.out}: ${result.files.join(', ')}`,
        `parameters ${result.parameters.before} → ${result.parameters.after}; layers ${result.layers.before} → ${result.layers.after}; bytes ${result.bytes.before} → ${result.bytes.after}`,
        ...(result.perplexity ? [`perplexity ${result.perplexity.before.toFixed(3)} → ${result.perplexity.after.toFixed(3)}`] : []),
        ...result.warnings.map((w) => `warning: ${w}`),
      ];
      return `${lines.join('\n')}\n`;
    },
  },
};
