// Argument parsing for the CLI on node's util.parseArgs. Wrong usage is an InputError (exit 2).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from '../errors';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parse(command: string, argv: string[], options: Options, positionalCount: number): Parsed {
  let parsed: Parsed;
  try {
    const result = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, restricted: { type: 'boolean' }, ...options }, allowPositionals: true, strict: true });
    parsed = { values: result.values as Parsed['values'], positionals: result.positionals };
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
