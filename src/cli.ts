// importance-lens: the headless CLI over the same analyses the extension runs. Contract: DESIGN.md §4.
// Exit 0 on success, 2 on bad or unsupported input (one stderr line starting "importance-lens: "), 1 on our bug.
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { drain, runAnalysis } from './analyses';
import { parse, requireString } from './cli/args';
import { renderInspect } from './cli/text';
import { CancelledError, InputError, errorMessage } from './errors';
import { renderReport } from './report/html';
import { assertReplaceableReport, writeFileAtomically } from './report/write';
import type { InspectResult } from './protocol/results';

const USAGE = `importance-lens — what matters in a model or a dataset

Usage: importance-lens <command> [options]

Commands:
  inspect PATH               format, tensors (name, dtype, shape, layer, module), architecture, warnings
  report PATH --out R.html   a self-contained HTML report with the same views as the editor panel

PATH is a checkpoint file (.safetensors, a sharded *.safetensors.index.json), a Hugging Face model
directory, or its config.json.

Options (every command):
  --json      print one JSON document on stdout
  -h, --help  this help

Exit status: 0 success, 2 bad or unsupported input, 1 internal error.`;

const COMMAND_HELP: Record<string, string> = {
  inspect: 'Usage: importance-lens inspect PATH [--json]\n\nLists the tensors of a checkpoint with their layer and module, and the architecture from config.json (or inferred from tensor names when there is none). Reads headers only.',
  report: 'Usage: importance-lens report PATH --out R.html [--json]\n\nWrites a self-contained HTML report of PATH. An existing --out file is replaced only if it is an earlier Importance Lens report.',
};

async function inspectPath(path: string): Promise<InspectResult> {
  const progressToStderr = process.stderr.isTTY ? (p: { message: string }) => process.stderr.write(`\r\x1b[K${p.message}`) : undefined;
  const outcome = await drain(runAnalysis({ analysis: 'inspect', path: resolve(path) }), progressToStderr);
  if (progressToStderr) process.stderr.write('\r\x1b[K');
  return outcome.result;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  switch (command) {
    case 'inspect': {
      const args = parse(command, rest, {}, 1);
      if (args.values.help) return printHelp(command);
      const result = await inspectPath(args.positionals[0]!);
      process.stdout.write(args.values.json ? `${JSON.stringify(result, null, 2)}\n` : `${renderInspect(result)}\n`);
      return 0;
    }
    case 'report': {
      const args = parse(command, rest, { out: { type: 'string' } }, 1);
      if (args.values.help) return printHelp(command);
      const out = resolve(requireString(args, 'out', command));
      await assertReplaceableReport(out);
      const result = await inspectPath(args.positionals[0]!);
      const assets = {
        webviewJs: await readFile(join(__dirname, 'webview.js'), 'utf8'),
        css: await readFile(join(__dirname, '..', 'media', 'panel.css'), 'utf8'),
      };
      await writeFileAtomically(out, renderReport(basename(result.path), { type: 'inspectResult', result }, assets));
      process.stdout.write(args.values.json ? `${JSON.stringify({ out, analysis: 'inspect' })}\n` : `wrote ${out}\n`);
      return 0;
    }
    default:
      throw new InputError(`unknown command '${command}' (run importance-lens --help for the list)`);
  }
}

function printHelp(command: string): number {
  process.stdout.write(`${COMMAND_HELP[command]}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const oneLine = errorMessage(error).replace(/\s*\n\s*/g, ' ');
    if (error instanceof InputError) {
      process.stderr.write(`importance-lens: ${oneLine}\n`);
      process.exitCode = 2;
    } else if (error instanceof CancelledError) {
      process.stderr.write('importance-lens: cancelled\n');
      process.exitCode = 130;
    } else {
      process.stderr.write(`importance-lens: internal error: ${oneLine}\n`);
      if (process.env.IMPORTANCE_LENS_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
      process.exitCode = 1;
    }
  },
);
