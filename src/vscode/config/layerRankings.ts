// The last layer ranking per model folder, kept in the workspace state so a config hover can show it after a
// reload. Fed by every successful `layers` analysis, whichever panel or command ran it.
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import type * as vscode from 'vscode';
import type { StoredLayerRanking } from '../../config/layerSparkline';
import { storedRanking } from '../../config/layerSparkline';
import { onDidFinishAnalysis } from '../shared/analysisService';

const STATE_KEY = 'importanceLens.layerRankings';
/** Folders kept; the oldest ranking goes first (each entry is a few hundred bytes per 100 layers). */
const MAX_FOLDERS = 50;

export interface LayerRankings {
  /** The last ranking of the model in `folder` (absolute file-system path), if one ran in this workspace. */
  get(folder: string): StoredLayerRanking | null;
}

type Stored = Record<string, StoredLayerRanking>;

export function register(context: vscode.ExtensionContext): LayerRankings {
  const state = context.workspaceState;
  const read = (): Stored => state.get<Stored>(STATE_KEY) ?? {};
  context.subscriptions.push(
    onDidFinishAnalysis(({ request, result }) => {
      if (request.analysis !== 'layers' || result.analysis !== 'layers') return;
      const kept = { ...read(), [modelFolder(request.path)]: storedRanking(result.result, new Date()) };
      const newest = Object.entries(kept).sort(([, a], [, b]) => b.at.localeCompare(a.at)).slice(0, MAX_FOLDERS);
      void state.update(STATE_KEY, Object.fromEntries(newest));
    }),
  );
  return { get: (folder) => read()[folder] ?? null };
}

/** The folder a model path stands for: itself when a directory, else the folder of the config or weights file. */
function modelFolder(path: string): string {
  try {
    return statSync(path).isDirectory() ? path : dirname(path);
  } catch {
    return dirname(path);
  }
}
