// Error kinds that cross process boundaries (worker -> host, CLI exit codes). `InputError` is the user's file or
// arguments being wrong (CLI exit 2); `CancelledError` is a user cancel; anything else is our bug (exit 1).

export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

export type ErrorKind = 'input' | 'cancelled' | 'internal';

export function errorKind(error: unknown): ErrorKind {
  if (error instanceof InputError) return 'input';
  if (error instanceof CancelledError) return 'cancelled';
  return 'internal';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Throws CancelledError when the signal has fired; analyses call this between chunks of work. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}

export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
