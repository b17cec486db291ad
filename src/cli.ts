// importance-lens: the headless CLI over the same analyses the extension runs. Contract: docs/cli.md.
// Exit 0 on success, 2 on bad or unsupported input (one stderr line starting "importance-lens: "), 1 on our bug.
import { COMMANDS, parseCommand } from './cli/commands';
import { setRestricted } from './cli/restricted';
import { escapeControls, escapeControlsInJson, terminalLine } from './cli/terminalText';
import { CancelledError, InputError, errorMessage } from './errors';

const USAGE = `importance-lens — what matters in a model or a dataset

Usage: importance-lens <command> [options]

Commands:
${Object.values(COMMANDS).map((c) => `  ${c.summary}`).join('\n')}

PATH is a checkpoint file (.safetensors, .onnx, .gguf, PyTorch .bin/.pt/.pth, a sharded *.index.json), a
Hugging Face model or adapter directory, or its config.json. MODEL is a Hugging Face model directory
(config.json, weights, tokenizer.json) of a GPT-2 or Llama-family model, or a .gguf file of architecture llama
or qwen2 (its metadata and tokenizer are used, its quantised blocks dequantised as they stream); the analyses that run it use the
onnxruntime execution providers in IMPORTANCE_LENS_PROVIDERS (default cuda,webgpu,cpu), falling back in order.
MODEL may also be an exported decoder .onnx with tokenizer.json beside it; its residual stream is found from the
exporter's node names, or given with --residual-stream IN0,OUT0,OUT1,... (tensor names).

Options (every command):
  --json        print one JSON document on stdout
  --restricted  refuse, as VS Code's Restricted Mode does, anything that runs a model (activation metrics,
                perplexity, saliency, an ONNX model on a CSV, applying a Wanda plan, --verify) or decodes a
                PyTorch pickle; headers and weight statistics still run. For files from an untrusted source.
  -h, --help    help for a command

Exit status: 0 success, 2 bad or unsupported input, 1 internal error.`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) throw new InputError(`unknown command '${name}' (run importance-lens --help for the list)`);
  const args = parseCommand(name, rest);
  setRestricted(args.values.restricted === true);
  if (args.values.help) {
    process.stdout.write(`${command.help}\n`);
    return 0;
  }
  const output = await command.run(args);
  // Text from the files is in the output: escaped so it cannot drive the terminal (JSON keeps its values).
  process.stdout.write(args.values.json || command.printsJson ? escapeControlsInJson(output) : escapeControls(output));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const oneLine = terminalLine(errorMessage(error));
    if (error instanceof InputError) {
      process.stderr.write(`importance-lens: ${oneLine}\n`);
      process.exitCode = 2;
    } else if (error instanceof CancelledError) {
      process.stderr.write('importance-lens: cancelled\n');
      process.exitCode = 130;
    } else {
      process.stderr.write(`importance-lens: internal error: ${oneLine}\n`);
      if (process.env.IMPORTANCE_LENS_DEBUG && error instanceof Error) process.stderr.write(`${escapeControls(error.stack ?? '')}\n`);
      process.exitCode = 1;
    }
  },
);
