// Activation registers contributions and nothing else: no file is read and no process is started until used.
// The returned API runs analyses through the same service the panels use (other extensions, the in-host tests).
import type * as vscode from 'vscode';
import * as analysisService from './vscode/shared/analysisService';
import type { ImportanceLensApi } from './vscode/shared/api';
import * as checkpointEditor from './vscode/model/checkpointEditor';
import * as commands from './vscode/model/commands';
import * as configCodeLens from './vscode/config/configCodeLens';
import * as configHover from './vscode/config/configHover';
import * as csvHover from './vscode/dataset/csvHover';
import * as jobLog from './vscode/shared/jobLog';
import { layersOnText } from './vscode/model/layersOnText';
import * as layerRankings from './vscode/config/layerRankings';
import * as log from './vscode/shared/log';
import * as plans from './vscode/plan/plans';
import * as saliency from './vscode/saliency/saliency';
import * as statusBar from './vscode/shared/statusBar';

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
