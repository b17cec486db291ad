// What every CLI command is (usage, options, what it runs) and the two things every command does the same way:
// draining an analysis with its progress on the terminal, and printing JSON. One copy, used by the general
// commands (commands.ts), `csv` (csvCommand.ts) and `plan`/`apply` (planCommands.ts).
import type { Progress } from '../protocol/results';
import type { Options, Parsed } from './args';
import { escapeControls } from './terminalText';
import { drain } from '../analyses';

export interface Command {
  summary: string;
  help: string;
  options: Options;
  positionals: number;
  /** Options taking one or more values (args.ts parse). */
  variadic?: readonly string[];
  /** Its output is a JSON document even without --json (plan). */
  printsJson?: boolean;
  run(args: Parsed): Promise<string>;
}

/** Runs a progress generator to its result; progress goes to a terminal only, so --json on stdout stays one clean document. */
export async function withTerminalProgress<T>(generator: AsyncGenerator<Progress, T>): Promise<T> {
  const onProgress = process.stderr.isTTY
    ? (p: Progress) => process.stderr.write(`\r\x1b[K${escapeControls(p.message)}${p.fraction !== undefined ? ` (${Math.round(p.fraction * 100)}%)` : ''}`)
    : undefined;
  try {
    return await drain(generator, onProgress);
  } finally {
    if (onProgress) process.stderr.write('\r\x1b[K');
  }
}

export const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
