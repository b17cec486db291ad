// The importanceLens.* settings, read fresh for every request so a change applies to the next analysis without a
// reload. Values are checked here rather than trusted: settings.json is hand-edited and the schema only warns.
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import * as vscode from 'vscode';
import { DEFAULT_REAGENT_MAX_STEPS } from '../../protocol/saliencyMethods';

const SECTION = 'importanceLens';
const PROVIDERS = ['cuda', 'webgpu', 'cpu'];

export interface RunSettings {
  /** onnxruntime execution providers in the user's order; `cpu` is appended by the compute layer as last resort. */
  providers: string[];
  maxTokens: number;
  seeds: number;
  /** ReAGent's --max-steps (steps of REAGENT_STEP_MASKS forward rows). */
  reagentMaxSteps: number;
  /** Exported .onnx decoders: the residual stream by tensor name (empty: found from exporter names). */
  residualStream: string[];
}

export function runSettings(): RunSettings {
  const config = vscode.workspace.getConfiguration(SECTION);
  const listed = config.get<unknown>('executionProviders');
  const providers = Array.isArray(listed) ? listed.filter((p): p is string => typeof p === 'string' && PROVIDERS.includes(p)) : [];
  return {
    providers: providers.length > 0 ? [...new Set(providers)] : [...PROVIDERS],
    maxTokens: integerSetting(config.get<unknown>('maxTokens'), 512, 8, 32768),
    seeds: integerSetting(config.get<unknown>('seeds'), 5, 1, 100),
    reagentMaxSteps: integerSetting(config.get<unknown>('reagentMaxSteps'), DEFAULT_REAGENT_MAX_STEPS, 1, 1000),
    residualStream: stringList(config.get<unknown>('onnxResidualStream')),
  };
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v !== '') : [];
}

function integerSetting(value: unknown, fallback: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, Math.round(value)));
}

export type FileSetting =
  | { kind: 'unset' }
  /** Set, but not a readable file where it points (or relative with no workspace folder to resolve against). */
  | { kind: 'missing'; setting: string; resolved: string | null }
  | { kind: 'file'; path: string };
export type SampleText = FileSetting;

/** importanceLens.sampleTextFile, resolved against the first workspace folder when relative. */
export function sampleTextFile(): SampleText {
  return fileSetting('sampleTextFile');
}

/** importanceLens.csvModel: the ONNX model for CSV permutation importance, resolved like sampleTextFile. */
export function csvModelFile(): FileSetting {
  return fileSetting('csvModel');
}

function fileSetting(key: string): FileSetting {
  const setting = vscode.workspace.getConfiguration(SECTION).get<unknown>(key);
  if (typeof setting !== 'string' || setting.trim() === '') return { kind: 'unset' };
  const folder = vscode.workspace.workspaceFolders?.[0];
  const resolved = isAbsolute(setting) ? setting : folder?.uri.scheme === 'file' ? join(folder.uri.fsPath, setting) : null;
  if (resolved === null || !existsSync(resolved) || !statSync(resolved).isFile()) return { kind: 'missing', setting, resolved };
  return { kind: 'file', path: resolved };
}

/** Stores a text file as the sample text: relative to the first workspace folder when inside it, so it travels. */
export async function rememberSampleTextFile(path: string): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  const inside = folder?.uri.scheme === 'file' ? relative(folder.uri.fsPath, path) : null;
  const value = inside !== null && !inside.startsWith('..') && !isAbsolute(inside) ? inside : path;
  const target = folder ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await vscode.workspace.getConfiguration(SECTION).update('sampleTextFile', value, target);
}

/** An error naming the setting, with a button that opens the Settings editor at it. */
export async function showSettingError(message: string, setting = `${SECTION}.sampleTextFile`): Promise<void> {
  const choice = await vscode.window.showErrorMessage(message, 'Open Settings');
  if (choice === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', setting);
}
