// How the plan commands report a failed analysis: a cancel is quiet, a bad plan or model is the validator's own
// message, anything else is also logged.
import * as vscode from 'vscode';
import { CancelledError, errorMessage, InputError } from '../../errors';
import { log } from '../shared/log';

/** A rejection handler: shows the error (none for a cancel), logs our own bugs, resolves to undefined. */
export function reportFailure(what: string): (error: unknown) => undefined {
  return (error) => {
    if (error instanceof CancelledError) return undefined;
    if (!(error instanceof InputError)) log.error(`${what}: ${errorMessage(error)}`);
    void vscode.window.showErrorMessage(`Importance Lens: ${what} failed: ${errorMessage(error)}`);
    return undefined;
  };
}
