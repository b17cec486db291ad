// Workspace trust on the host: in Restricted Mode each request is checked (src/worker/restrictedMode.ts) before it
// goes to the analysis process. A refused request fails with the reason, which its panel or command shows as
// any input error, and a notification offers to manage the workspace's trust.
import * as vscode from 'vscode';
import { InputError } from '../../errors';
import type { AnalysisRequest } from '../../protocol/worker';
import { restrictedModeAdmission } from '../../worker/restrictedMode';
import { log } from './log';

const MANAGE = 'Manage Workspace Trust';

export async function admitInThisWorkspace(request: AnalysisRequest): Promise<void> {
  if (vscode.workspace.isTrusted) return;
  const decision = await restrictedModeAdmission(request);
  if (decision.allowed) return;
  log.warn(`refused in Restricted Mode: ${decision.reason}`);
  void vscode.window.showWarningMessage(`Importance Lens: ${decision.reason}`, MANAGE).then((choice) => {
    if (choice === MANAGE) void vscode.commands.executeCommand('workbench.trust.manage');
  });
  throw new InputError(decision.reason);
}
