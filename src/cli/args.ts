// Argument parsing for the CLI on node's util.parseArgs. Wrong usage is an InputError (exit 2).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from '../errors';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** Options that take one or more values (`--compare A B`): every value given, in order. */
  lists: Record<string, string[]>;
}

/**
 * `variadic`: options that take one or more values, as `--compare A B C` (the paths after the option up to the next
 * option) or repeated (`--compare A --compare B`). The command's own positionals come before them.
 */
export function parse(command: string, argv: string[], options: Options, positionalCount: number, variadic: readonly string[] = []): Parsed {
  let parsed: Parsed;
  try {
    const all: Options = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, restricted: { type: 'boolean' }, ...options };
    for (const name of variadic) all[name] = { type: 'string', multiple: true };
    const result = parseArgs({ args: argv, options: all, allowPositionals: true, strict: true, tokens: true });
    const lists: Record<string, string[]> = {};
    const positionals: string[] = [];
    let open: string | undefined;
    for (const token of result.tokens) {
      if (token.kind === 'option') {
        open = variadic.includes(token.name) ? token.name : undefined;
        if (open !== undefined) (lists[open] ??= []).push(token.value!);
      } else if (token.kind === 'positional') {
        if (open !== undefined) lists[open]!.push(token.value);
        else positionals.push(token.value);
      } else {
        open = undefined;
      }
    }
    const values = Object.fromEntries(Object.entries(result.values).filter(([name]) => !variadic.includes(name))) as Parsed['values'];
    parsed = { values, positionals, lists };
  } catch (error) {
    throw new InputError(`${command}: ${(error as Error).message.split('\n')[0]} (see importance-lens ${command} --help)`);
  }
  if (!parsed.values.help && parsed.positionals.length !== positionalCount) {
    throw new InputError(`${command}: expected ${positionalCount} path argument(s), got ${parsed.positionals.length} (see importance-lens ${command} --help)`);
  }
  return parsed;
}

export function requireString(parsed: Parsed, name: string, command: string): string {
  const value = parsed.values[name];
  if (typeof value !== 'string' || value === '') throw new InputError(`${command}: --${name} is required`);
  return value;
}
