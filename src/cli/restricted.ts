// The CLI's --restricted: the trust state of VS Code's Restricted Mode for scripts that analyse checkpoints from an
// untrusted source (a CI job on a pull request). Every command hands the request it is about to run to
// `admitRequest`, which refuses, before anything is read or run, whatever would execute a model or decode a
// pickle, by the same decision the extension makes (worker/restrictedMode.ts).
import { InputError } from '../errors';
import type { AnalysisRequest } from '../protocol/worker';
import { restrictedModeAdmission } from '../worker/restrictedMode';

let restricted = false;

/** Set once by the CLI's entry from the command line. */
export function setRestricted(on: boolean): void {
  restricted = on;
}

/** Throws an InputError (exit 2) when --restricted is on and `request` would run a model or decode a pickle. */
export async function admitRequest(request: AnalysisRequest): Promise<void> {
  if (!restricted) return;
  const decision = await restrictedModeAdmission(request, 'cli');
  if (!decision.allowed) throw new InputError(decision.reason);
}
