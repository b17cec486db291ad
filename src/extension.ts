// Activation registers contributions and nothing else: no file is read and no process is started until used.
// The returned API runs analyses through the same service the panels use (other extensions, the in-host tests).
import type * as vscode from 'vscode';
import * as analysisService from './vscode/analysisService';
import type { ImportanceLensApi } from './vscode/api';
import * as checkpointEditor from './vscode/checkpointEditor';
import * as commands from './vscode/commands';
import * as configCodeLens from './vscode/configCodeLens';
import * as configHover from './vscode/configHover';
import * as csvHover from './vscode/csvHover';
import * as jobLog from './vscode/jobLog';
import { layersOnText } from './vscode/layersOnText';
import * as layerRankings from './vscode/layerRankings';
import * as log from './vscode/log';
import * as plans from './vscode/plans';
import * as saliency from './vscode/saliency';
import * as statusBar from './vscode/statusBar';

export function activate(context: vscode.ExtensionContext): ImportanceLensApi {
  log.register(context);
  const analyses = analysisService.register(context);
  checkpointEditor.register(context);
  commands.register(context);
  const tokens = saliency.register(context);
  statusBar.register(context);
  jobLog.register(context);
  configHover.register(context, layerRankings.register(context));
  configCodeLens.register(context);
  csvHover.register(context);
  plans.register(context);
  return { ...analyses, ...tokens, layersOnText };
}

export function deactivate(): void {}
